"""test_api.py: the pgmq API as drivers call it.

Positional and named arguments (as the PGMQ Python/Rust clients write them), parameters
bound by psycopg with explicit types, with psycopg's own types (int2/int8, binary) and
untyped (unknown) as node-postgres sends them, positional decoding of message_record,
metrics_result and queue_record, and server-side prepared statements.
"""
import datetime

import psycopg
import pytest
from psycopg import errors
from psycopg.types.json import Jsonb

from helpers import MESSAGE_RECORD_COLUMNS, METRICS_COLUMNS, QUEUE_RECORD_COLUMNS, queue_length


def read_one(conn, queue, vt=30):
    """read_one reads exactly one message and returns its row."""
    rows = conn.execute("SELECT * FROM pgmq.read(%s, %s, 1)", [queue, vt]).fetchall()
    assert len(rows) == 1
    return rows[0]


def test_named_arguments_like_the_python_client(conn, queue):
    (msg_id,) = conn.execute(
        "SELECT * FROM pgmq.send(queue_name => %s::text, msg => %s::jsonb, delay => %s::integer)",
        [queue, Jsonb({"n": 1}), 0],
    ).fetchone()
    (msg_id2,) = conn.execute(
        "SELECT * FROM pgmq.send(queue_name => %s::text, msg => %s::jsonb, headers => %s::jsonb)",
        [queue, Jsonb({"n": 2}), Jsonb({"h": "x"})],
    ).fetchone()
    rows = conn.execute(
        "SELECT * FROM pgmq.read(queue_name => %s::text, vt => %s::integer, qty => %s::integer,"
        " conditional => %s::jsonb)",
        [queue, 30, 5, Jsonb({})],
    ).fetchall()
    assert [(r[0], r[5], r[6]) for r in rows] == [(msg_id, {"n": 1}, None), (msg_id2, {"n": 2}, {"h": "x"})]
    rows = conn.execute(
        "SELECT * FROM pgmq.set_vt(queue_name => %s::text, msg_id => %s::bigint, vt => %s::integer)",
        [queue, msg_id, 0],
    ).fetchall()
    assert [r[0] for r in rows] == [msg_id]
    rows = conn.execute("SELECT * FROM pgmq.pop(queue_name => %s::text)", [queue]).fetchall()
    assert [r[0] for r in rows] == [msg_id]
    assert conn.execute("SELECT pgmq.delete(queue_name => %s::text, msg_id => %s::bigint)",
                        [queue, msg_id2]).fetchone() == (True,)
    assert conn.execute("SELECT pgmq.archive(queue_name => %s::text, msg_id => %s::bigint)",
                        [queue, msg_id2]).fetchone() == (False,)


def test_named_arguments_in_any_order_and_defaults(conn, queue):
    ids = [r[0] for r in conn.execute(
        "SELECT * FROM pgmq.send_batch(msgs => %s::jsonb[], queue_name => %s)",
        [[Jsonb({"i": i}) for i in range(3)], queue],
    )]
    assert len(ids) == 3
    # qty before vt, conditional and poll defaults left out
    rows = conn.execute("SELECT * FROM pgmq.read(qty => 2, vt => 10, queue_name => %s)", [queue]).fetchall()
    assert [r[0] for r in rows] == ids[:2]
    rows = conn.execute(
        "SELECT * FROM pgmq.read_with_poll(queue_name => %s, vt => 10, qty => 5, max_poll_seconds => 1)",
        [queue]).fetchall()
    assert [r[0] for r in rows] == ids[2:]
    # pop's qty default is 1; named qty takes more
    conn.execute("SELECT * FROM pgmq.set_vt(%s, %s::bigint[], 0)", [queue, ids])
    assert len(conn.execute("SELECT * FROM pgmq.pop(queue_name => %s)", [queue]).fetchall()) == 1
    assert len(conn.execute("SELECT * FROM pgmq.pop(queue_name => %s, qty => 5)", [queue]).fetchall()) == 2


def test_positional_literals(conn, queue):
    (msg_id,) = conn.execute(f"SELECT * FROM pgmq.send('{queue}', '{{\"a\": 1}}')").fetchone()
    (msg_id2,) = conn.execute(f"SELECT * FROM pgmq.send('{queue}', '{{\"a\": 2}}', 0)").fetchone()
    (msg_id3,) = conn.execute(f"SELECT * FROM pgmq.send('{queue}', '{{\"a\": 3}}', '{{\"k\": 1}}'::jsonb)").fetchone()
    assert msg_id < msg_id2 < msg_id3
    rows = conn.execute(f"SELECT * FROM pgmq.read('{queue}', 30, 10)").fetchall()
    assert [r[5]["a"] for r in rows] == [1, 2, 3]
    assert rows[2][6] == {"k": 1}
    (n,) = conn.execute(f"SELECT count(*) FROM pgmq.delete('{queue}', ARRAY[{msg_id}, {msg_id2}])").fetchone()
    assert n == 2


def test_psycopg_native_types(conn, queue):
    """Python ints bind as int2/int8 and dicts as jsonb: every overload still resolves."""
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"x": 1})]).fetchone()
    (msg_id2,) = conn.execute("SELECT * FROM pgmq.send(%s, %s, %s)", [queue, Jsonb({"x": 2}), 0]).fetchone()
    delayed_until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    (msg_id3,) = conn.execute("SELECT * FROM pgmq.send(%s, %s, %s)", [queue, Jsonb({"x": 3}), delayed_until]).fetchone()
    (msg_id4,) = conn.execute("SELECT * FROM pgmq.send(%s, %s, %s, %s)",
                              [queue, Jsonb({"x": 4}), Jsonb({"h": 4}), 0]).fetchone()
    rows = conn.execute("SELECT * FROM pgmq.read(%s, %s, %s)", [queue, 30, 10]).fetchall()
    assert [r[0] for r in rows] == [msg_id, msg_id2, msg_id4]
    hidden = conn.execute("SELECT vt FROM pgmq.q_" + queue + " WHERE msg_id = %s", [msg_id3]).fetchone()[0]
    assert abs((hidden - delayed_until).total_seconds()) < 0.001
    # binary parameters (%b): int2 / int8 in binary format
    rows = conn.execute("SELECT * FROM pgmq.set_vt(%b, %b, %b)", [queue, msg_id, 0]).fetchall()
    assert [r[0] for r in rows] == [msg_id]
    rows = conn.execute("SELECT * FROM pgmq.read(%b, %b, %b)", [queue, 30, 1], binary=True).fetchall()
    assert [r[0] for r in rows] == [msg_id]
    assert rows[0][5] == {"x": 1}
    assert conn.execute("SELECT pgmq.archive(%b, %b)", [queue, msg_id]).fetchone() == (True,)
    assert sorted(r[0] for r in conn.execute("SELECT * FROM pgmq.delete(%s, %s)", [queue, [msg_id2, msg_id4, 999]])) \
        == [msg_id2, msg_id4]


def test_untyped_parameters_like_node_postgres(conn, queue):
    """Every parameter as text of unknown type (what node-postgres and pgmq-js send)."""
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, '{"u": 1}']).fetchone()
    rows = conn.execute("SELECT * FROM pgmq.read(%s, %s, %s)", [queue, "0", "1"]).fetchall()
    assert [(r[0], r[1], r[5]) for r in rows] == [(msg_id, 1, {"u": 1})]
    # set_vt(unknown, unknown, unknown): resolves to the extra set_vt(text, text, text)
    before = conn.execute("SELECT clock_timestamp()").fetchone()[0]
    rows = conn.execute("SELECT * FROM pgmq.set_vt(%s, %s, %s)", [queue, str(msg_id), "30"]).fetchall()
    assert len(rows) == 1 and rows[0][0] == msg_id
    assert 29 <= (rows[0][4] - before).total_seconds() <= 35
    assert conn.execute("SELECT * FROM pgmq.read(%s, %s, %s)", [queue, "0", "1"]).fetchall() == []
    rows = conn.execute("SELECT * FROM pgmq.pop(%s)", [queue]).fetchall()
    assert rows == []
    assert conn.execute("SELECT pgmq.archive(%s, %s::bigint)", [queue, str(msg_id)]).fetchone() == (True,)
    (metrics,) = conn.execute("SELECT pgmq.metrics(%s)", [queue]).fetchone()
    assert metrics.startswith(f"({queue},0,")


def test_set_vt_text_overload_rejects_non_numbers(conn, queue):
    conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, '{}'])
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        conn.execute("SELECT * FROM pgmq.set_vt(%s, %s, %s)", [queue, "one", "30"])
    with pytest.raises(psycopg.Error):
        conn.execute("SELECT * FROM pgmq.set_vt(%s, %s, %s)", [queue, "1", "soon"])
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_message_record_decoded_by_position(conn, queue):
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, %s, %s)",
                             [queue, Jsonb({"a": [1, 2]}), Jsonb({"trace": "t1"})]).fetchone()
    cur = conn.execute("SELECT * FROM pgmq.read(%s, 30, 1)", [queue])
    assert [c.name for c in cur.description] == MESSAGE_RECORD_COLUMNS
    assert [c.type_code for c in cur.description] == [20, 23, 1184, 1184, 1184, 3802, 3802]
    m_id, read_ct, enqueued_at, last_read_at, vt, message, headers = cur.fetchone()
    assert m_id == msg_id and read_ct == 1
    assert isinstance(enqueued_at, datetime.datetime) and enqueued_at.tzinfo is not None
    assert enqueued_at <= last_read_at
    assert 29 <= (vt - last_read_at).total_seconds() <= 31
    assert message == {"a": [1, 2]} and headers == {"trace": "t1"}
    # pop and set_vt return the same record shape
    for query in ("SELECT * FROM pgmq.set_vt(%s, %s, 0)", "SELECT * FROM pgmq.pop(%s)"):
        args = [queue, msg_id] if "set_vt" in query else [queue]
        cur = conn.execute(query, args)
        assert [c.name for c in cur.description] == MESSAGE_RECORD_COLUMNS
        row = cur.fetchone()
        assert row[0] == msg_id and row[5] == {"a": [1, 2]}
    # message_record as a composite value in one column (SELECT pgmq.read(...))
    conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"b": 1})])
    (record,) = conn.execute("SELECT pgmq.read(%s, 30, 1)", [queue]).fetchone()
    assert record.startswith("(") and '{""b"": 1}' in record


def test_message_record_before_any_read(conn, queue):
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb(1)]).fetchone()
    row = conn.execute("SELECT * FROM pgmq.pop(%s)", [queue]).fetchone()
    assert row[0] == msg_id
    assert row[1] == 0  # pop does not count as a read
    assert row[3] is None  # last_read_at
    assert row[5] == 1 and row[6] is None


def test_metrics_and_queue_record_columns(conn, queue):
    for i in range(3):
        conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"i": i})])
    conn.execute("SELECT * FROM pgmq.send(%s, %s, 3600)", [queue, Jsonb({"later": True})])
    conn.execute("SELECT * FROM pgmq.read(%s, 30, 1)", [queue])
    cur = conn.execute("SELECT * FROM pgmq.metrics(%s)", [queue])
    assert [c.name for c in cur.description] == METRICS_COLUMNS
    assert [c.type_code for c in cur.description] == [25, 20, 23, 23, 20, 1184, 20, 20]
    name, length, newest, oldest, total, scrape_time, visible, default_partition = cur.fetchone()
    assert name == queue and length == 4 and total == 4 and visible == 2
    assert 0 <= newest <= oldest <= 5
    assert isinstance(scrape_time, datetime.datetime)
    assert default_partition is None

    all_rows = conn.execute("SELECT * FROM pgmq.metrics_all()").fetchall()
    assert [r for r in all_rows if r[0] == queue][0][1:5] == (4, newest, oldest, 4)

    cur = conn.execute("SELECT * FROM pgmq.list_queues()")
    assert [c.name for c in cur.description] == QUEUE_RECORD_COLUMNS
    mine = [r for r in cur.fetchall() if r[0] == queue]
    assert len(mine) == 1
    assert mine[0][1:3] == (False, False) and isinstance(mine[0][3], datetime.datetime)

    assert conn.execute("SELECT pgmq.purge_queue(%s)", [queue]).fetchone() == (4,)
    row = conn.execute("SELECT * FROM pgmq.metrics(%s)", [queue]).fetchone()
    assert row[1] == 0 and row[2] is None and row[3] is None and row[4] == 4 and row[6] == 0
    assert queue_length(conn, queue) == 0


def test_prepared_statements_reused(conn, queue):
    """prepare=True makes psycopg PREPARE on the server and reuse the statement."""
    ids = []
    for i in range(8):
        (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s::text, %s::jsonb, %s::integer)",
                                 [queue, Jsonb({"i": i}), 0], prepare=True).fetchone()
        ids.append(msg_id)
    got = []
    for _ in range(8):
        rows = conn.execute("SELECT * FROM pgmq.read(%s::text, %s::integer, %s::integer)",
                            [queue, 30, 1], prepare=True).fetchall()
        got += [(r[0], r[5]["i"]) for r in rows]
        for r in rows:
            assert conn.execute("SELECT pgmq.delete(%s::text, %s::bigint)", [queue, r[0]], prepare=True).fetchone() \
                == (True,)
    assert got == list(zip(ids, range(8)))
    assert queue_length(conn, queue) == 0


def test_executemany_send(conn, queue):
    with conn.cursor() as cur:
        cur.executemany("SELECT * FROM pgmq.send(%s, %s)", [(queue, Jsonb({"i": i})) for i in range(20)])
    rows = conn.execute("SELECT * FROM pgmq.read(%s, 30, 100)", [queue]).fetchall()
    assert [r[5]["i"] for r in rows] == list(range(20))


def test_archive_and_delete_forms(conn, queue):
    ids = [r[0] for r in conn.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[])",
                                      [queue, [Jsonb({"i": i}) for i in range(6)]])]
    assert conn.execute("SELECT pgmq.archive(%s, %s::bigint)", [queue, ids[0]]).fetchone() == (True,)
    assert sorted(r[0] for r in conn.execute("SELECT * FROM pgmq.archive(%s, %s::bigint[])",
                                             [queue, [ids[1], ids[2], -5]])) == ids[1:3]
    assert conn.execute("SELECT pgmq.delete(%s, %s::bigint)", [queue, ids[3]]).fetchone() == (True,)
    assert conn.execute("SELECT pgmq.delete(%s, %s::bigint)", [queue, ids[3]]).fetchone() == (False,)
    archived = conn.execute("SELECT msg_id, message, archived_at FROM pgmq.a_" + queue + " ORDER BY msg_id").fetchall()
    assert [(r[0], r[1]) for r in archived] == [(ids[i], {"i": i}) for i in range(3)]
    assert all(isinstance(r[2], datetime.datetime) for r in archived)
    assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.q_" + queue + " ORDER BY msg_id")] == ids[4:]


def test_pipeline_mode(conn, queue):
    """psycopg's pipeline mode sends many calls before reading any result."""
    with conn.pipeline():
        cursors = [conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"p": i})]) for i in range(20)]
        read_cur = conn.execute("SELECT * FROM pgmq.read(%s, 30, 50)", [queue])
    ids = [c.fetchone()[0] for c in cursors]
    rows = read_cur.fetchall()
    assert [r[0] for r in rows] == ids
    assert [r[5]["p"] for r in rows] == list(range(20))
    with pytest.raises(errors.UndefinedTable):
        with conn.pipeline():
            conn.execute("SELECT * FROM pgmq.delete(%s, %s::bigint[])", [queue, ids[:10]])
            conn.execute("SELECT * FROM pgmq.read('pyq_no_such_pipeline', 30, 1)")
            conn.execute("SELECT * FROM pgmq.delete(%s, %s::bigint[])", [queue, ids[10:]])
    # one pipeline without a sync in between runs as one implicit transaction: all undone
    assert queue_length(conn, queue) == 20
    with conn.pipeline() as p:
        conn.execute("SELECT * FROM pgmq.delete(%s, %s::bigint[])", [queue, ids[:10]])
        p.sync()
        with pytest.raises(errors.UndefinedTable):
            conn.execute("SELECT * FROM pgmq.read('pyq_no_such_pipeline', 30, 1)")
            p.sync()
    assert queue_length(conn, queue) == 10
