"""Time-based tests of queue policies enforced by the background worker (interval 100 ms)."""
import time
import threading

import psycopg.types.json
from conftest import WORKER_INTERVAL_MS, record_lateness, wait_for

Json = psycopg.types.json.Jsonb
# "Within two worker intervals" of the due time, plus slack for a loaded 2-core machine.
MAX_LATE_S = 2 * WORKER_INTERVAL_MS / 1000 + 0.8


def fresh_queues(conn, *names):
    for name in names:
        conn.execute("SELECT pgmq.clear_policy(%s) FROM pgmq.meta WHERE queue_name = %s", [name, name])
    for name in names:
        conn.execute("SELECT pgmq.drop_queue(%s) FROM pgmq.meta WHERE queue_name = %s", [name, name])
    for name in names:
        conn.execute("SELECT pgmq.create(%s)", [name])


def invalid_rows(conn, queue):
    return conn.execute(
        f"SELECT message, read_ct, headers->'x-pgmq-invalid', "
        f"extract(epoch FROM ((headers->'x-pgmq-invalid'->>'moved_at')::timestamptz"
        f" - (headers->'x-pgmq-invalid'->>'due_at')::timestamptz)) * 1000 "
        f"FROM pgmq.q_{queue} ORDER BY msg_id"
    ).fetchall()


def test_review_request_lands_in_invalid_queue(conn):
    """The review scenario: sent, read by the user, never acknowledged -> invalid queue after the deadline."""
    fresh_queues(conn, "review_queue", "invalid_review_queue")
    conn.execute("SELECT pgmq.set_policy('review_queue', invalid_queue => 'invalid_review_queue', "
                 "deadline_seconds => 1)")
    count = 20
    due = {}
    for i in range(count):
        (msg_id,) = conn.execute("SELECT * FROM pgmq.send('review_queue', %s, %s)",
                                 [Json({"review": i}), Json({"from": "admin"})]).fetchone()
        (vt,) = conn.execute("SELECT extract(epoch FROM vt) FROM pgmq.q_review_queue WHERE msg_id = %s",
                             [msg_id]).fetchone()
        due[i] = float(vt) + 1.0
        # The user takes it (a long vt: still "in progress" when the deadline passes) and never acks.
        rows = conn.execute("SELECT msg_id FROM pgmq.read('review_queue', 30, 1)").fetchall()
        assert [r[0] for r in rows] == [msg_id]
        time.sleep(0.037)  # spread the due times over the worker's interval
    wait_for(lambda: len(invalid_rows(conn, "invalid_review_queue")) == count, 10,
             what="all review requests in the invalid queue")
    assert conn.execute("SELECT count(*) FROM pgmq.q_review_queue").fetchone()[0] == 0
    for message, read_ct, info, late_ms in invalid_rows(conn, "invalid_review_queue"):
        i = message["review"]
        assert read_ct == 1
        assert info["reason"] == "deadline"
        assert info["queue"] == "review_queue"
        assert isinstance(info["msg_id"], int)
        (due_at,) = conn.execute("SELECT extract(epoch FROM %s::timestamptz)", [info["due_at"]]).fetchone()
        assert abs(float(due_at) - due[i]) < 0.002, "due time is first visibility + deadline"
        assert 0 <= late_ms <= MAX_LATE_S * 1000, f"moved {late_ms} ms after its deadline"
        record_lateness(late_ms)
    # Headers are kept, merged with the record of the move.
    headers = conn.execute("SELECT headers FROM pgmq.q_invalid_review_queue LIMIT 1").fetchone()[0]
    assert headers["from"] == "admin"
    metrics = conn.execute("SELECT moved_deadline, worker_last_run_at IS NOT NULL FROM pgmq.policy_metrics() "
                           "WHERE queue_name = 'review_queue'").fetchone()
    assert metrics == (count, True)


def test_max_deliveries(conn):
    fresh_queues(conn, "md_q", "md_dlq")
    conn.execute("SELECT pgmq.set_policy('md_q', invalid_queue => 'md_dlq', max_deliveries => 2)")
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send('md_q', %s)", [Json({"job": 1})]).fetchone()
    for attempt in (1, 2):
        rows = wait_for(lambda: conn.execute("SELECT msg_id, read_ct FROM pgmq.read('md_q', 1, 1)").fetchall(), 5,
                        what=f"delivery {attempt}")
        assert rows == [(msg_id, attempt)]
    # Never a third delivery, not even between worker passes.
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        assert conn.execute("SELECT count(*) FROM pgmq.read('md_q', 1, 1)").fetchone()[0] == 0
        time.sleep(0.01)
    rows = wait_for(lambda: invalid_rows(conn, "md_dlq"), 5, what="the message in the invalid queue")
    message, read_ct, info, late_ms = rows[0]
    assert (message, read_ct, info["reason"], info["msg_id"]) == ({"job": 1}, 2, "max_deliveries", msg_id)
    assert 0 <= late_ms <= MAX_LATE_S * 1000
    record_lateness(late_ms)


def test_retention_archive_and_delete(conn):
    fresh_queues(conn, "ret_a", "ret_d")
    conn.execute("SELECT pgmq.set_policy('ret_a', retention_seconds => 1)")
    conn.execute("SELECT pgmq.set_policy('ret_d', retention_seconds => 1, retention_action => 'delete')")
    conn.execute("SELECT pgmq.send('ret_a', %s)", [Json({"r": "a"})])
    conn.execute("SELECT pgmq.send('ret_d', %s)", [Json({"r": "d"})])
    t0 = time.monotonic()
    wait_for(lambda: conn.execute("SELECT count(*) FROM pgmq.a_ret_a").fetchone()[0] == 1, 5, what="archive")
    wait_for(lambda: conn.execute("SELECT count(*) FROM pgmq.q_ret_d").fetchone()[0] == 0, 5, what="delete")
    assert time.monotonic() - t0 >= 0.9, "removed before its retention period"
    reason, late_ms = conn.execute(
        "SELECT headers->'x-pgmq-invalid'->>'reason', extract(epoch FROM archived_at - "
        "(headers->'x-pgmq-invalid'->>'due_at')::timestamptz) * 1000 FROM pgmq.a_ret_a").fetchone()
    assert reason == "retention"
    record_lateness(float(late_ms))
    assert conn.execute("SELECT count(*) FROM pgmq.q_ret_a").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM pgmq.a_ret_d").fetchone()[0] == 0
    assert conn.execute("SELECT removed_retention FROM pgmq.policy_metrics() WHERE queue_name = 'ret_d'"
                        ).fetchone()[0] == 1


def test_acked_just_before_deadline_is_never_moved(conn):
    fresh_queues(conn, "ack_q", "ack_dlq")
    conn.execute("SELECT pgmq.set_policy('ack_q', invalid_queue => 'ack_dlq', deadline_seconds => 1)")
    ids = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch('ack_q', %s)",
                                      [[Json({"n": i}) for i in range(20)]]).fetchall()]
    (first_visible,) = conn.execute("SELECT extract(epoch FROM min(vt)) FROM pgmq.q_ack_q").fetchone()
    rows = conn.execute("SELECT msg_id FROM pgmq.read('ack_q', 30, 20)").fetchall()
    assert len(rows) == 20
    # Acknowledge one by one, the last ones a few milliseconds before the deadline.
    (now,) = conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
    time.sleep(max(0.0, float(first_visible) + 0.85 - float(now)))
    for msg_id in ids:
        assert conn.execute("SELECT pgmq.delete('ack_q', %s::bigint)", [msg_id]).fetchone()[0] is True
    (acked_at,) = conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
    assert float(acked_at) < float(first_visible) + 1.0, "the test was too slow to ack before the deadline"
    time.sleep(1.0)
    assert conn.execute("SELECT count(*) FROM pgmq.q_ack_dlq").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM pgmq.a_ack_q").fetchone()[0] == 0


def test_delayed_message_gets_its_full_deadline(conn):
    fresh_queues(conn, "delay_q", "delay_dlq")
    conn.execute("SELECT pgmq.set_policy('delay_q', invalid_queue => 'delay_dlq', deadline_seconds => 1)")
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send('delay_q', %s, 2)", [Json({"d": 1})]).fetchone()
    (visible_at,) = conn.execute("SELECT extract(epoch FROM vt) FROM pgmq.q_delay_q").fetchone()
    visible_at = float(visible_at)
    # Well past enqueue + deadline, but only 0.5 s after it became visible: still in the queue.
    time.sleep(2.5)
    assert conn.execute("SELECT count(*) FROM pgmq.q_delay_dlq").fetchone()[0] == 0
    rows = conn.execute("SELECT msg_id FROM pgmq.read('delay_q', 30, 1)").fetchall()
    assert [r[0] for r in rows] == [msg_id]
    rows = wait_for(lambda: invalid_rows(conn, "delay_dlq"), 5, what="the delayed message in the invalid queue")
    message, read_ct, info, late_ms = rows[0]
    (due_at,) = conn.execute("SELECT extract(epoch FROM %s::timestamptz)", [info["due_at"]]).fetchone()
    assert abs(float(due_at) - (visible_at + 1.0)) < 0.002
    assert info["reason"] == "deadline"
    assert 0 <= late_ms <= MAX_LATE_S * 1000
    record_lateness(late_ms)


def test_concurrent_consumers_and_worker_lose_nothing(conn, database):
    """Consumers ack while the worker moves: every message ends acked xor in the invalid queue."""
    fresh_queues(conn, "mix_q", "mix_dlq")
    conn.execute("SELECT pgmq.set_policy('mix_q', invalid_queue => 'mix_dlq', deadline_seconds => 1)")
    n = 300
    conn.execute("SELECT pgmq.send_batch('mix_q', %s)", [[Json({"uid": i}) for i in range(n)]])
    acked = []
    lock = threading.Lock()

    def consume():
        from conftest import connect
        with connect(database) as c:
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                for (msg_id, message) in c.execute("SELECT msg_id, message FROM pgmq.read('mix_q', 30, 5)"):
                    time.sleep(0.02)
                    if c.execute("SELECT pgmq.delete('mix_q', %s::bigint)", [msg_id]).fetchone()[0]:
                        with lock:
                            acked.append(message["uid"])

    threads = [threading.Thread(target=consume) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_for(lambda: conn.execute("SELECT count(*) FROM pgmq.q_mix_q").fetchone()[0] == 0, 5,
             what="the queue to empty")
    moved = [r[0] for r in conn.execute("SELECT (message->>'uid')::int FROM pgmq.q_mix_dlq")]
    assert len(acked) == len(set(acked))
    assert len(moved) == len(set(moved))
    assert not set(acked) & set(moved)
    assert sorted(acked + moved) == list(range(n))


def test_broken_queue_does_not_starve_the_others(conn):
    """A queue whose moves fail (its invalid queue rejects inserts) is logged and skipped each pass."""
    fresh_queues(conn, "bad_q", "bad_dlq", "good_q", "good_dlq")
    conn.execute("ALTER TABLE pgmq.q_bad_dlq ADD COLUMN must_be_set integer NOT NULL")
    # bad_q sorts before good_q, so the worker meets the broken queue first in every pass.
    conn.execute("SELECT pgmq.set_policy('bad_q', invalid_queue => 'bad_dlq', max_deliveries => 1)")
    conn.execute("SELECT pgmq.set_policy('good_q', invalid_queue => 'good_dlq', max_deliveries => 1)")
    try:
        for q in ("bad_q", "good_q"):
            conn.execute("SELECT pgmq.send(%s, %s)", [q, Json({"q": q})])
            assert conn.execute("SELECT count(*) FROM pgmq.read(%s, 0, 1)", [q]).fetchone()[0] == 1
        wait_for(lambda: conn.execute("SELECT count(*) FROM pgmq.q_good_dlq").fetchone()[0] == 1, 5,
                 what="the healthy queue's message to move")
        time.sleep(0.5)
        assert conn.execute("SELECT count(*) FROM pgmq.q_bad_q").fetchone()[0] == 1, "rolled back, still there"
    finally:
        conn.execute("SELECT pgmq.clear_policy('bad_q')")


def test_worker_moves_as_the_queue_owner_not_as_superuser(conn):
    """The worker runs as a superuser; triggers on queues fire as the queue's owner, or a role
    allowed to put a trigger on its queue could run anything as superuser."""
    fresh_queues(conn, "own_src", "own_dlq")
    conn.execute("DROP TABLE IF EXISTS public.own_seen")
    conn.execute("DROP ROLE IF EXISTS regress_pgmq_owner")
    conn.execute("CREATE ROLE regress_pgmq_owner")
    try:
        conn.execute("GRANT USAGE ON SCHEMA pgmq TO regress_pgmq_owner")
        conn.execute("CREATE TABLE public.own_seen (who text, super boolean)")
        conn.execute("GRANT INSERT ON public.own_seen TO PUBLIC")
        for table in ["q_own_src", "a_own_src", "q_own_dlq", "a_own_dlq"]:
            conn.execute(f"ALTER TABLE pgmq.{table} OWNER TO regress_pgmq_owner")
        conn.execute("""CREATE FUNCTION public.own_spy() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO public.own_seen SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;
                RETURN NEW;
            END $$""")
        conn.execute("CREATE TRIGGER own_spy BEFORE INSERT ON pgmq.q_own_dlq FOR EACH ROW "
                     "EXECUTE FUNCTION public.own_spy()")
        conn.execute("SELECT pgmq.set_policy('own_src', invalid_queue => 'own_dlq', deadline_seconds => 1)")
        conn.execute("SELECT pgmq.send('own_src', '{\"x\": 1}')")
        wait_for(lambda: conn.execute("SELECT count(*) FROM pgmq.q_own_dlq").fetchone()[0] == 1, 5 + MAX_LATE_S,
                 what="the overdue message in the invalid queue")
        assert conn.execute("SELECT who, super FROM public.own_seen").fetchall() == [("regress_pgmq_owner", False)]
        # the worker's own bookkeeping still works
        assert conn.execute("SELECT moved_deadline FROM pgmq.policy_metrics() "
                            "WHERE queue_name = 'own_src'").fetchone() == (1,)
    finally:
        conn.execute("SELECT pgmq.clear_policy('own_src')")
        conn.execute("SELECT pgmq.drop_queue('own_src'), pgmq.drop_queue('own_dlq')")
        conn.execute("DROP TABLE IF EXISTS public.own_seen")
        conn.execute("DROP FUNCTION IF EXISTS public.own_spy()")
        conn.execute("REVOKE USAGE ON SCHEMA pgmq FROM regress_pgmq_owner")
        conn.execute("DROP ROLE IF EXISTS regress_pgmq_owner")


def test_worker_skips_a_queue_locked_by_ddl_and_goes_on(conn, database):
    """A queue locked by DDL (ACCESS EXCLUSIVE, as drop_queue takes) is skipped, not waited for: the
    queues after it are still served, and the worker never deadlocks with a drop of queue and invalid queue."""
    fresh_queues(conn, "ddl_a", "ddl_a_dlq", "ddl_b", "ddl_b_dlq")
    for q in ("ddl_a", "ddl_b"):
        conn.execute(f"SELECT pgmq.set_policy('{q}', invalid_queue => '{q}_dlq', max_deliveries => 1)")
    with psycopg.connect(dbname=database) as locker:
        # Locked before the messages are overdue, so no pass can move ddl_a's before the lock.
        locker.execute("LOCK TABLE pgmq.q_ddl_a_dlq IN ACCESS EXCLUSIVE MODE")
        for q in ("ddl_a", "ddl_b"):
            conn.execute(f"SELECT pgmq.send('{q}', '{{}}')")
            conn.execute(f"SELECT pgmq.read('{q}', 0, 1)")  # read once, visible again: overdue
        wait_for(lambda: conn.execute("SELECT count(*) FROM pgmq.q_ddl_b_dlq").fetchone()[0] == 1, 10,
                 what="the queue after the locked one to be served")
        assert conn.execute("SELECT count(*) FROM pgmq.q_ddl_a").fetchone()[0] == 1
        waiting = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pgmq worker' "
                               "AND datname = current_database() AND wait_event_type = 'Lock'").fetchone()[0]
        assert waiting == 0
        locker.rollback()
    wait_for(lambda: conn.execute("SELECT count(*) FROM pgmq.q_ddl_a_dlq").fetchone()[0] == 1, 10,
             what="the unlocked queue to be served")
