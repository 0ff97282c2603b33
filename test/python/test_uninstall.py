"""test_uninstall.py: what DROP EXTENSION pgmq does with queues present (README, Uninstalling).

Queue tables are not extension members (as in PGMQ since 1.6). Their read hint trigger calls an
extension function but goes with the extension (ALTER TRIGGER ... DEPENDS ON EXTENSION), so a
plain DROP EXTENSION drops it and leaves the queue tables, with their messages (and schema pgmq,
which CREATE EXTENSION made but does not own), as PGMQ's does. As on PGMQ, a queue with insert
notifications (its trigger calls pgmq.notify_queue_listeners) makes a plain DROP EXTENSION fail
(2BP01) until disable_notify_insert, or CASCADE drops that trigger too; after drop_queue of every
queue nothing is left; DROP SCHEMA pgmq CASCADE removes all.
"""
import psycopg
import pytest
from psycopg import errors, sql

DB = "pgmq_uninstall"


@pytest.fixture
def db():
    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
    with psycopg.connect(dbname=DB, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pgmq")
        conn.execute("SELECT pgmq.create('jobs')")
        conn.execute("SELECT pgmq.create('dead_jobs')")
        conn.execute("SELECT pgmq.set_policy('jobs', invalid_queue => 'dead_jobs', max_deliveries => 2)")
        conn.execute("SELECT pgmq.enable_notify_insert('jobs')")
        conn.execute("SELECT pgmq.send('jobs', '{}')")
        yield conn
    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))


def _pgmq_relations(conn):
    return [r for (r,) in conn.execute("SELECT relname::text FROM pg_class WHERE relnamespace = "
                                       "'pgmq'::regnamespace AND relkind = 'r' ORDER BY 1")]


def _has(conn, query):
    return conn.execute(query).fetchone()[0]


def test_drop_extension_with_notify_fails_as_on_pgmq(db):
    with pytest.raises(errors.DependentObjectsStillExist):
        db.execute("DROP EXTENSION pgmq")


def test_drop_extension_leaves_queue_tables(db):
    db.execute("SELECT pgmq.disable_notify_insert('jobs')")
    db.execute("DROP EXTENSION pgmq")
    assert _has(db, "SELECT count(*) FROM pg_extension WHERE extname = 'pgmq'") == 0
    assert _pgmq_relations(db) == ["a_dead_jobs", "a_jobs", "q_dead_jobs", "q_jobs"]
    assert _has(db, "SELECT count(*) FROM pgmq.q_jobs") == 1
    assert _has(db, "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal") == 0
    db.execute("INSERT INTO pgmq.q_jobs (vt, message) VALUES (now(), '{}')")  # a plain table now


def test_drop_extension_drops_priority_index(db):
    """A priority queue's index (on pgmq._priority(headers)) goes with the extension, as the read hint
    trigger does: a plain DROP EXTENSION leaves the queue table, with its messages, and no index on it."""
    db.execute("SELECT pgmq.disable_notify_insert('jobs')")
    db.execute("SELECT pgmq.set_policy('jobs', priorities => true)")
    assert _has(db, "SELECT to_regclass('pgmq.priority_idx_jobs') IS NOT NULL")
    db.execute("DROP EXTENSION pgmq")
    assert _has(db, "SELECT to_regclass('pgmq.priority_idx_jobs') IS NULL")
    assert _has(db, "SELECT count(*) FROM pgmq.q_jobs") == 1
    db.execute("INSERT INTO pgmq.q_jobs (vt, message, headers) VALUES (now(), '{}', '{\"x-pgmq-priority\": 1}')")


def test_drop_queues_then_extension(db):
    db.execute("SELECT pgmq.clear_policy(queue_name) FROM pgmq.policies")
    db.execute("SELECT pgmq.drop_queue(queue_name) FROM pgmq.list_queues()")
    db.execute("DROP EXTENSION pgmq")
    assert _pgmq_relations(db) == []
    assert _has(db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgmq'") == 1  # empty schema stays
    db.execute("DROP SCHEMA pgmq")
    db.execute("CREATE EXTENSION pgmq")  # and it installs again


def test_drop_extension_cascade_leaves_queue_tables(db):
    db.execute("DROP EXTENSION pgmq CASCADE")
    assert _pgmq_relations(db) == ["a_dead_jobs", "a_jobs", "q_dead_jobs", "q_jobs"]
    assert _has(db, "SELECT count(*) FROM pgmq.q_jobs") == 1
    assert _has(db, "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal") == 0


def test_drop_schema_cascade_removes_everything(db):
    db.execute("DROP SCHEMA pgmq CASCADE")
    assert _has(db, "SELECT count(*) FROM pg_extension WHERE extname = 'pgmq'") == 0
    assert _has(db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgmq'") == 0
    db.execute("CREATE EXTENSION pgmq")
    assert _has(db, "SELECT count(*) FROM pgmq.list_queues()") == 0
