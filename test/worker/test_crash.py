"""Crash safety in a cluster of its own: SIGKILL the worker repeatedly and the whole server once,
under concurrent producers and consumers; then every message sent is in exactly one place
(queue, archive, invalid queue) or was acknowledged."""
import os
import random
import signal
import threading
import time

import psycopg
import psycopg.types.json
import pytest
import pgcluster
from conftest import WORKER_SETTINGS

Json = psycopg.types.json.Jsonb


@pytest.fixture
def crash_cluster():
    cluster = pgcluster.Cluster("worker_crash").init(**WORKER_SETTINGS).start()
    yield cluster
    cluster.destroy()


class Client(threading.Thread):
    """Runs op(conn) in a loop until stopped, reconnecting through crashes and restarts."""

    def __init__(self, cluster, stop):
        super().__init__(daemon=True)
        self.cluster, self.stop = cluster, stop
        self.conn = None
        self.errors = 0

    def ensure_conn(self):
        while self.conn is None and not self.stop.is_set():
            try:
                self.conn = self.cluster.connect()
            except psycopg.OperationalError:
                time.sleep(0.1)

    def lost(self):
        self.errors += 1
        try:
            self.conn.close()
        except Exception:
            pass
        self.conn = None
        time.sleep(0.05)

    def run(self):
        while not self.stop.is_set():
            self.ensure_conn()
            if self.conn is None:
                return
            try:
                self.step()
            except psycopg.OperationalError:
                self.lost()


class Producer(Client):
    def __init__(self, cluster, stop, name):
        super().__init__(cluster, stop)
        self.name, self.n = name, 0
        self.sent, self.uncertain = set(), set()

    def step(self):
        uid = f"{self.name}-{self.n}"
        self.n += 1
        try:
            self.conn.execute("SELECT pgmq.send('crash_q', %s)", [Json({"uid": uid})])
            self.sent.add(uid)
        except psycopg.OperationalError:
            self.uncertain.add(uid)  # the commit may or may not have happened
            raise
        time.sleep(0.003)


class Consumer(Client):
    def __init__(self, cluster, stop, seed):
        super().__init__(cluster, stop)
        self.random = random.Random(seed)
        self.acked, self.uncertain = set(), set()

    def step(self):
        rows = self.conn.execute("SELECT msg_id, message FROM pgmq.read('crash_q', 1, 5)").fetchall()
        if not rows:
            time.sleep(0.01)
        for msg_id, message in rows:
            if self.random.random() < 0.5:
                continue  # never acknowledged: redelivered, then moved by the policy
            uid = message["uid"]
            try:
                if self.conn.execute("SELECT pgmq.delete('crash_q', %s::bigint)", [msg_id]).fetchone()[0]:
                    self.acked.add(uid)
            except psycopg.OperationalError:
                self.uncertain.add(uid)
                raise


def worker_pid(cluster):
    try:
        with cluster.connect() as c:
            row = c.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgmq worker' "
                            "AND datname = 'postgres'").fetchone()
            return row[0] if row else None
    except psycopg.OperationalError:
        return None


def wait_worker(cluster, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = worker_pid(cluster)
        if pid:
            return pid
        time.sleep(0.05)
    pytest.fail("no pgmq worker appeared")


def test_no_message_lost_or_duplicated_through_crashes(crash_cluster):
    cluster = crash_cluster
    with cluster.connect() as c:
        c.execute("CREATE EXTENSION pgmq")
        c.execute("SELECT pgmq.create('crash_q')")
        c.execute("SELECT pgmq.create('crash_dlq')")
        c.execute("SELECT pgmq.set_policy('crash_q', invalid_queue => 'crash_dlq', deadline_seconds => 2, "
                  "max_deliveries => 2)")
    wait_worker(cluster)
    stop = threading.Event()
    producers = [Producer(cluster, stop, f"p{i}") for i in range(2)]
    consumers = [Consumer(cluster, stop, i) for i in range(2)]
    for t in producers + consumers:
        t.start()

    kills = 0
    time.sleep(1.5)
    for _ in range(5):
        pid = wait_worker(cluster)
        time.sleep(random.uniform(0.2, 0.8))  # kill at a random moment of its cycle
        try:
            os.kill(pid, signal.SIGKILL)
            kills += 1
        except ProcessLookupError:
            pass
        time.sleep(0.5)
    wait_worker(cluster)
    time.sleep(1.0)
    cluster.crash()
    time.sleep(0.3)
    cluster.start()
    wait_worker(cluster)
    time.sleep(2.0)
    stop.set()
    for t in producers + consumers:
        t.join(timeout=30)

    # Let the worker finish with what is overdue (deadline 2 s), then count.
    time.sleep(3.0)
    with cluster.connect() as c:
        places = [r[0] for r in c.execute(
            "SELECT message->>'uid' FROM pgmq.q_crash_q UNION ALL SELECT message->>'uid' FROM pgmq.a_crash_q "
            "UNION ALL SELECT message->>'uid' FROM pgmq.q_crash_dlq UNION ALL SELECT message->>'uid' "
            "FROM pgmq.a_crash_dlq")]
        moved = c.execute("SELECT count(*) FROM pgmq.q_crash_dlq").fetchone()[0]

    sent = set().union(*(p.sent for p in producers))
    maybe_sent = set().union(*(p.uncertain for p in producers))
    acked = set().union(*(c.acked for c in consumers))
    maybe_acked = set().union(*(c.uncertain for c in consumers)) - acked
    print(f"\ncrash test: {kills} worker kills + 1 immediate shutdown, {len(sent)} sent "
          f"({len(maybe_sent)} uncertain), {len(acked)} acked ({len(maybe_acked)} uncertain), "
          f"{moved} moved to the invalid queue, client errors "
          f"{sum(t.errors for t in producers + consumers)}")

    assert kills >= 4
    assert moved > 0, "the worker moved nothing"
    assert len(places) == len(set(places)), "a message is in two places"
    assert not acked & set(places), "an acknowledged message is still somewhere"
    located = set(places)
    assert located | acked <= sent | maybe_sent, "a message nobody sent"
    for uid in sent:
        assert (uid in located) or (uid in acked) or (uid in maybe_acked), f"message {uid} was lost"
    assert "terminated by signal 9" in cluster.log_text()
