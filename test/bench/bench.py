#!/usr/bin/python3
"""bench.py: pgmq against a plain-SQL baseline, interleaved (see test/bench/README.md).

Run by test/bench/run.sh against its throwaway cluster (PGHOST/PGPORT/PGUSER set). Every
workload is run for "ours" (the pgmq functions) and "base" (the same operations written as
prepared SQL on a table of the same shape), alternating A B A B; each run starts from fresh
tables. Throughput rows print the median msgs/s of the repetitions and ours/base.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import psycopg

MSG = '{"order": 123456, "item": "widget", "qty": 3, "note": "benchmark message"}'
Q = "bq"  # our queue: pgmq.q_bq / pgmq.a_bq
BASE = "public.bq_base"  # baseline queue table
BASE_ARCH = "public.bq_base_arch"  # baseline archive table
COLS = "msg_id, read_ct, enqueued_at, last_read_at, vt, message, headers"

# The baseline's statements, as fast as hand-written prepared SQL gets: the read is
# UPDATE ... WHERE msg_id = ANY (ARRAY(SELECT ... FOR UPDATE SKIP LOCKED)) with $n a
# parameter and a generic plan (plan_cache_mode = force_generic_plan for its sessions).
BASE_READ = (f"UPDATE {BASE} SET vt = clock_timestamp() + interval '30 seconds', read_ct = read_ct + 1, "
             f"last_read_at = clock_timestamp() WHERE msg_id = ANY (ARRAY(SELECT msg_id FROM {BASE} "
             f"WHERE vt <= clock_timestamp() ORDER BY msg_id LIMIT :n FOR UPDATE SKIP LOCKED)) RETURNING {COLS}")

GROUP_KEY = "COALESCE(headers ->> 'x-pgmq-group', '_default_fifo_group')"
GROUP_KEY_M2 = "COALESCE(m2.headers ->> 'x-pgmq-group', '_default_fifo_group')"
GROUP_KEY_T = "COALESCE(t.headers ->> 'x-pgmq-group', '_default_fifo_group')"
SCRIPTS = {
    "send1": {
        "ours": f"SELECT * FROM pgmq.send('{Q}', '{MSG}'::jsonb);\n",
        "base": f"INSERT INTO {BASE} (vt, message) VALUES (clock_timestamp(), '{MSG}'::jsonb) RETURNING msg_id;\n",
    },
    "batch100": {
        "ours": f"SELECT * FROM pgmq.send_batch('{Q}', :msgs::jsonb[]);\n",
        "base": f"INSERT INTO {BASE} (vt, message) SELECT clock_timestamp(), m FROM unnest(:msgs::jsonb[]) AS u(m) "
                "RETURNING msg_id;\n",
    },
    "read1_delete": {
        "ours": f"SELECT msg_id AS id FROM pgmq.read('{Q}', 30, :n) \\gset\n"
                f"SELECT pgmq.delete('{Q}', :id::bigint);\n",
        "base": f"WITH r AS ({BASE_READ}) SELECT msg_id AS id FROM r \\gset\n"
                f"DELETE FROM {BASE} WHERE msg_id = :id::bigint RETURNING msg_id;\n",
    },
    "read100_archive": {
        "ours": f"SELECT coalesce(array_agg(msg_id), '{{}}') AS ids FROM pgmq.read('{Q}', 30, :n) \\gset\n"
                f"SELECT count(*) FROM pgmq.archive('{Q}', :ids::bigint[]);\n",
        "base": f"WITH r AS ({BASE_READ}) SELECT coalesce(array_agg(msg_id), '{{}}') AS ids FROM r \\gset\n"
                f"WITH moved AS (DELETE FROM {BASE} WHERE msg_id = ANY (:ids::bigint[]) RETURNING {COLS}) "
                f"INSERT INTO {BASE_ARCH} ({COLS}) SELECT {COLS} FROM moved RETURNING msg_id;\n",
    },
    # A unique x-pgmq-dedup-id per message, to a queue with dedup_seconds (ours) or without (base): the
    # same call, so the ratio is what recording the id costs.
    "dedup1": {
        "ours": f"SELECT * FROM pgmq.send('{Q}', '{MSG}'::jsonb, "
                "jsonb_build_object('x-pgmq-dedup-id', gen_random_uuid()::text));\n",
        "base": f"SELECT * FROM pgmq.send('{Q}', '{MSG}'::jsonb, "
                "jsonb_build_object('x-pgmq-dedup-id', gen_random_uuid()::text));\n",
    },
    "topic1000": {
        "ours": f"SELECT pgmq.send_topic('orders.created.eu', '{MSG}'::jsonb);\n",
        "base": f"SELECT * FROM pgmq.send('{Q}', '{MSG}'::jsonb);\n",
    },
    # Read 1, then give it back at once: nack (ours) against set_vt to now (base), both on pgmq's queue.
    "nack": {
        "ours": f"SELECT msg_id AS id FROM pgmq.read('{Q}', 30, 1) \\gset\n"
                f"SELECT pgmq.nack('{Q}', :id::bigint, 0);\n",
        "base": f"SELECT msg_id AS id FROM pgmq.read('{Q}', 30, 1) \\gset\n"
                f"SELECT msg_id FROM pgmq.set_vt('{Q}', :id::bigint, 0);\n",
    },
    # One message's status (a random msg_id of the queue, its archive or its invalid queue) against a
    # hand-written lookup by primary key in the queue table alone: the ratio is status()'s overhead.
    "status": {
        "ours": f"\\set id random(1, :total)\nSELECT * FROM pgmq.status('{Q}s', :id::bigint);\n",
        "base": f"\\set id random(1, :total)\nSELECT msg_id, read_ct, enqueued_at, vt, last_read_at, "
                f"headers -> 'x-pgmq-last-error' FROM pgmq.q_{Q}s WHERE msg_id = :id::bigint;\n",
    },
    # Grouped read of 10, then delete them. Base: the grouped read as PGMQ 1.9 to 1.11 writes it, aggregating
    # the heads of every group of the queue (GROUP BY), then the oldest visible group's messages.
    "grouped10_delete": {
        "ours": f"SELECT coalesce(array_agg(msg_id), '{{}}') AS ids FROM pgmq.read_grouped('{Q}', 30, 10) \\gset\n"
                f"SELECT count(*) FROM pgmq.delete('{Q}', :ids::bigint[]);\n",
        "base": f"WITH heads AS (SELECT {GROUP_KEY} AS g, min(msg_id) AS head FROM {BASE} "
                f"WHERE vt <= clock_timestamp() GROUP BY 1), "
                f"locked AS (SELECT h.g, h.head FROM heads h JOIN {BASE} q ON q.msg_id = h.head "
                f"WHERE q.vt <= clock_timestamp() ORDER BY h.head FOR UPDATE OF q SKIP LOCKED), "
                f"free AS (SELECT l.* FROM locked l WHERE NOT EXISTS (SELECT 1 FROM {BASE} m2 WHERE "
                f"{GROUP_KEY_M2} = l.g AND m2.vt > clock_timestamp() AND m2.msg_id < l.head) ORDER BY l.head LIMIT 10), "
                f"picked AS (SELECT t.msg_id FROM free f CROSS JOIN LATERAL (SELECT msg_id FROM {BASE} t WHERE "
                f"{GROUP_KEY_T} = f.g AND t.vt <= clock_timestamp() ORDER BY msg_id LIMIT 10) t "
                f"ORDER BY f.head, t.msg_id LIMIT 10), "
                f"r AS (UPDATE {BASE} SET vt = clock_timestamp() + interval '30 seconds', read_ct = read_ct + 1, "
                f"last_read_at = clock_timestamp() WHERE msg_id IN (SELECT msg_id FROM picked) RETURNING msg_id) "
                f"SELECT coalesce(array_agg(msg_id), '{{}}') AS ids FROM r \\gset\n"
                f"DELETE FROM {BASE} WHERE msg_id = ANY (:ids::bigint[]);\n",
    },
    # Both sides are pgmq's read 1 + delete; ours reads a priority queue, base the same messages on a plain one.
    "prio1_delete": {
        "ours": f"SELECT msg_id AS id FROM pgmq.read('{Q}', 30, 1) \\gset\n"
                f"SELECT pgmq.delete('{Q}', :id::bigint);\n",
        "base": f"SELECT msg_id AS id FROM pgmq.read('{Q}', 30, 1) \\gset\n"
                f"SELECT pgmq.delete('{Q}', :id::bigint);\n",
    },
    "read1": {
        "ours": f"SELECT * FROM pgmq.read('{Q}', 30, :n);\n",
        "base": f"{BASE_READ};\n",
    },
    # pop of 1 message; base: the hand-written single-statement pop.
    "pop1": {
        "ours": f"SELECT * FROM pgmq.pop('{Q}');\n",
        "base": f"DELETE FROM {BASE} WHERE msg_id = (SELECT msg_id FROM {BASE} WHERE vt <= clock_timestamp() "
                f"ORDER BY msg_id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING {COLS};\n",
    },
    # read 1 + delete that tolerates an empty queue (the delete only when a message came).
    "consume1": {
        "ours": f"SELECT coalesce(max(msg_id), 0) AS id FROM pgmq.read('{Q}', 30, 1) \\gset\n"
                f"\\if :id > 0\nSELECT pgmq.delete('{Q}', :id::bigint);\n\\endif\n",
        "base": f"WITH r AS ({BASE_READ.replace(':n', '1')}) SELECT coalesce(max(msg_id), 0) AS id FROM r \\gset\n"
                f"\\if :id > 0\nDELETE FROM {BASE} WHERE msg_id = :id::bigint RETURNING msg_id;\n\\endif\n",
    },
}


def log(*args):
    print(*args, file=sys.stderr, flush=True)


class Bench:
    def __init__(self, opts):
        self.opts = opts
        self.tmp = tempfile.mkdtemp(prefix="pgmq-bench-scripts.")
        os.chmod(self.tmp, 0o755)
        self.conn = psycopg.connect(dbname="postgres", autocommit=True)
        self.conn.execute("CREATE EXTENSION IF NOT EXISTS pgmq")
        self.batch_literal = "{" + ",".join('"' + MSG.replace('"', '\\"') + '"' for _ in range(100)) + "}"
        self.options = "-c synchronous_commit=off" if opts.sync_off else ""
        # PGMQ's own install script, loaded by run.sh into a database of its own (PGMQ_SQL): a third column.
        self.ref_db = os.environ.get("PGMQ_BENCH_REF_DB", "")
        self.ref = psycopg.connect(dbname=self.ref_db, autocommit=True) if self.ref_db else None
        self.systems = ("ours", "base", "pgmq") if self.ref else ("ours", "base")

    def db(self, system):
        """The database a system's queue lives in: PGMQ's script has its own (its schema is also pgmq)."""
        return self.ref_db if system == "pgmq" else "postgres"

    def c(self, system):
        return self.ref if system == "pgmq" else self.conn

    def pgmq_has(self, function):
        """Whether PGMQ's loaded script defines pgmq.<function> (older releases lack read_grouped, ...)."""
        return self.ref is not None and self.ref.execute(
            "SELECT count(*) > 0 FROM pg_proc WHERE pronamespace = 'pgmq'::regnamespace AND proname = %s",
            (function,)).fetchone()[0]

    # ---- state -------------------------------------------------------------------------
    def reset(self, system, backlog=0, invisible=0, groups=0):
        """Fresh queue tables for system; invisible messages (vt in an hour) first, then backlog visible ones;
        with groups, the invisible ones are one group in flight ("busy"), the backlog's message i has header
        x-pgmq-group g<i mod groups>, and the FIFO index is made."""
        c = self.c(system)
        if groups:
            self.reset(system)
            table = self.table(system)
            if invisible:
                c.execute(f"INSERT INTO {table} (vt, read_ct, message, headers) SELECT clock_timestamp() + "
                          f"interval '1 hour', 1, %s::jsonb, '{{\"x-pgmq-group\": \"busy\"}}' "
                          f"FROM generate_series(1, %s)", (MSG, invisible))
            c.execute(f"INSERT INTO {table} (vt, message, headers) SELECT clock_timestamp(), %s::jsonb, "
                      f"jsonb_build_object('x-pgmq-group', 'g' || (i %% %s)) FROM generate_series(1, %s) i",
                      (MSG, groups, backlog))
            if system != "base":
                c.execute(f"SELECT pgmq.create_fifo_index('{Q}')")
            else:
                c.execute(f"CREATE INDEX ON {BASE} (({GROUP_KEY}), msg_id)")
            c.execute(f"VACUUM ANALYZE {table}")
            c.execute("CHECKPOINT")
            return
        if system != "base":
            if self.exists(f"pgmq.q_{Q}", system):
                c.execute(f"SELECT pgmq.drop_queue('{Q}')")
            c.execute(f"SELECT pgmq.create('{Q}')")
            for count, delay in ((invisible, 3600), (backlog, 0)):
                while count > 0:
                    chunk = min(count, 50000)
                    c.execute(f"SELECT count(*) FROM pgmq.send_batch('{Q}', (SELECT array_agg(%s::jsonb) "
                              f"FROM generate_series(1, %s)), %s)", (MSG, chunk, delay))
                    count -= chunk
            table = f"pgmq.q_{Q}"
        else:
            c.execute(f"DROP TABLE IF EXISTS {BASE}, {BASE_ARCH}")
            c.execute(f"""CREATE TABLE {BASE} (
                msg_id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
                read_ct integer NOT NULL DEFAULT 0,
                enqueued_at timestamptz NOT NULL DEFAULT now(),
                last_read_at timestamptz,
                vt timestamptz NOT NULL,
                message jsonb,
                headers jsonb)""")
            c.execute(f"CREATE INDEX ON {BASE} (vt)")
            c.execute(f"""CREATE TABLE {BASE_ARCH} (
                msg_id bigint PRIMARY KEY,
                read_ct integer NOT NULL DEFAULT 0,
                enqueued_at timestamptz NOT NULL DEFAULT now(),
                last_read_at timestamptz,
                archived_at timestamptz NOT NULL DEFAULT now(),
                vt timestamptz NOT NULL,
                message jsonb,
                headers jsonb)""")
            c.execute(f"CREATE INDEX ON {BASE_ARCH} (archived_at)")
            for count, delay in ((invisible, 3600), (backlog, 0)):
                if count:
                    c.execute(f"INSERT INTO {BASE} (vt, message) SELECT clock_timestamp() + make_interval(secs => %s), "
                              f"%s::jsonb FROM generate_series(1, %s)", (delay, MSG, count))
            table = BASE
        c.execute(f"VACUUM ANALYZE {table}")
        c.execute("CHECKPOINT")

    def exists(self, rel, system="ours"):
        return self.c(system).execute("SELECT to_regclass(%s) IS NOT NULL", (rel,)).fetchone()[0]

    def table(self, system):
        return BASE if system == "base" else f"pgmq.q_{Q}"

    def archive_table(self, system):
        return BASE_ARCH if system == "base" else f"pgmq.a_{Q}"

    def count(self, system, table=None):
        return self.c(system).execute(f"SELECT count(*) FROM {table or self.table(system)}").fetchone()[0]

    def table_stats(self, system):
        t = self.table(system)
        self.c(system).execute("SELECT pg_stat_force_next_flush()")
        row = self.c(system).execute(
            "SELECT n_dead_tup, n_tup_hot_upd, n_tup_upd, pg_total_relation_size(relid) FROM pg_stat_user_tables "
            "WHERE relid = %s::regclass", (t,)).fetchone()
        return row

    # ---- pgbench -----------------------------------------------------------------------
    def script(self, workload, system):
        path = os.path.join(self.tmp, f"{workload}_{system}.sql")
        with open(path, "w") as f:
            # PGMQ has the same SQL API: our script, unless the workload has one of its own for it.
            f.write(SCRIPTS[workload].get(system) or SCRIPTS[workload]["ours"])
        os.chmod(path, 0o644)
        return path

    def pgbench(self, workload, system, clients, seconds, variables, wait=True, transactions=0, extra=()):
        env = dict(os.environ)
        opts = self.options
        if system == "base":
            opts += " -c plan_cache_mode=force_generic_plan"
        env["PGOPTIONS"] = opts.strip()
        cmd = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 4)),
               *(["-t", str(transactions)] if transactions else ["-T", str(seconds)]),
               *extra, "-f", self.script(workload, system), self.db(system)]
        for k, v in variables.items():
            cmd[1:1] = ["-D", f"{k}={v}"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return proc if not wait else self.finish(proc)

    def finish(self, proc):
        out, err = proc.communicate()
        if proc.returncode != 0 or "aborted" in out:
            log(out, err)
            raise RuntimeError("pgbench failed (see above)")
        m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
        return float(m.group(1))

    # ---- workloads: each returns a number (msgs/s, or ms per read) ----------------------
    def run_send1(self, system, clients):
        self.reset(system)
        return self.pgbench("send1", system, clients, self.opts.seconds, {})

    def run_batch(self, system, clients):
        self.reset(system)
        return 100 * self.pgbench("batch100", system, clients, self.opts.seconds, {"msgs": self.batch_literal})

    def run_topic(self, system, clients):
        """send_topic with 1,000 bindings of which 1 matches (ours) against a plain pgmq.send (base)."""
        self.reset("ours")
        if system == "ours":
            # 999 that do not match 'orders.created.eu': literal first segments, some wildcards first
            self.conn.execute(
                f"SELECT pgmq.bind_topic(CASE WHEN i % 10 = 0 THEN '*.svc' || i || '.#' WHEN i % 10 = 1 "
                f"THEN '#.svc' || i ELSE 'svc' || i || '.*.#' END, '{Q}') FROM generate_series(1, 999) AS i")
            self.conn.execute(f"SELECT pgmq.bind_topic('orders.*.eu', '{Q}')")
        return self.pgbench("topic1000", "ours" if system == "ours" else "base", clients, self.opts.seconds, {})

    def run_dedup(self, system, clients):
        """send with a unique dedup id per message: to a queue with dedup_seconds (ours) or without (base)."""
        self.reset("ours")
        if system == "ours":
            self.conn.execute(f"SELECT pgmq.set_policy('{Q}', dedup_seconds => 3600)")
        self.conn.execute("VACUUM ANALYZE pgmq.dedup")
        return self.pgbench("dedup1", system, clients, self.opts.seconds, {})

    def run_read_delete(self, system, clients):
        self.reset(system, backlog=self.opts.backlog)
        return self.pgbench("read1_delete", system, clients, self.opts.seconds, {"n": 1})

    def run_read_archive(self, system, clients):
        # A fixed amount of work (90% of the backlog) instead of a fixed time: the fast side would empty it.
        self.reset(system, backlog=self.opts.backlog)
        per_client = int(self.opts.backlog * 0.9 / 100 / clients)
        return 100 * self.pgbench("read100_archive", system, clients, 0, {"n": 100}, transactions=per_client)

    def run_mixed(self, system):
        self.reset(system, backlog=self.opts.mixed_backlog)
        start = self.count(system)
        producers = self.pgbench("send1", system, 4, self.opts.seconds, {}, wait=False)
        consumers = self.pgbench("read1_delete", system, 4, self.opts.seconds, {"n": 1}, wait=False)
        consumed = self.finish(consumers)
        self.finish(producers)
        end = self.count(system)
        dead, hot, upd, size = self.table_stats(system)
        self.extra.setdefault(("mixed", system), []).append(
            f"depth {start}->{end}, dead tuples {dead}, HOT updates {hot}/{upd}, size {size // 1024} kB")
        return consumed

    def run_backlog(self, system):
        self.reset(system, backlog=self.opts.tail, invisible=self.opts.invisible)
        tps = self.pgbench("read1", system, 1, self.opts.backlog_seconds, {"n": 1})
        return 1000.0 / tps

    def run_grouped(self, system, backlog, groups, invisible=0):
        self.reset(system, backlog=backlog, groups=groups, invisible=invisible)
        if system == "pgmq":
            return self.pgmq_grouped_capped(backlog)
        tps = self.pgbench("grouped10_delete", system, 1, self.opts.backlog_seconds, {})
        return 1000.0 / tps

    def run_priority(self, system, clients, base_policy=False):
        """read 1 + delete on a pgmq queue of backlog messages with x-pgmq-priority i mod 10: ours with
        set_policy(priorities => true) (its index built over the backlog), base without (plain FIFO reads);
        with base_policy, base has a policy without priorities (FIFO reads through the policy statement)."""
        self.reset("ours")
        c = self.conn
        c.execute(f"INSERT INTO pgmq.q_{Q} (vt, message, headers) SELECT clock_timestamp(), %s::jsonb, "
                  f"jsonb_build_object('x-pgmq-priority', i %% 10) FROM generate_series(1, %s) i",
                  (MSG, self.opts.backlog))
        if system == "ours":
            c.execute(f"SELECT pgmq.set_policy('{Q}', priorities => true)")
        elif base_policy:
            c.execute(f"SELECT pgmq.set_policy('{Q}')")
        c.execute(f"VACUUM ANALYZE pgmq.q_{Q}")
        c.execute("CHECKPOINT")
        return self.pgbench("prio1_delete", system, clients, self.opts.seconds, {})

    def pgmq_grouped_capped(self, backlog):
        """PGMQ's read_grouped + delete, timed from here with a statement_timeout (a read of PGMQ 1.11 on
        1,000,000 messages in 10,000 groups took 200 s): ms per read, or the cap when the first read is
        cancelled (noted)."""
        o = self.opts
        with psycopg.connect(dbname=self.ref_db, autocommit=True) as c:
            c.execute(f"SET statement_timeout = {o.grouped_cap_seconds * 1000}")
            reads = 0
            started = time.perf_counter()
            try:
                while reads == 0 or time.perf_counter() - started < o.backlog_seconds:
                    ids = c.execute(f"SELECT coalesce(array_agg(msg_id), '{{}}') FROM pgmq.read_grouped('{Q}', 30, 10)",
                                    prepare=True).fetchone()[0]
                    c.execute(f"SELECT count(*) FROM pgmq.delete('{Q}', %s::bigint[])", (ids,), prepare=True)
                    reads += 1
            except psycopg.errors.QueryCanceled:
                self.extra.setdefault((f"grouped {backlog:,}", "pgmq"), []).append(
                    f"read_grouped cancelled after statement_timeout {o.grouped_cap_seconds} s: "
                    f"the figure is that cap, a lower bound")
                return o.grouped_cap_seconds * 1000.0
            return (time.perf_counter() - started) * 1000.0 / reads

    def run_metrics(self, system, spread=0):
        """ms per metrics call on a queue of opts.metrics_depth messages, a tenth of them invisible (sent with a
        delay of an hour); with spread, spread more messages sent with delays of 1 ... spread seconds (as many
        distinct future vts). Ours: pgmq.metrics(q) after one warm-up call (which rebuilds the counters with one
        scan). Base: the statement PGMQ's metrics runs (count(*), count(*) FILTER (WHERE vt <= now()), the ages
        from max/min(enqueued_at), the sequence), on the baseline table."""
        depth = self.opts.metrics_depth
        self.reset(system, backlog=depth - depth // 10, invisible=depth // 10)
        c = self.c(system)
        if system == "base":
            if spread:
                c.execute(f"INSERT INTO {BASE} (vt, message) SELECT clock_timestamp() + make_interval(secs => i), "
                          f"%s::jsonb FROM generate_series(1, %s) i", (MSG, spread))
            c.execute(f"VACUUM ANALYZE {BASE}")
            statement = (f"SELECT count(*), count(*) FILTER (WHERE vt <= now()), "
                         f"extract(epoch FROM now() - max(enqueued_at))::int, "
                         f"extract(epoch FROM now() - min(enqueued_at))::int, "
                         f"(SELECT last_value FROM public.bq_base_msg_id_seq) FROM {BASE}")
        else:
            if spread:
                c.execute(f"SELECT count(*) FROM generate_series(1, %s) i, LATERAL pgmq.send('{Q}', %s::jsonb, i)",
                          (spread, MSG))
            c.execute(f"SELECT * FROM pgmq.metrics('{Q}')")
            statement = f"SELECT * FROM pgmq.metrics('{Q}')"
        calls = 0
        started = time.perf_counter()
        with psycopg.connect(dbname=self.db(system), autocommit=True) as m:
            while True:
                m.execute(statement, prepare=True).fetchall()
                calls += 1
                elapsed = time.perf_counter() - started
                if elapsed >= self.opts.backlog_seconds and calls >= 3:
                    break
        return elapsed * 1000.0 / calls

    def run_memory(self, system):
        """Backend memory growth (kB) over opts.memory_calls calls, after a warm-up, in one session."""
        self.reset(system, backlog=1000)
        calls_per_cycle = len(MEMORY_CYCLE["ours"]) + 2  # the read inside delete and archive
        with psycopg.connect(dbname=self.db(system), autocommit=True) as c:
            if system == "base":
                c.execute("SET plan_cache_mode = force_generic_plan")

            def cycles(n):
                done = 0
                while done < n:
                    chunk = min(500, n - done)
                    with c.pipeline():
                        for _ in range(chunk):
                            for sql in MEMORY_CYCLE.get(system, MEMORY_CYCLE["ours"]):
                                c.execute(sql, prepare=True)
                    done += chunk

            cycles(2000)
            before = backend_memory(c)
            cycles(self.opts.memory_calls // calls_per_cycle)
            after = backend_memory(c)
        self.extra.setdefault(("memory", system), []).append(
            f"{before // 1024} kB after warm-up, {after // 1024} kB after "
            f"{self.opts.memory_calls // calls_per_cycle * calls_per_cycle:,} more calls")
        return (after - before) / 1024.0

    def run_pop(self, system, clients):
        self.reset(system, backlog=self.opts.backlog)
        return self.pgbench("pop1", system, clients, self.opts.seconds, {})

    def run_consumers(self, system, clients):
        """read 1 + delete with many clients; pgbench's threads stay at 4 (2 cores)."""
        self.reset(system, backlog=self.opts.consumers_backlog)
        rate = self.pgbench("read1_delete", system, clients, self.opts.seconds, {"n": 1})
        self.consumer_rates.setdefault(system, {}).setdefault(clients, []).append(rate)
        return rate

    def run_pipeline(self, system):
        """send_batch 100 producers and read 100 + archive consumers at once; consumed = rows archived."""
        o = self.opts
        self.reset(system, backlog=o.pipeline_backlog)
        start = self.count(system)
        producers = self.pgbench("batch100", system, o.pipeline_producers, o.seconds, {"msgs": self.batch_literal},
                                 wait=False)
        consumers = self.pgbench("read100_archive", system, o.pipeline_consumers, o.seconds, {"n": 100}, wait=False)
        self.finish(consumers)
        self.finish(producers)
        consumed = self.count(system, self.archive_table(system))
        end = self.count(system)
        self.extra.setdefault(("pipeline100", system), []).append(
            f"depth {start:,}->{end:,}, {consumed:,} archived in {o.seconds} s")
        return consumed / o.seconds

    def run_grouped_concurrent(self, system, clients):
        """clients grouped readers at once (read_grouped 10 + delete); msgs/s, and per client how many reads."""
        o = self.opts
        self.reset(system, backlog=o.backlog, groups=o.backlog // 100)
        start = self.count(system)
        logdir = tempfile.mkdtemp(prefix="grouped.", dir=self.tmp)
        os.chmod(logdir, 0o777)
        self.pgbench("grouped10_delete", system, clients, o.seconds, {},
                     extra=("-l", "--log-prefix", os.path.join(logdir, "tx")))
        consumed = start - self.count(system)
        per_client = {}
        for name in os.listdir(logdir):
            with open(os.path.join(logdir, name)) as f:
                for line in f:
                    client = int(line.split()[0])
                    per_client[client] = per_client.get(client, 0) + 1
        counts = [per_client.get(i, 0) for i in range(clients)]
        self.extra.setdefault(("grouped10_8", system), []).append(
            f"{consumed:,} messages; transactions per client {counts} ({sum(1 for n in counts if n > 0)} of "
            f"{clients} clients made progress)")
        return consumed / o.seconds

    def run_held_xmin(self, system):
        """4 producers + 4 consumers for held_seconds, without and with a REPEATABLE READ snapshot held open in
        another session: consumed msgs/s per window (from the table's deleted-tuple counter, sampled from a side
        connection), depth, dead tuples, table and index size at the end."""
        o = self.opts
        out = {}
        for variant in ("free", "held"):
            self.reset(system, backlog=o.mixed_backlog)
            c = self.c(system)
            start = self.count(system)
            relid = c.execute("SELECT %s::regclass::oid", (self.table(system),)).fetchone()[0]
            holder = None
            if variant == "held":
                holder = psycopg.connect(dbname=self.db(system), autocommit=True)
                holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                holder.execute("SELECT 1 FROM pg_catalog.pg_class LIMIT 1")  # takes the snapshot, keeps it

            def deleted():
                return c.execute("SELECT pg_stat_get_tuples_deleted(%s)", (relid,)).fetchone()[0]

            # Index entries the scans of the queue's primary key read (pg_stat_user_indexes.idx_tup_read):
            # per consumed message, how far reads walk; not a timing, so the machine's noise does not move it.
            pkey = c.execute("SELECT indexrelid FROM pg_index WHERE indrelid = %s AND indisprimary",
                             (relid,)).fetchone()

            def walked():
                if pkey is None:
                    return 0
                return c.execute("SELECT pg_stat_get_tuples_returned(%s)", (pkey[0],)).fetchone()[0]

            base_count = deleted()
            base_walk = walked()
            t0 = time.time()
            producers = self.pgbench("send1", system, 4, o.held_seconds, {}, wait=False)
            consumers = self.pgbench("consume1", system, 4, o.held_seconds, {}, wait=False)
            windows = []
            walks = []
            last, last_walk = base_count, base_walk
            for k in range(1, o.held_seconds // o.held_window + 1):
                time.sleep(max(0.0, t0 + k * o.held_window - time.time()))
                now, now_walk = deleted(), walked()
                windows.append((now - last) / o.held_window)
                walks.append((now_walk - last_walk) / max(1, now - last))
                last, last_walk = now, now_walk
            self.finish(consumers)
            self.finish(producers)
            end = self.count(system)
            c.execute("SELECT pg_stat_force_next_flush()")
            dead, table_size, index_size = c.execute(
                "SELECT n_dead_tup, pg_table_size(relid), pg_indexes_size(relid) FROM pg_stat_user_tables "
                "WHERE relid = %s", (relid,)).fetchone()
            total = deleted() - base_count
            if holder is not None:
                holder.execute("COMMIT")
                holder.close()
            out[variant] = dict(windows=windows, walks=walks, rate=total / o.held_seconds, depth=(start, end), dead=dead,
                                table=table_size, index=index_size)
        return out

    def run_latency(self, system):
        self.reset(system)
        return latency_samples(system, self.opts.samples, self.options, self.db(system))

    def run_wake_vt(self, system):
        self.reset(system)
        return wake_vt_samples(system, self.opts.wake_samples, self.options)

    def run_nack(self, system, clients):
        # Both sides on pgmq's queue: the ratio is nack's cost against set_vt's.
        self.reset("ours", backlog=10_000)
        return self.pgbench("nack", system, clients, self.opts.seconds, {})

    def run_status(self, system):
        """ms per status lookup; the queue, archive and invalid queue are built once (both sides read them)."""
        n = self.opts.status_rows
        if not getattr(self, "status_ready", False):
            c = self.conn
            for name in (f"{Q}s", f"{Q}s_dlq"):
                if self.exists(f"pgmq.q_{name}"):
                    c.execute("SELECT pgmq.drop_queue(%s)", (name,))
                c.execute("SELECT pgmq.create(%s)", (name,))
            c.execute("SELECT pgmq.set_policy(%s, invalid_queue => %s, max_deliveries => 5)", (f"{Q}s", f"{Q}s_dlq"))
            # msg_ids 1..n queued, n+1..2n archived, 2n+1..3n moved to the invalid queue.
            c.execute(f"INSERT INTO pgmq.q_{Q}s (msg_id, vt, message) OVERRIDING SYSTEM VALUE "
                      f"SELECT i, clock_timestamp(), %s::jsonb FROM generate_series(1, %s) i", (MSG, n))
            c.execute(f"INSERT INTO pgmq.a_{Q}s (msg_id, vt, message) SELECT i, clock_timestamp(), %s::jsonb "
                      f"FROM generate_series(%s, %s) i", (MSG, n + 1, 2 * n))
            c.execute(f"INSERT INTO pgmq.q_{Q}s_dlq (vt, message, headers) SELECT clock_timestamp(), %s::jsonb, "
                      f"jsonb_build_object('x-pgmq-invalid', jsonb_build_object('msg_id', i, 'queue', '{Q}s', "
                      f"'reason', 'max_deliveries')) FROM generate_series(%s, %s) i", (MSG, 2 * n + 1, 3 * n))
            for t in (f"q_{Q}s", f"a_{Q}s", f"q_{Q}s_dlq"):
                c.execute(f"VACUUM ANALYZE pgmq.{t}")
            c.execute("CHECKPOINT")
            self.status_ready = True
        tps = self.pgbench("status", system, 1, self.opts.backlog_seconds, {"total": 3 * n})
        return 1000.0 / tps

    # ---- driver ------------------------------------------------------------------------
    def rows(self):
        o = self.opts
        return [
            ("send1_4", "send 1/txn, 4 clients", "rate", lambda s: self.run_send1(s, 4)),
            ("send1_16", "send 1/txn, 16 clients", "rate", lambda s: self.run_send1(s, 16)),
            ("topic1000_4", "send_topic, 1 of 1,000 bindings vs send, 4 clients", "rate",
             lambda s: self.run_topic(s, 4)),
            ("dedup1_4", "send, unique dedup id, vs no dedup, 4 clients", "rate",
             lambda s: self.run_dedup(s, 4)),
            ("batch100_4", "send_batch 100, 4 clients", "rate", lambda s: self.run_batch(s, 4)),
            ("rd1_4", f"read 1 + delete, 4 clients ({o.backlog:,} backlog)", "rate",
             lambda s: self.run_read_delete(s, 4)),
            ("rd1_16", f"read 1 + delete, 16 clients ({o.backlog:,} backlog)", "rate",
             lambda s: self.run_read_delete(s, 16)),
            ("ra100_4", f"read 100 + archive, 4 clients ({o.backlog:,} backlog)", "rate",
             lambda s: self.run_read_archive(s, 4)),
            ("prio1_4", f"read 1 + delete, priority vs plain ({o.backlog:,} backlog)", "rate",
             lambda s: self.run_priority(s, 4)),
            ("prio1_4p", f"read 1 + delete, priority vs policy ({o.backlog:,} backlog)", "rate",
             lambda s: self.run_priority(s, 4, base_policy=True)),
            ("mixed", "4 producers + 4 consumers (consumed)", "rate", self.run_mixed),
            ("backlog", f"read 1, {o.invisible:,} invisible head (ms/read)", "ms", self.run_backlog),
            ("grouped10", f"read_grouped 10 + delete, {o.backlog:,} msgs / {o.backlog // 100:,} groups (ms)",
             "ms", lambda s: self.run_grouped(s, o.backlog, o.backlog // 100)),
            ("grouped10s", f"read_grouped 10 + delete, {o.backlog // 4:,} msgs / {o.backlog // 400:,} groups (ms)",
             "ms", lambda s: self.run_grouped(s, o.backlog // 4, o.backlog // 400)),
            ("grouped10b", f"read_grouped 10 + delete, {o.invisible:,} in flight in 1 group in front of "
             f"{o.backlog // 2:,} msgs / {o.backlog // 200:,} groups (ms)", "ms",
             lambda s: self.run_grouped(s, o.backlog // 2, o.backlog // 200, o.invisible)),
            ("latency", "read_with_poll wake vs LISTEN/NOTIFY (ms)", "latency", self.run_latency),
            ("wake_vt", "read_with_poll(.., 100) wake at vt vs polling every 100 ms (ms)", "latency",
             lambda s: self.run_wake_vt(s)),
            ("nack_4", "read 1 + nack 0 vs read 1 + set_vt 0, 4 clients", "rate", lambda s: self.run_nack(s, 4)),
            ("status", f"status(q, id), {o.status_rows:,} msgs in each of queue, archive, invalid queue (ms)", "ms",
             lambda s: self.run_status(s)),
            ("memory", f"backend memory growth over {o.memory_calls:,} calls (kB)", "kB", self.run_memory),
            # Issue 12 item 5: metrics in O(1) per queue in depth.
            ("metrics", f"metrics, {o.metrics_depth:,} msgs, a tenth invisible (ms)", "ms", self.run_metrics),
            ("metrics_vt", f"metrics, {o.metrics_depth:,} msgs + 10,000 at distinct future vts (ms)", "ms",
             lambda s: self.run_metrics(s, spread=10_000)),
            # Issue 12: storage at scale.
            ("pop1_4", f"pop 1, 4 clients ({o.backlog:,} backlog)", "rate", lambda s: self.run_pop(s, 4)),
            ("pipeline100", f"send_batch 100 x {o.pipeline_producers} + read 100 + archive x "
             f"{o.pipeline_consumers} (consumed)", "rate", lambda s: self.run_pipeline(s)),
            ("held_xmin", f"4 producers + 4 consumers, {o.held_seconds} s, REPEATABLE READ snapshot held",
             "windows", lambda s: self.run_held_xmin(s)),
        ] + [
            (f"consumers_{n}", f"read 1 + delete, {n} clients ({o.consumers_backlog:,} backlog)", "rate",
             lambda s, n=n: self.run_consumers(s, n)) for n in (16, 64, 128, 256)
        ] + [
            # Issue 8: grouped reads at depth and concurrent.
            ("grouped10_1m", "read_grouped 10 + delete, 1,000,000 msgs / 10,000 groups (ms)", "ms",
             lambda s: self.run_grouped(s, 1_000_000, 10_000)),
            ("grouped10_8",
             f"read_grouped 10 + delete, 8 clients, {o.backlog // 1000:,}k / {o.backlog // 100:,} groups",
             "rate", lambda s: self.run_grouped_concurrent(s, 8)),
        ]

    def reps(self, key, kind):
        """Repetitions of a row: --reps, else the row's own count in this mode, else the mode's."""
        if self.opts.reps_given:
            return self.opts.reps
        if kind == "kB":
            return 1
        for prefix, n in self.opts.row_reps.items():
            if key.startswith(prefix):
                return n
        return self.opts.reps

    def pgmq_runs(self, key):
        """Whether PGMQ's loaded script has what row key uses; rows of our extras (topics, ...) have no PGMQ run."""
        if key.startswith("grouped"):
            return self.pgmq_has("read_grouped") and self.pgmq_has("create_fifo_index")
        return key in PGMQ_ROWS or key.startswith("consumers_")

    def main(self):
        o = self.opts
        self.extra = {}
        self.consumer_rates = {}
        rows = [r for r in self.rows() if not o.only or r[0] in o.only or
                (r[0].startswith("consumers_") and "consumers_N" in o.only)]
        print(f"# mode: {'full' if o.full else 'quick'}, synchronous_commit = {'off' if o.sync_off else 'on'}, "
              f"{o.reps} repetitions of {o.seconds} s per system, interleaved ours/base; "
              f"backlog {o.backlog:,}, invisible head {o.invisible:,}, latency samples {o.samples}/repetition"
              + (f"; pgmq column: PGMQ's script in database {self.ref_db}" if self.ref else ""),
              flush=True)
        results = []
        for key, title, kind, fn in rows:
            vals = {system: [] for system in self.systems}
            # Memory growth is one long session per system, not a rate: one repetition.
            for rep in range(self.reps(key, kind)):
                for system in self.systems:
                    if system == "pgmq" and not self.pgmq_runs(key):
                        continue
                    started = time.time()
                    v = fn(system)
                    vals[system].append(v)
                    if kind == "windows":
                        shown = " / ".join(f"{x:,.0f}" for x in (v["free"]["rate"], v["held"]["rate"]))
                    else:
                        shown = f"p50 {statistics.median(v):.2f} ms" if kind == "latency" else f"{v:,.2f}"
                    log(f"  {key} rep {rep + 1} {system}: {shown} ({time.time() - started:.0f} s)")
            results.append((key, title, kind, vals))
            self.print_row(title, kind, vals)
        print()
        self.print_table(results)
        for (key, system), notes in sorted(self.extra.items()):
            for n in notes:
                print(f"# {key} {system}: {n}")
        for system, by_n in sorted(self.consumer_rates.items()):
            if 16 in by_n and 256 in by_n:
                a, b = statistics.median(by_n[16]), statistics.median(by_n[256])
                print(f"# consumers_N {system}: " + ", ".join(f"{n} {statistics.median(r):,.0f}" for n, r in
                                                             sorted(by_n.items())) +
                      f" msgs/s; 16 -> 256 clients: {b / a:.2f}x ({'falls' if b < 0.9 * a else 'holds'})")

    def print_row(self, title, kind, vals):
        print(self.format_row(title, kind, vals), flush=True)

    @staticmethod
    def format_row(title, kind, vals):
        if kind == "windows":
            return format_windows(title, vals)
        line = Bench.format_two(title, kind, vals)
        if "pgmq" not in vals:
            return line
        # The third column: PGMQ's script, and ours/pgmq (or "-" where PGMQ has no equivalent).
        if not vals["pgmq"]:
            return f"{line:<91} | pgmq {'-':>10}"
        if kind == "latency":
            s = sorted(x for rep in vals["pgmq"] for x in rep)
            return f"{line} | pgmq p50 {s[len(s) // 2]:7.2f} p99 {s[min(len(s) - 1, int(.99 * len(s)))]:7.2f}"
        p = statistics.median(vals["pgmq"])
        if kind == "kB":
            return f"{line:<91} | pgmq {max(vals['pgmq']):10,.1f}"
        if kind == "ms":
            ratio = statistics.median(b / a for a, b in zip(vals["ours"], vals["pgmq"]))
            return f"{line:<91} | pgmq {p:10,.3f} {ratio:8.2f}x faster"
        ratio = statistics.median(a / b for a, b in zip(vals["ours"], vals["pgmq"]))
        return f"{line:<91} | pgmq {p:10,.0f} {ratio:8.2f}"

    @staticmethod
    def format_two(title, kind, vals):
        if kind == "latency":
            def pct(samples, p):
                s = sorted(samples)
                return s[min(len(s) - 1, int(p * len(s)))]
            ours = [x for rep in vals["ours"] for x in rep]
            base = [x for rep in vals["base"] for x in rep]
            return (f"{title:<52} p50 {pct(ours, .5):7.2f} p99 {pct(ours, .99):7.2f} | "
                    f"p50 {pct(base, .5):7.2f} p99 {pct(base, .99):7.2f} | {len(ours)} samples")
        # The ratio is the median of the ratios of runs made back to back (A B), which share
        # the machine's load of the moment: steadier than a ratio of medians on a busy machine.
        ours = statistics.median(vals["ours"])
        base = statistics.median(vals["base"])
        if kind == "kB":
            return f"{title:<52} {max(vals['ours']):14,.1f} {max(vals['base']):14,.1f}"
        if kind == "ms":
            ratio = statistics.median(b / a for a, b in zip(vals["ours"], vals["base"]))
            return f"{title:<52} {ours:14,.3f} {base:14,.3f} {ratio:8.2f}x faster"
        ratio = statistics.median(a / b for a, b in zip(vals["ours"], vals["base"]))
        return f"{title:<52} {ours:14,.0f} {base:14,.0f} {ratio:8.2f}"

    def print_table(self, results):
        header = f"{'workload':<52} {'ours msgs/s':>14} {'base msgs/s':>14} {'ours/base':>9}"
        print(f"{header:<91} | {'pgmq msgs/s':>15} {'ours/pgmq':>8}" if self.ref else header)
        for key, title, kind, vals in results:
            print(self.format_row(title, kind, vals))


# Rows PGMQ's own script can run (the grouped rows too when it has read_grouped; see Bench.pgmq_runs).
PGMQ_ROWS = {"send1_4", "send1_16", "batch100_4", "rd1_4", "rd1_16", "ra100_4", "mixed", "backlog", "latency",
             "memory", "pop1_4", "pipeline100", "held_xmin"}


def format_windows(title, vals):
    """The held_xmin block: per system, the run without and with the held snapshot, one line each."""
    lines = [title]
    for system, runs in vals.items():
        for rep, v in enumerate(runs):
            for variant in ("free", "held"):
                r = v[variant]
                lines.append(
                    f"  {system:<4} {'no snapshot' if variant == 'free' else 'snapshot held':<13} "
                    f"{r['rate']:8,.0f} msgs/s | per window: " + " ".join(f"{x:,.0f}" for x in r["windows"]) +
                    " | index entries read per message: " + " ".join(f"{x:,.0f}" for x in r.get("walks", [])) +
                    f" | depth {r['depth'][0]:,}->{r['depth'][1]:,}, dead tuples {r['dead']:,}, "
                    f"table {r['table'] // 1024:,} kB + indexes {r['index'] // 1024:,} kB")
        if not runs:
            lines.append(f"  {system:<4} -")
    return "\n".join(lines)


# One cycle of the memory row: 3 messages in, 3 out, 7 calls of the API (ours) in 5 statements.
MEMORY_CYCLE = {
    "ours": [
        f"SELECT pgmq.send('{Q}', '{MSG}'::jsonb)",
        f"SELECT pgmq.send_batch('{Q}', ARRAY['{MSG}', '{MSG}']::jsonb[])",
        f"SELECT pgmq.delete('{Q}', (SELECT msg_id FROM pgmq.read('{Q}', 30, 1)))",
        f"SELECT pgmq.archive('{Q}', (SELECT msg_id FROM pgmq.read('{Q}', 30, 1)))",
        f"SELECT count(*) FROM pgmq.pop('{Q}')",
    ],
    "base": [
        f"INSERT INTO {BASE} (vt, message) VALUES (clock_timestamp(), '{MSG}'::jsonb) RETURNING msg_id",
        f"INSERT INTO {BASE} (vt, message) SELECT clock_timestamp(), m FROM unnest(ARRAY['{MSG}', '{MSG}']::jsonb[]) "
        "AS u(m) RETURNING msg_id",
    ] + [f"DELETE FROM {BASE} WHERE msg_id = (SELECT msg_id FROM {BASE} WHERE vt <= clock_timestamp() ORDER BY msg_id "
         f"LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING {COLS}"] * 3,
}


def backend_memory(conn):
    """Bytes in all memory contexts of conn's backend."""
    return conn.execute("SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts").fetchone()[0]


def latency_samples(system, samples, options, dbname="postgres"):
    """Send-to-receive latency in ms: from just before the producer's COMMIT to the consumer's return."""
    kw = {"dbname": dbname, "options": options} if options else {"dbname": dbname}
    cons = psycopg.connect(autocommit=True, **kw)
    prod = psycopg.connect(autocommit=False, **kw)
    if system == "base":
        cons.execute("SET plan_cache_mode = force_generic_plan")
        cons.execute("LISTEN bq_chan")
    ready = threading.Semaphore(0)
    got = []
    errors = []
    read_sql = BASE_READ.replace(":n", "1")

    def consumer():
        try:
            notifies = cons.notifies() if system == "base" else None
            for _ in range(samples):
                ready.release()
                if system != "base":
                    rows = cons.execute(f"SELECT msg_id FROM pgmq.read_with_poll('{Q}', 30, 1, 5, 100)",
                                        prepare=True).fetchall()
                    t1 = time.perf_counter()
                    cons.execute(f"SELECT pgmq.delete('{Q}', %s::bigint)", (rows[0][0],), prepare=True)
                else:
                    next(notifies)
                    rows = cons.execute(read_sql, prepare=True).fetchall()
                    t1 = time.perf_counter()
                    cons.execute(f"DELETE FROM {BASE} WHERE msg_id = %s", (rows[0][0],), prepare=True)
                got.append(t1)
        except Exception as e:  # reported below
            errors.append(e)
            ready.release()

    th = threading.Thread(target=consumer)
    th.start()
    sent = []
    for _ in range(samples):
        ready.acquire()
        if errors:
            break
        time.sleep(0.01)  # let the consumer reach its wait
        if system != "base":
            prod.execute(f"SELECT pgmq.send('{Q}', %s::jsonb)", (MSG,), prepare=True)
        else:
            prod.execute(f"INSERT INTO {BASE} (vt, message) VALUES (clock_timestamp(), %s::jsonb)", (MSG,),
                         prepare=True)
            prod.execute("NOTIFY bq_chan")
        t0 = time.perf_counter()
        prod.commit()
        sent.append(t0)
        while len(got) < len(sent) and not errors:
            time.sleep(0.0005)
    th.join()
    cons.close()
    prod.close()
    if errors:
        raise errors[0]
    return [(b - a) * 1000.0 for a, b in zip(sent, got)]


def wake_vt_samples(system, samples, options):
    """Lateness in ms of a consumer at vt expiry, by the server's clock: from the vt of the queue's only
    message (set a few tens of ms ahead by an UPDATE) to the last_read_at the read that took it wrote.
    Ours: read_with_poll(q, 30, 1, 5, 100) called right after the UPDATE; base: the baseline read,
    repeated every 100 ms while it finds nothing (what a careful client does without wake-ups)."""
    kw = {"dbname": "postgres", "options": options} if options else {"dbname": "postgres"}
    conn = psycopg.connect(autocommit=True, **kw)
    table = f"pgmq.q_{Q}" if system == "ours" else BASE
    if system == "ours":
        conn.execute(f"SELECT pgmq.send('{Q}', %s::jsonb)", (MSG,))
    else:
        conn.execute("SET plan_cache_mode = force_generic_plan")
        conn.execute(f"INSERT INTO {BASE} (vt, message) VALUES (clock_timestamp(), %s::jsonb)", (MSG,))
    read_sql = BASE_READ.replace(":n", "1")
    out = []
    for i in range(samples):
        ahead = 0.02 + (i * 0.037) % 0.1  # 20 to 120 ms, spread over the base's polling phase
        (vt,) = conn.execute(f"UPDATE {table} SET vt = clock_timestamp() + make_interval(secs => %s) RETURNING vt",
                             (ahead,)).fetchone()
        if system == "ours":
            row = conn.execute(f"SELECT last_read_at FROM pgmq.read_with_poll('{Q}', 30, 1, 5, 100)",
                               prepare=True).fetchone()
            read_at = row[0]
        else:
            while True:
                row = conn.execute(read_sql, prepare=True).fetchone()
                if row is not None:
                    break
                time.sleep(0.1)
            read_at = row[3]
        out.append((read_at - vt).total_seconds() * 1000.0)
    conn.close()
    return out


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--full", action="store_true")
    p.add_argument("--sync-off", action="store_true")
    p.add_argument("--only", default="")
    p.add_argument("--reps", type=int)
    p.add_argument("--seconds", type=int)
    p.add_argument("--list", action="store_true")
    o = p.parse_args()
    o.only = [x for x in o.only.split(",") if x]
    o.reps_given = o.reps is not None
    if o.full:
        defaults = dict(reps=5, seconds=20, backlog=1_000_000, mixed_backlog=100_000, invisible=500_000,
                        tail=20_000, backlog_seconds=10, samples=500, memory_calls=1_000_000, wake_samples=100,
                        status_rows=1_000_000,
                        held_seconds=120, held_window=10, grouped_cap_seconds=60, consumers_backlog=500_000,
                        pipeline_backlog=100_000,
                        metrics_depth=10_000_000,
                        row_reps={"held_xmin": 1, "consumers_": 3, "grouped10_1m": 3, "metrics": 1})
    else:
        defaults = dict(reps=5, seconds=3, backlog=200_000, mixed_backlog=20_000, invisible=100_000, tail=5_000,
                        backlog_seconds=2, samples=100, memory_calls=100_000, wake_samples=12,
                        status_rows=200_000,
                        held_seconds=30, held_window=5, grouped_cap_seconds=20, consumers_backlog=100_000,
                        pipeline_backlog=20_000,
                        metrics_depth=1_000_000,
                        row_reps={"held_xmin": 1, "consumers_": 2, "grouped10_1m": 1, "pop1_4": 3, "metrics": 2,
                                  "pipeline100": 3, "grouped10_8": 3})
    defaults.update(pipeline_producers=1, pipeline_consumers=3)
    for k, v in defaults.items():
        if getattr(o, k, None) is None:
            setattr(o, k, v)
    return o


if __name__ == "__main__":
    opts = parse()
    if opts.list:
        for key, title, kind, _ in Bench.rows(type("X", (), {"opts": opts, "run_mixed": None, "run_backlog": None,
                                                              "run_latency": None, "run_memory": None,
                                                              "run_metrics": None})()):
            print(f"{key:<12} {title}")
        sys.exit(0)
    Bench(opts).main()
