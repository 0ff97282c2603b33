"""Topic routing driven from psycopg as an application would: bind queues to patterns (some
with a header filter), publish with send_topic / send_batch_topic using parameters and named
arguments, consume from each queue, and see a binding change in one session take effect in
another's next call."""
import psycopg
import pytest
from psycopg.types.json import Jsonb


@pytest.fixture
def queues(conn):
    names = ["pyt_orders", "pyt_audit", "pyt_eu"]
    for n in names:
        conn.execute("SELECT pgmq.create(%s)", [n])
    yield names
    for n in names:
        conn.execute("SELECT pgmq.drop_queue(%s)", [n])


def read_all(conn, queue):
    return [r[0] for r in conn.execute("SELECT message FROM pgmq.read(%s, 30, 100) ORDER BY msg_id", [queue])]


def test_fan_out_and_filter(conn, queues):
    conn.execute("SELECT pgmq.bind_topic(%s, %s)", ["orders.*", "pyt_orders"])
    conn.execute("SELECT pgmq.bind_topic(%s, %s)", ["#", "pyt_audit"])
    conn.execute("SELECT pgmq.bind_topic(pattern => %s, queue_name => %s, filter => %s)",
                 ["orders.#", "pyt_eu", Jsonb({"region": ["eu"], "event_name": ["created", "updated"]})])
    sent = conn.execute("SELECT pgmq.send_topic(routing_key => %s, msg => %s, headers => %s, delay => 0)",
                        ["orders.created", Jsonb({"id": 1}), Jsonb({"region": "eu", "event_name": "created"})])
    assert sent.fetchone()[0] == 3
    assert conn.execute("SELECT pgmq.send_topic(%s, %s)", ["orders.created", Jsonb({"id": 2})]).fetchone()[0] == 2
    assert conn.execute("SELECT pgmq.send_topic(%s, %s)", ["users.created", Jsonb({"id": 3})]).fetchone()[0] == 1
    assert read_all(conn, "pyt_orders") == [{"id": 1}, {"id": 2}]
    assert read_all(conn, "pyt_audit") == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert read_all(conn, "pyt_eu") == [{"id": 1}]


def test_batch_rows_and_ids(conn, queues):
    conn.execute("SELECT pgmq.bind_topic('batch.#', 'pyt_orders')")
    conn.execute("SELECT pgmq.bind_topic('batch.#', 'pyt_eu', '{\"k\": [1]}')")
    msgs = [Jsonb({"n": i}) for i in range(5)]
    headers = [Jsonb({"k": i % 2}) for i in range(5)]
    rows = conn.execute("SELECT queue_name, msg_id FROM pgmq.send_batch_topic(%s, %s, %s, %s)",
                        ["batch.x", msgs, headers, 0]).fetchall()
    by_queue = {}
    for q, msg_id in rows:
        by_queue.setdefault(q, []).append(msg_id)
    assert sorted(by_queue) == ["pyt_eu", "pyt_orders"]
    assert len(by_queue["pyt_orders"]) == 5 and len(by_queue["pyt_eu"]) == 2
    stored = conn.execute("SELECT msg_id, message FROM pgmq.q_pyt_eu ORDER BY msg_id").fetchall()
    assert [r[0] for r in stored] == by_queue["pyt_eu"]
    assert [r[1]["n"] for r in stored] == [1, 3]


def test_binding_changes_seen_by_other_sessions(connect, queues):
    publisher = connect()
    admin = connect()
    assert publisher.execute("SELECT pgmq.send_topic('live.x', '{}')").fetchone()[0] == 0
    admin.execute("SELECT pgmq.bind_topic('live.*', 'pyt_orders')")
    assert publisher.execute("SELECT pgmq.send_topic('live.x', '{}')").fetchone()[0] == 1
    # inside one open transaction too: each call sees bindings committed before it
    with publisher.transaction():
        assert publisher.execute("SELECT pgmq.send_topic('live.x', '{}')").fetchone()[0] == 1
        admin.execute("SELECT pgmq.bind_topic('live.#', 'pyt_audit')")
        assert publisher.execute("SELECT pgmq.send_topic('live.x', '{}')").fetchone()[0] == 2
        admin.execute("SELECT pgmq.unbind_topic('live.*', 'pyt_orders')")
        assert publisher.execute("SELECT pgmq.send_topic('live.x', '{}')").fetchone()[0] == 1
    assert publisher.execute("SELECT count(*) FROM pgmq.q_pyt_orders").fetchone()[0] == 3


def test_errors_keep_pgmq_sqlstate(conn, queues):
    with pytest.raises(psycopg.errors.RaiseException, match="consecutive dots"):
        conn.execute("SELECT pgmq.send_topic(%s, %s)", ["a..b", Jsonb({})])
    with pytest.raises(psycopg.errors.RaiseException, match="msg cannot be NULL"):
        conn.execute("SELECT pgmq.send_topic(%s, NULL)", ["a.b"])
    with pytest.raises(psycopg.errors.RaiseException, match="does not exist"):
        conn.execute("SELECT pgmq.bind_topic('a.*', 'pyt_missing')")
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        conn.execute("SELECT pgmq.bind_topic('a.*', 'pyt_eu', %s)", [Jsonb({"region": "eu"})])
    # the connection stays usable
    assert conn.execute("SELECT pgmq.validate_topic_pattern('a.*.#')").fetchone()[0] is True
