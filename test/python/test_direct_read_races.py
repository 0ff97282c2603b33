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
