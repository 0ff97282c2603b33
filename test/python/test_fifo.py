"""test_fifo.py: FIFO groups as an application uses them (psycopg 3).

Workers read with read_grouped / read_grouped_rr / read_grouped_head, process and delete,
while a producer sends messages of many groups (header x-pgmq-group): every message is
processed exactly once, each group's messages in msg_id order, and never two workers at a
time on one group. read_grouped_with_poll wakes when another connection's send commits.
"""
import threading
import time

import pytest
from psycopg.types.json import Jsonb

GROUPS = 12
PER_GROUP = 40


def send_all(conn, queue):
    """send_all sends PER_GROUP messages to each of GROUPS groups, interleaved, in small batches."""
    for i in range(PER_GROUP):
        msgs = [Jsonb({"g": g, "i": i}) for g in range(GROUPS)]
        headers = [Jsonb({"x-pgmq-group": f"g{g}"}) for g in range(GROUPS)]
        conn.execute("SELECT pgmq.send_batch(%s, %s::jsonb[], %s::jsonb[])", [queue, msgs, headers])


@pytest.mark.parametrize("function", ["read_grouped", "read_grouped_rr", "read_grouped_head"])
def test_workers_keep_each_group_in_order_and_exclusive(connect, queue, function):
    conn = connect()
    conn.execute("SELECT pgmq.create_fifo_index(%s)", [queue])
    producer = threading.Thread(target=send_all, args=(connect(), queue))
    producer.start()
    lock = threading.Lock()
    busy = set()            # groups a worker is processing now
    seen = {}               # group -> list of i in processing order
    errors = []
    done = threading.Event()

    def worker(wconn):
        idle_since = None
        while True:
            rows = wconn.execute(
                f"SELECT msg_id, message, headers FROM pgmq.{function}(queue_name => %s, vt => 30, qty => %s)",
                [queue, 5]).fetchall()
            if not rows:
                if done.is_set():
                    if idle_since is None:
                        idle_since = time.monotonic()
                    if time.monotonic() - idle_since > 0.5:
                        return
                time.sleep(0.005)
                continue
            idle_since = None
            groups = {r[2]["x-pgmq-group"] for r in rows}
            with lock:
                clash = groups & busy
                if clash:
                    errors.append(f"groups {clash} handed to two workers")
                busy.update(groups)
                for _, message, _ in rows:
                    seen.setdefault(message["g"], []).append(message["i"])
            time.sleep(0.002)  # "processing"
            # free before the delete: once it commits the group's next message may go to anyone
            with lock:
                busy.difference_update(groups)
            wconn.execute("SELECT pgmq.delete(%s, %s::bigint[])", [queue, [r[0] for r in rows]])

    workers = [threading.Thread(target=worker, args=(connect(),)) for _ in range(4)]
    for w in workers:
        w.start()
    producer.join()
    done.set()
    for w in workers:
        w.join(timeout=60)
    assert not errors
    assert sorted(seen) == list(range(GROUPS))
    for g, order in seen.items():
        assert order == list(range(PER_GROUP)), f"group {g} out of order or not exactly once"
    (left,) = conn.execute(f"SELECT count(*) FROM pgmq.q_{queue}").fetchone()
    assert left == 0


def test_group_waits_for_its_message_in_flight(conn, queue):
    conn.execute("SELECT pgmq.send(%s, %s, %s)", [queue, Jsonb({"n": 1}), Jsonb({"x-pgmq-group": "a"})])
    conn.execute("SELECT pgmq.send(%s, %s, %s)", [queue, Jsonb({"n": 2}), Jsonb({"x-pgmq-group": "a"})])
    conn.execute("SELECT pgmq.send(%s, %s)", [queue, Jsonb({"n": 3})])
    first = conn.execute("SELECT msg_id FROM pgmq.read_grouped_head(%s, 30, 1)", [queue]).fetchall()
    assert first == [(1,)]
    # group a holds message 1 in flight: only the default group's message comes
    assert conn.execute("SELECT msg_id FROM pgmq.read_grouped(%s, 30, 10)", [queue]).fetchall() == [(3,)]
    conn.execute("SELECT pgmq.archive(%s, 1::bigint)", [queue])
    assert conn.execute("SELECT msg_id FROM pgmq.read_grouped_rr(%s, 30, 10)", [queue]).fetchall() == [(2,)]


def test_grouped_poll_wakes_at_commit(connect, queue):
    reader = connect()
    result = {}

    def poll():
        t0 = time.monotonic()
        rows = reader.execute(
            "SELECT msg_id FROM pgmq.read_grouped_with_poll(queue_name => %s, vt => 30, qty => 5,"
            " max_poll_seconds => 10, poll_interval_ms => 5000)", [queue]).fetchall()
        result["rows"], result["elapsed"] = rows, time.monotonic() - t0

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.3)
    sender = connect(autocommit=False)
    sender.execute("SELECT pgmq.send(%s, %s, %s)", [queue, Jsonb({"late": True}), Jsonb({"x-pgmq-group": "x"})])
    sender.commit()
    t.join(timeout=15)
    assert len(result["rows"]) == 1
    assert result["elapsed"] < 4, "the poll should wake at the send's commit, not after poll_interval_ms"
