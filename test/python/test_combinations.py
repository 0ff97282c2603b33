"""test_combinations.py: features developed apart, used together from clients.

* Long polls on partitioned queues (by msg_id and by time) wake at a vt's expiry and at a send's
  commit. Lateness is measured by the server's clock as in test_poll_wake.py (see its docstring):
  from the moment the message could be read (its vt, or a clock reading inside the sending
  transaction just before its commit) to the poll's read (the row's last_read_at).
* Concurrent deduplicated senders on a partitioned queue whose partitions they overrun: every id is
  inserted once and every sender gets its first msg_id.
* ALTER EXTENSION pgmq UPDATE from 1.0.0, then deduplication, priorities and partitioned queues
  (with a mixed-case name) on the updated database.
"""
import itertools
import threading

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from helpers import Thread
from test_poll_wake import GROUPED_POLLS, LATE, clock_then_commit, lateness, read_one, returned_one, send, start_poll
from test_versions import OLD_DB, drop_db, recreate_db

_numbers = itertools.count(1)


@pytest.fixture(params=["10", "1 hour"])
def part_queue(request, dbname, conn, _connections):
    """part_queue is a queue partitioned by msg_id (ranges of 10) or by time (1 hour), premake 1."""
    name = f"pyc_part_{next(_numbers)}"
    conn.execute("SELECT pgmq.create_partitioned(%s, %s, NULL, 1)", [name, request.param])
    yield name
    for c in _connections:
        c.close()
    with psycopg.connect(dbname=dbname, autocommit=True) as c:
        c.execute("SELECT pgmq.drop_queue(%s)", [name])


@pytest.mark.parametrize("policy", [None, "max_deliveries => 10", "priorities => true"])
def test_poll_on_a_partitioned_queue_returns_when_a_vt_expires(connect, conn, part_queue, policy):
    if policy is not None:
        conn.execute(f"SELECT pgmq.set_policy(%s, {policy})", [part_queue])
    msg_id = send(conn, part_queue)
    _, vt = read_one(conn, part_queue, 1)
    row = returned_one(start_poll(connect, part_queue), msg_id)
    assert row[1] == 2
    assert 0 <= lateness(row, vt) < LATE


@pytest.mark.parametrize("policy", [None, "dedup_seconds => 60"])
def test_poll_on_a_partitioned_queue_wakes_at_a_sends_commit(connect, part_queue, policy):
    conn = connect(autocommit=False)
    if policy is not None:
        conn.execute(f"SELECT pgmq.set_policy(%s, {policy})", [part_queue])
        conn.commit()
    poller = start_poll(connect, part_queue)
    msg_id = send(conn, part_queue, headers={"x-pgmq-dedup-id": "one"})
    sent = clock_then_commit(conn)
    row = returned_one(poller, msg_id)
    assert lateness(row, sent) < LATE


@pytest.mark.parametrize("function", GROUPED_POLLS)
def test_grouped_poll_on_a_partitioned_queue_returns_when_the_heads_vt_expires(connect, conn, part_queue, function):
    head = send(conn, part_queue, headers={"x-pgmq-group": "g"})
    send(conn, part_queue, headers={"x-pgmq-group": "g"})
    _, vt = read_one(conn, part_queue, 1, "read_grouped")
    row = returned_one(start_poll(connect, part_queue, function), head)
    assert 0 <= lateness(row, vt) < LATE


def test_poll_on_a_partitioned_queue_wakes_at_a_send_that_makes_a_partition(connect, part_queue):
    """The send finds no partition for its row (all dropped here) and makes one before it commits."""
    conn = connect(autocommit=False)
    partitions = conn.execute("SELECT partition::text FROM pgmq._partitions(%s)",
                              [f"pgmq.q_{part_queue}"]).fetchall()
    for (p,) in partitions:
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.SQL(p)))
    conn.commit()
    poller = start_poll(connect, part_queue)
    msg_id = send(conn, part_queue)
    sent = clock_then_commit(conn)
    row = returned_one(poller, msg_id)
    assert lateness(row, sent) < LATE


def test_concurrent_deduplicated_senders_overrunning_partitions(connect, conn, dbname):
    """Four senders, each in its own transaction, send the same 40 ids (in different orders) to a
    queue with one partition of 10 msg_ids made ahead: partitions are made on demand, every id is
    inserted once, all senders get the same msg_id for an id."""
    name = f"pyc_dedup_{next(_numbers)}"
    conn.execute("SELECT pgmq.create_partitioned(%s, '10', NULL, 1)", [name])
    conn.execute("SELECT pgmq.set_policy(%s, dedup_seconds => 300)", [name])
    ids = [f"id-{i}" for i in range(40)]
    start = threading.Barrier(4)

    def sender(k):
        c = connect(autocommit=False)
        order = ids[k:] + ids[:k] if k % 2 == 0 else list(reversed(ids))
        start.wait(10)
        got = c.execute("SELECT * FROM pgmq.send_batch(%s, %s, %s)",
                        [name, [Jsonb({"k": k})] * len(order),
                         [Jsonb({"x-pgmq-dedup-id": i}) for i in order]]).fetchall()
        c.commit()
        return dict(zip(order, (r[0] for r in got)))

    threads = [Thread(sender, k) for k in range(4)]
    for t in threads:
        t.start()
    results = [t.join_result(60) for t in threads]
    try:
        for r in results[1:]:
            assert r == results[0]
        rows = conn.execute(sql.SQL("SELECT headers->>'x-pgmq-dedup-id', msg_id FROM pgmq.{}")
                            .format(sql.Identifier(f"q_{name}"))).fetchall()
        assert dict(rows) == results[0]
        assert len(rows) == len(ids)
        assert conn.execute("SELECT count(*) FROM pgmq.dedup WHERE queue_name = %s", [name]).fetchone() == (40,)
        misplaced = conn.execute(sql.SQL(
            "SELECT count(*) FROM pgmq.{} AS q JOIN pgmq._partitions(%s) AS p ON p.partition = q.tableoid "
            "WHERE q.msg_id < p.lower_bound::bigint OR q.msg_id >= p.upper_bound::bigint")
            .format(sql.Identifier(f"q_{name}")), [f"pgmq.q_{name}"]).fetchone()
        assert misplaced == (0,)
    finally:
        conn.execute("SELECT pgmq.drop_queue(%s)", [name])


@pytest.fixture
def updated_db():
    """updated_db is a connection to a database where pgmq 1.0.0 was installed, given a queue with a
    message, and updated with ALTER EXTENSION pgmq UPDATE."""
    recreate_db(OLD_DB)
    try:
        with psycopg.connect(dbname=OLD_DB, autocommit=True) as c:
            c.execute("CREATE EXTENSION pgmq VERSION '1.0.0'")
            c.execute("SELECT pgmq.create('upd_old')")
            c.execute("SELECT pgmq.send('upd_old', '{\"n\": 1}')")
            c.execute("ALTER EXTENSION pgmq UPDATE")
            yield c
    finally:
        drop_db(OLD_DB)


def test_after_update_from_1_0_0_dedup_priorities_and_partitions_work(updated_db):
    c = updated_db
    # Deduplication and priorities on the queue made by 1.0.0.
    c.execute("SELECT pgmq.set_policy('upd_old', dedup_seconds => 60, priorities => true)")
    first = c.execute("SELECT * FROM pgmq.send('upd_old', '{\"n\": 2}', "
                      "'{\"x-pgmq-dedup-id\": \"a\", \"x-pgmq-priority\": 5}'::jsonb)").fetchone()[0]
    again = c.execute("SELECT * FROM pgmq.send('upd_old', '{\"n\": 3}', "
                      "'{\"x-pgmq-dedup-id\": \"a\"}'::jsonb)").fetchone()[0]
    assert again == first
    assert c.execute("SELECT message FROM pgmq.read('upd_old', 30, 5)").fetchall() == [({"n": 2},), ({"n": 1},)]
    # A partitioned queue with a mixed-case name, deduplicating and by priority, overrun at once.
    c.execute("SELECT pgmq.create_partitioned('UpdPart', '10', NULL, 1)")
    assert c.execute("SELECT queue_name, is_partitioned FROM pgmq.list_queues() WHERE queue_name ILIKE 'updpart'"
                     ).fetchall() == [("UpdPart", True)]
    c.execute("SELECT pgmq.set_policy('UPDPART', dedup_seconds => 60, priorities => true)")
    sent = c.execute("SELECT * FROM pgmq.send_batch('updpart', "
                     "ARRAY(SELECT jsonb_build_object('n', g) FROM generate_series(1, 25) AS g), "
                     "ARRAY(SELECT jsonb_build_object('x-pgmq-dedup-id', 'd' || g, 'x-pgmq-priority', g) "
                     "FROM generate_series(1, 25) AS g))").fetchall()
    assert len(sent) == 25
    assert c.execute("SELECT * FROM pgmq.send('UpdPart', '{}', '{\"x-pgmq-dedup-id\": \"d25\"}'::jsonb)"
                     ).fetchone() == sent[-1]
    assert c.execute("SELECT message FROM pgmq.pop('UpdPart', 2)").fetchall() == [({"n": 25},), ({"n": 24},)]
    assert c.execute("SELECT pgmq.drop_queue('updpart')").fetchone() == (True,)
    assert c.execute("SELECT count(*) FROM pgmq.partition_config").fetchone() == (0,)
    assert c.execute("SELECT count(*) FROM pgmq.dedup WHERE queue_name = 'updpart'").fetchone() == (0,)
