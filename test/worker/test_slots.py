"""Few worker slots, many databases: the databases with pgmq still get their workers.

Private clusters with a small max_worker_processes. Slots in use besides pgmq workers: the pgmq
launcher and PostgreSQL's logical replication launcher; parallel query is switched off so it
takes none.
"""
import time

import pgcluster
import psycopg.types.json
from conftest import WORKER_SETTINGS

Json = psycopg.types.json.Jsonb
COULD_NOT_START = "could not start a worker"


def settings(max_worker_processes):
    conf = dict(WORKER_SETTINGS)
    conf.update({"max_worker_processes": str(max_worker_processes), "max_parallel_workers_per_gather": "0",
                 "max_parallel_maintenance_workers": "0"})
    return conf


def wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.1)


def create_policy_queue(cluster, dbname):
    """create_policy_queue makes dbname with pgmq, a queue whose messages are due after 1 s, and one message."""
    with cluster.connect() as c:
        c.execute(f"CREATE DATABASE {dbname}")
    with cluster.connect(dbname=dbname) as c:
        c.execute("CREATE EXTENSION pgmq")
        c.execute("SELECT pgmq.create('q')")
        c.execute("SELECT pgmq.create('dlq')")
        c.execute("SELECT pgmq.set_policy('q', invalid_queue => 'dlq', deadline_seconds => 1)")
        c.execute("SELECT pgmq.send('q', %s)", [Json({"db": dbname})])


def moved(cluster, dbname):
    with cluster.connect(dbname=dbname) as c:
        return c.execute("SELECT count(*) FROM pgmq.q_dlq").fetchone()[0] == 1


def worker_passes(cluster, dbname, running=True):
    with cluster.connect(dbname=dbname) as c:
        row = c.execute("SELECT pid, passes FROM pgmq.worker_status() WHERE database = current_database()").fetchone()
    return row is not None and (row[0] is not None or not running) and row[1] > 0


def could_not_start_lines(cluster):
    return [line for line in cluster.log_text().splitlines() if COULD_NOT_START in line]


def test_database_with_pgmq_gets_its_worker_behind_a_dozen_without():
    # 4 slots: pgmq launcher, logical replication launcher, 2 for workers.
    cluster = pgcluster.Cluster("slots_many_dbs").init(**settings(4)).start()
    try:
        with cluster.connect() as c:
            # Created first, so pg_database lists them (and postgres) before the one with pgmq.
            for i in range(12):
                c.execute(f"CREATE DATABASE plain_{i}")
        create_policy_queue(cluster, "with_pgmq")
        wait(lambda: worker_passes(cluster, "with_pgmq"), 30, "a worker with passes in database with_pgmq")
        wait(lambda: moved(cluster, "with_pgmq"), 30, "the deadline policy to be enforced")
        # Seconds of launcher passes (1 s each) went by; a shortage, if any was seen, is told once.
        assert len(could_not_start_lines(cluster)) <= 1, cluster.log_tail()
        cluster.assert_no_real_crash()
    finally:
        cluster.destroy()


def test_short_of_slots_databases_take_turns_and_it_is_said_once():
    # 3 slots: pgmq launcher, logical replication launcher, 1 for a worker, and two databases need one.
    cluster = pgcluster.Cluster("slots_short").init(**settings(3)).start()
    try:
        create_policy_queue(cluster, "turn_a")
        create_policy_queue(cluster, "turn_b")
        # The launcher hands the slot on after 10 of its intervals (1 s here): both get passes.
        wait(lambda: moved(cluster, "turn_a") and moved(cluster, "turn_b"), 45, "both databases' policies")
        assert worker_passes(cluster, "turn_a", running=False) and worker_passes(cluster, "turn_b", running=False)
        lines = could_not_start_lines(cluster)
        assert len(lines) == 1, cluster.log_tail()
        assert "WARNING" in lines[0], lines[0]
        log = cluster.log_text()
        told = log[log.index(lines[0]):][:1000]
        assert "turn_a" in told or "turn_b" in told, told
        assert "max_worker_processes" in told, told
        cluster.assert_no_real_crash()
    finally:
        cluster.destroy()
