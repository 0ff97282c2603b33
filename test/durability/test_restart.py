"""test_restart.py: messages in flight survive a clean restart with their vt and read_ct.

A message read but not acknowledged keeps its visibility timeout and read count across
`pg_ctl restart -m fast`: it stays hidden until its vt, then a read returns it again with
read_ct one higher. A read in a transaction still open at shutdown is rolled back, so its
messages are visible at once with their old read_ct. A long poll waiting at shutdown ends
with admin_shutdown instead of holding the shutdown up.
"""
import threading
import time

import psycopg

VT = 8  # seconds a read hides the in-flight messages; must outlast the restart for the hidden check


def test_in_flight_messages_survive_fast_restart(server, queue_name):
    """In-flight messages come back after a fast restart when their vt expires, read_ct preserved."""
    with server.connect() as conn:
        conn.execute("SELECT pgmq.create(%s)", [queue_name])
        ids = [r[0] for r in conn.execute(
            "SELECT pgmq.send_batch(%s, array(SELECT jsonb_build_object('n', i) FROM generate_series(1, 12) i))",
            [queue_name])]
        # ids[0:2] read twice (the first read expired at once), ids[2:4] read once: in flight with vt = VT.
        conn.execute("SELECT * FROM pgmq.read(%s, 0, 2)", [queue_name])
        in_flight = conn.execute("SELECT msg_id, read_ct, vt FROM pgmq.read(%s, %s, 4)",
                                 [queue_name, VT]).fetchall()
        assert [r[0] for r in in_flight] == ids[:4]
        assert [r[1] for r in in_flight] == [2, 2, 1, 1]
        # ids[4:6] acknowledged before the restart.
        conn.execute("SELECT pgmq.delete(%s, %s::bigint)", [queue_name, ids[4]])
        conn.execute("SELECT pgmq.archive(%s, %s::bigint)", [queue_name, ids[5]])
    # ids[6:8] read in a transaction left open across the shutdown.
    open_tx = server.connect(autocommit=False)
    rolled_back = [r[0] for r in open_tx.execute("SELECT msg_id FROM pgmq.read(%s, 300, 2)", [queue_name])]
    assert rolled_back == ids[6:8]

    # A long poll of an empty queue is waiting during the shutdown: it must not hold the shutdown up.
    with server.connect() as conn:
        conn.execute("SELECT pgmq.create(%s)", [queue_name + "_empty"])
    poller = server.connect()
    poll_error = []

    def poll():
        try:
            poller.execute("SELECT * FROM pgmq.read_with_poll(%s, 30, 1, 120, 1000)", [queue_name + "_empty"])
        except psycopg.Error as exc:
            poll_error.append(exc)
    poll_thread = threading.Thread(target=poll, daemon=True)
    poll_thread.start()
    with server.connect() as conn:
        deadline = time.monotonic() + 30
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Extension'",
                           [poller.info.backend_pid]).fetchone()[0] == 0:
            assert time.monotonic() < deadline, "the long poll never started waiting"
            time.sleep(0.05)

    before = server.postmaster_pid()
    started = time.monotonic()
    server.restart("fast")
    # Generous: a fast shutdown that waited for the poll would take its full 120 s.
    print(f"fast restart took {time.monotonic() - started:.1f} s")
    assert time.monotonic() - started < 60, "the fast restart waited for the long poll"
    assert server.postmaster_pid() != before
    poll_thread.join(timeout=30)
    # admin_shutdown (57P01); psycopg does not always keep the SQLSTATE of a FATAL that closes the connection
    assert poll_error and "terminating connection due to administrator command" in str(poll_error[0]), poll_error
    poller.close()
    try:
        open_tx.execute("SELECT 1")
        raise AssertionError("the open transaction survived a restart")
    except psycopg.OperationalError:
        pass
    open_tx.close()

    with server.connect() as conn:
        table = {r[0]: r[1:] for r in conn.execute(
            f"SELECT msg_id, read_ct, vt, vt > clock_timestamp() FROM pgmq.q_{queue_name}")}
        assert sorted(table) == sorted(ids[:4] + ids[6:])
        for msg_id, read_ct, vt in in_flight:
            assert table[msg_id][:2] == (read_ct, vt), f"msg {msg_id} changed across the restart"
        assert [table[i][0] for i in ids[6:8]] == [0, 0], "the open transaction's read was not rolled back"
        assert conn.execute(f"SELECT msg_id FROM pgmq.a_{queue_name}").fetchall() == [(ids[5],)]

        # Read everything visible now: never an in-flight message whose vt is still ahead.
        still_hidden = {i for i in ids[:4] if table[i][2]}
        first = {r[0]: r[1:] for r in conn.execute("SELECT msg_id, read_ct, last_read_at FROM pgmq.read(%s, 300, 100)",
                                                   [queue_name])}
        assert not still_hidden & set(first), f"read returned {still_hidden & set(first)} before their vt"
        assert set(ids[6:]) <= set(first)
        print(f"{len(still_hidden)} of 4 in-flight messages were still hidden after the restart")

        # When their vt expires they are delivered again, each to one read, with read_ct one higher.
        deadline = time.monotonic() + VT + 30
        back = {i: first[i] for i in ids[:4] if i in first}  # vt already over (a slow restart)
        while len(back) < 4:
            assert time.monotonic() < deadline, f"in-flight messages did not come back: {back}"
            for msg_id, read_ct, last_read_at in conn.execute(
                    "SELECT msg_id, read_ct, last_read_at FROM pgmq.read_with_poll(%s, 300, 10, 1, 100)",
                    [queue_name]):
                assert msg_id not in back, f"msg {msg_id} delivered twice"
                back[msg_id] = (read_ct, last_read_at)
        for msg_id, read_ct, vt in in_flight:
            assert back[msg_id][0] == read_ct + 1
            assert back[msg_id][1] >= vt, f"msg {msg_id} read at {back[msg_id][1]}, before its vt {vt}"
    server.assert_no_real_crash()
