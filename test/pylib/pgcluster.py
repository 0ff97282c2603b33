"""pgcluster.py: private PostgreSQL clusters for the durability and worker suites.

Those tests crash, restart, replicate and fail over servers, so they never touch the runner's
shared cluster (whose log is checked for crashes). Clusters are made the way test/lib.sh
makes them: initdb/pg_ctl/postgres from $PGMQ_BIN (the private installation with pgmq),
run as OS user `postgres` when we are root, the socket in a directory owned by postgres,
`shared_preload_libraries = 'pgmq'`. pg_basebackup comes from `pg_config --bindir`.

Every cluster is registered when created; destroy_all() (called from fixture finalizers
and at interpreter exit) stops each with `pg_ctl -m immediate` and SIGKILLs whatever
postmaster or child process is left, so a failing test never leaves a server running.
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import psycopg

_DEFAULT_CONF = {
    "shared_preload_libraries": "'pgmq'",
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "40",
    # A process crash (what these tests cause) keeps the OS page cache, so WAL written at
    # commit survives it with or without fsync; fsync off spares the shared machine's disk.
    "fsync": "off",
    "log_min_messages": "warning",
    "log_line_prefix": "'%m [%p] %a '",
}

# A real crash of server or pgmq code shows up as one of these; the SIGKILLs tests send say "signal 9".
_CRASH_SIGNS = re.compile(r"PANIC|TRAP:|terminated by signal (?!9:)|exited with exit code [^01]")

_claimed_ports = set()
_clusters = []
_own_work_dir = None


def _run_as_db_user(args, check=True, timeout=120):
    """_run_as_db_user runs a command as the cluster owner (postgres when we are root)."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--"] + list(args)
    result = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}")
    return result


def _chown_to_db_user(path):
    """_chown_to_db_user gives a directory to the cluster owner when we are root."""
    if os.geteuid() == 0:
        shutil.chown(path, user="postgres")


def server_bindir():
    """server_bindir is $PGMQ_BIN: initdb, pg_ctl and postgres of the private installation with pgmq."""
    bindir = os.environ.get("PGMQ_BIN")
    if not bindir or not os.path.exists(os.path.join(bindir, "initdb")):
        raise RuntimeError("PGMQ_BIN must name the private installation's bin directory (run via test/run_all.sh)")
    return bindir


def client_bindir():
    """client_bindir is `pg_config --bindir`, where pg_basebackup and psql live."""
    return subprocess.run(["pg_config", "--bindir"], stdout=subprocess.PIPE, text=True, check=True).stdout.strip()


def work_dir():
    """work_dir is a directory for cluster data: under $PGMQ_TEST_WORK, or a temporary one removed at exit."""
    global _own_work_dir
    base = os.environ.get("PGMQ_TEST_WORK")
    if base:
        path = os.path.join(base, "clusters")
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o755)
        return path
    if _own_work_dir is None:
        _own_work_dir = tempfile.mkdtemp(prefix="pgmq-clusters.")
        os.chmod(_own_work_dir, 0o755)
    return _own_work_dir


def _port_in_use(port):
    """_port_in_use says whether something listens on 127.0.0.1:port or has its socket in /tmp."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        if s.connect_ex(("127.0.0.1", port)) == 0:
            return True
    return os.path.exists(f"/tmp/.s.PGSQL.{port}")


def free_port():
    """free_port returns an unused port from $PGMQ_TEST_PORT + 100 up, never the same one twice."""
    port = int(os.environ.get("PGMQ_TEST_PORT", "55432")) + 100
    while port in _claimed_ports or _port_in_use(port):
        port += 1
    _claimed_ports.add(port)
    return port


def _children_of(pids):
    """_children_of lists the processes whose parent is one of pids."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: the parent pid follows the last ')'.
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) in pids:
            found.append(int(entry))
    return found


def _alive(pid):
    """_alive says whether a process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


class Cluster:
    """Cluster is one throwaway PostgreSQL server: data directory, socket directory, log, port."""

    def __init__(self, name, port=None):
        self.name = name
        self.port = port if port is not None else free_port()
        self.dir = os.path.join(work_dir(), name)  # socket directory, holds data/ and server.log
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.postmaster_pids = set()  # every postmaster this cluster ever had, for cleanup
        if os.path.exists(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        _chown_to_db_user(self.dir)
        _clusters.append(self)

    def _append_conf(self, settings):
        """_append_conf appends settings (name -> SQL literal text) to postgresql.conf."""
        lines = "".join(f"{k} = {v}\n" for k, v in settings.items())
        _run_as_db_user(["sh", "-c", f"cat >> '{self.data}/postgresql.conf' <<'EOF'\n{lines}EOF"])

    def _local_settings(self):
        """_local_settings is what makes this cluster's address its own."""
        return {"port": str(self.port), "unix_socket_directories": f"'{self.dir}'"}

    def init(self, **settings):
        """init runs initdb and writes the configuration: defaults, then settings (SQL literal text)."""
        bindir = server_bindir()
        _run_as_db_user([f"{bindir}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync"])
        conf = dict(_DEFAULT_CONF)
        conf.update(self._local_settings())
        conf.update(settings)
        self._append_conf(conf)
        return self

    def pg_ctl(self, *args, check=True, timeout=120):
        """pg_ctl runs pg_ctl on this cluster."""
        return _run_as_db_user([f"{server_bindir()}/pg_ctl", "-D", self.data, *args], check=check, timeout=timeout)

    def start(self):
        """start starts the server and waits until it accepts connections (crash recovery included)."""
        self.pg_ctl("-l", self.log, "-w", "-t", "90", "start")
        self.postmaster_pids.add(self.postmaster_pid())
        self.wait_ready()
        return self

    def stop(self, mode="fast"):
        """stop stops the server with the given shutdown mode and waits for it."""
        self.pg_ctl("-m", mode, "-w", "-t", "60", "stop")

    def crash(self):
        """crash stops the server with `pg_ctl -m immediate`: no checkpoint, crash recovery at the next start."""
        self.stop("immediate")

    def restart(self, mode="fast"):
        """restart is `pg_ctl restart -m mode`, waiting until the server accepts connections again."""
        self.pg_ctl("-m", mode, "-l", self.log, "-w", "-t", "90", "restart")
        self.postmaster_pids.add(self.postmaster_pid())
        self.wait_ready()

    def promote(self):
        """promote ends recovery of a standby and waits until it accepts writes."""
        self.pg_ctl("-w", "-t", "60", "promote")
        deadline = time.monotonic() + 60
        while True:
            with self.connect() as conn:
                if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} still in recovery 60 s after promote")
            time.sleep(0.1)

    def postmaster_pid(self):
        """postmaster_pid reads the postmaster's pid from postmaster.pid (None when there is none)."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def connect(self, autocommit=True, dbname="postgres", **kwargs):
        """connect opens a connection over this cluster's socket (never the runner's PGHOST/PGPORT)."""
        return psycopg.connect(host=self.dir, port=self.port, user="postgres", dbname=dbname,
                               autocommit=autocommit, connect_timeout=10, **kwargs)

    def wait_ready(self, timeout=90):
        """wait_ready waits until a connection succeeds (a restarting server refuses them for a while)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.connect() as conn:
                    conn.execute("SELECT 1")
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def base_backup(self, name, **settings):
        """base_backup makes a streaming standby of this cluster (pg_basebackup -R with a slot) and returns it,
        configured but not started."""
        standby = Cluster(name)
        _run_as_db_user([f"{client_bindir()}/pg_basebackup", "-D", standby.data, "-h", self.dir, "-p", str(self.port),
                         "-U", "postgres", "-X", "stream", "-R", "-C", "-S", name, "-c", "fast", "--no-sync"])
        conf = standby._local_settings()
        conf.update(settings)
        standby._append_conf(conf)
        return standby

    def log_text(self):
        """log_text is the server log so far."""
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines=40):
        """log_tail is the end of the server log, for assertion messages."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def assert_no_real_crash(self):
        """assert_no_real_crash fails when the log shows a crash the test did not cause itself."""
        bad = [line for line in self.log_text().splitlines() if _CRASH_SIGNS.search(line)]
        assert not bad, f"{self.name} log shows a crash:\n" + "\n".join(bad[:20])

    def destroy(self):
        """destroy stops the server however it can and kills every process it left."""
        if self.postmaster_pid() is not None and os.path.exists(self.data):
            try:
                self.pg_ctl("-m", "immediate", "-w", "-t", "20", "stop", check=False, timeout=30)
            except subprocess.TimeoutExpired:
                pass
        postmasters = {p for p in self.postmaster_pids if p is not None}
        leftovers = [p for p in postmasters if _alive(p)] + _children_of(postmasters)
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def destroy_all():
    """destroy_all stops every cluster this process created and removes a temporary work directory."""
    while _clusters:
        _clusters.pop().destroy()
    global _own_work_dir
    if _own_work_dir is not None:
        shutil.rmtree(_own_work_dir, ignore_errors=True)
        _own_work_dir = None


atexit.register(destroy_all)


def _on_sigterm(signum, frame):
    """_on_sigterm turns SIGTERM (e.g. from `timeout`) into an interrupt: pytest stops the session and the
    fixture finalizers and destroy_all still run."""
    raise KeyboardInterrupt(f"signal {signum}")


if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _on_sigterm)


def new_primary(name, **settings):
    """new_primary creates and starts a cluster with the pgmq extension created in database postgres."""
    cluster = Cluster(name).init(**settings).start()
    with cluster.connect() as conn:
        conn.execute("CREATE EXTENSION pgmq")
    return cluster
