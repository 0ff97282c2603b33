"""test_direct_constraints.py: the direct insert paths (src/pg/direct_write.cpp) keep the NOT NULL
constraints a user adds to a queue or archive table, as the SQL statements would.
"""
import psycopg
import pytest
from psycopg.types.json import Jsonb


def test_send_without_headers_into_not_null_headers_fails(connect, queue):
    conn = connect()
    conn.execute(f"ALTER TABLE pgmq.q_{queue} ALTER COLUMN headers SET NOT NULL")
    with pytest.raises(psycopg.errors.NotNullViolation):
        conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"a": 1})])
    with pytest.raises(psycopg.errors.NotNullViolation):
        conn.execute("SELECT * FROM pgmq.send_batch(%s, %s::jsonb[])", [queue, [Jsonb(1), Jsonb(2)]])
    assert conn.execute(f"SELECT count(*) FROM pgmq.q_{queue}").fetchone() == (0,)
    # with headers it is accepted
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, %s, %s)", [queue, Jsonb({"a": 1}), Jsonb({"h": 1})]).fetchone()
    assert conn.execute(f"SELECT headers FROM pgmq.q_{queue} WHERE msg_id = %s", [msg_id]).fetchone() == ({"h": 1},)


def test_archive_into_not_null_archive_column_fails(connect, queue):
    conn = connect()
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, %s)", [queue, Jsonb({"a": 1})]).fetchone()
    conn.execute(f"ALTER TABLE pgmq.a_{queue} ALTER COLUMN headers SET NOT NULL")
    with pytest.raises(psycopg.errors.NotNullViolation):
        conn.execute("SELECT pgmq.archive(%s, %s::bigint)", [queue, msg_id])
    assert conn.execute(f"SELECT count(*) FROM pgmq.q_{queue}").fetchone() == (1,)
    assert conn.execute(f"SELECT count(*) FROM pgmq.a_{queue}").fetchone() == (0,)


def test_direct_paths_need_the_privileges_sql_needs(connect, queue, dbname):
    """send and archive return msg_id (INSERT ... RETURNING): without SELECT on the table they
    fail as the SQL statement does, whichever path runs them."""
    conn = connect()
    role = f"pgmq_insert_only_{queue}"
    conn.execute(f"CREATE ROLE {role}")
    try:
        conn.execute(f"GRANT USAGE ON SCHEMA pgmq TO {role}")
        conn.execute(f"GRANT SELECT ON pgmq.meta TO {role}")
        conn.execute(f"GRANT INSERT ON pgmq.q_{queue} TO {role}")
        conn.execute(f"GRANT SELECT, DELETE ON pgmq.q_{queue} TO {role}")
        conn.execute(f"REVOKE SELECT ON pgmq.q_{queue} FROM {role}")
        conn.execute(f"GRANT INSERT ON pgmq.a_{queue} TO {role}")
        conn.execute("SELECT * FROM pgmq.send(%s, '{}')", [queue])
        tx = connect(autocommit=False)
        tx.execute(f"SET ROLE {role}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tx.execute("SELECT * FROM pgmq.send(%s, '{}')", [queue])
        tx.rollback()
        conn.execute(f"GRANT SELECT ON pgmq.q_{queue} TO {role}")
        tx.execute(f"SET ROLE {role}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tx.execute("SELECT pgmq.archive(%s, 1::bigint)", [queue])
        tx.rollback()
        assert conn.execute(f"SELECT count(*) FROM pgmq.q_{queue}").fetchone() == (1,)
        assert conn.execute(f"SELECT count(*) FROM pgmq.a_{queue}").fetchone() == (0,)
        tx.close()
    finally:
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")
