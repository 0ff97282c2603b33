"""conftest.py: fixtures for the client-level pgmq suite (psycopg 3).

The runner (test/run_all.sh) exports PGHOST, PGPORT and PGUSER for a throwaway cluster
with pgmq preloaded. The session creates a fresh database, creates the extension in it,
and drops the database at the end; every test gets its own queue, dropped afterwards.
"""
import itertools
import os

import psycopg
import pytest
from psycopg import sql

TEST_DB = os.environ.get("PGMQ_PY_DB", "pgmq_py")

_queue_numbers = itertools.count(1)


def _admin_connect():
    """_admin_connect opens an autocommit connection to the maintenance database."""
    return psycopg.connect(dbname="postgres", autocommit=True)


@pytest.fixture(scope="session")
def dbname():
    """dbname creates the test database with the extension and drops it at the end."""
    with _admin_connect() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEST_DB)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEST_DB)))
    with psycopg.connect(dbname=TEST_DB, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pgmq")
    yield TEST_DB
    with _admin_connect() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEST_DB)))


# Every test connection bounds its waits, so a mistake fails a test instead of hanging the suite.
CONNECT_OPTIONS = "-c statement_timeout=60s -c lock_timeout=30s"


@pytest.fixture
def _connections():
    """_connections lists the connections a test opened; they are closed after it."""
    opened = []
    yield opened
    for conn in opened:
        conn.close()


@pytest.fixture
def connect(dbname, _connections):
    """connect is a factory of connections to the test database, all closed after the test."""

    def factory(autocommit=True, **kwargs):
        kwargs.setdefault("options", CONNECT_OPTIONS)
        conn = psycopg.connect(dbname=dbname, autocommit=autocommit, **kwargs)
        _connections.append(conn)
        return conn

    return factory


@pytest.fixture
def conn(connect):
    """conn is an autocommit connection to the test database."""
    return connect()


@pytest.fixture
def queue(dbname, _connections):
    """queue creates a queue with a fresh name for one test and drops it afterwards (after
    closing the test's connections, which may hold locks on it)."""
    name = f"pyq_{next(_queue_numbers)}"
    with psycopg.connect(dbname=dbname, autocommit=True, options=CONNECT_OPTIONS) as c:
        c.execute("SELECT pgmq.create(%s)", [name])
    yield name
    for conn in _connections:
        conn.close()
    with psycopg.connect(dbname=dbname, autocommit=True, options=CONNECT_OPTIONS) as c:
        c.execute("SELECT pgmq.drop_queue(%s)", [name])
