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


def test_no_message_hidden_by_hints_stored_while_sends_are_in_flight():
    """Producers whose transactions stay open across several sends (some rolled back) while
    consumers read: reads store hints with sends always in flight (pg/readhint.cpp, SendBound),
    and no hint may pass a message that commits after the read's snapshot."""
    q = "conc_in_flight"
    with connect() as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS pgmq")
        c.execute(f"SELECT pgmq.drop_queue('{q}')")
        c.execute(f"SELECT pgmq.create('{q}')")
    committed = []
    lock = threading.Lock()
    errors = []
    producers_left = [4]

    rolled_back = set()

    def producer(p):
        # Each transaction: two sends, a pause, a batch of two; every fifth rolls back.
        try:
            with connect() as c:
                for t in range(60):
                    c.execute("BEGIN")
                    ids = [c.execute(f"SELECT * FROM pgmq.send('{q}', %s::jsonb)",
                                     (f'{{"p": {p}, "t": {t}, "k": {k}}}',)).fetchone()[0] for k in range(2)]
                    c.execute("SELECT pg_sleep(0.003)")
                    ids += [r[0] for r in c.execute(
                        f"SELECT * FROM pgmq.send_batch('{q}', ARRAY['{{}}', '{{}}']::jsonb[])")]
                    if (p + t) % 5 == 0:
                        c.execute("ROLLBACK")
                        with lock:
                            rolled_back.update(ids)
                    else:
                        c.execute("COMMIT")
                        with lock:
                            committed.extend(ids)
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            with lock:
                producers_left[0] -= 1

    got = []

    def consumer(qty):
        try:
            with connect() as c:
                empty = 0
                while empty < 30:
                    with c.transaction():
                        ids = [r[0] for r in c.execute(f"SELECT msg_id FROM pgmq.read('{q}', 300, %s)", (qty,))]
                        if ids:
                            c.execute(f"SELECT pgmq.delete('{q}', %s::bigint[])", (ids,))
                    with lock:
                        got.extend(ids)
                        finished = producers_left[0] == 0
                    if not ids and finished:
                        empty += 1
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=producer, args=(p,)) for p in range(4)]
    threads += [threading.Thread(target=consumer, args=(n,)) for n in (1, 1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(got) == len(set(got)), "a message was consumed twice"
    assert not set(got) & rolled_back
    assert sorted(got) == sorted(committed), f"{len(set(committed) - set(got))} committed messages never read"
    with connect() as c:
        assert c.execute(f"SELECT count(*) FROM pgmq.q_{q}").fetchone()[0] == 0
        c.execute(f"SELECT pgmq.drop_queue('{q}')")
