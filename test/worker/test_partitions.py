"""Partitioned queues maintained by the background worker (interval 100 ms): partitions made
premake ahead of the msg_id sequence, partitions past the retention dropped (with their
messages, PGMQ's retention), as the queue's owner, never waiting behind a lock someone holds."""
from conftest import wait_for


def partitions(conn, table):
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT partition::text, lower_bound FROM pgmq._partitions(%s::regclass)", [f"pgmq.{table}"]).fetchall()]


def lower_bounds(conn, table):
    return sorted(int(lower) for _, lower in partitions(conn, table))


def fresh_partitioned(conn, name, *args):
    conn.execute("SELECT pgmq.drop_queue(%s) FROM pgmq.meta WHERE queue_name = %s", [name, name])
    conn.execute("SELECT pgmq.create_partitioned(%s, %s, %s, %s)", [name, *args])


def passes(conn):
    return conn.execute("SELECT passes FROM pgmq.worker_status() WHERE database = current_database()").fetchone()[0]


def test_worker_makes_partitions_ahead_and_drops_old_ones(conn):
    fresh_partitioned(conn, "w_part", "10", "30", 2)
    assert lower_bounds(conn, "q_w_part") == [0, 10, 20]
    conn.execute("SELECT pgmq.send_batch('w_part', ARRAY['{}', '{}', '{}', '{}', '{}']::jsonb[])")
    # The sequence moves on (sends elsewhere rolled back, say): the worker makes partitions ahead of it
    # and drops those wholly more than 30 msg_ids back, with the 5 messages.
    conn.execute("SELECT setval(pg_get_serial_sequence('pgmq.q_w_part', 'msg_id'), 100)")
    wait_for(lambda: lower_bounds(conn, "q_w_part") == [100, 110, 120], 15,
             what="the worker's partitions of q_w_part")
    wait_for(lambda: lower_bounds(conn, "a_w_part") == [100, 110, 120], 15,
             what="the worker's partitions of a_w_part")
    assert conn.execute("SELECT count(*) FROM pgmq.q_w_part").fetchone()[0] == 0
    # Sends go on into the partitions made ahead.
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send('w_part', '{\"after\": 1}')").fetchone()
    assert msg_id == 101
    assert conn.execute("SELECT msg_id FROM pgmq.read('w_part', 30, 5)").fetchall() == [(101,)]
    conn.execute("SELECT pgmq.drop_queue('w_part')")
    assert conn.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'q\\_w\\_part%' OR relname LIKE "
                        "'a\\_w\\_part%'").fetchone()[0] == 0


def test_worker_skips_a_table_someone_locks(conn, database):
    """A transaction holding a lock that conflicts with ATTACH PARTITION: the worker does not wait
    (its passes go on, the other queues are maintained), and makes the partitions once it is gone."""
    fresh_partitioned(conn, "w_locked", "10", "1000", 1)
    fresh_partitioned(conn, "w_free", "10", "1000", 1)
    from conftest import connect
    with connect(database) as holder:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE pgmq.q_w_locked IN SHARE UPDATE EXCLUSIVE MODE")
        conn.execute("SELECT setval(pg_get_serial_sequence('pgmq.q_w_locked', 'msg_id'), 50)")
        conn.execute("SELECT setval(pg_get_serial_sequence('pgmq.q_w_free', 'msg_id'), 50)")
        wait_for(lambda: 50 in lower_bounds(conn, "q_w_free"), 15, what="the partitions of the free queue")
        start = passes(conn)
        wait_for(lambda: passes(conn) >= start + 3, 15, what="three more worker passes")
        assert 50 not in lower_bounds(conn, "q_w_locked")
        # The worker never queued for the lock.
        assert conn.execute("SELECT count(*) FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
                            "WHERE NOT l.granted AND a.backend_type = 'pgmq worker'").fetchone()[0] == 0
        holder.execute("COMMIT")
    wait_for(lambda: 50 in lower_bounds(conn, "q_w_locked"), 15, what="the partitions of the queue once unlocked")
    conn.execute("SELECT pgmq.drop_queue('w_locked'), pgmq.drop_queue('w_free')")


def test_worker_makes_partitions_as_the_queue_owner(conn, database):
    conn.execute("DROP ROLE IF EXISTS w_part_owner")
    conn.execute("CREATE ROLE w_part_owner")
    conn.execute("GRANT USAGE, CREATE ON SCHEMA pgmq TO w_part_owner")
    conn.execute("GRANT SELECT, INSERT, UPDATE ON pgmq.meta, pgmq.partition_config TO w_part_owner")
    try:
        conn.execute("SET ROLE w_part_owner")
        conn.execute("SELECT pgmq.create_partitioned('w_owned', '10', '1000', 1)")
        conn.execute("RESET ROLE")
        conn.execute("SELECT setval(pg_get_serial_sequence('pgmq.q_w_owned', 'msg_id'), 70)")
        wait_for(lambda: 70 in lower_bounds(conn, "q_w_owned"), 15, what="the worker's partition of q_w_owned")
        owners = conn.execute("SELECT DISTINCT c.relowner::regrole::text FROM pg_inherits AS i "
                              "JOIN pg_class AS c ON c.oid = i.inhrelid "
                              "WHERE i.inhparent IN ('pgmq.q_w_owned'::regclass, 'pgmq.a_w_owned'::regclass)").fetchall()
        assert owners == [("w_part_owner",)]
    finally:
        conn.execute("RESET ROLE")
        conn.execute("SELECT pgmq.drop_queue('w_owned') FROM pgmq.meta WHERE queue_name = 'w_owned'")
        conn.execute("REVOKE ALL ON pgmq.meta, pgmq.partition_config FROM w_part_owner")
        conn.execute("REVOKE ALL ON SCHEMA pgmq FROM w_part_owner")
        conn.execute("DROP ROLE w_part_owner")
