"""test_poll.py: read_with_poll from a driver.

A poll returns as soon as another connection's send commits (with pgmq preloaded, as the
test cluster is, even when poll_interval_ms is long), returns empty after max_poll_seconds
when nothing comes, and finds a message whose delay expires while it waits.
Bounds are generous: the machine running the suite may be slow and busy.
"""
import time

import pytest
from psycopg import errors
from psycopg.types.json import Jsonb

from helpers import Thread


def poll(connect, queue, max_poll_seconds, poll_interval_ms=100):
    """poll runs read_with_poll on its own connection; returns (rows, monotonic time it returned)."""
    return poll_on(connect(), queue, max_poll_seconds, poll_interval_ms)


def poll_on(conn, queue, max_poll_seconds, poll_interval_ms=100):
    """poll_on runs read_with_poll on conn; returns (rows, monotonic time it returned)."""
    rows = conn.execute(
        "SELECT * FROM pgmq.read_with_poll(queue_name => %s, vt => 30, qty => 1,"
        " max_poll_seconds => %s, poll_interval_ms => %s)",
        [queue, max_poll_seconds, poll_interval_ms]).fetchall()
    return rows, time.monotonic()


def send_after(connect, queue, pause, autocommit=False):
    """send_after waits, sends a message in a transaction, commits; returns (msg_id, commit time)."""
    conn = connect(autocommit=autocommit)
    time.sleep(pause)
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"late": True})]).fetchone()
    conn.commit()
    return msg_id, time.monotonic()


def test_poll_wakes_when_another_connection_commits(connect, queue):
    poller = Thread(poll, connect, queue, 10)
    started = time.monotonic()
    poller.start()
    msg_id, committed = send_after(connect, queue, 0.5)
    rows, returned = poller.join_result(15)
    assert [(r[0], r[1], r[5]) for r in rows] == [(msg_id, 1, {"late": True})]
    assert returned - committed < 3.0
    assert returned - started < 5.0


def test_poll_wakes_at_commit_even_with_long_interval(connect, queue):
    """poll_interval_ms 5000: only the commit wake-up can make it return within 3 s of the send."""
    poller = Thread(poll, connect, queue, 10, 5000)
    poller.start()
    time.sleep(0.3)  # let the poll do its first (empty) read and start waiting
    msg_id, committed = send_after(connect, queue, 0.5)
    rows, returned = poller.join_result(15)
    assert [r[0] for r in rows] == [msg_id]
    assert returned - committed < 3.0


def test_uncommitted_send_is_not_returned_by_poll(connect, queue):
    sender = connect(autocommit=False)
    sender.execute("SELECT * FROM pgmq.send(%s, '{}')", [queue])
    poller = Thread(poll, connect, queue, 2)
    poller.start()
    time.sleep(0.5)
    rows, _ = poller.join_result(10)
    assert rows == []
    sender.rollback()


def test_poll_times_out_empty(connect, queue):
    conn = connect()
    started = time.monotonic()
    rows = conn.execute("SELECT * FROM pgmq.read_with_poll(%s, 30, 1, max_poll_seconds => 1)", [queue]).fetchall()
    elapsed = time.monotonic() - started
    assert rows == []
    assert 0.9 <= elapsed < 4.0


def test_poll_finds_message_whose_delay_expires(connect, queue):
    conn = connect()
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, %s, 1)", [queue, Jsonb({"d": 1})]).fetchone()
    started = time.monotonic()
    rows = conn.execute("SELECT * FROM pgmq.read_with_poll(%s, 30, 1, max_poll_seconds => 5)", [queue]).fetchall()
    elapsed = time.monotonic() - started
    assert [r[0] for r in rows] == [msg_id]
    assert 0.5 <= elapsed < 4.0


def test_poll_returns_at_once_when_a_message_is_visible(connect, queue):
    conn = connect()
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, '{}')", [queue]).fetchone()
    started = time.monotonic()
    rows = conn.execute("SELECT * FROM pgmq.read_with_poll(%s, 30, 5, 10)", [queue]).fetchall()
    assert [r[0] for r in rows] == [msg_id]
    assert time.monotonic() - started < 3.0


def test_two_pollers_share_a_batch_without_duplicates(connect, queue):
    pollers = [Thread(poll, connect, queue, 5) for _ in range(2)]
    for p in pollers:
        p.start()
    time.sleep(0.5)
    sender = connect()
    sent = [r[0] for r in sender.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[])",
                                         [queue, [Jsonb({"i": 1}), Jsonb({"i": 2})]])]
    got = []
    for p in pollers:
        rows, _ = p.join_result(15)
        got += [r[0] for r in rows]
    assert sorted(got) == sorted(sent)


def test_cancelled_poll_leaves_connection_usable(connect, queue):
    """A client cancels a long poll (psycopg's Connection.cancel, as on Ctrl-C or shutdown)."""
    conn = connect()
    poller = Thread(lambda: conn.execute("SELECT * FROM pgmq.read_with_poll(%s, 30, 1, 10, 5000)", [queue]).fetchall())
    started = time.monotonic()
    poller.start()
    time.sleep(0.5)
    conn.cancel()
    with pytest.raises(errors.QueryCanceled):
        poller.join_result(10)
    assert time.monotonic() - started < 5.0
    assert conn.execute("SELECT 1").fetchone() == (1,)
    # the same connection polls again and is woken by a commit
    poller = Thread(poll_on, conn, queue, 10, 5000)
    poller.start()
    time.sleep(0.3)
    msg_id, committed = send_after(connect, queue, 0.3)
    rows, returned = poller.join_result(15)
    assert [r[0] for r in rows] == [msg_id]
    assert returned - committed < 3.0


def test_statement_timeout_ends_poll(connect, queue):
    conn = connect(options="-c statement_timeout=700")
    started = time.monotonic()
    with pytest.raises(errors.QueryCanceled):
        conn.execute("SELECT * FROM pgmq.read_with_poll(%s, 30, 1, 10)", [queue])
    assert time.monotonic() - started < 5.0
    conn.execute("SET statement_timeout = 0")
    conn.execute("SELECT * FROM pgmq.send(%s, '{}')", [queue])
    assert len(conn.execute("SELECT * FROM pgmq.read_with_poll(%s, 30, 1, 1)", [queue]).fetchall()) == 1


def test_poll_inside_read_committed_transaction_sees_new_commits(connect, queue):
    conn = connect(autocommit=False)
    conn.execute("SELECT 1")  # the transaction is open before the poll starts
    poller = Thread(poll_on, conn, queue, 10, 5000)
    poller.start()
    time.sleep(0.3)
    msg_id, committed = send_after(connect, queue, 0.3)
    rows, returned = poller.join_result(15)
    assert [r[0] for r in rows] == [msg_id]
    assert returned - committed < 3.0
    conn.commit()


def test_poll_with_conditional_keeps_waiting_after_a_non_matching_send(connect, queue):
    """A commit wakes the poll, the message does not match, the poll waits for the next commit."""
    conn = connect()

    def conditional_poll():
        rows = conn.execute("SELECT * FROM pgmq.read_with_poll(%s, 30, 1, 10, 5000, %s)",
                            [queue, Jsonb({"kind": "wanted"})]).fetchall()
        return rows, time.monotonic()

    poller = Thread(conditional_poll)
    poller.start()
    sender = connect()
    time.sleep(0.5)
    sender.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"kind": "other"})])
    time.sleep(0.5)
    assert poller.is_alive(), "the poll returned on a message it does not want"
    (wanted,) = sender.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"kind": "wanted"})]).fetchone()
    committed = time.monotonic()
    rows, returned = poller.join_result(15)
    assert [r[0] for r in rows] == [wanted]
    assert returned - committed < 3.0
    # the other message was not touched
    assert sender.execute("SELECT read_ct FROM pgmq.q_" + queue + " WHERE message->>'kind' = 'other'").fetchone() \
        == (0,)


def test_no_lost_wakeup_when_commit_races_the_poll(connect, queue):
    """Commits land at varying moments around the poll's first read: none may be missed
    (a missed wake-up would cost the full 5 s poll interval)."""
    conn = connect()
    sender = connect()
    for i in range(20):
        poller = Thread(poll_on, conn, queue, 10, 5000)
        poller.start()
        time.sleep((i % 5) * 0.01)
        (msg_id,) = sender.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"i": i})]).fetchone()
        committed = time.monotonic()
        rows, returned = poller.join_result(15)
        assert [r[0] for r in rows] == [msg_id], f"round {i}"
        assert returned - committed < 3.0, f"round {i}: poll returned {returned - committed:.2f} s after the commit"
        sender.execute("SELECT pgmq.delete(%s, %s::bigint)", [queue, msg_id])
