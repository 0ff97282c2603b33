"""test_read_hint.py: the shared read hint (src/pg/readhint.hpp) never hides a message that
plain SQL puts below it.

A read that passes hidden messages stores a hint "no visible message below msg_id N"; a
message inserted by hand with an explicit msg_id below N (moved back from the archive), or
a queue restarted with TRUNCATE ... RESTART IDENTITY, must still be read at once.
"""
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
