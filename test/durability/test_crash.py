"""test_crash.py: every acknowledged send and acknowledgement survives a server crash.

Producers and consumers run concurrently (workload.py) while the server is crashed, either
as a whole (`pg_ctl -m immediate`, no shutdown checkpoint) or by SIGKILL of one backend in
the middle of a transaction, after which the postmaster kills every backend and runs crash
recovery. Afterwards the queue and archive tables must match the ledger exactly.
"""
import json
import os
import signal
import threading
import time

import psycopg

import workload


def _create(server, queue, unlogged=False):
    """_create creates a queue on the server."""
    with server.connect() as conn:
        conn.execute(f"SELECT pgmq.{'create_unlogged' if unlogged else 'create'}(%s)", [queue])


def _verify(server, load, queue, absent=()):
    """_verify checks the ledger against the tables and that the workload really ran through the crashes."""
    ledger = load.ledger
    with server.connect() as conn:
        problems = workload.check(ledger, conn, queue, absent)
    print(f"{queue}: {ledger.summary()}")
    assert not problems, f"{len(problems)} violations ({ledger.summary()}), first ones:\n" + "\n".join(problems[:30])
    assert ledger.connection_errors > 0, "the crash broke no connection: it did not hit the workload"
    assert ledger.deleted and ledger.archived, "consumers acknowledged nothing"
    server.assert_no_real_crash()


def test_immediate_stop_loses_and_duplicates_nothing(server, queue_name):
    """Four `pg_ctl -m immediate` crashes under 3 producers and 2 consumers lose and duplicate nothing."""
    _create(server, queue_name)
    load = workload.Workload(server.connect, queue_name).start()
    try:
        for _ in range(4):
            load.wait_for_acks(400)
            before = server.postmaster_pid()
            server.crash()
            time.sleep(0.2)  # let every worker thread hit the dead server
            server.start()
            assert server.postmaster_pid() != before
        load.wait_for_acks(400)
    finally:
        load.stop()
    _verify(server, load, queue_name)


def test_immediate_stop_during_partition_maintenance_loses_and_duplicates_nothing(server, queue_name):
    """A partitioned queue with 50 msg_ids per partition and one made ahead: sends keep making partitions
    on demand and the worker keeps making them ahead, so the crashes hit partition DDL (attach, premake)
    in flight; nothing acknowledged is lost or duplicated (no retention: nothing is dropped by design)."""
    with server.connect() as conn:
        conn.execute("SELECT pgmq.create_partitioned(%s, '50', NULL, 1)", [queue_name])
    load = workload.Workload(server.connect, queue_name).start()
    try:
        for _ in range(3):
            load.wait_for_acks(300)
            server.crash()
            time.sleep(0.2)
            server.start()
        load.wait_for_acks(300)
    finally:
        load.stop()
    _verify(server, load, queue_name)
    with server.connect() as conn:
        # Every stored message is in the partition of its msg_id range; the partitions tile the ids.
        misplaced = conn.execute(
            "SELECT count(*) FROM (SELECT tableoid, msg_id FROM pgmq.q_{0} UNION ALL SELECT tableoid, msg_id "
            "FROM pgmq.a_{0}) AS m JOIN (SELECT * FROM pgmq._partitions('pgmq.q_{0}') UNION ALL "
            "SELECT * FROM pgmq._partitions('pgmq.a_{0}')) AS p ON p.partition = m.tableoid "
            "WHERE m.msg_id < p.lower_bound::bigint OR m.msg_id >= p.upper_bound::bigint".format(queue_name)
        ).fetchone()[0]
        assert misplaced == 0
        partitions = conn.execute("SELECT count(*) FROM pgmq._partitions(%s::regclass)",
                                  [f"pgmq.q_{queue_name}"]).fetchone()[0]
        assert partitions > 10, "the workload made too few partitions to have crashed amid their DDL"


def _kill_and_wait_for_reset(server, pid):
    """_kill_and_wait_for_reset SIGKILLs one backend and waits until the postmaster has reset all of them
    and accepts connections again."""
    resets = server.log_text().count("all server processes terminated; reinitializing")
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while server.log_text().count("all server processes terminated; reinitializing") == resets:
        assert time.monotonic() < deadline, "the postmaster did not reset after the SIGKILL\n" + server.log_tail()
        time.sleep(0.05)
    server.wait_ready()
    assert f"(PID {pid}) was terminated by signal 9" in server.log_text(), server.log_tail()


def _send_in_transaction(conn, queue, uids):
    """_send_in_transaction sends one message per uid in conn's open transaction."""
    for uid in uids:
        conn.execute("SELECT pgmq.send(%s, %s::jsonb)", [queue, json.dumps({"uid": uid})])


def test_backend_sigkill_mid_transaction(server, queue_name):
    """SIGKILL of a backend inside a transaction makes the postmaster reset every backend (crash recovery);
    done twice: a backend idle in a transaction that sent and read, and one blocked in read_with_poll after
    sending. The killed transactions' sends and reads vanish; everything acknowledged elsewhere survives,
    and long polls still wake up after the reset of shared memory."""
    _create(server, queue_name)
    empty_queue = queue_name + "_empty"
    _create(server, empty_queue)
    load = workload.Workload(server.connect, queue_name).start()
    victim_uids = [f"victim-{i}" for i in range(10)]
    try:
        # Victim 1: idle in a transaction that sent 5 messages and read 3 others.
        load.wait_for_acks(300)
        victim = server.connect(autocommit=False)
        _send_in_transaction(victim, queue_name, victim_uids[:5])
        taken = victim.execute("SELECT msg_id FROM pgmq.read(%s, 300, 3)", [queue_name]).fetchall()
        assert taken, "the victim read nothing"
        _kill_and_wait_for_reset(server, victim.info.backend_pid)
        victim.close()
        with server.connect() as conn:
            # The messages the victim read in its lost transaction are not hidden for 300 s (gone is fine:
            # a consumer may have taken and acknowledged one since).
            hidden = conn.execute(f"SELECT msg_id FROM pgmq.q_{queue_name} WHERE msg_id = ANY(%s) "
                                  f"AND vt > clock_timestamp() + interval '200 s'", [[t[0] for t in taken]]).fetchall()
            assert not hidden, f"{hidden} still hidden by the killed transaction's read"

        # Victim 2: inside a transaction that sent 5 messages, blocked in a long poll of an empty queue.
        load.wait_for_acks(300)
        victim = server.connect(autocommit=False)
        _send_in_transaction(victim, queue_name, victim_uids[5:])
        poll_error = []

        def poll():
            try:
                victim.execute("SELECT * FROM pgmq.read_with_poll(%s, 30, 1, 60, 1000)", [empty_queue]).fetchall()
            except psycopg.Error as exc:
                poll_error.append(exc)
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        pid = victim.info.backend_pid
        with server.connect() as conn:
            deadline = time.monotonic() + 30
            while conn.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                               [pid]).fetchone() != ("Extension",):
                assert time.monotonic() < deadline, "the victim never started waiting in read_with_poll"
                time.sleep(0.05)
        _kill_and_wait_for_reset(server, pid)
        poller.join(timeout=30)
        assert poll_error and isinstance(poll_error[0], psycopg.OperationalError), poll_error
        victim.close()
        load.wait_for_acks(300)
    finally:
        load.stop()
    _verify(server, load, queue_name, absent=victim_uids)

    # A long poll started after the resets is woken by a send (shared wakeup state was rebuilt).
    got = []
    with server.connect() as polling, server.connect() as sending:
        poller = threading.Thread(target=lambda: got.extend(polling.execute(
            "SELECT message FROM pgmq.read_with_poll(%s, 30, 1, 60, 1000)", [empty_queue]).fetchall()))
        poller.start()
        sending.execute("SELECT pgmq.send(%s, '{\"wake\": 1}')", [empty_queue])
        poller.join(timeout=90)
    assert got == [({"wake": 1},)]


def test_unlogged_queue_after_crash(server, queue_name):
    """An unlogged queue is emptied by crash recovery (as PostgreSQL documents) and works afterwards:
    its logged archive keeps its rows and new msg_ids never collide with archived ones."""
    _create(server, queue_name, unlogged=True)
    with server.connect() as conn:
        conn.execute("SELECT pgmq.send_batch(%s, array_fill('{\"n\": 1}'::jsonb, array[20]))", [queue_name])
        read = [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 30, 5)", [queue_name])]
        archived = [r[0] for r in conn.execute("SELECT * FROM pgmq.archive(%s, %s::bigint[])",
                                                [queue_name, read[:3]])]
        assert sorted(archived) == sorted(read[:3])
    server.crash()
    server.start()
    with server.connect() as conn:
        assert conn.execute(f"SELECT count(*) FROM pgmq.q_{queue_name}").fetchone()[0] == 0
        assert sorted(r[0] for r in conn.execute(f"SELECT msg_id FROM pgmq.a_{queue_name}")) == sorted(archived)
        metrics = conn.execute("SELECT queue_length, queue_visible_length FROM pgmq.metrics(%s)",
                               [queue_name]).fetchone()
        assert metrics == (0, 0)
        new_ids = [r[0] for r in conn.execute(
            "SELECT pgmq.send_batch(%s, array_fill('{\"n\": 2}'::jsonb, array[10]))", [queue_name])]
        assert not set(new_ids) & set(archived), f"new msg_ids {new_ids} reuse archived ones {archived}"
        got = [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 30, 10)", [queue_name])]
        assert sorted(got) == sorted(new_ids)
        moved = [r[0] for r in conn.execute("SELECT * FROM pgmq.archive(%s, %s::bigint[])", [queue_name, got])]
        assert sorted(moved) == sorted(got)
        assert conn.execute(f"SELECT count(*) FROM pgmq.a_{queue_name}").fetchone()[0] == 13
    server.assert_no_real_crash()


def test_notify_insert_survives_crash(server, queue_name):
    """enable_notify_insert's setting survives crash recovery: LISTENers are still woken by sends and
    list_notify_insert_throttles still shows the queue with its interval."""
    _create(server, queue_name)
    with server.connect() as conn:
        conn.execute("SELECT pgmq.enable_notify_insert(%s, 0)", [queue_name])
    assert workload.notified_after_send(server, queue_name)
    server.crash()
    server.start()
    with server.connect() as conn:
        assert conn.execute("SELECT queue_name, throttle_interval_ms FROM pgmq.list_notify_insert_throttles() "
                            "WHERE queue_name = %s", [queue_name]).fetchall() == [(queue_name, 0)]
    assert workload.notified_after_send(server, queue_name), "no notification after the crash"
    with server.connect() as conn:
        conn.execute("SELECT pgmq.update_notify_insert(%s, 1000)", [queue_name])
        conn.execute("SELECT pgmq.disable_notify_insert(%s)", [queue_name])
    server.assert_no_real_crash()
