"""Extra throwaway clusters for tests that crash or replicate a server (never the shared one).

Built on test/lib.sh (pgmq_cluster_start, pgmq_free_port) and the private installation
run_all.sh made (PGMQ_BIN). Ports start at PGMQ_TEST_PORT + 100.
"""
import os
import shutil
import subprocess
import tempfile
import time

import psycopg

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(REPO, "test", "lib.sh")
BIN = os.environ.get("PGMQ_BIN") or subprocess.check_output(["pg_config", "--bindir"], text=True).strip()
SYSTEM_BIN = subprocess.check_output(["pg_config", "--bindir"], text=True).strip()


def as_postgres(args, **kwargs):
    if os.getuid() == 0:
        args = ["runuser", "-u", "postgres", "--"] + args
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)


def free_port(start):
    return int(subprocess.check_output(["bash", "-c", f'source "{LIB}"; pgmq_free_port {start}'], text=True))


class Cluster:
    """A cluster in its own temporary directory (socket there too), removed by cleanup()."""

    def __init__(self, name, port_offset=100):
        parent = os.environ.get("PGMQ_TEST_WORK") or None
        self.dir = tempfile.mkdtemp(prefix=f"pgmq-{name}.", dir=parent)
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.port = free_port(int(os.environ.get("PGMQ_TEST_PORT", "55432")) + port_offset)
        self.host = self.dir

    def init_and_start(self, *conf_lines):
        conf = os.path.join(self.dir, "extra.conf")
        with open(conf, "w") as f:
            f.write("\n".join(conf_lines) + "\n")
        os.chmod(conf, 0o644)
        env = dict(os.environ, PGMQ_BIN=BIN)
        subprocess.run(["bash", "-c", f'source "{LIB}"; pgmq_cluster_start "$1" "$2" "$3" "$4"', "-",
                        self.data, str(self.port), os.path.join(REPO, "test", "pgmq.conf"), conf],
                       check=True, env=env)

    def pg_ctl(self, *args):
        return as_postgres([os.path.join(BIN, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60"]
                           + list(args))

    def connect(self, dbname="postgres"):
        return psycopg.connect(host=self.host, port=self.port, user="postgres", dbname=dbname, autocommit=True)

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.connect() as c:
                    c.execute("SELECT 1")
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def cleanup(self):
        try:
            self.pg_ctl("stop", "-m", "immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
