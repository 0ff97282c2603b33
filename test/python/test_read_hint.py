"""test_read_hint.py: the shared read hint (src/pg/readhint.hpp) never hides a message that
plain SQL puts below it.

A read that passes hidden messages stores a hint "no visible message below msg_id N"; a
message inserted by hand with an explicit msg_id below N (moved back from the archive), or
a queue restarted with TRUNCATE ... RESTART IDENTITY, must still be read at once.
"""
import psycopg
import pytest
from psycopg.types.json import Jsonb


def hide_all(conn, queue, count):
    """hide_all sends count messages and reads them all for an hour, so the hint passes them."""
    conn.execute("SELECT pgmq.send_batch(%s, %s::jsonb[])", [queue, [Jsonb({"n": i}) for i in range(count)]])
    taken = conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, %s)", [queue, count]).fetchall()
    assert len(taken) == count
    assert conn.execute("SELECT msg_id FROM pgmq.read(%s, 0, 10)", [queue]).fetchall() == []
    return [r[0] for r in taken]


def test_message_moved_back_from_archive_is_read(connect, queue):
    conn = connect()
    ids = hide_all(conn, queue, 3)
    assert conn.execute("SELECT pgmq.archive(%s, %s::bigint)", [queue, ids[0]]).fetchone() == (True,)
    conn.execute(
        f"INSERT INTO pgmq.q_{queue} (msg_id, read_ct, enqueued_at, vt, message) OVERRIDING SYSTEM VALUE "
        f"SELECT msg_id, 0, enqueued_at, clock_timestamp(), message FROM pgmq.a_{queue}"
    )
    rows = conn.execute("SELECT msg_id FROM pgmq.read(%s, 0, 10)", [queue]).fetchall()
    assert rows == [(ids[0],)]


def test_truncate_restart_identity_then_send_is_read(connect, queue):
    conn = connect()
    hide_all(conn, queue, 3)
    conn.execute(f"TRUNCATE pgmq.q_{queue} RESTART IDENTITY")
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"after": "truncate"})]).fetchone()
    assert msg_id == 1
    rows = conn.execute("SELECT msg_id, message FROM pgmq.read(%s, 0, 10)", [queue]).fetchall()
    assert rows == [(1, {"after": "truncate"})]


def test_set_vt_then_read_in_the_same_transaction(connect, queue):
    conn = connect()
    ids = hide_all(conn, queue, 3)
    tx = connect(autocommit=False)
    tx.execute("SELECT pgmq.set_vt(%s, %s::bigint, 0)", [queue, ids[1]])
    # the transaction sees its own change at once, although the hint (stored before) passes the message
    assert tx.execute("SELECT msg_id FROM pgmq.read(%s, 0, 10)", [queue]).fetchall() == [(ids[1],)]
    tx.rollback()
    assert conn.execute("SELECT msg_id FROM pgmq.read(%s, 0, 10)", [queue]).fetchall() == []


def test_insert_then_read_in_the_same_transaction(connect, queue):
    conn = connect()
    ids = hide_all(conn, queue, 2)
    conn.execute("SELECT pgmq.delete(%s, %s::bigint)", [queue, ids[0]])
    tx = connect(autocommit=False)
    tx.execute(
        f"INSERT INTO pgmq.q_{queue} (msg_id, vt, message) OVERRIDING SYSTEM VALUE VALUES (%s, clock_timestamp(), '{{}}')",
        [ids[0]],
    )
    assert tx.execute("SELECT msg_id FROM pgmq.read(%s, 0, 10)", [queue]).fetchall() == [(ids[0],)]
    tx.commit()


def test_cached_sequence_ids_below_the_hint_are_read(connect, queue):
    """With a msg_id sequence CACHE > 1 each backend takes ids from its own range: a send may
    get an id below messages another backend sent and a read passed."""
    conn = connect()
    conn.execute(f"ALTER TABLE pgmq.q_{queue} ALTER COLUMN msg_id SET CACHE 50")
    first, second = connect(), connect()
    (low,) = first.execute("SELECT * FROM pgmq.send(%s, '{}')", [queue]).fetchone()
    (high,) = second.execute("SELECT * FROM pgmq.send(%s, '{}')", [queue]).fetchone()
    assert high > low + 1
    assert sorted(r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 10)", [queue])) == [low, high]
    batch = [r[0] for r in first.execute("SELECT * FROM pgmq.send_batch(%s, ARRAY['{}', '{}']::jsonb[])", [queue])]
    assert max(batch) < high
    assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 10)", [queue])] == batch
    (single,) = first.execute("SELECT * FROM pgmq.send(%s, '{}')", [queue]).fetchone()
    assert single < high
    assert conn.execute("SELECT msg_id FROM pgmq.read(%s, 0, 10)", [queue]).fetchall() == [(single,)]


def read_hint(conn, queue):
    """read_hint is the queue's hint: (low, valid_until), (None, None) when it has none."""
    return conn.execute("SELECT low, valid_until FROM pgmq._read_hint(%s::regclass)", [f"pgmq.q_{queue}"]).fetchone()


def test_hint_moves_while_a_send_is_in_flight(connect, queue):
    """Producers that never stop keep a send in flight at every moment: a read must still store
    its hint (it used to wait for a moment with no send in progress, and under a held snapshot
    every read then walked all the dead rows from the queue's start)."""
    conn = connect()
    ids = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[])",
                                      [queue, [Jsonb({"n": i}) for i in range(6)]])]
    producer = connect(autocommit=False)
    (in_flight,) = producer.execute("SELECT * FROM pgmq.send(%s, '{}')", [queue]).fetchone()
    taken = [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 4)", [queue])]
    assert taken == ids[:4]
    assert read_hint(conn, queue)[0] == ids[4]
    producer.commit()
    rows = [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 10)", [queue])]
    assert rows == ids[4:] + [in_flight]


def test_hint_stops_below_a_send_in_flight(connect, queue):
    """A send that took its msg_id before a read's snapshot and commits after it: the hint the
    read stores stays at or below that msg_id, so the message is read as soon as it commits."""
    conn = connect()
    conn.execute("SELECT pgmq.send(%s, '{}')", [queue])  # the queue's msg_ids are known from here on
    conn.execute("SELECT pgmq.purge_queue(%s)", [queue])
    slow = connect(autocommit=False)
    (low,) = slow.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"slow": True})]).fetchone()
    later = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[])",
                                        [queue, [Jsonb({"n": i}) for i in range(3)]])]
    assert min(later) > low
    taken = [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 10)", [queue])]
    assert taken == later
    hint = read_hint(conn, queue)[0]
    assert hint is None or hint <= low
    slow.commit()
    assert conn.execute("SELECT msg_id, message FROM pgmq.read(%s, 3600, 10)", [queue]).fetchall() == [
        (low, {"slow": True})]


def test_hint_stops_below_a_send_in_flight_to_many_queues(connect, dbname):
    """A transaction that sends to more queues than a backend has bounds for (4): the sends past
    those are announced without a bound, and still no hint passes their messages."""
    conn = connect()
    names = [f"pyq_many_{i}" for i in range(6)]
    for name in names:
        conn.execute("SELECT pgmq.create(%s)", [name])
        conn.execute("SELECT pgmq.send(%s, '{}')", [name])
        conn.execute("SELECT pgmq.purge_queue(%s)", [name])
    slow = connect(autocommit=False)
    try:
        low = {name: slow.execute("SELECT * FROM pgmq.send(%s, '{}')", [name]).fetchone()[0] for name in names}
        for name in names:
            later = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(%s, ARRAY['{}', '{}']::jsonb[])",
                                                [name])]
            assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 10)", [name])] == later
            hint = read_hint(conn, name)[0]
            assert hint is None or hint <= low[name]
        slow.commit()
        for name in names:
            assert conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 10)", [name]).fetchall() == [(low[name],)]
    finally:
        slow.close()
        for name in names:
            conn.execute("SELECT pgmq.drop_queue(%s)", [name])


def test_hint_after_a_rolled_back_send_in_flight(connect, queue):
    """A send in flight that rolls back: the hint may not pass it while it runs, and afterwards
    the queue's other messages are read in order and the hint moves on."""
    conn = connect()
    conn.execute("SELECT pgmq.send(%s, '{}')", [queue])
    conn.execute("SELECT pgmq.purge_queue(%s)", [queue])
    slow = connect(autocommit=False)
    (low,) = slow.execute("SELECT * FROM pgmq.send(%s, '{}')", [queue]).fetchone()
    later = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(%s, ARRAY['{}', '{}', '{}']::jsonb[])",
                                        [queue])]
    assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 2)", [queue])] == later[:2]
    hint = read_hint(conn, queue)[0]
    assert hint is None or hint <= low
    slow.rollback()
    assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 10)", [queue])] == later[2:]
    assert read_hint(conn, queue)[0] == later[2] + 1


def test_read_hint_needs_select_on_the_queue(connect, queue):
    conn = connect()
    conn.execute("DROP ROLE IF EXISTS pyq_hint_nobody")
    conn.execute("CREATE ROLE pyq_hint_nobody")
    try:
        conn.execute("SET ROLE pyq_hint_nobody")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            read_hint(conn, queue)
    finally:
        conn.execute("RESET ROLE")
        conn.execute("DROP ROLE pyq_hint_nobody")


def full_hint(conn, queue):
    return conn.execute("SELECT floor, low, valid_until > clock_timestamp() FROM pgmq._read_hint(%s::regclass)",
                        [f"pgmq.q_{queue}"]).fetchone()


def test_expired_hint_restarts_from_its_floor(connect, queue):
    """When the hint's time passes (a message it passed may be visible again), reads restart from
    its floor, the first message the hint passed for its vt, not from the queue's start: below it
    every message was deleted (under a held snapshot, a walk over all of them)."""
    conn = connect()
    ids = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[])",
                                      [queue, [Jsonb({"n": i}) for i in range(8)]])]
    conn.execute("SELECT pgmq.delete(%s, %s::bigint[])", [queue, ids[:4]])
    # 3 s: the next two statements run well inside it, even on a loaded machine.
    assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3, 1)", [queue])] == [ids[4]]
    assert full_hint(conn, queue) == (ids[4], ids[5], True)
    # Taken for longer: the hint moves on, its floor stays below the message that comes back first.
    assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 1)", [queue])] == [ids[5]]
    assert full_hint(conn, queue) == (ids[4], ids[6], True)
    conn.execute("SELECT pg_sleep(3.2)")
    # ids[4] is visible again: the read starts from the floor and takes it, then ids[6] (ids[5] is hidden).
    assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 2)", [queue])] == [ids[4], ids[6]]
    # A read from the floor raises it to the first message it passed for its vt: ids[4], taken again.
    assert full_hint(conn, queue) == (ids[4], ids[7], True)
    conn.execute("SELECT pgmq.delete(%s, %s::bigint[])", [queue, [ids[4], ids[5], ids[6]]])
    assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 5)", [queue])] == [ids[7]]


def test_message_put_below_the_floor_is_read(connect, queue):
    """The floor holds only until a reset: a message moved back by hand below it is read at once."""
    conn = connect()
    ids = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[])",
                                      [queue, [Jsonb({"n": i}) for i in range(4)]])]
    assert conn.execute("SELECT pgmq.archive(%s, %s::bigint)", [queue, ids[0]]).fetchone() == (True,)
    assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 2)", [queue])] == ids[1:3]
    assert full_hint(conn, queue)[0] == ids[1]
    conn.execute(
        f"INSERT INTO pgmq.q_{queue} (msg_id, read_ct, enqueued_at, vt, message) OVERRIDING SYSTEM VALUE "
        f"SELECT msg_id, 0, enqueued_at, clock_timestamp(), message FROM pgmq.a_{queue}"
    )
    assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 5)", [queue])] == [ids[0], ids[3]]


def test_hint_moves_on_a_queue_with_a_policy(connect, queue):
    """Reads of a queue with a policy go through a statement (it skips messages read
    max_deliveries times); they probe and store the hint too (they used to leave it to
    policy-free reads, which such a queue never has: every read walked from the queue's start)."""
    conn = connect()
    conn.execute("SELECT pgmq.create(%s)", [queue + "_dlq"])
    try:
        conn.execute("SELECT pgmq.set_policy(%s, invalid_queue => %s, max_deliveries => 3)", [queue, queue + "_dlq"])
        ids = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[])",
                                          [queue, [Jsonb({"n": i}) for i in range(200)]])]
        assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 100)", [queue])] == ids[:100]
        assert read_hint(conn, queue)[0] == ids[100]
        conn.execute("SELECT pgmq.delete(%s, %s::bigint[])", [queue, ids[100:180]])
        assert [r[0] for r in conn.execute("SELECT * FROM pgmq.pop(%s, 5)", [queue])] == ids[180:185]
        assert read_hint(conn, queue)[0] == ids[185]
        # set_vt resets the hint at its commit: the message is read again at once.
        conn.execute("SELECT pgmq.set_vt(%s, %s::bigint, 0)", [queue, ids[7]])
        assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 2)", [queue])] == [ids[7], ids[185]]
    finally:
        conn.execute("SELECT pgmq.clear_policy(%s)", [queue])
        conn.execute("SELECT pgmq.drop_queue(%s)", [queue + "_dlq"])
