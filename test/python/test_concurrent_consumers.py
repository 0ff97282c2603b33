"""Concurrent consumers: every message is delivered to exactly one reader, none is lost.

Several threads read (1 or 5 at a time) and delete while producers send; reads go through
the direct (access-method) path and the read hint, so this checks their locking under
concurrency: FOR UPDATE SKIP LOCKED semantics, no message read twice within its vt, and
the hint never hiding a message.
"""
import os
import threading

import psycopg

DSN = f"host={os.environ.get('PGHOST', '/tmp')} port={os.environ.get('PGPORT', '5432')} user=postgres dbname=postgres"
Q = "conc_consumers"


def connect():
    return psycopg.connect(DSN, autocommit=True)


def test_each_message_consumed_once():
    with connect() as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS pgmq")
        c.execute(f"SELECT pgmq.drop_queue('{Q}')")  # false when missing
        c.execute(f"SELECT pgmq.create('{Q}')")
        # An invisible head (delayed an hour) the readers must skip, then a backlog.
        c.execute(f"SELECT pgmq.send_batch('{Q}', array_fill('{{}}'::jsonb, ARRAY[200]), 3600)")
        c.execute(f"SELECT pgmq.send_batch('{Q}', (SELECT array_agg(jsonb_build_object('i', i)) "
                  f"FROM generate_series(1, 1500) i))")

    produced = 1500
    got = []
    lock = threading.Lock()
    errors = []
    done_producing = threading.Event()

    def producer():
        nonlocal produced
        try:
            with connect() as c:
                for i in range(500):
                    c.execute(f"SELECT pgmq.send('{Q}', %s::jsonb)", (f'{{"p": {i}}}',))
                with lock:
                    produced += 500
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            done_producing.set()

    def consumer(qty):
        try:
            with connect() as c:
                empty = 0
                while empty < 20:
                    with c.transaction():
                        rows = c.execute(f"SELECT msg_id, read_ct FROM pgmq.read('{Q}', 60, %s)", (qty,)).fetchall()
                        for msg_id, read_ct in rows:
                            assert read_ct == 1, f"message {msg_id} delivered {read_ct} times"
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
    threads += [threading.Thread(target=consumer, args=(q,)) for q in (1, 1, 1, 5, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(got) == len(set(got)), "a message was consumed twice"
    assert len(got) == produced
    with connect() as c:
        left = c.execute(f"SELECT count(*) FROM pgmq.q_{Q} WHERE vt <= clock_timestamp()").fetchone()[0]
        assert left == 0
        assert c.execute(f"SELECT count(*) FROM pgmq.q_{Q}").fetchone()[0] == 200
        c.execute(f"SELECT pgmq.drop_queue('{Q}')")


def test_rolled_back_read_is_read_again_in_order():
    with connect() as c, connect() as other:
        c.execute("CREATE EXTENSION IF NOT EXISTS pgmq")
        c.execute(f"SELECT pgmq.create('{Q}_rb')")
        c.execute(f"SELECT pgmq.send_batch('{Q}_rb', array_fill('{{}}'::jsonb, ARRAY[100]), 3600)")
        c.execute(f"SELECT pgmq.send_batch('{Q}_rb', array_fill('{{}}'::jsonb, ARRAY[3]))")
        # One session holds 101 (uncommitted read); another reads past it, then the first rolls back.
        c.execute("BEGIN")
        assert c.execute(f"SELECT msg_id FROM pgmq.read('{Q}_rb', 60, 1)").fetchone()[0] == 101
        assert other.execute(f"SELECT msg_id FROM pgmq.read('{Q}_rb', 60, 5)").fetchall() == [(102,), (103,)]
        assert other.execute(f"SELECT msg_id FROM pgmq.read('{Q}_rb', 60, 5)").fetchall() == []
        c.execute("ROLLBACK")
        assert other.execute(f"SELECT msg_id FROM pgmq.read('{Q}_rb', 60, 5)").fetchall() == [(101,)]
        c.execute(f"SELECT pgmq.drop_queue('{Q}_rb')")
