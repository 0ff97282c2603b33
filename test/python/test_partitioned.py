"""Partitioned queues (pgmq.create_partitioned, without pg_partman) from a client's side:
a send that finds no partition makes it, as the queue's owner, also for a sender who may
not create tables; concurrent senders overrunning the partitions made ahead all succeed."""
import threading

import psycopg
import pytest

ROLES = ("pyp_owner", "pyp_sender")


@pytest.fixture
def roles(conn):
    for role in ROLES:
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role}")
    conn.execute("GRANT USAGE, CREATE ON SCHEMA pgmq TO pyp_owner")
    conn.execute("GRANT USAGE ON SCHEMA pgmq TO pyp_sender")
    conn.execute("GRANT SELECT, INSERT, UPDATE ON pgmq.meta, pgmq.partition_config TO pyp_owner")
    yield ROLES
    conn.execute("RESET ROLE")
    conn.execute("SELECT pgmq.drop_queue(queue_name) FROM pgmq.meta WHERE queue_name LIKE 'pyp\\_%'")
    conn.execute("REVOKE ALL ON pgmq.meta, pgmq.partition_config FROM pyp_owner")
    conn.execute("REVOKE ALL ON SCHEMA pgmq FROM pyp_owner, pyp_sender")
    for role in ROLES:
        conn.execute(f"DROP ROLE {role}")


def partition_owners(conn, table):
    return {r[0] for r in conn.execute(
        "SELECT c.relowner::regrole::text FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass", [f"pgmq.{table}"]).fetchall()}


def partition_count(conn, table):
    return conn.execute("SELECT count(*) FROM pgmq._partitions(%s::regclass)", [f"pgmq.{table}"]).fetchone()[0]


def test_send_beyond_the_partitions_made_ahead_by_a_sender_who_cannot_create_tables(conn, roles):
    conn.execute("SET ROLE pyp_owner")
    conn.execute("SELECT pgmq.create_partitioned('pyp_q', '10', '100000', 1)")
    conn.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON pgmq.q_pyp_q, pgmq.a_pyp_q TO pyp_sender")
    conn.execute("RESET ROLE")
    assert partition_count(conn, "q_pyp_q") == 2  # msg_ids 0..19
    conn.execute("SET ROLE pyp_sender")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("CREATE TABLE pgmq.pyp_not_allowed (a int)")
    ids = [r[0] for r in conn.execute(
        "SELECT * FROM pgmq.send_batch('pyp_q', array_fill('{}'::jsonb, ARRAY[55]))").fetchall()]
    assert len(ids) == 55 and len(set(ids)) == 55
    rows = conn.execute("SELECT msg_id FROM pgmq.read('pyp_q', 30, 100)").fetchall()
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert conn.execute("SELECT count(*) FROM pgmq.archive('pyp_q', %s::bigint[])", [ids]).fetchone()[0] == 55
    conn.execute("RESET ROLE")
    # Made as the owner, whoever sent.
    assert partition_owners(conn, "q_pyp_q") == {"pyp_owner"}
    assert partition_owners(conn, "a_pyp_q") == {"pyp_owner"}
    assert conn.execute("SELECT count(*) FROM pgmq.a_pyp_q").fetchone()[0] == 55


def test_concurrent_senders_overrunning_the_partitions_all_succeed(connect, conn):
    conn.execute("SELECT pgmq.drop_queue('pyp_race') FROM pgmq.meta WHERE queue_name = 'pyp_race'")
    conn.execute("SELECT pgmq.create_partitioned('pyp_race', '10', '1000000', 1)")
    senders = 6
    rounds = 5
    results = [[] for _ in range(senders)]
    errors = []
    barrier = threading.Barrier(senders)
    connections = [connect() for _ in range(senders)]

    def send(i):
        try:
            barrier.wait()
            for _ in range(rounds):
                rows = connections[i].execute(
                    "SELECT * FROM pgmq.send_batch('pyp_race', array_fill('{}'::jsonb, ARRAY[25]))").fetchall()
                results[i].extend(r[0] for r in rows)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    sent = [msg_id for r in results for msg_id in r]
    assert len(sent) == senders * rounds * 25 and len(set(sent)) == len(sent)
    assert conn.execute("SELECT count(*) FROM pgmq.q_pyp_race").fetchone()[0] == len(sent)
    # Every message is in the partition of its msg_id range.
    assert conn.execute("SELECT count(*) FROM pgmq.q_pyp_race AS q JOIN pgmq._partitions('pgmq.q_pyp_race') AS p "
                        "ON p.partition = q.tableoid WHERE q.msg_id < p.lower_bound::bigint "
                        "OR q.msg_id >= p.upper_bound::bigint").fetchone()[0] == 0
    conn.execute("SELECT pgmq.drop_queue('pyp_race')")


def test_insert_notifications_of_a_partitioned_queue(connect, conn):
    """enable_notify_insert's row trigger fires on the partitions (clones, also on partitions made
    later): the channel is still the queue's."""
    from helpers import Listener
    conn.execute("SELECT pgmq.drop_queue('pyp_notify') FROM pgmq.meta WHERE queue_name = 'pyp_notify'")
    conn.execute("SELECT pgmq.create_partitioned('pyp_notify', '10', '100000', 1)")
    conn.execute("SELECT pgmq.enable_notify_insert('pyp_notify', 0)")
    listener = Listener(connect(), "pgmq.q_pyp_notify.INSERT")
    sender = connect()
    sender.execute("SELECT pgmq.send('pyp_notify', '{}')")
    assert len(listener.wait(5, until_count=1)) == 1
    # into a partition made on demand after enable_notify_insert
    sender.execute("SELECT pgmq.send_batch('pyp_notify', array_fill('{}'::jsonb, ARRAY[40]))")
    got = listener.wait(5, until_count=2)
    assert len(got) == 2 and all(n.channel == "pgmq.q_pyp_notify.INSERT" for n in got)
    conn.execute("SELECT pgmq.drop_queue('pyp_notify')")
