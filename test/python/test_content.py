"""test_content.py: what queues store and hand back to a driver.

Unlogged queues, send_batch ordering, headers round-trip, large (1 MB) and unicode
messages, JSON scalars and nesting, the conditional filter, and names folded to one queue.
"""
import datetime

import pytest
from psycopg import errors
from psycopg.types.json import Jsonb

from helpers import queue_length


def test_unlogged_queue(conn):
    conn.execute("SELECT pgmq.create_unlogged('pyq_unlogged')")
    try:
        persistence = dict(conn.execute(
            "SELECT relname, relpersistence FROM pg_class WHERE relnamespace = 'pgmq'::regnamespace"
            " AND relname IN ('q_pyq_unlogged', 'a_pyq_unlogged')").fetchall())
        assert persistence == {"q_pyq_unlogged": "u", "a_pyq_unlogged": "p"}
        assert conn.execute("SELECT is_unlogged FROM pgmq.list_queues() WHERE queue_name = 'pyq_unlogged'") \
            .fetchone() == (True,)
        ids = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch('pyq_unlogged', %s::jsonb[])",
                                          [[Jsonb({"u": i}) for i in range(3)]])]
        rows = conn.execute("SELECT * FROM pgmq.read('pyq_unlogged', 30, 3)").fetchall()
        assert [(r[0], r[5]) for r in rows] == [(ids[i], {"u": i}) for i in range(3)]
        assert conn.execute("SELECT pgmq.archive('pyq_unlogged', %s::bigint)", [ids[0]]).fetchone() == (True,)
        assert conn.execute("SELECT count(*) FROM pgmq.a_pyq_unlogged").fetchone() == (1,)
    finally:
        conn.execute("SELECT pgmq.drop_queue('pyq_unlogged')")


def test_send_batch_order(conn, queue):
    msgs = [{"seq": i, "pad": "x" * (i % 7)} for i in range(250)]
    ids = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[])",
                                      [queue, [Jsonb(m) for m in msgs]])]
    assert len(ids) == 250 and ids == sorted(ids) and len(set(ids)) == 250
    by_id = dict(conn.execute("SELECT msg_id, message FROM pgmq.q_" + queue).fetchall())
    assert [by_id[i] for i in ids] == msgs
    rows = conn.execute("SELECT * FROM pgmq.read(%s, 30, 1000)", [queue]).fetchall()
    assert [r[5]["seq"] for r in rows] == list(range(250))
    assert [r[0] for r in rows] == ids


def test_send_batch_with_delay_and_timestamp(conn, queue):
    ids = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[], 3600)",
                                      [queue, [Jsonb(1), Jsonb(2)]])]
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    ids += [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[], %s::timestamptz)",
                                       [queue, [Jsonb(3)], at])]
    assert len(ids) == 3
    assert conn.execute("SELECT * FROM pgmq.read(%s, 30, 10)", [queue]).fetchall() == []
    vts = dict(conn.execute("SELECT msg_id, vt FROM pgmq.q_" + queue).fetchall())
    assert abs((vts[ids[2]] - at).total_seconds()) < 0.001
    assert 3500 < (vts[ids[0]] - datetime.datetime.now(datetime.timezone.utc)).total_seconds() <= 3600


def test_headers_round_trip(conn, queue):
    headers = {"x-pgmq-group": "g1", "trace": {"id": "abc", "spans": [1, 2, 3]}, "n": None, "ok": True}
    (m1,) = conn.execute("SELECT * FROM pgmq.send(%s, %s, %s)", [queue, Jsonb({"a": 1}), Jsonb(headers)]).fetchone()
    (m2,) = conn.execute("SELECT * FROM pgmq.send(%s, %s, %s, %s)",
                         [queue, Jsonb({"a": 2}), Jsonb({"h": 2}), 0]).fetchone()
    batch_headers = [Jsonb({"b": 1}), Jsonb({"b": 2})]
    ids = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[], %s::jsonb[])",
                                      [queue, [Jsonb("x"), Jsonb("y")], batch_headers])]
    rows = conn.execute("SELECT * FROM pgmq.read(%s, 30, 10)", [queue]).fetchall()
    assert [(r[0], r[5], r[6]) for r in rows] == [
        (m1, {"a": 1}, headers), (m2, {"a": 2}, {"h": 2}), (ids[0], "x", {"b": 1}), (ids[1], "y", {"b": 2})]
    # headers survive archiving
    conn.execute("SELECT pgmq.archive(%s, %s::bigint)", [queue, m1])
    assert conn.execute("SELECT headers FROM pgmq.a_" + queue).fetchone() == (headers,)


def test_large_message(conn, queue):
    big = {"blob": "z" * (1024 * 1024), "list": list(range(1000))}
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb(big)]).fetchone()
    rows = conn.execute("SELECT * FROM pgmq.read(%s, 30, 1)", [queue]).fetchall()
    assert rows[0][0] == msg_id and rows[0][5] == big
    rows = conn.execute("SELECT * FROM pgmq.pop(%s)", [queue]).fetchall()
    assert rows == []  # still hidden by the read
    conn.execute("SELECT * FROM pgmq.set_vt(%s, %s, 0)", [queue, msg_id])
    rows = conn.execute("SELECT * FROM pgmq.pop(%s)", [queue]).fetchall()
    assert rows[0][5] == big


def test_unicode_content(conn, queue):
    msgs = [
        {"text": "héllo wörld", "emoji": "🚀🎉👩‍👩‍👧", "cjk": "消息队列", "rtl": "مرحبا"},
        {"ключ": "значение", "combining": "e\u0301", "escapes": "tab\t nl\n quote\" backslash\\"},
        "just a string with ☃",
        ["Ω", {"ñ": ["ü"]}],
    ]
    ids = [conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb(m)]).fetchone()[0] for m in msgs]
    (hid,) = conn.execute("SELECT * FROM pgmq.send(%s, %s, %s)",
                          [queue, Jsonb({"k": 1}), Jsonb({"заголовок": "日本"})]).fetchone()
    rows = conn.execute("SELECT * FROM pgmq.read(%s, 30, 10)", [queue]).fetchall()
    assert [r[5] for r in rows[:4]] == msgs
    assert rows[4][0] == hid and rows[4][6] == {"заголовок": "日本"}
    assert [r[0] for r in rows[:4]] == ids
    # a JSON text with unicode escapes, bound untyped
    (eid,) = conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, '{"e": "\\u00e9\\ud83d\\ude00"}']).fetchone()
    assert conn.execute("SELECT message FROM pgmq.q_" + queue + " WHERE msg_id = %s", [eid]).fetchone() == \
        ({"e": "é😀"},)


def test_json_scalars_and_nesting(conn, queue):
    values = [0, -1.5, True, None, "s", [], {}, {"deep": {"er": {"est": [1, [2, [3]]]}}}]
    for v in values:
        conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb(v)])
    rows = conn.execute("SELECT * FROM pgmq.read(%s, 30, 20)", [queue]).fetchall()
    assert [r[5] for r in rows] == values


def test_conditional_read(conn, queue):
    for kind in ["a", "b", "a", "c"]:
        conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"kind": kind, "n": 1})])
    rows = conn.execute("SELECT * FROM pgmq.read(%s, 30, 10, %s)", [queue, Jsonb({"kind": "a"})]).fetchall()
    assert [r[5]["kind"] for r in rows] == ["a", "a"]
    rows = conn.execute("SELECT * FROM pgmq.read(%s, 30, 10, conditional => %s)",
                        [queue, Jsonb({"kind": "c"})]).fetchall()
    assert [r[5]["kind"] for r in rows] == ["c"]
    rows = conn.execute("SELECT * FROM pgmq.read(%s, 30, 10, '{}')", [queue]).fetchall()
    assert [r[5]["kind"] for r in rows] == ["b"]


def test_names_fold_to_one_queue(conn):
    conn.execute("SELECT pgmq.create('PyQ_Mixed')")
    try:
        conn.execute("SELECT pgmq.create('pyq_mixed')")
        conn.execute("SELECT * FROM pgmq.send('PYQ_MIXED', '{\"m\": 1}')")
        assert conn.execute("SELECT count(*) FROM pgmq.meta WHERE lower(queue_name) = 'pyq_mixed'").fetchone() == (1,)
        assert [r[5] for r in conn.execute("SELECT * FROM pgmq.read('pyq_mixed', 30, 5)")] == [{"m": 1}]
    finally:
        assert conn.execute("SELECT pgmq.drop_queue('Pyq_Mixed')").fetchone() == (True,)


def test_hostile_name_cannot_inject(conn):
    with pytest.raises(errors.RaiseException):  # PGMQ's P0001 for ; and --
        conn.execute("SELECT pgmq.create(%s)", ['x"; DROP TABLE pgmq.meta; --'])
    assert conn.execute("SELECT to_regclass('pgmq.meta')").fetchone()[0] is not None


def test_longest_name(conn):
    name = "p" * 47
    conn.execute("SELECT pgmq.create(%s)", [name])
    try:
        conn.execute("SELECT * FROM pgmq.send(%s, '{}')", [name])
        assert queue_length(conn, name) == 1
        assert conn.execute("SELECT queue_length FROM pgmq.metrics(%s)", [name]).fetchone() == (1,)
    finally:
        conn.execute("SELECT pgmq.drop_queue(%s)", [name])
