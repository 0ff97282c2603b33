"""test_metrics_counts.py: metrics() takes queue_length and queue_visible_length from the
queue's counters in shared memory (src/pg/counters.hpp) and stays exact: after sends (with and
without delay), reads, set_vt, nack, delete, archive, pop, rollbacks of transactions and
subtransactions, purges, drop and create, plain SQL, policy moves, partitioned, priority and
deduplicating queues, two-phase commits and concurrent use.

pgmq._metrics_counter(q) shows the counters themselves (NULLs while metrics would scan), so each
test checks both that the counters are in use and that metrics equals count(*) and
count(*) FILTER (WHERE vt <= now()) taken when the queue is quiet."""
import threading

import pytest
from psycopg import sql
from psycopg.types.json import Jsonb


def counter(conn, queue):
    """counter is the shared (queue_length, queue_visible_length); NULLs while metrics would scan."""
    return conn.execute("SELECT * FROM pgmq._metrics_counter(%s)", [queue]).fetchone()


def lengths(conn, queue):
    return conn.execute("SELECT queue_length, queue_visible_length FROM pgmq.metrics(%s)", [queue]).fetchone()


def counted(conn, queue):
    """counted is (count(*), count(*) with vt <= now), PGMQ's way."""
    return conn.execute(sql.SQL("SELECT count(*), count(*) FILTER (WHERE vt <= now()) FROM pgmq.{}").format(
        sql.Identifier("q_" + queue))).fetchone()


def send(conn, queue, n, delay=0):
    conn.execute("SELECT pgmq.send_batch(%s, %s::jsonb[], %s)", [queue, [Jsonb(i) for i in range(n)], delay])


def assert_exact(conn, queue, expected=None):
    """assert_exact: metrics equals count(*) (and expected), and the counters hold the same after it."""
    got = lengths(conn, queue)
    assert got == counted(conn, queue)
    if expected is not None:
        assert got == expected
    assert counter(conn, queue) == got


def assert_kept(conn, queue, expected):
    """assert_kept: the counters kept up with the last operation (no rebuild in between) and are exact."""
    assert counter(conn, queue) == counted(conn, queue) == expected
    assert_exact(conn, queue, expected)


def test_counters_follow_every_message_path(conn, queue):
    # a new queue starts without counters; the first metrics rebuilds them
    assert counter(conn, queue) == (None, None)
    assert_exact(conn, queue, (0, 0))
    send(conn, queue, 5)
    send(conn, queue, 2, delay=3600)
    conn.execute("SELECT pgmq.send(%s, '{}')", [queue])
    conn.execute("SELECT pgmq.send(%s, '{}', 600)", [queue])
    assert counter(conn, queue) == (9, 6)
    assert_kept(conn, queue, (9, 6))
    ids = [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 4)", [queue])]
    assert_kept(conn, queue, (9, 2))
    # set_vt: back to visible, forward again, an absolute time
    conn.execute("SELECT * FROM pgmq.set_vt(%s, %s::bigint, 0)", [queue, ids[0]])
    assert_kept(conn, queue, (9, 3))
    conn.execute("SELECT * FROM pgmq.set_vt(%s, %s::bigint[], 120)", [queue, ids[:2]])
    assert_kept(conn, queue, (9, 2))
    conn.execute("SELECT * FROM pgmq.set_vt(%s, %s::bigint, now() + interval '1 day')", [queue, ids[1]])
    assert_kept(conn, queue, (9, 2))
    # nack: in flight back to visible (no backoff), or with a delay
    conn.execute("SELECT * FROM pgmq.nack(%s, %s::bigint[])", [queue, ids[2:3]])
    assert_kept(conn, queue, (9, 3))
    conn.execute("SELECT * FROM pgmq.nack(%s, %s::bigint[], 300)", [queue, ids[3:4]])
    assert_kept(conn, queue, (9, 3))
    # delete and archive of messages in flight and visible
    assert conn.execute("SELECT pgmq.delete(%s, %s::bigint)", [queue, ids[0]]).fetchone() == (True,)
    assert_kept(conn, queue, (8, 3))
    conn.execute("SELECT pgmq.archive(%s, %s::bigint[])", [queue, ids[1:3]])
    assert_kept(conn, queue, (6, 2))
    assert conn.execute("SELECT pgmq.delete(%s, %s::bigint)", [queue, ids[0]]).fetchone() == (False,)
    conn.execute("SELECT pgmq.archive(%s, %s::bigint, '{\"ok\": true}')", [queue, ids[3]])
    assert_kept(conn, queue, (5, 2))
    assert len(conn.execute("SELECT * FROM pgmq.pop(%s, 1)", [queue]).fetchall()) == 1
    assert_kept(conn, queue, (4, 1))
    # a read with vt 0 leaves the messages visible
    conn.execute("SELECT * FROM pgmq.read(%s, 0, 5)", [queue])
    assert_kept(conn, queue, (4, 1))
    assert counter(conn, queue) == (4, 1)


def test_metrics_does_not_scan_the_table(connect, queue):
    """With valid counters, metrics reads a few index entries, not the queue's rows."""
    conn = connect()
    send(conn, queue, 2000)
    send(conn, queue, 500, delay=3600)
    conn.execute("SELECT * FROM pgmq.read(%s, 600, 300)", [queue])
    assert lengths(conn, queue) == counted(conn, queue) == (2500, 1700)  # the first call rebuilds
    tx = connect(autocommit=False)
    oid = tx.execute("SELECT %s::regclass::oid", ["pgmq.q_" + queue]).fetchone()[0]
    assert lengths(tx, queue) == (2500, 1700)
    fetched = tx.execute("SELECT pg_stat_get_xact_tuples_returned(%s) + pg_stat_get_xact_tuples_fetched(%s)",
                         [oid, oid]).fetchone()[0]
    assert fetched < 10
    tx.rollback()


def test_rollbacks_leave_the_counts(connect, queue):
    conn = connect()
    send(conn, queue, 4)
    send(conn, queue, 1, delay=3600)
    assert_exact(conn, queue, (5, 4))
    tx = connect(autocommit=False)
    send(tx, queue, 3, delay=60)
    tx.execute("SELECT * FROM pgmq.pop(%s, 2)", [queue])
    tx.execute("SELECT * FROM pgmq.read(%s, 60, 1)", [queue])
    # the transaction's own view is that of count(*) in it
    assert lengths(tx, queue) == counted(tx, queue)
    # others see the committed counts
    assert counter(conn, queue) == (5, 4)
    tx.rollback()
    assert counter(conn, queue) == (5, 4)
    assert_exact(conn, queue, (5, 4))


def test_subtransactions(connect, queue):
    conn = connect()
    assert_exact(conn, queue, (0, 0))
    tx = connect(autocommit=False)
    send(tx, queue, 2)
    tx.execute("SAVEPOINT a")
    send(tx, queue, 10, delay=60)
    tx.execute("SAVEPOINT b")
    tx.execute("SELECT * FROM pgmq.pop(%s, 1)", [queue])
    tx.execute("RELEASE SAVEPOINT b")
    tx.execute("ROLLBACK TO SAVEPOINT a")
    send(tx, queue, 1, delay=60)
    tx.execute("SAVEPOINT c")
    send(tx, queue, 7)
    tx.execute("SELECT * FROM pgmq.read(%s, 60, 3)", [queue])
    tx.execute("RELEASE SAVEPOINT c")
    # a PL/pgSQL block that fails after sending and reading rolls its subtransaction back
    tx.execute("""DO $$ BEGIN
        BEGIN PERFORM pgmq.send_batch(%s, ARRAY['1', '2']::jsonb[], 60); PERFORM pgmq.read(%s, 60, 2);
        PERFORM 1 / 0;
        EXCEPTION WHEN division_by_zero THEN NULL; END; END $$""".replace("%s", "'" + queue + "'"))
    tx.commit()
    assert counter(conn, queue) == (10, 6)
    assert_exact(conn, queue, (10, 6))


@pytest.mark.parametrize("statement", [
    "INSERT INTO pgmq.{} (vt, message) VALUES (now(), '{{}}')",
    "UPDATE pgmq.{} SET vt = now() + interval '1 hour' WHERE msg_id = 1",
    "DELETE FROM pgmq.{} WHERE msg_id = 2",
    "TRUNCATE pgmq.{}",
])
def test_plain_sql_invalidates_and_metrics_rebuilds(conn, queue, statement):
    send(conn, queue, 3)
    assert_exact(conn, queue, (3, 3))
    conn.execute(sql.SQL(statement).format(sql.Identifier("q_" + queue)))
    assert counter(conn, queue) == (None, None)
    assert_exact(conn, queue)


def test_a_rebuild_does_not_miss_a_plain_sql_writer(connect, queue):
    """A plain-SQL transaction open during the rebuild invalidates the counts again at its commit."""
    conn = connect()
    send(conn, queue, 2)
    writer = connect(autocommit=False)
    writer.execute(sql.SQL("INSERT INTO pgmq.{} (vt, message) VALUES (now(), '{{}}')").format(
        sql.Identifier("q_" + queue)))
    assert_exact(conn, queue, (2, 2))  # rebuilt while the insert is in progress
    writer.commit()
    assert counter(conn, queue) == (None, None)
    assert_exact(conn, queue, (3, 3))


def test_purge_drop_and_create(conn, queue):
    send(conn, queue, 5)
    send(conn, queue, 5, delay=60)
    assert_exact(conn, queue, (10, 5))
    assert conn.execute("SELECT pgmq.purge_queue(%s)", [queue]).fetchone() == (10,)
    assert counter(conn, queue) == (None, None)
    assert_exact(conn, queue, (0, 0))
    send(conn, queue, 2, delay=60)
    assert_exact(conn, queue, (2, 0))
    conn.execute("SELECT pgmq.drop_queue(%s)", [queue])
    conn.execute("SELECT pgmq.create(%s)", [queue])
    assert counter(conn, queue) == (None, None)
    assert_exact(conn, queue, (0, 0))


def test_writers_go_on_during_a_rebuild(connect, queue):
    """A rebuild does not wait for (or block) writers: transactions open across it are counted once."""
    conn = connect()
    send(conn, queue, 2)
    before = connect(autocommit=False)  # open before the rebuild, commits after it
    send(before, queue, 4, delay=60)
    conn.execute(sql.SQL("DELETE FROM pgmq.{} WHERE false").format(sql.Identifier("q_" + queue)))
    assert_exact(conn, queue, (2, 2))
    before.commit()
    assert counter(conn, queue) == (6, 2)
    assert_exact(conn, queue, (6, 2))


def test_prepared_transaction(connect, queue):
    conn = connect()
    if conn.execute("SHOW max_prepared_transactions").fetchone()[0] == "0":
        pytest.skip("max_prepared_transactions = 0")
    assert_exact(conn, queue, (0, 0))
    tx = connect(autocommit=False)
    send(tx, queue, 3)
    gid = "metrics_" + queue
    tx.execute(sql.SQL("PREPARE TRANSACTION {}").format(sql.Literal(gid)))
    assert counter(conn, queue) == (None, None)
    assert lengths(conn, queue) == (0, 0)  # scanned: the prepared transaction may have written
    assert counter(conn, queue) == (None, None)
    conn.execute(sql.SQL("COMMIT PREPARED {}").format(sql.Literal(gid)))
    assert_exact(conn, queue, (3, 3))


def test_concurrent_producers_and_consumers_keep_it_exact(connect, queue):
    conn = connect()
    assert_exact(conn, queue, (0, 0))
    errors = []

    def producer(k):
        try:
            c = connect(autocommit=False)
            for i in range(60):
                send(c, queue, 1 + i % 3, delay=(i % 4) * 30)
                if i % 7 == k:
                    c.rollback()
                else:
                    c.commit()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def consumer(k):
        try:
            c = connect(autocommit=False)
            for i in range(60):
                rows = c.execute("SELECT msg_id FROM pgmq.read(%s, %s, 2)", [queue, (i % 3) * 40]).fetchall()
                ids = [r[0] for r in rows]
                if ids and i % 3 == 0:
                    c.execute("SELECT pgmq.delete(%s, %s::bigint[])", [queue, ids])
                elif ids and i % 3 == 1:
                    c.execute("SELECT * FROM pgmq.set_vt(%s, %s::bigint[], 90)", [queue, ids])
                else:
                    c.execute("SELECT * FROM pgmq.pop(%s, 1)", [queue])
                if i % 5 == k:
                    c.rollback()
                else:
                    c.commit()
                if i % 10 == 0:
                    c.execute("SELECT * FROM pgmq.metrics(%s)", [queue])
                    c.commit()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=producer, args=(k,)) for k in range(3)]
    threads += [threading.Thread(target=consumer, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert counter(conn, queue) == counted(conn, queue)
    assert_exact(conn, queue)


def test_metrics_all_uses_the_counters(conn, queue):
    send(conn, queue, 2)
    send(conn, queue, 1, delay=60)
    rows = {r[0]: r[1:] for r in conn.execute(
        "SELECT queue_name, queue_length, queue_visible_length FROM pgmq.metrics_all()")}
    assert rows[queue] == (3, 2)
    assert counter(conn, queue) == (3, 2)


def test_policy_moves_are_counted(conn, queue):
    """Policy maintenance (the worker or run_maintenance) reports what it moves: both queues' counters
    stay valid and exact."""
    invalid = queue + "_inv"
    conn.execute("SELECT pgmq.create(%s)", [invalid])
    try:
        send(conn, queue, 5)
        conn.execute("SELECT pgmq.set_policy(%s, invalid_queue => %s, max_deliveries => 1)", [queue, invalid])
        for _ in range(100):  # the worker may be busy with the queue: metrics rebuilds once it can
            assert lengths(conn, queue) == (5, 5)
            assert lengths(conn, invalid) == (0, 0)
            if counter(conn, queue) == (5, 5) and counter(conn, invalid) == (0, 0):
                break
        assert (counter(conn, queue), counter(conn, invalid)) == ((5, 5), (0, 0))
        # three messages read once with vt 0: visible again, delivered max_deliveries times
        conn.execute("SELECT * FROM pgmq.read(%s, 0, 3)", [queue])
        conn.execute("SELECT * FROM pgmq.read(%s, 3600, 1)", [queue])
        # the worker (or run_maintenance below) moves the three to the invalid queue, reporting it
        for _ in range(100):
            conn.execute("SELECT * FROM pgmq.run_maintenance()")
            if counted(conn, invalid)[0] == 3:
                break
        assert_kept(conn, queue, (2, 1))
        assert_kept(conn, invalid, (3, 3))
    finally:
        conn.execute("SELECT pgmq.drop_queue(%s)", [queue])
        conn.execute("SELECT pgmq.drop_queue(%s)", [invalid])
        conn.execute("SELECT pgmq.create(%s)", [queue])


def test_priority_and_dedup_queues(conn, queue):
    conn.execute("SELECT pgmq.set_policy(%s, priorities => true, dedup_seconds => 3600)", [queue])
    for p in (1, 5, 3):
        conn.execute("SELECT pgmq.send(%s, '{}', %s::jsonb)", [queue, Jsonb({"x-pgmq-priority": p})])
    for _ in range(2):
        conn.execute("SELECT pgmq.send(%s, '{}', %s::jsonb, 60)", [queue, Jsonb({"x-pgmq-dedup-id": "a"})])
    assert_exact(conn, queue, (4, 3))
    conn.execute("SELECT * FROM pgmq.read(%s, 60, 2)", [queue])
    assert_kept(conn, queue, (4, 1))
    conn.execute("SELECT * FROM pgmq.pop(%s, 1)", [queue])
    assert_kept(conn, queue, (3, 0))


def test_partitioned_queue(conn, queue):
    name = queue + "_p"
    conn.execute("SELECT pgmq.create_partitioned(%s, '10', '100')", [name])
    try:
        send(conn, name, 25)
        send(conn, name, 5, delay=60)
        assert_exact(conn, name, (30, 25))
        ids = [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 60, 4)", [name])]
        assert_kept(conn, name, (30, 21))
        conn.execute("SELECT pgmq.delete(%s, %s::bigint[])", [name, ids[:2]])
        conn.execute("SELECT pgmq.archive(%s, %s::bigint)", [name, ids[2]])
        conn.execute("SELECT * FROM pgmq.set_vt(%s, %s::bigint, 0)", [name, ids[3]])
        conn.execute("SELECT * FROM pgmq.pop(%s, 2)", [name])
        assert_kept(conn, name, (25, 20))
        send(conn, name, 12)  # a partition made on demand invalidates the counters: metrics rebuilds
        assert_exact(conn, name, (37, 32))
    finally:
        conn.execute("SELECT pgmq.drop_queue(%s)", [name])


def test_repeatable_read_sees_the_latest_counts(connect, queue):
    """The counters are of the latest commits, not of the transaction's snapshot (README, Metrics)."""
    conn = connect()
    assert_exact(conn, queue, (0, 0))
    rr = connect(autocommit=False)
    rr.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    assert lengths(rr, queue) == (0, 0)
    send(conn, queue, 2)
    assert rr.execute("SELECT queue_length FROM pgmq.metrics(%s)", [queue]).fetchone() == (2,)
    rr.rollback()


def test_ages_are_those_of_the_ends_of_the_primary_key(conn, queue):
    """The ages come from the lowest and highest msg_id (README, Metrics), not from a scan of enqueued_at."""
    send(conn, queue, 3)
    conn.execute(sql.SQL("UPDATE pgmq.{} SET enqueued_at = now() - interval '1 hour' WHERE msg_id = 2").format(
        sql.Identifier("q_" + queue)))
    conn.execute(sql.SQL("UPDATE pgmq.{} SET enqueued_at = now() - interval '10 seconds' WHERE msg_id = 1").format(
        sql.Identifier("q_" + queue)))
    row = conn.execute("SELECT newest_msg_age_sec, oldest_msg_age_sec, total_messages FROM pgmq.metrics(%s)",
                       [queue]).fetchone()
    assert row[1] == 10 and row[0] <= 1 and row[2] == 3
    assert counter(conn, queue) == (3, 3)


def test_many_distinct_vts(conn, queue):
    """One transaction giving messages 1,000 distinct vts keeps the counters; more distinct vts than the
    shared hash holds (pgmq.metrics_vt_entries, 65,536 by default) make metrics scan for the visible length,
    exactly, with queue_length still from the count."""
    send(conn, queue, 3)
    assert_exact(conn, queue, (3, 3))
    conn.execute("SELECT count(*) FROM generate_series(1, 1000) i, LATERAL pgmq.send(%s, '{}', i + 60)", [queue])
    assert counter(conn, queue) == (1003, 3)
    assert_exact(conn, queue, (1003, 3))
    if conn.execute("SHOW pgmq.metrics_vt_entries").fetchone()[0] != "65536":
        pytest.skip("pgmq.metrics_vt_entries is not the default")
    conn.execute("SELECT count(*) FROM generate_series(1, 70000) i, LATERAL pgmq.send(%s, '{}', i + 60)", [queue])
    assert lengths(conn, queue) == counted(conn, queue) == (71003, 3)
    assert counter(conn, queue) == (71003, None)
    conn.execute("SELECT pgmq.purge_queue(%s)", [queue])
    send(conn, queue, 2, delay=60)
    assert_exact(conn, queue, (2, 0))
