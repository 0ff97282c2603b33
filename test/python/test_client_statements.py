"""test_client_statements.py: the statements the PGMQ Python client (pgmq on PyPI) sends.

That client names every argument and casts every parameter (queue_name=>%s::text,
msg=>%s::jsonb, delay=>%s::integer or ::timestamptz, msg_ids=>%s::bigint[] ...) and
selects message_record columns by name. Each form it uses for the core API is run here
with psycopg parameters, in the same shape.
"""
import datetime

from psycopg.types.json import Jsonb

COLS = "msg_id, read_ct, enqueued_at, last_read_at, vt, message, headers"


def one(conn, query, params=()):
    """one returns the single value of a one-row, one-column result."""
    rows = conn.execute(query, params).fetchall()
    assert len(rows) == 1 and len(rows[0]) == 1, rows
    return rows[0][0]


def test_queue_management_statements(conn):
    q = "pyq_client_mgmt"
    conn.execute("SELECT pgmq.validate_queue_name(queue_name=>%s);", [q])
    conn.execute("SELECT pgmq.create(queue_name=>%s);", [q])
    conn.execute("SELECT pgmq.create_unlogged(queue_name=>%s);", [q + "_u"])
    conn.execute("SELECT pgmq.create_non_partitioned(queue_name=>%s);", [q + "_n"])
    rows = conn.execute("SELECT queue_name, created_at, is_partitioned, is_unlogged FROM pgmq.list_queues();").fetchall()
    mine = {r[0]: r for r in rows if r[0].startswith(q)}
    assert set(mine) == {q, q + "_u", q + "_n"}
    assert mine[q + "_u"][3] is True and mine[q][3] is False and mine[q][2] is False
    assert isinstance(mine[q][1], datetime.datetime)
    conn.execute("SELECT pgmq.detach_archive(queue_name=>%s);", [q])
    assert one(conn, "SELECT pgmq.purge_queue(queue_name=>%s);", [q]) == 0
    for name in (q, q + "_u", q + "_n"):
        assert one(conn, "SELECT pgmq.drop_queue(queue_name=>%s);", [name]) is True


def test_send_statements(conn, queue):
    at = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    m, h = Jsonb({"k": "v"}), Jsonb({"h": 1})
    ids = [
        one(conn, "SELECT * FROM pgmq.send(queue_name=>%s::text, msg=>%s::jsonb);", [queue, m]),
        one(conn, "SELECT * FROM pgmq.send(queue_name=>%s::text, msg=>%s::jsonb, delay=>%s::integer);", [queue, m, 0]),
        one(conn, "SELECT * FROM pgmq.send(queue_name=>%s::text, msg=>%s::jsonb, delay=>%s::timestamptz);",
            [queue, m, at]),
        one(conn, "SELECT * FROM pgmq.send(queue_name=>%s::text, msg=>%s::jsonb, headers=>%s::jsonb);", [queue, m, h]),
        one(conn, "SELECT * FROM pgmq.send(queue_name=>%s::text, msg=>%s::jsonb, headers=>%s::jsonb,"
                  " delay=>%s::integer);", [queue, m, h, 0]),
        one(conn, "SELECT * FROM pgmq.send(queue_name=>%s::text, msg=>%s::jsonb, headers=>%s::jsonb,"
                  " delay=>%s::timestamptz);", [queue, m, h, at]),
    ]
    msgs, hs = [Jsonb({"b": 1}), Jsonb({"b": 2})], [Jsonb({"bh": 1}), Jsonb({"bh": 2})]
    batch_forms = [
        ("SELECT * FROM pgmq.send_batch(queue_name=>%s::text, msgs=>%s::jsonb[]);", [queue, msgs]),
        ("SELECT * FROM pgmq.send_batch(queue_name=>%s::text, msgs=>%s::jsonb[], delay=>%s::integer);",
         [queue, msgs, 0]),
        ("SELECT * FROM pgmq.send_batch(queue_name=>%s::text, msgs=>%s::jsonb[], delay=>%s::timestamptz);",
         [queue, msgs, at]),
        ("SELECT * FROM pgmq.send_batch(queue_name=>%s::text, msgs=>%s::jsonb[], headers=>%s::jsonb[]);",
         [queue, msgs, hs]),
        ("SELECT * FROM pgmq.send_batch(queue_name=>%s::text, msgs=>%s::jsonb[], headers=>%s::jsonb[],"
         " delay=>%s::integer);", [queue, msgs, hs, 0]),
        ("SELECT * FROM pgmq.send_batch(queue_name=>%s::text, msgs=>%s::jsonb[], headers=>%s::jsonb[],"
         " delay=>%s::timestamptz);", [queue, msgs, hs, at]),
    ]
    for query, params in batch_forms:
        got = [r[0] for r in conn.execute(query, params)]
        assert len(got) == 2
        ids += got
    assert ids == sorted(ids) and len(set(ids)) == 18
    rows = conn.execute(f"SELECT {COLS} FROM pgmq.read(queue_name=>%s::text, vt=>%s::integer, qty=>%s::integer);",
                        [queue, 30, 100]).fetchall()
    assert [r[0] for r in rows] == ids
    assert [r[6] for r in rows[:6]] == [None, None, None, {"h": 1}, {"h": 1}, {"h": 1}]
    assert [r[6] for r in rows[6:12]] == [None] * 6
    assert [r[6] for r in rows[12:]] == [{"bh": 1}, {"bh": 2}] * 3


def test_read_pop_ack_statements(conn, queue):
    for kind in ("a", "b", "a", "b", "a", "c"):
        conn.execute("SELECT * FROM pgmq.send(queue_name=>%s::text, msg=>%s::jsonb);", [queue, Jsonb({"kind": kind})])
    rows = conn.execute(f"SELECT {COLS} FROM pgmq.read(queue_name=>%s::text, vt=>%s::integer, qty=>%s::integer,"
                        " conditional=>%s::jsonb);", [queue, 30, 2, Jsonb({"kind": "a"})]).fetchall()
    assert [r[5]["kind"] for r in rows] == ["a", "a"]
    first_a = [r[0] for r in rows]
    rows = conn.execute(f"SELECT {COLS} FROM pgmq.read_with_poll(queue_name=>%s::text, vt=>%s::integer,"
                        " qty=>%s::integer, max_poll_seconds=>%s::integer, poll_interval_ms=>%s::integer,"
                        " conditional=>%s::jsonb);", [queue, 30, 5, 1, 100, Jsonb({"kind": "b"})]).fetchall()
    assert [r[5]["kind"] for r in rows] == ["b", "b"]
    bs = [r[0] for r in rows]
    rows = conn.execute(f"SELECT {COLS} FROM pgmq.read_with_poll(queue_name=>%s::text, vt=>%s::integer,"
                        " qty=>%s::integer, max_poll_seconds=>%s::integer, poll_interval_ms=>%s::integer);",
                        [queue, 30, 1, 1, 100]).fetchall()
    assert [r[5]["kind"] for r in rows] == ["a"]
    rows = conn.execute(f"SELECT {COLS} FROM pgmq.pop(queue_name=>%s::text, qty=>%s::integer);",
                        [queue, 5]).fetchall()
    assert [r[5]["kind"] for r in rows] == ["c"]

    assert one(conn, "SELECT pgmq.delete(queue_name=>%s::text, msg_id=>%s::bigint);", [queue, first_a[0]]) is True
    assert [r[0] for r in conn.execute("SELECT * FROM pgmq.delete(queue_name=>%s::text, msg_ids=>%s::bigint[]);",
                                       [queue, [first_a[1]]])] == [first_a[1]]
    assert one(conn, "SELECT pgmq.archive(queue_name=>%s::text, msg_id=>%s::bigint);", [queue, bs[0]]) is True
    assert [r[0] for r in conn.execute("SELECT * FROM pgmq.archive(queue_name=>%s::text, msg_ids=>%s::bigint[]);",
                                       [queue, [bs[1]]])] == [bs[1]]


def test_set_vt_statements(conn, queue):
    ids = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(queue_name=>%s::text, msgs=>%s::jsonb[]);",
                                      [queue, [Jsonb(i) for i in range(3)]])]
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10)
    rows = conn.execute(f"SELECT {COLS} FROM pgmq.set_vt(queue_name=>%s::text, msg_id=>%s::bigint, vt=>%s::integer);",
                        [queue, ids[0], 120]).fetchall()
    assert [r[0] for r in rows] == [ids[0]]
    rows = conn.execute(f"SELECT {COLS} FROM pgmq.set_vt(queue_name=>%s::text, msg_id=>%s::bigint,"
                        " vt=>%s::timestamptz);", [queue, ids[1], at]).fetchall()
    assert [r[0] for r in rows] == [ids[1]] and abs((rows[0][4] - at).total_seconds()) < 0.001
    rows = conn.execute(f"SELECT {COLS} FROM pgmq.set_vt(queue_name=>%s::text, msg_ids=>%s::bigint[],"
                        " vt=>%s::integer);", [queue, ids, 60]).fetchall()
    assert sorted(r[0] for r in rows) == ids
    rows = conn.execute(f"SELECT {COLS} FROM pgmq.set_vt(queue_name=>%s::text, msg_ids=>%s::bigint[],"
                        " vt=>%s::timestamptz);", [queue, ids[1:], at]).fetchall()
    assert sorted(r[0] for r in rows) == ids[1:]
    assert conn.execute("SELECT * FROM pgmq.read(%s, 30, 10)", [queue]).fetchall() == []


def test_metrics_and_notify_statements(conn, queue):
    conn.execute("SELECT * FROM pgmq.send(queue_name=>%s::text, msg=>%s::jsonb);", [queue, Jsonb({})])
    row = conn.execute("SELECT * FROM pgmq.metrics(queue_name=>%s);", [queue]).fetchone()
    assert row[0] == queue and row[1] == 1
    assert any(r[0] == queue for r in conn.execute("SELECT * FROM pgmq.metrics_all();"))
    conn.execute("SELECT pgmq.enable_notify_insert(queue_name=>%s::text, throttle_interval_ms=>%s::integer);",
                 [queue, 100])
    conn.execute("SELECT pgmq.update_notify_insert(queue_name=>%s::text, throttle_interval_ms=>%s::integer);",
                 [queue, 200])
    rows = conn.execute("SELECT queue_name, throttle_interval_ms, last_notified_at"
                        " FROM pgmq.list_notify_insert_throttles();").fetchall()
    assert [(r[0], r[1]) for r in rows if r[0] == queue] == [(queue, 200)]
    conn.execute("SELECT pgmq.disable_notify_insert(queue_name=>%s::text);", [queue])
    rows = conn.execute("SELECT queue_name FROM pgmq.list_notify_insert_throttles();").fetchall()
    assert (queue,) not in rows
