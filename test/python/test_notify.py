"""test_notify.py: LISTEN "pgmq.q_<name>.INSERT" after pgmq.enable_notify_insert.

Notifications are delivered at commit of the sending transaction, never for a rolled-back
send, at most once per throttle interval, and stop after disable_notify_insert.
"""
import time

import pytest
from psycopg import errors
from psycopg.types.json import Jsonb

from helpers import Listener


def channel(queue):
    """channel is PGMQ's insert-notification channel of a queue."""
    return f"pgmq.q_{queue}.INSERT"


def send(conn, queue, value=None):
    """send enqueues one message on conn (in its current transaction, if any)."""
    return conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb(value or {})]).fetchone()[0]


def test_notification_after_commit_not_before(connect, queue):
    conn = connect()
    conn.execute("SELECT pgmq.enable_notify_insert(%s, 0)", [queue])
    listener = Listener(connect(), channel(queue))
    sender = connect(autocommit=False)
    send(sender, queue)
    assert listener.wait(0.5) == [], "notified before the send committed"
    sender.commit()
    got = listener.wait(5, until_count=1)
    assert len(got) == 1
    assert got[0].channel == channel(queue)
    assert got[0].pid == sender.info.backend_pid


def test_no_notification_for_rolled_back_send(connect, queue):
    connect().execute("SELECT pgmq.enable_notify_insert(%s, 0)", [queue])
    listener = Listener(connect(), channel(queue))
    sender = connect(autocommit=False)
    send(sender, queue)
    send(sender, queue)
    sender.rollback()
    assert listener.wait(1.0) == []
    # the listener still works: a committed send is announced
    send(sender, queue)
    sender.commit()
    assert len(listener.wait(5, until_count=1)) == 1


def test_every_committed_send_notifies_without_throttle(connect, queue):
    connect().execute("SELECT pgmq.enable_notify_insert(%s, 0)", [queue])
    listener = Listener(connect(), channel(queue))
    sender = connect()
    for i in range(3):
        send(sender, queue, {"i": i})
        assert len(listener.wait(5, until_count=i + 1)) == i + 1
    # send_batch commits once: one notification (PostgreSQL folds equal notifies in a transaction)
    sender.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[])", [queue, [Jsonb({}), Jsonb({})]])
    assert len(listener.wait(5, until_count=4)) == 4
    assert len(listener.wait(0.3)) == 4


def test_throttle_interval_folds_quick_sends(connect, queue):
    connect().execute("SELECT pgmq.enable_notify_insert(%s, 1000)", [queue])
    listener = Listener(connect(), channel(queue))
    sender = connect()
    started = time.monotonic()
    for i in range(5):
        send(sender, queue, {"i": i})
    burst = time.monotonic() - started
    got = listener.wait(0.5)
    if burst < 0.9:  # the sends all fell into one interval (true unless the machine stalls)
        assert len(got) == 1
    else:
        assert 1 <= len(got) <= 2
    # after the interval has passed, the next send is announced again
    time.sleep(1.1)
    listener.clear()
    send(sender, queue)
    assert len(listener.wait(5, until_count=1)) == 1
    # and the row shows the interval
    rows = sender.execute("SELECT * FROM pgmq.list_notify_insert_throttles() WHERE queue_name = %s",
                          [queue]).fetchall()
    assert [r[1] for r in rows] == [1000]


def test_update_notify_insert_changes_interval(connect, queue):
    admin = connect()
    admin.execute("SELECT pgmq.enable_notify_insert(%s, 60000)", [queue])
    listener = Listener(connect(), channel(queue))
    sender = connect()
    send(sender, queue)
    send(sender, queue)
    assert len(listener.wait(1.0)) == 1  # second send inside the minute
    admin.execute("SELECT pgmq.update_notify_insert(%s, 0)", [queue])
    listener.clear()
    send(sender, queue)
    send(sender, queue)
    assert len(listener.wait(5, until_count=2)) == 2


def test_disable_stops_notifications(connect, queue):
    admin = connect()
    admin.execute("SELECT pgmq.enable_notify_insert(%s, 0)", [queue])
    listener = Listener(connect(), channel(queue))
    sender = connect()
    send(sender, queue)
    assert len(listener.wait(5, until_count=1)) == 1
    admin.execute("SELECT pgmq.disable_notify_insert(%s)", [queue])
    listener.clear()
    send(sender, queue)
    sender.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[])", [queue, [Jsonb(1), Jsonb(2)]])
    assert listener.wait(1.0) == []
    assert admin.execute("SELECT count(*) FROM pgmq.list_notify_insert_throttles() WHERE queue_name = %s",
                         [queue]).fetchone() == (0,)
    # disabling twice is harmless; enabling again resumes
    admin.execute("SELECT pgmq.disable_notify_insert(%s)", [queue])
    admin.execute("SELECT pgmq.enable_notify_insert(%s, 0)", [queue])
    send(sender, queue)
    assert len(listener.wait(5, until_count=1)) == 1


def test_other_queues_do_not_notify_this_channel(connect, queue):
    admin = connect()
    admin.execute("SELECT pgmq.create('pyq_other_notify')")
    try:
        admin.execute("SELECT pgmq.enable_notify_insert('pyq_other_notify', 0)")
        listener = Listener(connect(), channel(queue))
        send(connect(), "pyq_other_notify")
        assert listener.wait(0.5) == []
    finally:
        admin.execute("SELECT pgmq.drop_queue('pyq_other_notify')")


def test_enable_on_missing_queue(conn):
    # PGMQ raises P0001 for both; with pgmq.strict_input on they are 42P01 and 22023
    with pytest.raises(errors.RaiseException):
        conn.execute("SELECT pgmq.enable_notify_insert('no_such_queue_n', 0)")
    with pytest.raises(errors.RaiseException):
        conn.execute("SELECT pgmq.enable_notify_insert('no_such_queue_n', -1)")
    conn.execute("SET pgmq.strict_input = on")
    with pytest.raises(errors.UndefinedTable):
        conn.execute("SELECT pgmq.enable_notify_insert('no_such_queue_n', 0)")
    with pytest.raises(errors.InvalidParameterValue):
        conn.execute("SELECT pgmq.enable_notify_insert('no_such_queue_n', -1)")
    conn.execute("RESET pgmq.strict_input")


def test_dropping_queue_removes_its_throttle_row(connect):
    admin = connect()
    admin.execute("SELECT pgmq.create('pyq_notify_drop')")
    admin.execute("SELECT pgmq.enable_notify_insert('pyq_notify_drop', 10)")
    admin.execute("SELECT pgmq.drop_queue('pyq_notify_drop')")
    assert admin.execute("SELECT count(*) FROM pgmq.list_notify_insert_throttles()"
                         " WHERE queue_name = 'pyq_notify_drop'").fetchone() == (0,)
    # recreated queue starts without notifications
    admin.execute("SELECT pgmq.create('pyq_notify_drop')")
    try:
        listener = Listener(connect(), "pgmq.q_pyq_notify_drop.INSERT")
        send(connect(), "pyq_notify_drop")
        assert listener.wait(0.5) == []
    finally:
        admin.execute("SELECT pgmq.drop_queue('pyq_notify_drop')")


def test_longest_queue_name_channel(connect):
    name = "n" * 47
    admin = connect()
    admin.execute("SELECT pgmq.create(%s)", [name])
    try:
        admin.execute("SELECT pgmq.enable_notify_insert(%s, 0)", [name])
        listener = Listener(connect(), channel(name))
        send(connect(), name)
        assert len(listener.wait(5, until_count=1)) == 1
    finally:
        admin.execute("SELECT pgmq.drop_queue(%s)", [name])


def test_notifications_survive_lost_throttle_state(connect, queue):
    """notify_insert_throttle is UNLOGGED: crash recovery empties it while the trigger stays.
    Emptying it by hand stands in for the crash: sends must still be announced (unthrottled)."""
    admin = connect()
    admin.execute("SELECT pgmq.enable_notify_insert(%s, 1000)", [queue])
    listener = Listener(connect(), channel(queue))
    admin.execute("DELETE FROM pgmq.notify_insert_throttle WHERE queue_name = %s", [queue])
    sender = connect()
    send(sender, queue)
    assert len(listener.wait(5, until_count=1)) == 1
    # enabling again restores the throttle
    admin.execute("SELECT pgmq.enable_notify_insert(%s, 60000)", [queue])
    listener.clear()
    send(sender, queue)
    send(sender, queue)
    assert len(listener.wait(1.0)) == 1


@pytest.mark.parametrize("interval_ms", [0, 1000])
def test_concurrent_senders_do_not_wait_for_each_other(connect, queue, interval_ms):
    """Two open transactions sending to a queue with notify enabled both proceed at once."""
    connect().execute("SELECT pgmq.enable_notify_insert(%s, %s)", [queue, interval_ms])
    listener = Listener(connect(), channel(queue))
    first = connect(autocommit=False)
    second = connect(autocommit=False)
    second.execute("SET lock_timeout = '2s'")
    send(first, queue, {"who": "first"})
    # would fail with LockNotAvailable if the first sender's trigger held a lock the second needs
    send(second, queue, {"who": "second"})
    second.commit()
    first.commit()
    got = listener.wait(5, until_count=1)
    assert len(got) >= 1
    count = connect().execute(f'SELECT count(*) FROM pgmq."q_{queue}"').fetchone()[0]
    assert count == 2


@pytest.mark.parametrize("interval_ms", [0, 250])
def test_mixed_case_queue_notifies_on_its_name_as_created(connect, interval_ms):
    """As PGMQ 1.13.1: the channel is pgmq.q_<name as created>.INSERT, whatever case enables it."""
    conn = connect()
    conn.execute("SELECT pgmq.create('PyNotifyCase')")
    try:
        conn.execute("SELECT pgmq.enable_notify_insert('PYNOTIFYCASE', %s)", [interval_ms])
        listener = Listener(connect(), "pgmq.q_PyNotifyCase.INSERT")
        send(connect(), "pynotifycase")
        got = listener.wait(5, until_count=1)
        assert [n.channel for n in got] == ["pgmq.q_PyNotifyCase.INSERT"]
        assert conn.execute(
            "SELECT queue_name FROM pgmq.notify_insert_throttle").fetchall() == [("pynotifycase",)]
    finally:
        conn.execute("SELECT pgmq.drop_queue('PyNotifyCase')")
