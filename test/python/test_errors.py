"""test_errors.py: with pgmq.strict_input on, errors reach the driver with the right class and
SQLSTATE, change nothing, and leave the connection usable (autocommit) or the transaction
rollback-able."""
import psycopg
import pytest
from psycopg import errors
from psycopg.types.json import Jsonb

from helpers import queue_length
from conftest import CONNECT_OPTIONS

# These are the errors of pgmq.strict_input = on (the stricter checks); test_pgmq_errors.py has
# PGMQ's errors and results, the default.
STRICT_OPTIONS = CONNECT_OPTIONS + " -c pgmq.strict_input=on"


@pytest.fixture
def connect(connect):
    """connect, here: connections with pgmq.strict_input on."""

    def factory(autocommit=True, **kwargs):
        kwargs.setdefault("options", STRICT_OPTIONS)
        return connect(autocommit=autocommit, **kwargs)

    return factory

UNKNOWN_QUEUE_CALLS = [
    ("SELECT * FROM pgmq.send(%s, '{}')", []),
    ("SELECT * FROM pgmq.send(%s, '{}', 5)", []),
    ("SELECT * FROM pgmq.send_batch(%s, ARRAY['{}'::jsonb])", []),
    ("SELECT * FROM pgmq.read(%s, 30, 1)", []),
    ("SELECT * FROM pgmq.read_with_poll(%s, 30, 1, 1)", []),
    ("SELECT * FROM pgmq.pop(%s)", []),
    ("SELECT * FROM pgmq.set_vt(%s, 1, 30)", []),
    ("SELECT pgmq.delete(%s, 1::bigint)", []),
    ("SELECT pgmq.archive(%s, 1::bigint)", []),
    ("SELECT * FROM pgmq.delete(%s, ARRAY[1::bigint])", []),
    ("SELECT * FROM pgmq.metrics(%s)", []),
    ("SELECT pgmq.purge_queue(%s)", []),
    ("SELECT pgmq.enable_notify_insert(%s, 0)", []),
]


@pytest.mark.parametrize("query,extra", UNKNOWN_QUEUE_CALLS, ids=[q[0].split("(")[0][16:] + q[0][-12:] for q in
                                                                   UNKNOWN_QUEUE_CALLS])
def test_unknown_queue_is_undefined_table(conn, query, extra):
    with pytest.raises(errors.UndefinedTable) as info:
        conn.execute(query, ["no_such_queue", *extra])
    assert info.value.sqlstate == "42P01"
    assert info.value.diag.message_primary == 'queue "no_such_queue" does not exist'
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_drop_missing_queue_returns_false_with_notice(conn):
    notices = []
    conn.add_notice_handler(lambda d: notices.append(d.message_primary))
    assert conn.execute("SELECT pgmq.drop_queue('no_such_queue')").fetchone() == (False,)
    assert any("no_such_queue" in n for n in notices)


@pytest.mark.parametrize("query,params", [
    ("SELECT * FROM pgmq.read(%s, -1, 1)", []),
    ("SELECT * FROM pgmq.read(%s, 30, 0)", []),
    ("SELECT * FROM pgmq.read(%s, 30, -3)", []),
    ("SELECT * FROM pgmq.pop(%s, 0)", []),
    ("SELECT * FROM pgmq.read_with_poll(%s, 30, 1, -1)", []),
    ("SELECT * FROM pgmq.read_with_poll(%s, 30, 1, 1, 0)", []),
    ("SELECT * FROM pgmq.send(%s, '{}', -1)", []),
    ("SELECT * FROM pgmq.set_vt(%s, 1, -1)", []),
    ("SELECT * FROM pgmq.send_batch(%s, ARRAY[]::jsonb[])", []),
    ("SELECT * FROM pgmq.send_batch(%s, ARRAY['{}'::jsonb, '{}'], ARRAY['{}'::jsonb])", []),
    ("SELECT pgmq.enable_notify_insert(%s, -5)", []),
])
def test_bad_values_are_invalid_parameter_value(conn, queue, query, params):
    conn.execute("SELECT * FROM pgmq.send(%s, '{\"keep\": 1}')", [queue])
    with pytest.raises(errors.InvalidParameterValue) as info:
        conn.execute(query, [queue, *params])
    assert info.value.sqlstate == "22023"
    msg = info.value.diag.message_primary
    assert msg and msg == msg.rstrip(".") and msg[0].islower()
    # nothing changed, connection fine
    assert queue_length(conn, queue) == 1
    assert conn.execute("SELECT read_ct FROM pgmq.q_" + queue).fetchone() == (0,)


@pytest.mark.parametrize("name", ["bad name", "x;drop table pgmq.meta", "a" * 48, "", "quote'd", "naïve", "a$b", "a--b"])
def test_bad_queue_names_are_invalid_parameter_value(conn, name):
    with pytest.raises(errors.InvalidParameterValue):
        conn.execute("SELECT pgmq.create(%s)", [name])
    with pytest.raises(errors.InvalidParameterValue):
        conn.execute("SELECT * FROM pgmq.send(%s, '{}')", [name])
    assert conn.execute("SELECT count(*) FROM pgmq.meta WHERE queue_name = %s", [name]).fetchone() == (0,)


@pytest.mark.parametrize("query", [
    "SELECT pgmq.create(NULL)",
    "SELECT * FROM pgmq.send(NULL, '{{}}')",
    "SELECT * FROM pgmq.send({q}, NULL::jsonb)",
    "SELECT * FROM pgmq.send({q}, '{{}}', NULL::integer)",
    "SELECT * FROM pgmq.read({q}, NULL, 1)",
    "SELECT * FROM pgmq.read({q}, 30, NULL)",
    "SELECT * FROM pgmq.pop({q}, NULL)",
    "SELECT * FROM pgmq.send_batch({q}, NULL::jsonb[])",
    "SELECT * FROM pgmq.read_with_poll({q}, 30, 1, NULL)",
])
def test_nulls_are_null_value_not_allowed(conn, queue, query):
    with pytest.raises(errors.NullValueNotAllowed) as info:
        conn.execute(query.format(q="'" + queue + "'"))
    assert info.value.sqlstate == "22004"
    assert queue_length(conn, queue) == 0
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_null_parameters_bound_by_driver(conn, queue):
    with pytest.raises(errors.NullValueNotAllowed):
        conn.execute("SELECT * FROM pgmq.send(%s::text, %s::jsonb)", [queue, None])
    with pytest.raises(errors.NullValueNotAllowed):
        conn.execute("SELECT * FROM pgmq.send(%s::text, %s::jsonb)", [None, Jsonb({})])


def test_error_in_transaction_then_rollback_keeps_connection(connect, queue):
    conn = connect(autocommit=False)
    conn.execute("SELECT * FROM pgmq.send(%s, '{}')", [queue])
    with pytest.raises(errors.InvalidParameterValue):
        conn.execute("SELECT * FROM pgmq.read(%s, 30, 0)", [queue])
    with pytest.raises(errors.InFailedSqlTransaction):
        conn.execute("SELECT 1")
    conn.rollback()
    assert queue_length(conn, queue) == 0  # the send before the error went with the transaction
    conn.execute("SELECT * FROM pgmq.send(%s, '{}')", [queue])
    conn.commit()
    assert queue_length(conn, queue) == 1


def test_savepoint_isolates_a_failed_call(connect, queue):
    conn = connect(autocommit=False)
    conn.execute("SELECT * FROM pgmq.send(%s, '{\"a\": 1}')", [queue])
    with pytest.raises(errors.UndefinedTable):
        with conn.transaction():
            conn.execute("SELECT * FROM pgmq.send('missing_queue_sp', '{}')")
    conn.execute("SELECT * FROM pgmq.send(%s, '{\"a\": 2}')", [queue])
    conn.commit()
    rows = conn.execute("SELECT * FROM pgmq.read(%s, 30, 10)", [queue]).fetchall()
    assert [r[5] for r in rows] == [{"a": 1}, {"a": 2}]
    conn.commit()


def test_error_class_hierarchy_for_generic_handlers(conn):
    """Applications catch broad classes: DataError / ProgrammingError / psycopg.Error."""
    with pytest.raises(psycopg.DataError):
        conn.execute("SELECT pgmq.create('bad name')")
    with pytest.raises(psycopg.ProgrammingError):
        conn.execute("SELECT * FROM pgmq.read('nope_nope', 30, 1)")
    with pytest.raises(psycopg.Error):
        conn.execute("SELECT * FROM pgmq.send(NULL, '{}')")
