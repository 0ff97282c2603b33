"""The worker does not run on a hot standby, starts on promotion, and stops cleanly on pg_ctl stop -m fast."""
import re
import time

import pgcluster
import psycopg.types.json
from conftest import WORKER_SETTINGS

Json = psycopg.types.json.Jsonb


def pgmq_backends(cluster):
    with cluster.connect() as c:
        return c.execute("SELECT backend_type FROM pg_stat_activity WHERE backend_type LIKE 'pgmq%' "
                         "ORDER BY 1").fetchall()


def wait(predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_standby_is_idle_promotion_starts_worker_fast_stop_is_clean():
    primary = pgcluster.Cluster("worker_primary").init(**WORKER_SETTINGS).start()
    standby = None
    try:
        with primary.connect() as c:
            c.execute("CREATE EXTENSION pgmq")
            c.execute("SELECT pgmq.create('sb_q')")
            c.execute("SELECT pgmq.create('sb_dlq')")
            c.execute("SELECT pgmq.set_policy('sb_q', invalid_queue => 'sb_dlq', deadline_seconds => 1)")
        standby = primary.base_backup("worker_standby").start()

        # Stop the primary's worker so only a (wrong) standby worker could move anything.
        with primary.connect() as c:
            c.execute("ALTER SYSTEM SET pgmq.worker_enabled = off")
            c.execute("SELECT pg_reload_conf()")
        wait(lambda: [r for r in pgmq_backends(primary) if r[0] == "pgmq worker"] == [], 10)
        with primary.connect() as c:
            c.execute("SELECT pgmq.send('sb_q', %s)", [Json({"x": 1})])
            c.execute("SELECT pg_switch_wal()")

        with standby.connect() as s:
            wait(lambda: s.execute("SELECT count(*) FROM pgmq.q_sb_q").fetchone()[0] == 1, 10)
            time.sleep(2.5)  # overdue for 1.5 s now
            assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
            assert pgmq_backends(standby) == []
            assert s.execute("SELECT count(*) FROM pgmq.worker_status()").fetchone()[0] == 0
            assert s.execute("SELECT count(*) FROM pgmq.q_sb_q").fetchone()[0] == 1

        # Promoted, it is a primary: the launcher starts and the overdue message moves.
        standby.promote()
        with standby.connect() as s:
            wait(lambda: s.execute("SELECT count(*) FROM pgmq.q_sb_dlq").fetchone()[0] == 1, 15)
        assert ("pgmq launcher",) in pgmq_backends(standby)

        for cluster in (standby, primary):
            t0 = time.monotonic()
            cluster.stop("fast")
            assert time.monotonic() - t0 < 10
            log = cluster.log_text()
            assert not re.search(r"terminated by signal|PANIC|exited with exit code [^01]", log), log[-3000:]
            assert "database system is shut down" in log
    finally:
        if standby is not None:
            standby.destroy()
        primary.destroy()
