"""test_concurrency.py: several consumers (threads with their own connections) on one queue.

Each message is consumed exactly once: no duplicates, none lost, read_ct 1 for every
message consumed within its visibility timeout. Also the visibility timeout itself and
what rolled-back transactions leave behind.
"""
import threading
import time

from psycopg.types.json import Jsonb

from helpers import Thread, queue_length

N_MESSAGES = 500
N_CONSUMERS = 4


def fill(conn, queue, n):
    """fill sends n messages {"i": 0..n-1} in batches of 100; returns their ids."""
    ids = []
    for start in range(0, n, 100):
        batch = [Jsonb({"i": i}) for i in range(start, min(n, start + 100))]
        ids += [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[])", [queue, batch])]
    return ids


def consume_with_read(connect, queue, batch, stop):
    """consume_with_read reads and deletes until the queue stays empty; returns (msg_id, read_ct, i)."""
    conn = connect()
    got = []
    empty_reads = 0
    while empty_reads < 3 and not stop.is_set():
        rows = conn.execute("SELECT * FROM pgmq.read(%s, 60, %s)", [queue, batch]).fetchall()
        if not rows:
            empty_reads += 1
            time.sleep(0.02)
            continue
        empty_reads = 0
        got += [(r[0], r[1], r[5]["i"]) for r in rows]
        deleted = [r[0] for r in conn.execute("SELECT * FROM pgmq.delete(%s, %s::bigint[])",
                                              [queue, [r[0] for r in rows]])]
        assert sorted(deleted) == sorted(r[0] for r in rows), "a message we read was deleted by someone else"
    return got


def consume_with_pop(connect, queue, stop):
    """consume_with_pop pops two at a time until the queue stays empty."""
    conn = connect()
    got = []
    empty = 0
    while empty < 3 and not stop.is_set():
        rows = conn.execute("SELECT * FROM pgmq.pop(%s, 2)", [queue]).fetchall()
        if not rows:
            empty += 1
            time.sleep(0.02)
            continue
        empty = 0
        got += [(r[0], r[1], r[5]["i"]) for r in rows]
    return got


def run_consumers(targets):
    """run_consumers starts the consumer threads and returns all they consumed."""
    threads = [Thread(*t) for t in targets]
    for t in threads:
        t.start()
    got = []
    for t in threads:
        got += t.join_result(120)
    return got, [len(t.result) for t in threads]


def test_concurrent_readers_consume_each_message_once(connect, conn, queue):
    ids = fill(conn, queue, N_MESSAGES)
    stop = threading.Event()
    got, per_thread = run_consumers([(consume_with_read, connect, queue, 7, stop) for _ in range(N_CONSUMERS)])
    consumed = [g[0] for g in got]
    assert len(consumed) == len(set(consumed)), "a message was consumed twice"
    assert sorted(consumed) == sorted(ids), "a message was lost"
    assert all(g[1] == 1 for g in got), "a message was read more than once"
    assert sorted(g[2] for g in got) == list(range(N_MESSAGES))
    assert sum(per_thread) == N_MESSAGES
    assert queue_length(conn, queue) == 0


def test_concurrent_pop_consumes_each_message_once(connect, conn, queue):
    ids = fill(conn, queue, N_MESSAGES)
    stop = threading.Event()
    got, _ = run_consumers([(consume_with_pop, connect, queue, stop) for _ in range(N_CONSUMERS)])
    consumed = [g[0] for g in got]
    assert len(consumed) == len(set(consumed))
    assert sorted(consumed) == sorted(ids)
    assert all(g[1] == 0 for g in got)
    assert queue_length(conn, queue) == 0


def test_producers_and_consumers_together(connect, conn, queue):
    """Two producers send while three consumers read/delete; everything sent arrives once."""
    stop = threading.Event()

    def produce(offset):
        c = connect()
        sent = []
        for i in range(offset, offset + 150):
            sent.append(c.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"i": i})]).fetchone()[0])
        return sent

    def consume():
        c = connect()
        got = []
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            rows = c.execute("SELECT * FROM pgmq.read_with_poll(%s, 60, 5, 1, 10)", [queue]).fetchall()
            for r in rows:
                assert c.execute("SELECT pgmq.delete(%s, %s::bigint)", [queue, r[0]]).fetchone() == (True,)
            got += [(r[0], r[1]) for r in rows]
        return got

    consumers = [Thread(consume) for _ in range(3)]
    producers = [Thread(produce, k * 1000) for k in range(2)]
    for t in consumers + producers:
        t.start()
    sent = []
    for p in producers:
        sent += p.join_result(60)
    deadline = time.monotonic() + 30
    while queue_length(conn, queue) > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    got = []
    for c in consumers:
        got += c.join_result(30)
    consumed = [g[0] for g in got]
    assert len(consumed) == len(set(consumed))
    assert sorted(consumed) == sorted(sent)
    assert all(g[1] == 1 for g in got)


def test_visibility_timeout_expires(conn, queue):
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"v": 1})]).fetchone()
    rows = conn.execute("SELECT * FROM pgmq.read(%s, 1, 1)", [queue]).fetchall()
    assert [(r[0], r[1]) for r in rows] == [(msg_id, 1)]
    assert conn.execute("SELECT * FROM pgmq.read(%s, 1, 1)", [queue]).fetchall() == []
    time.sleep(1.5)
    rows = conn.execute("SELECT * FROM pgmq.read(%s, 30, 1)", [queue]).fetchall()
    assert [(r[0], r[1]) for r in rows] == [(msg_id, 2)]
    assert rows[0][3] > rows[0][2]  # last_read_at moved on


def test_reader_skips_messages_locked_by_an_open_read(connect, queue):
    conn = connect()
    ids = fill(conn, queue, 4)
    tx = connect(autocommit=False)
    first = [r[0] for r in tx.execute("SELECT * FROM pgmq.read(%s, 30, 2)", [queue])]
    assert first == ids[:2]
    other = [r[0] for r in conn.execute("SELECT * FROM pgmq.read(%s, 30, 10)", [queue])]
    assert other == ids[2:]
    tx.rollback()
