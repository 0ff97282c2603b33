"""test_install_schema.py: CREATE EXTENSION refuses a schema pgmq that another role may create objects in.

The install script runs with search_path = pgmq, pg_temp and pgmq's functions call each other
by schema; an object someone else put in schema pgmq beforehand (a better-matching
pgmq.metrics(varchar), say) would run as whoever calls them. A schema pgmq that exists before
CREATE EXTENSION must be the installer's, with CREATE granted to nobody else (42501).
"""
import psycopg
import pytest
from psycopg import errors, sql

DB = "pgmq_py_install_schema"
ROLE = "pgmq_py_schema_squatter"


@pytest.fixture
def fresh_db():
    """fresh_db is an empty database and a role without privileges, both dropped afterwards."""
    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(ROLE)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
        admin.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(ROLE)))
    try:
        with psycopg.connect(dbname=DB, autocommit=True) as conn:
            yield conn
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(ROLE)))


def test_schema_owned_by_another_role(fresh_db):
    fresh_db.execute(f"CREATE SCHEMA pgmq AUTHORIZATION {ROLE}")
    with pytest.raises(errors.InsufficientPrivilege, match='schema "pgmq" must be owned'):
        fresh_db.execute("CREATE EXTENSION pgmq")
    assert fresh_db.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pgmq'").fetchone()[0] == 0


def test_schema_others_may_create_in(fresh_db):
    fresh_db.execute("CREATE SCHEMA pgmq")
    fresh_db.execute(f"GRANT CREATE ON SCHEMA pgmq TO {ROLE}")
    with pytest.raises(errors.InsufficientPrivilege, match='schema "pgmq" must be owned'):
        fresh_db.execute("CREATE EXTENSION pgmq")
    fresh_db.execute(f"REVOKE CREATE ON SCHEMA pgmq FROM {ROLE}")
    fresh_db.execute(f"GRANT USAGE ON SCHEMA pgmq TO {ROLE}")
    fresh_db.execute("CREATE EXTENSION pgmq")
    fresh_db.execute("SELECT pgmq.create('installed')")
    assert fresh_db.execute("SELECT queue_name FROM pgmq.list_queues()").fetchall() == [("installed",)]
