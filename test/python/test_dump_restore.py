"""test_dump_restore.py: pg_dump keeps queues, messages, policies and notify settings (README, Backup).

Queue and archive tables are not extension members, so pg_dump dumps them as ordinary tables
(with their msg_id sequences and the pgmq_read_hint_guard trigger); pgmq.meta, pgmq.queue_policy
and pgmq.notify_insert_throttle are marked with pg_extension_config_dump, so their rows are
dumped too. Restored into an empty database (the dump runs CREATE EXTENSION), every queue works.
pgmq.queue_policy_stats (the policy_metrics counters) is not dumped: they start at zero again.
"""
import os
import subprocess

import psycopg
import pytest
from psycopg import sql

SRC, DST = "pgmq_dump_src", "pgmq_dump_dst"
BINDIR = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()


def _admin(statement, db):
    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL(statement).format(sql.Identifier(db)))


@pytest.fixture
def databases():
    """databases creates an empty source and destination database and drops both afterwards."""
    for db in (SRC, DST):
        _admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", db)
        _admin("CREATE DATABASE {}", db)
    yield
    for db in (SRC, DST):
        _admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", db)


def _fill(conn):
    conn.execute("CREATE EXTENSION pgmq")
    conn.execute("SELECT pgmq.create('orders')")
    conn.execute("SELECT pgmq.create('invalid_orders')")
    conn.execute("SELECT pgmq.create_unlogged('fast')")
    conn.execute("SELECT pgmq.set_policy('orders', invalid_queue => 'invalid_orders', max_deliveries => 3, "
                 "deadline_seconds => 3600)")
    conn.execute("SELECT pgmq.enable_notify_insert('orders', 500)")
    conn.execute("SELECT pgmq.send_batch('orders', ARRAY['{\"n\": 1}', '{\"n\": 2}', '{\"n\": 3}']::jsonb[])")
    conn.execute("SELECT pgmq.send('orders', '{\"n\": 4}', '{\"h\": true}', 3600)")
    conn.execute("SELECT * FROM pgmq.read('orders', 600, 1)")  # msg 1 read once, hidden
    conn.execute("SELECT pgmq.archive('orders', 2)")
    conn.execute("SELECT pgmq.send('fast', '{\"f\": 1}')")
    # A priority queue: its policy row and its index on pgmq._priority(headers) are restored.
    conn.execute("SELECT pgmq.create('urgent')")
    conn.execute("SELECT pgmq.set_policy('urgent', priorities => true)")
    conn.execute("SELECT pgmq.send_batch('urgent', ARRAY['{\"u\": 1}', '{\"u\": 2}', '{\"u\": 3}']::jsonb[], "
                 "ARRAY['{}', '{\"x-pgmq-priority\": 5}', '{\"x-pgmq-priority\": 1}']::jsonb[])")


def _state(conn):
    """_state is everything a restore must keep."""
    return {
        "queues": conn.execute("SELECT queue_name, is_unlogged FROM pgmq.list_queues()").fetchall(),
        "messages": conn.execute("SELECT msg_id, read_ct, enqueued_at, vt, message, headers, first_visible_at "
                                 "FROM pgmq.q_orders ORDER BY msg_id").fetchall(),
        "archive": conn.execute("SELECT msg_id, message, archived_at FROM pgmq.a_orders").fetchall(),
        "fast": conn.execute("SELECT msg_id, message FROM pgmq.q_fast").fetchall(),
        "urgent": conn.execute("SELECT msg_id, message, headers FROM pgmq.q_urgent ORDER BY msg_id").fetchall(),
        "indexes": conn.execute("SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
                                "WHERE indrelid = 'pgmq.q_urgent'::regclass ORDER BY 1").fetchall(),
        "policy": conn.execute("SELECT * FROM pgmq.policies").fetchall(),
        "notify": conn.execute("SELECT queue_name, throttle_interval_ms FROM pgmq.list_notify_insert_throttles()")
                      .fetchall(),
        "triggers": conn.execute("SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
                                 "WHERE NOT tgisinternal ORDER BY 1, 2").fetchall(),
    }


@pytest.mark.parametrize("fmt", ["plain", "custom"])
def test_dump_and_restore_keeps_queues(databases, tmp_path, fmt):
    with psycopg.connect(dbname=SRC, autocommit=True) as conn:
        _fill(conn)
        before = _state(conn)
    dump = tmp_path / "pgmq.dump"
    if fmt == "plain":
        subprocess.run([f"{BINDIR}/pg_dump", "-d", SRC, "-f", dump], check=True)
        restore = [f"{BINDIR}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", DST, "-f", dump]
    else:
        subprocess.run([f"{BINDIR}/pg_dump", "-Fc", "-d", SRC, "-f", dump], check=True)
        restore = [f"{BINDIR}/pg_restore", "--exit-on-error", "-d", DST, dump]
    done = subprocess.run(restore, capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    with psycopg.connect(dbname=DST, autocommit=True) as conn:
        after = _state(conn)
        assert after == before
        assert [q for q, _ in after["queues"]] == ["fast", "invalid_orders", "orders", "urgent"]
        assert after["policy"][0][:5] == ("orders", "invalid_orders", 3, 3600, None)
        assert "pgmq.priority_idx_urgent" in [i for i, _ in after["indexes"]]
        # The restored priority queue reads by priority, and still checks the header.
        assert [m for m, in conn.execute("SELECT message FROM pgmq.read('urgent', 30, 3)")] == \
            [{"u": 2}, {"u": 3}, {"u": 1}]
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SELECT pgmq.send('urgent', '{}', '{\"x-pgmq-priority\": \"high\"}'::jsonb)")
        # Every queue works: ids continue after the dumped ones, reads and policies apply.
        assert conn.execute("SELECT * FROM pgmq.send('orders', '{\"n\": 5}')").fetchone() == (5,)
        got = conn.execute("SELECT msg_id, read_ct FROM pgmq.read('orders', 30, 10)").fetchall()
        assert got == [(3, 1), (5, 1)]  # 1 is still hidden, 4 delayed
        assert conn.execute("SELECT pgmq.delete('orders', 3)").fetchone() == (True,)
        assert conn.execute("SELECT pgmq.archive('orders', 5)").fetchone() == (True,)
        assert conn.execute("SELECT msg_id FROM pgmq.pop('fast')").fetchone() == (1,)
        assert conn.execute("SELECT queue_length, total_messages FROM pgmq.metrics('orders')").fetchone() == (2, 5)
        conn.execute("SELECT pgmq.drop_queue('orders')")
        assert conn.execute("SELECT pgmq.drop_queue('invalid_orders')").fetchone() == (True,)
