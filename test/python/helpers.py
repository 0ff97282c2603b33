"""helpers.py: shared constants and helpers of the client-level pgmq suite."""
import select
import threading
import time

from psycopg import sql

MESSAGE_RECORD_COLUMNS = ["msg_id", "read_ct", "enqueued_at", "last_read_at", "vt", "message", "headers"]
METRICS_COLUMNS = [
    "queue_name", "queue_length", "newest_msg_age_sec", "oldest_msg_age_sec", "total_messages",
    "scrape_time", "queue_visible_length", "default_partition_length",
]
QUEUE_RECORD_COLUMNS = ["queue_name", "is_partitioned", "is_unlogged", "created_at"]


def queue_length(conn, name):
    """queue_length counts the rows of a queue's table with plain SQL."""
    return conn.execute(sql.SQL("SELECT count(*) FROM pgmq.{}").format(sql.Identifier("q_" + name))).fetchone()[0]


class Listener:
    """Listener collects notifications on one connection (LISTEN) as they arrive."""

    def __init__(self, conn, channel):
        self.conn = conn
        self.channel = channel
        self.received = []
        conn.add_notify_handler(self._on_notify)
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))

    def _on_notify(self, notify):
        self.received.append(notify)

    def wait(self, seconds, until_count=None):
        """wait collects notifications for up to `seconds`, or until `until_count` arrived."""
        deadline = time.monotonic() + seconds
        while until_count is None or len(self.received) < until_count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready, _, _ = select.select([self.conn.fileno()], [], [], remaining)
            if ready:
                self.conn.execute("SELECT 1")  # lets psycopg consume input and dispatch notifies
        return [n for n in self.received if n.channel == self.channel]

    def clear(self):
        self.received.clear()


class Thread(threading.Thread):
    """Thread runs a function and keeps its result or exception for join_result()."""

    def __init__(self, fn, *args):
        super().__init__(daemon=True)
        self.fn = fn
        self.args = args
        self.result = None
        self.error = None

    def run(self):
        try:
            self.result = self.fn(*self.args)
        except BaseException as e:  # re-raised in the test's thread
            self.error = e

    def join_result(self, timeout):
        self.join(timeout)
        assert not self.is_alive(), "thread did not finish in time"
        if self.error is not None:
            raise self.error
        return self.result
