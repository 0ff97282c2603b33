"""test_task_queue.py: a task queue used end to end, with the background worker (interval 100 ms).

A producer enqueues tasks; workers read them, archive the ones that succeed with their result, and nack
the ones that fail with the error (backoff from the queue's policy). A task failing max_deliveries times
is moved by the worker to the invalid queue; status() follows every step; redrive() puts it back.
"""
import psycopg.types.json
from conftest import wait_for

Json = psycopg.types.json.Jsonb


def fresh_queues(conn, *names):
    for name in names:
        conn.execute("SELECT pgmq.clear_policy(%s) FROM pgmq.meta WHERE queue_name = %s", [name, name])
    for name in names:
        conn.execute("SELECT pgmq.drop_queue(%s) FROM pgmq.meta WHERE queue_name = %s", [name, name])
    for name in names:
        conn.execute("SELECT pgmq.create(%s)", [name])


def status(conn, queue, msg_id):
    row = conn.execute("SELECT state, read_ct, result, last_error, invalid_queue, reason "
                       "FROM pgmq.status(%s, %s)", [queue, msg_id]).fetchone()
    return dict(zip(("state", "read_ct", "result", "last_error", "invalid_queue", "reason"), row))


def read_one(conn, queue, vt=30):
    return conn.execute("SELECT msg_id, read_ct, message FROM pgmq.read(%s, %s, 1)", [queue, vt]).fetchone()


def test_task_queue_end_to_end(conn):
    fresh_queues(conn, "tasks", "tasks_failed")
    conn.execute("SELECT pgmq.set_policy('tasks', invalid_queue => 'tasks_failed', max_deliveries => 3, "
                 "backoff_base_seconds => 1, backoff_max_seconds => 1)")

    # A task that succeeds: queued -> in_flight -> archived with its result.
    ok_id = conn.execute("SELECT * FROM pgmq.send('tasks', %s)", [Json({"task": "resize", "image": 7})]).fetchone()[0]
    assert status(conn, "tasks", ok_id)["state"] == "queued"
    msg_id, read_ct, message = read_one(conn, "tasks")
    assert (msg_id, read_ct, message["task"]) == (ok_id, 1, "resize")
    assert status(conn, "tasks", ok_id) == {"state": "in_flight", "read_ct": 1, "result": None, "last_error": None,
                                            "invalid_queue": None, "reason": None}
    assert conn.execute("SELECT pgmq.archive('tasks', %s, %s)", [ok_id, Json({"thumb": "7.png"})]).fetchone()[0]
    # Acknowledged: no longer in flight, a nack is false.
    assert not conn.execute("SELECT pgmq.nack('tasks', %s)", [ok_id]).fetchone()[0]
    assert status(conn, "tasks", ok_id) == {"state": "archived", "read_ct": 1, "result": {"thumb": "7.png"},
                                            "last_error": None, "invalid_queue": None, "reason": None}

    # A task that fails every time: nack with the error, backoff 1 s (delayed, not readable meanwhile).
    bad_id = conn.execute("SELECT * FROM pgmq.send('tasks', %s)", [Json({"task": "resize", "image": 8})]).fetchone()[0]
    for attempt in range(1, 4):
        got = wait_for(lambda: read_one(conn, "tasks"), 10, what=f"attempt {attempt} of the failing task")
        assert got[:2] == (bad_id, attempt)
        error = {"attempt": attempt, "error": "corrupt image"}
        assert conn.execute("SELECT pgmq.nack('tasks', %s, error => %s)", [bad_id, Json(error)]).fetchone()[0]
        st = status(conn, "tasks", bad_id)
        if attempt < 3:
            # Hidden for the backoff; read again afterwards (read_ct counts every delivery).
            assert st["state"] == "in_flight" and st["last_error"] == error, st
            assert read_one(conn, "tasks") is None

    # Read max_deliveries times and released: the worker moves it to the invalid queue, error included.
    st = wait_for(lambda: (lambda s: s if s["state"] == "invalid" else None)(status(conn, "tasks", bad_id)), 15,
                  what="the worker to move the failing task")
    assert st == {"state": "invalid", "read_ct": 3, "result": None,
                  "last_error": {"attempt": 3, "error": "corrupt image"},
                  "invalid_queue": "tasks_failed", "reason": "max_deliveries"}
    headers = conn.execute("SELECT headers FROM pgmq.q_tasks_failed").fetchone()[0]
    assert headers["x-pgmq-last-error"]["attempt"] == 3 and headers["x-pgmq-invalid"]["msg_id"] == bad_id

    # The image is fixed: redrive puts the task back, under its own msg_id, delivery count reset.
    assert conn.execute("SELECT pgmq.redrive('tasks_failed')").fetchone()[0] == 1
    st = status(conn, "tasks", bad_id)
    assert (st["state"], st["read_ct"]) == ("queued", 0), st
    msg_id, read_ct, _ = read_one(conn, "tasks")
    assert (msg_id, read_ct) == (bad_id, 1)
    assert conn.execute("SELECT pgmq.archive('tasks', %s, %s)", [bad_id, Json({"thumb": "8.png"})]).fetchone()[0]
    history = conn.execute("SELECT headers->'x-pgmq-redriven' FROM pgmq.a_tasks WHERE msg_id = %s",
                           [bad_id]).fetchone()[0]
    assert [(h["from"], h["read_ct"], h["invalid"]["reason"]) for h in history] == \
        [("tasks_failed", 3, "max_deliveries")]
    assert status(conn, "tasks", bad_id)["result"] == {"thumb": "8.png"}
    assert conn.execute("SELECT count(*) FROM pgmq.q_tasks_failed").fetchone()[0] == 0
    fresh_queues(conn, "tasks", "tasks_failed")
