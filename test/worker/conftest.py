"""Fixtures for the background worker tests (run by test/run_all.sh worker).

The shared throwaway cluster (PGHOST/PGPORT from run_all.sh) runs the worker with
pgmq.worker_interval_ms = 100 (test/pgmq.conf). Tests that crash or replicate a server
start their own clusters (test/pylib/pgcluster.py) so the shared log stays free of crashes.
Lateness samples (moved_at - due_at, in ms) are collected and printed at the end.
"""
import os
import statistics
import sys
import time

import psycopg
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pylib"))

DB = "pgmq_worker_test"
WORKER_INTERVAL_MS = 100
# The worker settings of test/pgmq.conf, for the private clusters of test_crash and test_standby.
WORKER_SETTINGS = {"pgmq.worker_interval_ms": str(WORKER_INTERVAL_MS), "pgmq.launcher_interval_ms": "1000",
                   "max_worker_processes": "16"}
LATENESS_MS = []


def connect(dbname=DB, **kwargs):
    return psycopg.connect(dbname=dbname, autocommit=True, **kwargs)


def wait_for(predicate, timeout, interval=0.02, what="condition"):
    """Polls predicate() until it returns a true value; fails the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def worker_pid(conn, dbname):
    row = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgmq worker' AND datname = %s", [dbname]
    ).fetchone()
    return row[0] if row else None


@pytest.fixture(scope="session")
def database():
    with connect("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB}")
    with connect() as conn:
        conn.execute("CREATE EXTENSION pgmq")
        # The launcher looks every pgmq.launcher_interval_ms (1 s in tests).
        wait_for(lambda: worker_pid(conn, DB), 15, what="the pgmq worker of the test database")
    yield DB
    with connect("postgres") as admin:
        admin.execute(f"DROP DATABASE {DB}")


@pytest.fixture
def conn(database):
    with connect(database) as c:
        yield c


def record_lateness(ms):
    LATENESS_MS.append(ms)


def pytest_terminal_summary(terminalreporter):
    if not LATENESS_MS:
        return
    p50 = statistics.median(LATENESS_MS)
    line = (f"pgmq worker lateness (moved_at - due_at), worker interval {WORKER_INTERVAL_MS} ms: "
            f"n={len(LATENESS_MS)} p50={p50:.1f} ms max={max(LATENESS_MS):.1f} ms")
    terminalreporter.write_line(line)
    out = os.environ.get("PGMQ_LATENESS_FILE")
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")
