"""test_poll_wake.py: read_with_poll (and the grouped polls) wake when a message becomes visible.

A poll that finds nothing sleeps until the earliest vt it saw, a send commits, or a change that
can make a message visible earlier ends (set_vt, nack, a reader's rollback or commit, a delete
freeing a FIFO group's next message). Every poll here uses poll_interval_ms 5000, so without
those wake-ups it could only return at its next interval, seconds late.

Lateness is measured by the server's clock alone: from the moment the message could be read
(its vt, or a clock reading taken just before the commit that freed it, inside that
transaction) to the poll's read (the returned row's last_read_at is the reading transaction's
clock). No client or network delay enters it, only the time for the sleeping backend to be
woken and scheduled, which is a few milliseconds even on a busy machine; the bound of 50 ms
(the project's issue asks for it) is an order of magnitude above that and two below what the
poll interval alone would give (>= 4 s).
"""
import time

import pytest
from psycopg.types.json import Jsonb

from helpers import Thread

LATE = 0.050  # seconds
INTERVAL_MS = 5000
SETTLE = 0.3  # lets the poll do its first (empty) read and start waiting


def poll(connect, queue, function="read_with_poll", vt=30):
    """poll runs a poll read of one message on its own connection; returns its rows."""
    conn = connect()
    return conn.execute(
        f"SELECT * FROM pgmq.{function}(%s, %s, 1, max_poll_seconds => 10, poll_interval_ms => %s)",
        [queue, vt, INTERVAL_MS]).fetchall()


def start_poll(connect, queue, function="read_with_poll"):
    poller = Thread(poll, connect, queue, function)
    poller.start()
    time.sleep(SETTLE)
    return poller


def lateness(row, visible_at):
    """lateness is how long after visible_at the poll's read took the row (row: message_record)."""
    return (row[3] - visible_at).total_seconds()


def returned_one(poller, msg_id):
    rows = poller.join_result(15)
    assert [r[0] for r in rows] == [msg_id]
    return rows[0]


def clock_then_commit(conn):
    """clock_then_commit reads the clock inside conn's transaction, then commits; returns the reading."""
    (clock,) = conn.execute("SELECT pg_catalog.clock_timestamp()").fetchone()
    conn.commit()
    return clock


def send(conn, queue, delay=0, headers=None):
    if headers is None:
        return conn.execute("SELECT * FROM pgmq.send(%s, %s, %s)", [queue, Jsonb({"k": 1}), delay]).fetchone()[0]
    return conn.execute("SELECT * FROM pgmq.send(%s, %s, %s, %s)",
                        [queue, Jsonb({"k": 1}), Jsonb(headers), delay]).fetchone()[0]


def read_one(conn, queue, vt, function="read"):
    """read_one reads one message; returns (msg_id, vt)."""
    row = conn.execute(f"SELECT * FROM pgmq.{function}(%s, %s, 1)", [queue, vt]).fetchone()
    return row[0], row[4]


@pytest.fixture(params=["direct", "policy"])
def any_queue(request, conn, queue):
    """any_queue is a plain queue (read through the access methods) or one with a policy (read
    through the statement, with a separate lookup of the next vt)."""
    if request.param == "policy":
        conn.execute("SELECT pgmq.set_policy(%s, max_deliveries => 10)", [queue])
    return queue


def test_poll_returns_when_the_vt_of_a_read_message_expires(connect, conn, any_queue):
    msg_id = send(conn, any_queue)
    _, vt = read_one(conn, any_queue, 1)
    row = returned_one(start_poll(connect, any_queue), msg_id)
    assert row[1] == 2
    assert 0 <= lateness(row, vt) < LATE


def test_poll_returns_when_a_delay_sent_while_it_waits_expires(connect, conn, any_queue):
    poller = start_poll(connect, any_queue)
    msg_id = send(conn, any_queue, delay=1)
    (vt,) = conn.execute(f"SELECT vt FROM pgmq.q_{any_queue} WHERE msg_id = %s", [msg_id]).fetchone()
    row = returned_one(poller, msg_id)
    assert row[1] == 1
    assert 0 <= lateness(row, vt) < LATE


def test_poll_returns_when_a_delay_sent_before_it_expires(connect, conn, any_queue):
    msg_id = send(conn, any_queue, delay=1)
    (vt,) = conn.execute(f"SELECT vt FROM pgmq.q_{any_queue} WHERE msg_id = %s", [msg_id]).fetchone()
    row = returned_one(start_poll(connect, any_queue), msg_id)
    assert 0 <= lateness(row, vt) < LATE


def test_set_vt_to_an_earlier_moment_wakes_the_poll_for_it(connect, conn, any_queue):
    msg_id = send(conn, any_queue)
    read_one(conn, any_queue, 60)
    poller = start_poll(connect, any_queue)
    (vt,) = conn.execute("SELECT vt FROM pgmq.set_vt(%s, %s, 1)", [any_queue, msg_id]).fetchone()
    row = returned_one(poller, msg_id)
    assert 0 <= lateness(row, vt) < LATE


def test_nack_wakes_the_poll_at_commit(connect, any_queue):
    conn = connect(autocommit=False)
    msg_id = send(conn, any_queue)
    read_one(conn, any_queue, 60)
    conn.commit()
    poller = start_poll(connect, any_queue)
    conn.execute("SELECT pgmq.nack(%s, %s::bigint, 0)", [any_queue, msg_id])
    released = clock_then_commit(conn)
    row = returned_one(poller, msg_id)
    assert lateness(row, released) < LATE


def test_rollback_of_a_reader_wakes_the_poll(connect, any_queue):
    conn = connect(autocommit=False)
    msg_id = send(conn, any_queue)
    conn.commit()
    read_one(conn, any_queue, 60)  # holds the row, uncommitted
    poller = start_poll(connect, any_queue)
    (released,) = conn.execute("SELECT pg_catalog.clock_timestamp()").fetchone()
    conn.rollback()
    row = returned_one(poller, msg_id)
    assert row[1] == 1
    assert lateness(row, released) < LATE


def test_rollback_of_a_subtransaction_that_read_wakes_the_poll(connect, any_queue):
    conn = connect(autocommit=False)
    msg_id = send(conn, any_queue)
    conn.commit()
    conn.execute("SAVEPOINT s")
    read_one(conn, any_queue, 60)
    poller = start_poll(connect, any_queue)
    (released,) = conn.execute("SELECT pg_catalog.clock_timestamp()").fetchone()
    conn.execute("ROLLBACK TO SAVEPOINT s")
    row = returned_one(poller, msg_id)
    assert lateness(row, released) < LATE
    conn.rollback()


def test_poll_sees_the_vt_of_a_reader_that_commits_while_it_waits(connect, any_queue):
    """The poll's read met the row held by an uncommitted reader and could not see the vt it
    gave; the reader's commit wakes it to look again, then it sleeps until that vt."""
    conn = connect(autocommit=False)
    msg_id = send(conn, any_queue)
    conn.commit()
    _, vt = read_one(conn, any_queue, 1)
    poller = start_poll(connect, any_queue)
    conn.commit()
    row = returned_one(poller, msg_id)
    assert row[1] == 2
    assert 0 <= lateness(row, vt) < LATE


GROUPED_POLLS = ["read_grouped_with_poll", "read_grouped_rr_with_poll", "read_grouped_head_with_poll"]


@pytest.mark.parametrize("function", GROUPED_POLLS)
def test_grouped_poll_returns_when_the_vt_of_the_groups_head_expires(connect, conn, queue, function):
    head = send(conn, queue, headers={"x-pgmq-group": "g"})
    send(conn, queue, headers={"x-pgmq-group": "g"})
    _, vt = read_one(conn, queue, 1, "read_grouped")
    row = returned_one(start_poll(connect, queue, function), head)
    assert 0 <= lateness(row, vt) < LATE


@pytest.mark.parametrize("function", GROUPED_POLLS)
def test_deleting_a_groups_head_wakes_the_grouped_poll(connect, queue, function):
    conn = connect(autocommit=False)
    head = send(conn, queue, headers={"x-pgmq-group": "g"})
    second = send(conn, queue, headers={"x-pgmq-group": "g"})
    conn.commit()
    read_one(conn, queue, 60, "read_grouped")
    conn.commit()
    poller = start_poll(connect, queue, function)
    conn.execute("SELECT pgmq.delete(%s, %s::bigint)", [queue, head])
    released = clock_then_commit(conn)
    row = returned_one(poller, second)
    assert lateness(row, released) < LATE


def test_waiting_poll_sleeps_holding_no_transaction_id_and_no_row_lock(connect, conn, queue):
    """A 20 s poll, asleep until the vt of the message read here: no xid, no row or transaction lock
    (only its relation locks on the queue table and its virtual xid), waiting, not running."""
    msg_id = send(conn, queue)
    read_one(conn, queue, 3)
    poll_conn = connect()
    pid = poll_conn.info.backend_pid
    poller = Thread(lambda: poll_conn.execute(
        "SELECT * FROM pgmq.read_with_poll(%s, 30, 1, 20, 5000)", [queue]).fetchall())
    poller.start()
    time.sleep(SETTLE)
    state = conn.execute("SELECT wait_event_type, wait_event, backend_xid FROM pg_catalog.pg_stat_activity "
                         "WHERE pid = %s", [pid]).fetchone()
    assert state == ("Extension", "Extension", None)
    locks = conn.execute("SELECT locktype, mode FROM pg_catalog.pg_locks WHERE pid = %s "
                         "AND locktype NOT IN ('relation', 'virtualxid') ORDER BY 1, 2", [pid]).fetchall()
    assert locks == []
    rows = poller.join_result(15)
    assert [r[0] for r in rows] == [msg_id]


def test_plain_sql_insert_wakes_the_poll_at_commit(connect, conn, queue):
    poller = start_poll(connect, queue)
    writer = connect(autocommit=False)
    (msg_id,) = writer.execute(f"INSERT INTO pgmq.q_{queue} (vt, message) VALUES (now(), '{{}}') "
                               "RETURNING msg_id").fetchone()
    released = clock_then_commit(writer)
    row = returned_one(poller, msg_id)
    assert lateness(row, released) < LATE


def test_redrive_wakes_a_poll_of_the_target(connect, conn, queue):
    dlq = queue + "_dlq"
    conn.execute("SELECT pgmq.create(%s)", [dlq])
    try:
        conn.execute("SELECT pgmq.set_policy(%s, invalid_queue => %s, max_deliveries => 3)", [queue, dlq])
        send(conn, dlq, headers={"x-pgmq-invalid": {"queue": queue, "msg_id": 77, "reason": "max_deliveries"}})
        poller = start_poll(connect, queue)
        mover = connect(autocommit=False)
        assert mover.execute("SELECT pgmq.redrive(%s)", [dlq]).fetchone() == (1,)
        released = clock_then_commit(mover)
        row = returned_one(poller, 77)
        assert lateness(row, released) < LATE
    finally:
        conn.execute("SELECT pgmq.clear_policy(%s)", [queue])
        conn.execute("SELECT pgmq.drop_queue(%s)", [dlq])
