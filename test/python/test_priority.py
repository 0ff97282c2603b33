"""Priority queues (set_policy(priorities => true)) under concurrent consumers and producers.

Consumers read 1 or 5 at a time and delete while producers send messages with random priorities:
every message is delivered to exactly one reader (read_ct 1, within its vt), none is lost, and
each batch of a strict reader comes in priority order (x-pgmq-priority descending, then msg_id).
One consumer keeps the default pgmq.priority_fifo_every, so FIFO turns run among priority reads.
"""
import os
import random
import threading

import psycopg

DSN = f"host={os.environ.get('PGHOST', '/tmp')} port={os.environ.get('PGPORT', '5432')} user=postgres dbname=postgres"
Q = "prio_consumers"


def connect():
    return psycopg.connect(DSN, autocommit=True)


def priority(headers):
    return (headers or {}).get("x-pgmq-priority") or 0


def test_priority_consumers_get_each_message_once_in_order():
    with connect() as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS pgmq")
        c.execute(f"SELECT pgmq.drop_queue('{Q}')")  # false when missing
        c.execute(f"SELECT pgmq.create('{Q}')")
        c.execute(f"SELECT pgmq.set_policy('{Q}', priorities => true)")
        # A delayed top-priority head the readers must pass, then a backlog of mixed priorities.
        c.execute(f"SELECT pgmq.send_batch('{Q}', array_fill('{{}}'::jsonb, ARRAY[100]), "
                  f"array_fill('{{\"x-pgmq-priority\": 100}}'::jsonb, ARRAY[100]), 3600)")
        c.execute(f"SELECT pgmq.send_batch('{Q}', (SELECT array_agg(jsonb_build_object('i', i)) "
                  f"FROM generate_series(1, 1200) i), (SELECT array_agg(CASE WHEN i % 7 = 0 THEN NULL "
                  f"ELSE jsonb_build_object('x-pgmq-priority', i % 5 - 1) END) FROM generate_series(1, 1200) i))")

    produced = 1200
    got = []
    lock = threading.Lock()
    errors = []
    done_producing = threading.Event()

    def producer():
        nonlocal produced
        try:
            rng = random.Random(11)
            with connect() as c:
                for i in range(400):
                    c.execute(f"SELECT pgmq.send('{Q}', %s::jsonb, %s::jsonb)",
                              (f'{{"p": {i}}}', f'{{"x-pgmq-priority": {rng.randint(-2, 6)}}}'))
                with lock:
                    produced += 400
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            done_producing.set()

    def consumer(qty, strict):
        try:
            with connect() as c:
                if strict:
                    c.execute("SET pgmq.priority_fifo_every = 0")
                empty = 0
                while empty < 20:
                    with c.transaction():
                        rows = c.execute(f"SELECT msg_id, read_ct, headers FROM pgmq.read('{Q}', 60, %s)",
                                         (qty,)).fetchall()
                        for msg_id, read_ct, _ in rows:
                            assert read_ct == 1, f"message {msg_id} delivered {read_ct} times"
                        if strict:
                            keys = [(-priority(h), i) for i, _, h in rows]
                            assert keys == sorted(keys), f"batch out of priority order: {rows}"
                        ids = [r[0] for r in rows]
                        if ids:
                            deleted = c.execute(f"SELECT * FROM pgmq.delete('{Q}', %s::bigint[])", (ids,)).fetchall()
                            assert sorted(d[0] for d in deleted) == sorted(ids)
                    with lock:
                        got.extend(ids)
                    if not ids and done_producing.is_set():
                        empty += 1
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=producer)]
    threads += [threading.Thread(target=consumer, args=a) for a in ((1, True), (1, True), (5, True), (1, False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(got) == len(set(got)), "a message was consumed twice"
    assert len(got) == produced
    with connect() as c:
        left = c.execute(f"SELECT count(*), count(*) FILTER (WHERE vt <= clock_timestamp()) FROM pgmq.q_{Q}").fetchone()
        assert left == (100, 0), "only the delayed head is left"
        c.execute(f"SELECT pgmq.drop_queue('{Q}')")


def test_strict_reader_sees_priorities_before_older_messages():
    """With the backlog still, one strict reader's reads of 1 are exactly (priority desc, msg_id)."""
    with connect() as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS pgmq")
        c.execute(f"SELECT pgmq.drop_queue('{Q}')")
        c.execute(f"SELECT pgmq.create('{Q}')")
        c.execute(f"SELECT pgmq.set_policy('{Q}', priorities => true)")
        rng = random.Random(5)
        prios = [rng.choice([None, -3, 0, 1, 2, 50]) for _ in range(60)]
        headers = [None if p is None else {"x-pgmq-priority": p} for p in prios]
        ids = [r[0] for r in c.execute(f"SELECT * FROM pgmq.send_batch('{Q}', %s::jsonb[], %s::jsonb[])",
                                       ([psycopg.types.json.Jsonb({"k": k}) for k in range(60)],
                                        [None if h is None else psycopg.types.json.Jsonb(h) for h in headers]))]
        expected = [i for _, i in sorted(((-(p or 0), i) for p, i in zip(prios, ids)))]
        c.execute("SET pgmq.priority_fifo_every = 0")
        seen = []
        for _ in range(60):
            seen += [r[0] for r in c.execute(f"SELECT msg_id FROM pgmq.pop('{Q}', 1)")]
        assert seen == expected
        c.execute(f"SELECT pgmq.drop_queue('{Q}')")
