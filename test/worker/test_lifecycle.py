"""Worker lifecycle on the shared cluster: names, late CREATE EXTENSION, DROP DATABASE, SIGTERM, reload."""
import threading
import time

import psycopg
import pytest
from conftest import connect, wait_for, worker_pid


def test_processes_have_clear_names(conn, database):
    rows = conn.execute("SELECT backend_type, application_name, datname FROM pg_stat_activity "
                        "WHERE backend_type LIKE 'pgmq%' ORDER BY 1, 3").fetchall()
    assert ("pgmq launcher", "pgmq launcher", None) in rows
    assert ("pgmq worker", "pgmq worker", database) in rows
    status = conn.execute("SELECT pid, passes > 0, last_run_at > now() - interval '5 seconds' "
                          "FROM pgmq.worker_status() WHERE database = current_database()").fetchone()
    assert status == (worker_pid(conn, database), True, True)


@pytest.fixture
def late_db():
    name = "pgmq_worker_late"
    with connect("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    yield name
    with connect("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")


def test_extension_created_later_is_picked_up_and_drop_database_works(late_db):
    with connect("postgres") as admin:
        # A worker started there (every launcher interval, 1 s) finds no pgmq and leaves at once:
        # no worker process stays, so no pid is seen twice 250 ms apart.
        seen = []
        for _ in range(10):
            seen.append(worker_pid(admin, late_db))
            time.sleep(0.25)
        pids = [p for p in seen if p is not None]
        assert len(pids) == len(set(pids)), f"a worker stayed in a database without pgmq: {seen}"
        with connect(late_db) as c:
            c.execute("CREATE EXTENSION pgmq")
        wait_for(lambda: worker_pid(admin, late_db), 10, what="a worker in the new pgmq database")
        # DROP DATABASE needs the database to itself: the worker steps aside at once.
        t0 = time.monotonic()
        admin.execute(f"DROP DATABASE {late_db}")
        assert time.monotonic() - t0 < 4.0
        assert worker_pid(admin, late_db) is None


def test_terminated_worker_is_restarted(conn, database):
    old = worker_pid(conn, database)
    assert conn.execute("SELECT pg_terminate_backend(%s)", [old]).fetchone()[0]
    new = wait_for(lambda: (p := worker_pid(conn, database)) and p != old and p, 10, what="a new worker")
    assert new != old


def test_reload_switches_the_worker_off_and_on(conn, database):
    with connect("postgres") as admin:
        try:
            admin.execute("ALTER SYSTEM SET pgmq.worker_enabled = off")
            admin.execute("SELECT pg_reload_conf()")
            wait_for(lambda: worker_pid(conn, database) is None, 10, what="the worker to stop")
            time.sleep(1.5)
            assert worker_pid(conn, database) is None
        finally:
            admin.execute("ALTER SYSTEM RESET pgmq.worker_enabled")
            admin.execute("SELECT pg_reload_conf()")
        wait_for(lambda: worker_pid(conn, database), 10, what="the worker to start again")


def test_worker_comes_back_after_drop_database_is_terminated(late_db):
    """DROP DATABASE pauses the database's worker; a FATAL in the middle must not keep it paused."""
    with connect("postgres") as admin:
        with connect(late_db) as c:
            c.execute("CREATE EXTENSION pgmq")
        wait_for(lambda: worker_pid(admin, late_db), 10, what="a worker in the new pgmq database")
        with connect(late_db) as holder:  # DROP DATABASE waits (up to 5 s) for this session to leave
            dropper = connect("postgres")
            dropper_pid = dropper.execute("SELECT pg_backend_pid()").fetchone()[0]
            errors = []

            def drop():
                try:
                    dropper.execute(f"DROP DATABASE {late_db}")
                except psycopg.Error as e:
                    errors.append(e)

            thread = threading.Thread(target=drop)
            thread.start()
            wait_for(lambda: admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND state = 'active' "
                                           "AND query LIKE 'DROP DATABASE%%'", [dropper_pid]).fetchone()[0] == 1
                     and worker_pid(admin, late_db) is None, 4, what="DROP DATABASE to pause the worker and wait")
            admin.execute("SELECT pg_terminate_backend(%s)", [dropper_pid])
            thread.join(10)
            assert errors, "DROP DATABASE was expected to be terminated"
            dropper.close()
            holder.execute("SELECT 1")
        # the database still exists and gets its worker back at the next launcher round (1 s)
        wait_for(lambda: worker_pid(admin, late_db), 10, what="the worker to come back after the failed drop")


@pytest.fixture
def hidden_db(database):
    """A second pgmq database with a worker, whose CONNECT privilege PUBLIC does not have."""
    name = "pgmq_worker_hidden"
    with connect("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
        admin.execute(f"REVOKE CONNECT ON DATABASE {name} FROM PUBLIC")
        admin.execute("DROP ROLE IF EXISTS regress_pgmq_watcher")
        admin.execute("CREATE ROLE regress_pgmq_watcher LOGIN")
        with connect(name) as c:
            c.execute("CREATE EXTENSION pgmq")
        wait_for(lambda: worker_pid(admin, name), 10, what="a worker in the hidden database")
    with connect(database) as c:
        c.execute("GRANT USAGE ON SCHEMA pgmq TO regress_pgmq_watcher")
    yield name
    with connect(database) as c:
        c.execute("REVOKE USAGE ON SCHEMA pgmq FROM regress_pgmq_watcher")
    with connect("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute("DROP ROLE IF EXISTS regress_pgmq_watcher")


def test_worker_status_shows_only_databases_the_role_may_connect_to(database, hidden_db):
    def visible():
        with connect(database, user="regress_pgmq_watcher") as c:
            return {r[0] for r in c.execute("SELECT database FROM pgmq.worker_status()")}

    with connect(database) as admin:
        rows = {r[0] for r in admin.execute("SELECT database FROM pgmq.worker_status()")}
        assert {database, hidden_db} <= rows  # a superuser sees every database
        seen = visible()
        assert database in seen and hidden_db not in seen
        admin.execute("GRANT pg_read_all_stats TO regress_pgmq_watcher")
        assert hidden_db in visible()
        admin.execute("REVOKE pg_read_all_stats FROM regress_pgmq_watcher")
        admin.execute(f"GRANT CONNECT ON DATABASE {hidden_db} TO regress_pgmq_watcher")
        assert hidden_db in visible()
