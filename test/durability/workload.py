"""workload.py: concurrent producers and consumers that keep a ledger, and the ledger's checks.

Producers send messages in autocommit, each body carrying a unique id (`uid`); a uid whose
send returned is *acked*, one whose send failed because the connection broke is *in doubt*
(it may or may not have committed). Consumers read with a long visibility timeout and
acknowledge each message by delete or archive, recording a uid only after the statement (or
the transaction holding it) committed; an acknowledgement cut off by a broken connection is
in doubt too. Every read is recorded with the server's last_read_at and vt.

After the crashes, check() compares the ledger with the queue and archive tables: no acked
message is lost, no acknowledgement is undone, nothing is duplicated or invented, and no
message was handed to two reads within its visibility timeout.
"""
import collections
import json
import threading
import time

import psycopg


class Ledger:
    """Ledger is what producers and consumers saw, shared by their threads under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.attempted = set()  # every uid a producer tried to send
        self.acked = {}  # uid -> msg_id returned by a send that completed
        self.send_in_doubt = set()  # uid whose send was cut off by a broken connection
        self.deleted = collections.defaultdict(list)  # uid -> consumers whose delete committed
        self.archived = collections.defaultdict(list)  # uid -> consumers whose archive committed
        self.ack_in_doubt = set()  # uid whose delete/archive was cut off
        self.ack_missed = []  # (consumer, uid, action): a committed delete/archive that found no row
        self.reads = collections.defaultdict(list)  # uid -> [(consumer, msg_id, read_ct, last_read_at, vt)]
        self.connection_errors = 0
        self.unexpected = []  # (thread, repr(exception)): any error other than a broken connection

    def summary(self):
        """summary is a one-line account of the ledger, for messages and -s runs."""
        with self.lock:
            return (f"{len(self.attempted)} sends tried, {len(self.acked)} acked, {len(self.send_in_doubt)} in doubt; "
                    f"{sum(len(r) for r in self.reads.values())} reads; {len(self.deleted)} deleted, "
                    f"{len(self.archived)} archived, {len(self.ack_in_doubt)} acks in doubt; "
                    f"{self.connection_errors} broken connections")

    def note_unexpected(self, who, exc):
        """note_unexpected records an error that is not explained by a crash."""
        with self.lock:
            self.unexpected.append((who, repr(exc)))


def _broken(conn):
    """_broken says whether a connection is unusable after an error (the server went away)."""
    return conn is None or conn.closed or conn.broken


class Workload:
    """Workload runs producer and consumer threads against a queue until stop() is called.

    connect() must return a new autocommit connection; it is called again after every
    broken connection, so the workload rides through crashes and restarts.
    """

    def __init__(self, connect, queue, producers=3, consumers=2, vt=60, batch=5, pad=64):
        self.connect = connect
        self.queue = queue
        self.vt = vt
        self.batch = batch
        self.pad = "x" * pad
        self.ledger = Ledger()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._producer, args=(i,), daemon=True) for i in range(producers)]
        self.threads += [threading.Thread(target=self._consumer, args=(i,), daemon=True) for i in range(consumers)]

    def start(self):
        """start starts every thread."""
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        """stop asks every thread to finish and waits for them."""
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=60)
            assert not t.is_alive(), f"workload thread {t.name} did not stop"

    def acked_count(self):
        """acked_count is how many sends have been acknowledged so far."""
        with self.ledger.lock:
            return len(self.ledger.acked)

    def wait_for_acks(self, more, timeout=60):
        """wait_for_acks waits until `more` further sends have been acknowledged."""
        target = self.acked_count() + more
        deadline = time.monotonic() + timeout
        while self.acked_count() < target:
            assert time.monotonic() < deadline, f"workload made no progress: {self.acked_count()} of {target} acks"
            assert not self.ledger.unexpected, f"unexpected errors: {self.ledger.unexpected[:5]}"
            time.sleep(0.05)

    def _reconnect(self, conn):
        """_reconnect closes a broken connection and opens a new one, or returns None while the server is down."""
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass
        try:
            return self.connect()
        except psycopg.OperationalError:
            time.sleep(0.05)
            return None

    def _producer(self, index):
        """_producer sends uniquely identified messages one by one in autocommit."""
        ledger = self.ledger
        conn = None
        seq = 0
        while not self.stopping.is_set():
            if _broken(conn):
                conn = self._reconnect(conn)
                if conn is None:
                    continue
            uid = f"p{index}-{seq}"
            seq += 1
            body = json.dumps({"uid": uid, "pad": self.pad})
            with ledger.lock:
                ledger.attempted.add(uid)
            try:
                msg_id = conn.execute("SELECT * FROM pgmq.send(%s, %s::jsonb)", [self.queue, body]).fetchone()[0]
            except psycopg.Error as exc:
                if not _broken(conn):
                    ledger.note_unexpected(f"producer {index}", exc)
                    time.sleep(0.05)
                    continue
                with ledger.lock:
                    ledger.send_in_doubt.add(uid)
                    ledger.connection_errors += 1
                continue
            with ledger.lock:
                ledger.acked[uid] = msg_id

    def _record_reads(self, who, rows):
        """_record_reads notes the rows a committed read returned."""
        with self.ledger.lock:
            for msg_id, read_ct, last_read_at, vt, uid in rows:
                self.ledger.reads[uid].append((who, msg_id, read_ct, last_read_at, vt))

    def _consumer(self, index):
        """_consumer reads batches and acknowledges every message.

        Even consumers work in autocommit with read_with_poll and the single-id delete/archive; odd consumers
        read and acknowledge a whole batch in one transaction with the array forms.
        """
        conn = None
        while not self.stopping.is_set():
            if _broken(conn):
                conn = self._reconnect(conn)
                if conn is None:
                    continue
            try:
                if index % 2 == 0:
                    self._consume_autocommit(conn, index)
                else:
                    self._consume_transaction(conn, index)
            except psycopg.Error as exc:
                if not _broken(conn):
                    self.ledger.note_unexpected(f"consumer {index}", exc)
                    time.sleep(0.05)
                    continue
                with self.ledger.lock:
                    self.ledger.connection_errors += 1

    def _read(self, conn, poll=False):
        """_read reads a batch (with read_with_poll waiting up to 1 s if poll) and returns
        (msg_id, read_ct, last_read_at, vt, uid) rows."""
        call = "pgmq.read_with_poll(%s, %s, %s, 1, 50)" if poll else "pgmq.read(%s, %s, %s)"
        return conn.execute(f"SELECT msg_id, read_ct, last_read_at, vt, message->>'uid' FROM {call}",
                            [self.queue, self.vt, self.batch]).fetchall()

    @staticmethod
    def _archives(uid):
        """_archives says whether a message is archived (one in three) rather than deleted."""
        return int(uid.rsplit("-", 1)[1]) % 3 == 0

    def _consume_autocommit(self, conn, index):
        """_consume_autocommit reads (long poll) in one statement, then acknowledges message by message."""
        who = f"consumer {index}"
        rows = self._read(conn, poll=True)
        self._record_reads(who, rows)
        if not rows:
            time.sleep(0.02)
            return
        for msg_id, _, _, _, uid in rows:
            action = "archive" if self._archives(uid) else "delete"
            try:
                found = conn.execute(f"SELECT pgmq.{action}(%s, %s::bigint)", [self.queue, msg_id]).fetchone()[0]
            except psycopg.Error:
                if _broken(conn):
                    with self.ledger.lock:
                        self.ledger.ack_in_doubt.add(uid)
                raise
            with self.ledger.lock:
                if not found:
                    self.ledger.ack_missed.append((who, uid, action))
                elif action == "archive":
                    self.ledger.archived[uid].append(who)
                else:
                    self.ledger.deleted[uid].append(who)

    def _consume_transaction(self, conn, index):
        """_consume_transaction reads and acknowledges a batch in one transaction (array delete/archive)."""
        who = f"consumer {index}"
        rows = []
        try:
            with conn.transaction():
                rows = self._read(conn)
                archive = [r[0] for r in rows if self._archives(r[4])]
                delete = [r[0] for r in rows if not self._archives(r[4])]
                archived = {r[0] for r in conn.execute("SELECT * FROM pgmq.archive(%s, %s::bigint[])",
                                                       [self.queue, archive])} if archive else set()
                deleted = {r[0] for r in conn.execute("SELECT * FROM pgmq.delete(%s, %s::bigint[])",
                                                      [self.queue, delete])} if delete else set()
        except psycopg.Error:
            if _broken(conn):
                with self.ledger.lock:
                    self.ledger.ack_in_doubt.update(r[4] for r in rows)
            raise
        # Committed: the read and its acknowledgements happened.
        self._record_reads(who, rows)
        if not rows:
            time.sleep(0.02)
            return
        with self.ledger.lock:
            for msg_id, _, _, _, uid in rows:
                if msg_id in archived:
                    self.ledger.archived[uid].append(who)
                elif msg_id in deleted:
                    self.ledger.deleted[uid].append(who)
                else:
                    self.ledger.ack_missed.append((who, uid, "archive" if self._archives(uid) else "delete"))


def table_contents(conn, queue):
    """table_contents returns ({uid: [msg_id...]} of the queue table, the same of the archive table)."""
    result = []
    for prefix in ("q", "a"):
        rows = collections.defaultdict(list)
        for msg_id, uid in conn.execute(f"SELECT msg_id, message->>'uid' FROM pgmq.{prefix}_{queue}"):
            rows[uid].append(msg_id)
        result.append(rows)
    return result


def check(ledger, conn, queue, absent=()):
    """check compares the ledger with the queue and archive tables; returns a list of violations.

    absent: uids that must not exist (sent in transactions that were killed before commit).
    """
    in_queue, in_archive = table_contents(conn, queue)
    problems = []
    found = collections.Counter()
    for table in (in_queue, in_archive):
        for uid, ids in table.items():
            found[uid] += len(ids)
    msg_ids = collections.Counter(i for table in (in_queue, in_archive) for ids in table.values() for i in ids)

    for uid, n in found.items():
        if n > 1:
            problems.append(f"uid {uid} stored {n} times (queue {in_queue.get(uid)}, archive {in_archive.get(uid)})")
        if uid not in ledger.attempted:
            problems.append(f"uid {uid} stored but never sent")
    for msg_id, n in msg_ids.items():
        if n > 1:
            problems.append(f"msg_id {msg_id} used by {n} stored messages")
    senders = collections.defaultdict(list)
    for uid, msg_id in ledger.acked.items():
        senders[msg_id].append(uid)
    for msg_id, uids in senders.items():
        if len(uids) > 1:
            problems.append(f"msg_id {msg_id} returned by the sends of {sorted(uids)}")
    for uid in absent:
        if found[uid]:
            problems.append(f"uid {uid} from a transaction killed before commit survived")

    for uid, msg_id in ledger.acked.items():
        stored = in_queue.get(uid, []) + in_archive.get(uid, [])
        if stored and stored != [msg_id]:
            problems.append(f"uid {uid} was sent as msg_id {msg_id} but is stored as {stored}")
        if uid in ledger.deleted or uid in ledger.archived:
            continue  # checked below
        if not stored and uid not in ledger.ack_in_doubt:
            problems.append(f"uid {uid} acked as msg_id {msg_id} but lost")

    for uid, who in ledger.deleted.items():
        if len(who) > 1 or uid in ledger.archived:
            problems.append(f"uid {uid} acknowledged twice: deleted by {who}, archived by {ledger.archived.get(uid)}")
        if uid in in_queue or uid in in_archive:
            problems.append(f"uid {uid} deleted (committed) but still stored")
    for uid, who in ledger.archived.items():
        if len(who) > 1:
            problems.append(f"uid {uid} archived by {who}")
        if uid in in_queue:
            problems.append(f"uid {uid} archived (committed) but still in the queue table")
        if uid not in in_archive:
            problems.append(f"uid {uid} archived (committed) but not in the archive table")
    for who, uid, action in ledger.ack_missed:
        problems.append(f"{who}: {action} of uid {uid}, read within its vt, found no message")

    for uid, reads in ledger.reads.items():
        reads = sorted(reads, key=lambda r: r[3])
        for earlier, later in zip(reads, reads[1:]):
            if later[3] < earlier[4]:
                problems.append(f"uid {uid} read by {later[0]} at {later[3]} while {earlier[0]} held it until "
                                f"{earlier[4]}")
    problems += [f"unexpected error in {who}: {exc}" for who, exc in ledger.unexpected]
    return problems


def notified_after_send(server, queue):
    """notified_after_send LISTENs on the queue's insert channel, sends a message and says whether a
    notification came (waiting up to 10 s)."""
    got = []
    with server.connect() as listener, server.connect() as sender:
        listener.add_notify_handler(got.append)
        listener.execute(f'LISTEN "pgmq.q_{queue}.INSERT"')
        sender.execute("SELECT pgmq.send(%s, '{\"n\": 1}')", [queue])
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            listener.execute("SELECT 1")  # delivers pending notifications to the handler
            time.sleep(0.05)
    return bool(got)
