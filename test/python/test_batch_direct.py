"""test_batch_direct.py: send_batch and archive of many messages at once from several sessions
(src/pg/direct_write.cpp inserts a batch's rows with table_multi_insert, then their index
entries): every batch's msg_ids come back increasing, no msg_id is given twice, every row is
stored once with its index entry, and archive moves each row exactly once.
"""
import time

from helpers import Thread
from psycopg.types.json import Jsonb

SENDERS = 4
BATCHES = 25
BATCH = 150


def _send_batches(connect, queue, sender):
    """_send_batches sends BATCHES batches of BATCH messages, each its own transaction; returns the ids per batch."""
    conn = connect()
    batches = []
    for b in range(BATCHES):
        msgs = [Jsonb({"sender": sender, "batch": b, "i": i}) for i in range(BATCH)]
        ids = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[])", [queue, msgs])]
        batches.append(ids)
    return batches


def _consume(connect, queue, expected):
    """_consume reads 100 and archives them until expected messages were archived by all consumers (60 s at most)."""
    conn = connect()
    archived = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ids = [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 30, 100)", [queue])]
        if not ids:
            if conn.execute(f"SELECT count(*) FROM pgmq.a_{queue}").fetchone()[0] >= expected:
                break
            time.sleep(0.01)
            continue
        moved = [r[0] for r in conn.execute("SELECT * FROM pgmq.archive(%s, %s::bigint[])", [queue, ids])]
        assert sorted(moved) == sorted(ids)
        archived.extend(moved)
    return archived


def test_concurrent_batches_keep_ids_unique_and_increasing(connect, queue):
    conn = connect()
    conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
    total = SENDERS * BATCHES * BATCH
    senders = [Thread(_send_batches, connect, queue, s) for s in range(SENDERS)]
    consumers = [Thread(_consume, connect, queue, total) for _ in range(2)]
    for t in senders + consumers:
        t.start()
    batches = [b for t in senders for b in t.join_result(120)]
    archived = [i for t in consumers for i in t.join_result(120)]
    for ids in batches:
        assert len(ids) == BATCH
        assert all(a < b for a, b in zip(ids, ids[1:])), "a batch's msg_ids increase"
    sent = [i for ids in batches for i in ids]
    assert len(set(sent)) == total
    # Each message archived once, by one consumer, whole.
    assert sorted(archived) == sorted(sent)
    assert conn.execute(f"SELECT count(*) FROM pgmq.q_{queue}").fetchone() == (0,)
    rows = conn.execute(f"SELECT msg_id, message FROM pgmq.a_{queue}").fetchall()
    assert len(rows) == total
    by_id = dict(rows)
    for s, t in enumerate(senders):
        for b, ids in enumerate(t.result):
            assert [by_id[i] for i in ids] == [{"sender": s, "batch": b, "i": i} for i in range(BATCH)]
    for index in (f"pgmq.a_{queue}_pkey", f"pgmq.archived_at_idx_{queue}", f"pgmq.q_{queue}_pkey"):
        conn.execute("SELECT bt_index_check(%s::regclass, true)", [index])


def test_batch_spanning_pages_is_indexed_and_readable(connect, queue):
    """A batch of 3,000 messages (three multi inserts, many pages) is read back whole in msg_id order."""
    conn = connect()
    conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
    msgs = [Jsonb({"i": i, "pad": "x" * 200}) for i in range(3000)]
    ids = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[])", [queue, msgs])]
    assert ids == list(range(ids[0], ids[0] + 3000))
    conn.execute(f"SELECT bt_index_check('pgmq.q_{queue}_pkey'::regclass, true)")
    got = []
    while True:
        rows = conn.execute("SELECT msg_id, message FROM pgmq.read(%s, 30, 1000)", [queue]).fetchall()
        if not rows:
            break
        got.extend(rows)
    assert [r[0] for r in got] == ids
    assert [r[1]["i"] for r in got] == list(range(3000))
