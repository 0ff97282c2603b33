"""test_transactions.py: a driver's transactions around pgmq calls.

A rolled-back send leaves nothing, a rolled-back read leaves the message readable with
its old read_ct, sends are invisible to others until commit, and all sends of one
transaction share enqueued_at (transaction time) while vt follows the clock.
"""
import time

from psycopg.types.json import Jsonb

from helpers import queue_length


def test_rolled_back_send_leaves_nothing(connect, queue):
    tx = connect(autocommit=False)
    tx.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"gone": 1})])
    tx.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[])", [queue, [Jsonb(1), Jsonb(2)]])
    tx.rollback()
    conn = connect()
    assert queue_length(conn, queue) == 0
    assert conn.execute("SELECT * FROM pgmq.read(%s, 30, 10)", [queue]).fetchall() == []
    row = conn.execute("SELECT queue_length, queue_visible_length FROM pgmq.metrics(%s)", [queue]).fetchone()
    assert row == (0, 0)


def test_send_invisible_to_others_until_commit(connect, queue):
    tx = connect(autocommit=False)
    (msg_id,) = tx.execute("SELECT * FROM pgmq.send(%s, '{}')", [queue]).fetchone()
    other = connect()
    assert other.execute("SELECT * FROM pgmq.read(%s, 30, 1)", [queue]).fetchall() == []
    # the sender's own transaction sees it
    assert [r[0] for r in tx.execute("SELECT * FROM pgmq.read(%s, 0, 1)", [queue])] == [msg_id]
    tx.commit()
    assert [r[0] for r in other.execute("SELECT * FROM pgmq.read(%s, 30, 1)", [queue])] == [msg_id]


def test_rolled_back_read_keeps_old_read_ct(connect, queue):
    conn = connect()
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"r": 1})]).fetchone()
    assert [r[1] for r in conn.execute("SELECT * FROM pgmq.read(%s, 0, 1)", [queue])] == [1]
    before = conn.execute("SELECT read_ct, vt, last_read_at FROM pgmq.q_" + queue).fetchone()

    tx = connect(autocommit=False)
    rows = tx.execute("SELECT * FROM pgmq.read(%s, 300, 1)", [queue]).fetchall()
    assert [(r[0], r[1]) for r in rows] == [(msg_id, 2)]
    tx.rollback()

    assert conn.execute("SELECT read_ct, vt, last_read_at FROM pgmq.q_" + queue).fetchone() == before
    rows = conn.execute("SELECT * FROM pgmq.read(%s, 30, 1)", [queue]).fetchall()
    assert [(r[0], r[1]) for r in rows] == [(msg_id, 2)]


def test_rolled_back_pop_delete_archive_keep_message(connect, queue):
    conn = connect()
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, '{}')", [queue]).fetchone()
    tx = connect(autocommit=False)
    assert len(tx.execute("SELECT * FROM pgmq.pop(%s)", [queue]).fetchall()) == 1
    tx.rollback()
    assert tx.execute("SELECT pgmq.delete(%s, %s::bigint)", [queue, msg_id]).fetchone() == (True,)
    tx.rollback()
    assert tx.execute("SELECT pgmq.archive(%s, %s::bigint)", [queue, msg_id]).fetchone() == (True,)
    tx.rollback()
    assert queue_length(conn, queue) == 1
    assert conn.execute("SELECT count(*) FROM pgmq.a_" + queue).fetchone() == (0,)
    assert [r[0] for r in conn.execute("SELECT * FROM pgmq.read(%s, 30, 1)", [queue])] == [msg_id]


def test_transaction_time_and_clock_time(connect, queue):
    tx = connect(autocommit=False)
    tx.execute("SELECT * FROM pgmq.send(%s, '{\"n\": 1}')", [queue])
    time.sleep(0.2)
    tx.execute("SELECT * FROM pgmq.send(%s, '{\"n\": 2}')", [queue])
    tx.commit()
    rows = tx.execute("SELECT enqueued_at, vt FROM pgmq.q_" + queue + " ORDER BY msg_id").fetchall()
    tx.commit()
    assert rows[0][0] == rows[1][0], "enqueued_at is transaction time"
    assert (rows[1][1] - rows[0][1]).total_seconds() >= 0.15, "vt is clock time"


def test_create_and_drop_roll_back(connect):
    tx = connect(autocommit=False)
    tx.execute("SELECT pgmq.create('pyq_tx_created')")
    tx.execute("SELECT * FROM pgmq.send('pyq_tx_created', '{}')")
    tx.rollback()
    conn = connect()
    assert conn.execute("SELECT count(*) FROM pgmq.list_queues() WHERE queue_name = 'pyq_tx_created'").fetchone() \
        == (0,)
    assert conn.execute("SELECT to_regclass('pgmq.q_pyq_tx_created')").fetchone() == (None,)

    conn.execute("SELECT pgmq.create('pyq_tx_dropped')")
    conn.execute("SELECT * FROM pgmq.send('pyq_tx_dropped', '{}')")
    assert tx.execute("SELECT pgmq.drop_queue('pyq_tx_dropped')").fetchone() == (True,)
    tx.rollback()
    assert queue_length(conn, "pyq_tx_dropped") == 1
    assert conn.execute("SELECT pgmq.drop_queue('pyq_tx_dropped')").fetchone() == (True,)
