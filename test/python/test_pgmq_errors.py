"""test_pgmq_errors.py: by default (pgmq.strict_input off) PGMQ's errors reach the driver with
PGMQ's SQLSTATE (P0001 where PGMQ raises with RAISE EXCEPTION, 2201W for a negative qty), and
the inputs PGMQ accepts give PGMQ's results (test_errors.py: the stricter checks)."""
import pytest
from psycopg import errors
from psycopg.types.json import Jsonb

from helpers import queue_length


@pytest.mark.parametrize("name", ["x;drop table pgmq.meta", "a" * 48, "quote'd", "a$b", "a--b"])
def test_names_pgmq_refuses_are_raise_exception(conn, name):
    with pytest.raises(errors.RaiseException):
        conn.execute("SELECT pgmq.create(%s)", [name])
    # PGMQ checks the length only in create: elsewhere a long name is a missing queue
    with pytest.raises(errors.UndefinedTable if len(name) > 47 else errors.RaiseException):
        conn.execute("SELECT * FROM pgmq.send(%s, '{}')", [name])
    assert conn.execute("SELECT count(*) FROM pgmq.meta WHERE queue_name = %s", [name]).fetchone() == (0,)


@pytest.mark.parametrize("name", ["Bad Name", "a.b", "", "(select 1)", "a\"b"])
def test_names_pgmq_accepts_work(conn, name):
    conn.execute("SELECT pgmq.create(%s)", [name])
    try:
        (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, %s)", [name, Jsonb({"n": 1})]).fetchone()
        rows = conn.execute("SELECT msg_id, message FROM pgmq.read(%s, 30, 1)", [name]).fetchall()
        assert rows == [(msg_id, {"n": 1})]
        assert conn.execute("SELECT pgmq.archive(%s, %s::bigint)", [name, msg_id]).fetchone() == (True,)
    finally:
        assert conn.execute("SELECT pgmq.drop_queue(%s)", [name]).fetchone() == (True,)


@pytest.mark.parametrize("query", [
    "SELECT * FROM pgmq.send_batch(%s, ARRAY[]::jsonb[])",
    "SELECT * FROM pgmq.send_batch(%s, NULL::jsonb[])",
    "SELECT * FROM pgmq.send_batch(%s, ARRAY['{}'::jsonb, '{}'], ARRAY['{}'::jsonb])",
    "SELECT pgmq.enable_notify_insert(%s, -5)",
])
def test_batch_and_notify_errors_are_raise_exception(conn, queue, query):
    with pytest.raises(errors.RaiseException):
        conn.execute(query, [queue])
    assert queue_length(conn, queue) == 0


def test_negative_qty_is_limit_error(conn, queue):
    with pytest.raises(errors.InvalidRowCountInLimitClause):
        conn.execute("SELECT * FROM pgmq.read(%s, 30, -1)", [queue])
    with pytest.raises(errors.InvalidRowCountInLimitClause):
        conn.execute("SELECT * FROM pgmq.pop(%s, -1)", [queue])


def test_pgmq_results(conn, queue):
    """NULL messages are stored; negative delay and vt mean now; qty 0 reads nothing, NULL everything."""
    (null_id,) = conn.execute("SELECT * FROM pgmq.send(%s::text, %s::jsonb)", [queue, None]).fetchone()
    conn.execute("SELECT * FROM pgmq.send(%s, '{\"late\": false}', -10)", [queue])
    assert conn.execute("SELECT * FROM pgmq.read(%s, 30, 0)", [queue]).fetchall() == []
    rows = conn.execute("SELECT msg_id, message FROM pgmq.read(%s, -5, NULL)", [queue]).fetchall()
    assert [m for _, m in rows] == [None, {"late": False}] and rows[0][0] == null_id
    # visible again at once
    assert len(conn.execute("SELECT * FROM pgmq.read(%s, -1, 1000000)", [queue]).fetchall()) == 2
    assert conn.execute("SELECT pgmq.delete(%s, NULL::bigint)", [queue]).fetchone() == (False,)
    assert len(conn.execute("SELECT * FROM pgmq.pop(%s, NULL)", [queue]).fetchall()) == 2
