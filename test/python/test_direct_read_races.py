"""test_direct_read_races.py: the direct read (src/pg/direct_read.cpp) when the row it takes was
changed by a transaction that committed after the read's snapshot (the EvalPlanQual case).

A reader scans a long run of messages not matching its conditional to reach the one that
matches, while another session keeps moving that message's vt into the past with set_vt
(committing each time). The read must lock the newest version and take it (or skip it),
never fail.
"""
import threading

from psycopg.types.json import Jsonb


def test_read_takes_row_updated_after_its_snapshot(connect, queue):
    conn = connect()
    conn.execute(
        "SELECT pgmq.send_batch(%s, array_agg(jsonb_build_object('n', i))) FROM generate_series(1, 50000) AS i",
        [queue],
    )
    (target,) = conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"t": 1})]).fetchone()
    stop = threading.Event()
    updater_errors = []

    def move_vt_back():
        other = connect()
        try:
            while not stop.is_set():
                other.execute("SELECT pgmq.set_vt(%s, %s::bigint, '2000-01-01'::timestamptz)", [queue, target])
        except Exception as e:  # reported by the main thread
            updater_errors.append(e)

    thread = threading.Thread(target=move_vt_back)
    thread.start()
    try:
        taken = 0
        for _ in range(30):
            rows = conn.execute(
                "SELECT msg_id, message FROM pgmq.read(%s, 30, 1, %s)", [queue, Jsonb({"t": 1})]
            ).fetchall()
            assert rows in ([], [(target, {"t": 1})])
            taken += len(rows)
    finally:
        stop.set()
        thread.join()
    assert updater_errors == []
    assert taken > 0


def test_read_takes_row_its_own_transaction_locked(connect, queue):
    """A row locked FOR UPDATE earlier in the reading transaction is not held by another
    transaction: the read takes it, in msg_id order (as FOR UPDATE SKIP LOCKED does)."""
    conn = connect()
    conn.execute("SELECT pgmq.send_batch(%s, %s::jsonb[])", [queue, [Jsonb({"a": 1}), Jsonb({"a": 2})]])
    tx = connect(autocommit=False)
    locked = tx.execute(f"SELECT msg_id FROM pgmq.q_{queue} ORDER BY msg_id LIMIT 1 FOR UPDATE").fetchall()
    rows = tx.execute("SELECT msg_id, read_ct FROM pgmq.read(%s, 30, 1)", [queue]).fetchall()
    assert rows == [(locked[0][0], 1)]
    tx.commit()


def test_read_does_not_lock_a_row_another_reader_took(connect, queue):
    """A read that finds its row changed since its snapshot because another reader took it (and
    committed) passes it without a lock: FOR UPDATE's recheck would lock the newest version and
    hold it until the reading transaction ends, so the reader that took the message would wait
    for it to delete the message (with many consumers, a convoy of deletes)."""
    import psycopg

    conn = connect()
    conn.execute(
        "SELECT pgmq.send_batch(%s, array_agg(jsonb_build_object('n', i))) FROM generate_series(1, 50000) AS i",
        [queue],
    )
    (target,) = conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"t": 1})]).fetchone()
    stop = threading.Event()
    gate = threading.Lock()
    errors = []

    def take_and_release():
        # Another consumer: takes the message for an hour, then gives it back, over and over.
        other = connect()
        try:
            # A lock the reader kept would stop it: fail in seconds, not at the suite's 30 s.
            other.execute("SET lock_timeout = '3s'")
            while not stop.is_set():
                with gate:
                    other.execute("SELECT * FROM pgmq.read(%s, 3600, 1, %s)", [queue, Jsonb({"t": 1})])
                with gate:
                    other.execute("SELECT pgmq.set_vt(%s, %s::bigint, 0)", [queue, target])
        except Exception as e:  # reported by the main thread
            errors.append(e)

    checker = connect()
    checker.execute("SET lock_timeout = '1s'")
    reader = connect(autocommit=False)
    thread = threading.Thread(target=take_and_release)
    thread.start()
    passed = 0
    try:
        for _ in range(40):
            rows = reader.execute(
                "SELECT msg_id FROM pgmq.read(%s, 0, 1, %s)", [queue, Jsonb({"t": 1})]).fetchall()
            if rows:
                reader.commit()  # taken: the other consumer waits for this commit
                continue
            passed += 1
            with gate:
                # The reader's transaction is still open: it must hold no lock on the message.
                try:
                    checker.execute(f"SELECT 1 FROM pgmq.q_{queue} WHERE msg_id = %s FOR UPDATE NOWAIT", [target])
                except psycopg.errors.LockNotAvailable:
                    errors.append(AssertionError("the read locked a message it did not take"))
                reader.commit()
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert passed > 0
