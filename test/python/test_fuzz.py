"""test_fuzz.py: every function of schema pgmq called a few thousand times with hostile arguments.

The functions are found in pg_proc when the test runs (every overload, with its argument types;
only trigger functions and functions not granted to PUBLIC are left out), so new functions are
fuzzed without changing this file. Arguments come from fuzzgen.Generator with a fixed seed
(printed). Calls run as an ordinary role (USAGE on schema pgmq, privileges on some queues, one
queue owned by another role) and, for about a third of them, as the superuser, each with a
statement timeout; a quarter of them in a savepoint of a transaction that commits after it (a
failed call rolled back to the savepoint). The test fails on

  * a lost connection or a restarted server (a crash),
  * SQLSTATE class XX (internal error) or 58 (system error),
  * a statement timeout, except for a *_with_poll read asked to wait that long (a hang),
  * a WARNING about leaked resources,
  * a failed call that changed anything: the fingerprint of schema pgmq (its relations, columns,
    triggers, constraints, indexes, functions, privileges and the rows of every table, but not
    sequence positions) after the failed call must equal the one before it.

The database is a template, so the background worker never runs in it (the launcher skips
templates) and nothing moves messages between two fingerprints but the calls themselves
(run_maintenance included). Every 250 calls the fixture queues are recreated where a call
dropped them, their privileges restored and all queues emptied, so fingerprints stay cheap.
"""
import collections
import os
import time

import psycopg
import pytest
from psycopg import sql
from psycopg.types.string import TextLoader

import fuzzgen

# PGMQ_FUZZ_SEED runs another sequence (to explore; the suite uses the fixed one).
SEED = int(os.environ.get("PGMQ_FUZZ_SEED", "20261201"))
CALLS = 2500
RESET_EVERY = 250
STATEMENT_TIMEOUT_MS = 2000
SUPERUSER_SHARE = 0.3
TRANSACTION_SHARE = 0.25
DB = "pgmq_fuzz"
USER = "pgmq_fuzz_user"
OTHER = "pgmq_fuzz_other"

# Schema-wide fingerprint, one row per part; installed outside schema pgmq so it is not fuzzed.
FINGERPRINT_FUNCTION = r"""
CREATE FUNCTION fuzz_probe.fingerprint() RETURNS TABLE (part text, hash text) LANGUAGE plpgsql AS $$
DECLARE
    r record;
    cols text;
BEGIN
    RETURN QUERY SELECT 'schema', md5(format('%s %s', n.nspowner::regrole, n.nspacl))
      FROM pg_namespace AS n WHERE n.nspname = 'pgmq';
    RETURN QUERY SELECT 'relations', md5(coalesce(string_agg(format('%s %s %s %s %s %s', c.relname, c.relkind,
                 c.relpersistence, c.reloptions, c.relacl, c.relowner::regrole), E'\n' ORDER BY c.relname), ''))
      FROM pg_class AS c WHERE c.relnamespace = 'pgmq'::regnamespace;
    RETURN QUERY SELECT 'columns', md5(coalesce(string_agg(format('%s.%s %s %s %s %s %s', c.relname, a.attname,
                 a.atttypid::regtype, a.attnum, a.attnotnull, a.attisdropped, a.attacl), E'\n'
                 ORDER BY c.relname, a.attnum), ''))
      FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
     WHERE c.relnamespace = 'pgmq'::regnamespace AND a.attnum > 0;
    RETURN QUERY SELECT 'triggers', md5(coalesce(string_agg(format('%s %s', t.tgenabled, pg_get_triggerdef(t.oid)),
                 E'\n' ORDER BY c.relname, t.tgname), ''))
      FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid WHERE c.relnamespace = 'pgmq'::regnamespace;
    RETURN QUERY SELECT 'constraints', md5(coalesce(string_agg(format('%s %s %s', c.relname, k.conname,
                 pg_get_constraintdef(k.oid)), E'\n' ORDER BY c.relname, k.conname), ''))
      FROM pg_constraint AS k JOIN pg_class AS c ON c.oid = k.conrelid WHERE c.relnamespace = 'pgmq'::regnamespace;
    RETURN QUERY SELECT 'indexes', md5(coalesce(string_agg(pg_get_indexdef(i.indexrelid), E'\n'
                 ORDER BY c.relname, i.indexrelid::regclass::text), ''))
      FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indrelid WHERE c.relnamespace = 'pgmq'::regnamespace;
    RETURN QUERY SELECT 'rules', md5(coalesce(string_agg(pg_get_ruledef(w.oid), E'\n'
                 ORDER BY c.relname, w.rulename), ''))
      FROM pg_rewrite AS w JOIN pg_class AS c ON c.oid = w.ev_class WHERE c.relnamespace = 'pgmq'::regnamespace;
    RETURN QUERY SELECT 'row security', md5(coalesce(string_agg(format('%s %s %s %s', c.relname, p.polname,
                 pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)), E'\n'
                 ORDER BY c.relname, p.polname), ''))
      FROM pg_policy AS p JOIN pg_class AS c ON c.oid = p.polrelid WHERE c.relnamespace = 'pgmq'::regnamespace;
    RETURN QUERY SELECT 'functions', md5(coalesce(string_agg(format('%s(%s) %s %s %s %s %s %s %s', p.proname,
                 p.proargtypes, p.proallargtypes, p.proargnames, p.proowner::regrole, p.proacl, p.prosecdef,
                 p.proconfig, md5(p.prosrc)), E'\n' ORDER BY p.proname, p.proargtypes::text), ''))
      FROM pg_proc AS p WHERE p.pronamespace = 'pgmq'::regnamespace;
    -- Rows: their place and version (ctid, xmin: any committed change makes a new version) and
    -- their values; jsonb values by size only, so megabyte messages are not detoasted every time.
    FOR r IN SELECT c.oid, c.relname FROM pg_class AS c
              WHERE c.relnamespace = 'pgmq'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname LOOP
        SELECT string_agg(CASE WHEN a.atttypid IN ('jsonb'::regtype, 'json'::regtype)
                               THEN format('pg_column_size(t.%I)', a.attname) ELSE format('t.%I', a.attname) END,
                          ', ' ORDER BY a.attnum)
          INTO cols FROM pg_attribute AS a WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped;
        part := 'rows of ' || r.relname;
        EXECUTE format('SELECT md5(coalesce(string_agg(concat_ws(''|'', t.ctid, t.xmin, %s), E''\n'' ORDER BY t.ctid),'
                       ' '''')) FROM pgmq.%I AS t', cols, r.relname) INTO hash;
        RETURN NEXT;
    END LOOP;
END
$$;
"""

# Functions to call: every overload in schema pgmq but trigger functions and what PUBLIC may not execute.
DISCOVER = """
SELECT p.proname, p.prokind, pg_get_function_identity_arguments(p.oid),
       array(SELECT format_type(u.t, NULL) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS u(t, n) ORDER BY u.n),
       array(SELECT coalesce(u.name, '') FROM unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS u(name, mode, n)
              WHERE coalesce(u.mode, 'i') IN ('i', 'b', 'v') ORDER BY u.n)
  FROM pg_proc AS p
 WHERE p.pronamespace = 'pgmq'::regnamespace
   AND p.prorettype <> 'trigger'::regtype
   AND EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
                WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
 ORDER BY 1, 3
"""

# Expected for hostile arguments: not null, invalid value, no privilege, no queue, not supported.
COMMON_SQLSTATES = {"22004", "22023", "42501", "42P01", "0A000"}

# Queue privileges of the ordinary role: fixture queue -> what it gets (OWNER: it owns the queue's
# tables, OTHER: the other role does).
FIXTURE_GRANTS = {
    "fz_mine": "OWNER", "fz_unlogged": "ALL", fuzzgen.FIXTURE_QUEUES[-1]: "ALL", "fz_readonly": "SELECT",
    "fz_private": "", "fz_other": "OTHER",
}


def admin_connect(dbname="postgres"):
    return psycopg.connect(dbname=dbname, autocommit=True)


@pytest.fixture(scope="module")
def fuzz_db():
    """fuzz_db creates the roles and the template database with pgmq and the fingerprint function."""
    with admin_connect() as admin:
        drop_fuzz_objects(admin)
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(USER)))
        admin.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(OTHER)))
        admin.execute(sql.SQL("CREATE DATABASE {} IS_TEMPLATE true").format(sql.Identifier(DB)))
    with admin_connect(DB) as conn:
        conn.execute("CREATE EXTENSION pgmq")
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA pgmq TO {}, {}").format(sql.Identifier(USER), sql.Identifier(OTHER)))
        conn.execute("CREATE SCHEMA fuzz_probe")
        conn.execute(FINGERPRINT_FUNCTION)
    yield DB
    with admin_connect() as admin:
        drop_fuzz_objects(admin)


def drop_fuzz_objects(admin):
    """drop_fuzz_objects removes the fuzz database and roles if a run left them."""
    if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone():
        admin.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(sql.Identifier(DB)))
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(DB)))
    for role in (USER, OTHER):
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


class Fuzz:
    """Fuzz runs the calls and keeps the counts and the findings."""

    def __init__(self, dbname):
        self.dbname = dbname
        self.gen = fuzzgen.Generator(SEED)
        self.findings = []
        self.sqlstates = collections.Counter()
        self.outcomes = collections.defaultdict(collections.Counter)  # signature -> outcome -> count
        self.examples = {}  # (function, SQLSTATE) -> the first such call, for the less common SQLSTATEs
        self.calls = 0
        self.successes = 0
        self.expected_poll_timeouts = 0
        self.crashes = 0
        self.observer = admin_connect(dbname)
        self.start_time = self.postmaster_start_time()
        self.connections = {}
        self.reconnect()

    def reconnect(self):
        options = f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={STATEMENT_TIMEOUT_MS // 2}"
        for conn in self.connections.values():
            conn.close()
        self.connections = {
            "superuser": psycopg.connect(dbname=self.dbname, autocommit=True, options=options),
            "user": psycopg.connect(dbname=self.dbname, user=USER, autocommit=True, options=options),
        }
        for conn in self.connections.values():
            # Results as text: Python's datetime ends at year 9999, vts need not; jsonb stays unparsed.
            conn.add_notice_handler(self.on_notice)
            for type_name in ("timestamptz", "timestamp", "date", "interval", "json", "jsonb"):
                conn.adapters.register_loader(type_name, TextLoader)

    def postmaster_start_time(self):
        return self.observer.execute("SELECT pg_postmaster_start_time()").fetchone()[0]

    def fingerprint(self):
        return dict(self.observer.execute("SELECT part, hash FROM fuzz_probe.fingerprint()").fetchall())

    def admin(self, statement, params=()):
        """admin runs a setup statement as the superuser; errors are expected (a queue a call
        dropped or broke) but an internal error is a finding."""
        try:
            return self.observer.execute(statement, params).fetchall()
        except psycopg.Error as e:
            if e.sqlstate and e.sqlstate[:2] in ("XX", "58"):
                self.findings.append(f"setup: {statement} {params}: {e.sqlstate} {e}")
            return []

    def reset_queues(self):
        """reset_queues recreates the fixture queues where needed, restores their privileges and
        owners, empties every queue and its archive and sends three messages to each fixture."""
        for name, grant in FIXTURE_GRANTS.items():
            create = "create_unlogged" if name == "fz_unlogged" else "create"
            self.admin(sql.SQL("SELECT pgmq.{}(%s)").format(sql.Identifier(create)), [name])
            tables = sql.SQL("pgmq.{}, pgmq.{}").format(sql.Identifier("q_" + name), sql.Identifier("a_" + name))
            sequence = sql.SQL("pgmq.{}").format(sql.Identifier(f"q_{name}_msg_id_seq"))
            user = sql.Identifier(USER)
            owner = {"OWNER": sql.Identifier(USER), "OTHER": sql.Identifier(OTHER)}.get(grant, sql.SQL("CURRENT_USER"))
            for table in ("q_" + name, "a_" + name):
                self.admin(sql.SQL("ALTER TABLE pgmq.{} OWNER TO {}").format(sql.Identifier(table), owner))
            if grant == "OWNER":
                grant = "ALL"  # what a call as superuser revoked
            else:
                self.admin(sql.SQL("REVOKE ALL ON {} FROM {}").format(tables, user))
            if grant in ("ALL", "SELECT"):
                self.admin(sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(grant), tables, user))
                self.admin(sql.SQL("GRANT {} ON SEQUENCE {} TO {}").format(sql.SQL(grant), sequence, user))
        for (name,) in self.admin("SELECT queue_name FROM pgmq.meta ORDER BY 1"):
            self.admin("SELECT pgmq.purge_queue(%s)", [name])
            self.admin(sql.SQL("DELETE FROM pgmq.{}").format(sql.Identifier("a_" + name)))
        for name in FIXTURE_GRANTS:
            rows = self.admin("SELECT * FROM pgmq.send_batch(%s, ARRAY['{\"n\": 1}', '{\"n\": 2}', '{}']::jsonb[])",
                              [name])
            self.gen.remember_msg_ids([r[0] for r in rows])

    def server_alive(self):
        """server_alive waits up to 30 s for the server to accept connections again after a lost one."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.observer.close()
                self.observer = admin_connect(self.dbname)
                return True
            except psycopg.OperationalError:
                time.sleep(0.5)
        return False

    def call(self, function, baseline):
        """call makes one call of function (name, kind, signature, types, argnames) with hostile
        arguments; returns the fingerprint after it."""
        name, kind, signature, types, argnames = function
        if len(argnames) != len(types):
            argnames = [""] * len(types)
        args = [self.gen.value(t, n) for t, n in zip(types, argnames)]
        role = "superuser" if self.gen.rng.random() < SUPERUSER_SHARE else "user"
        head = "CALL {}.{}({})" if kind == "p" else "SELECT * FROM {}.{}({})"
        query = sql.SQL(head).format(sql.Identifier("pgmq"), sql.Identifier(name),
                                     sql.SQL(", ").join(sql.SQL("{}::{}").format(sql.Placeholder(), sql.SQL(t))
                                                        for t in types))
        shown = f"{role}: pgmq.{name}({', '.join(fuzzgen.describe(a) for a in args)})"
        key = f"{name}({signature})"
        self.calls += 1
        in_transaction = self.gen.rng.random() < TRANSACTION_SHARE
        if in_transaction:
            shown += " in a savepoint"
        conn = self.connections[role]
        rows, description, e = self.execute(conn, query, args, in_transaction)
        if e is not None:
            if conn.broken or conn.closed:
                self.crashes += 1
                self.outcomes[key]["lost connection"] += 1
                self.findings.append(f"connection lost (crash?): {shown}: {e}")
                if not self.server_alive():
                    pytest.fail(f"server no longer accepts connections after {shown}\n{self.summary()}")
                self.reconnect()
                return self.fingerprint()
            state = e.sqlstate or "client: " + type(e).__name__
            self.sqlstates[state] += 1
            self.outcomes[key][state] += 1
            if state not in COMMON_SQLSTATES:
                self.examples.setdefault((name, state), f"{shown}: {e.diag.message_primary}")
            if state[:2] in ("XX", "58") or e.sqlstate is None:
                self.findings.append(f"{state} {shown}: {e.diag.message_primary}")
            elif state == "57014":
                if name.endswith("_with_poll") and self.waits_longer_than_timeout(argnames, args):
                    self.expected_poll_timeouts += 1
                else:
                    self.findings.append(f"statement timeout (hang) {shown}")
            after = self.fingerprint()
            changed = sorted(part for part in set(after) | set(baseline) if after.get(part) != baseline.get(part))
            if changed:
                self.findings.append(f"failed call ({state}) changed {', '.join(changed)}: {shown}: "
                                     f"{e.diag.message_primary}")
            return after
        self.successes += 1
        self.outcomes[key]["ok"] += 1
        if name in ("send", "send_batch"):
            self.gen.remember_msg_ids([r[0] for r in rows])
        elif rows and description[0].name == "msg_id":
            self.gen.remember_msg_ids([r[0] for r in rows if isinstance(r[0], int)])
        return self.fingerprint()

    @staticmethod
    def execute(conn, query, args, in_transaction):
        """execute runs the call, alone or in a savepoint of a transaction that then commits (its
        error rolled back to the savepoint); returns (rows, result description, error or None)."""
        rows, description, error = [], None, None
        try:
            if in_transaction:
                conn.execute("BEGIN")
                conn.execute("SAVEPOINT fuzz_call")
            try:
                cur = conn.execute(query, args)
                description = cur.description
                rows = cur.fetchall() if description else []
            except psycopg.Error as e:
                if not in_transaction or conn.broken:
                    raise
                error = e
                conn.execute("ROLLBACK TO SAVEPOINT fuzz_call")
            if in_transaction:
                conn.execute("COMMIT")
        except psycopg.Error as e:
            error = e
            if not conn.broken and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
        return rows, description, error

    def on_notice(self, diag):
        """on_notice makes a WARNING about leaked resources (a missing cleanup) a finding."""
        if diag.severity_nonlocalized == "WARNING" and "leak" in (diag.message_primary or ""):
            self.findings.append(f"WARNING after call {self.calls}: {diag.message_primary}")

    @staticmethod
    def waits_longer_than_timeout(argnames, args):
        given = dict(zip(argnames, args))
        try:
            return int(given.get("max_poll_seconds") or 0) * 1000 >= STATEMENT_TIMEOUT_MS
        except ValueError:
            return False

    def summary(self):
        lines = [f"fuzz seed {SEED}: {self.calls} calls, {self.successes} succeeded, "
                 f"{self.calls - self.successes} failed, {self.crashes} lost connections, "
                 f"{self.expected_poll_timeouts} *_with_poll waits cut by the statement timeout",
                 "errors by SQLSTATE: " + ", ".join(f"{s} {n}" for s, n in sorted(self.sqlstates.items()))]
        for key in sorted(self.outcomes):
            outcome = self.outcomes[key]
            lines.append(f"  {key}: " + ", ".join(f"{o} {n}" for o, n in sorted(outcome.items())))
        lines.append("first call per function and less common SQLSTATE:")
        lines.extend(f"  {state} {example}" for (_, state), example in sorted(self.examples.items()))
        lines.append(f"{len(self.findings)} findings" + (":" if self.findings else ""))
        lines.extend("  " + f for f in self.findings[:60])
        return "\n".join(lines)

    def close(self):
        for conn in self.connections.values():
            conn.close()
        self.observer.close()


def test_fuzz_every_pgmq_function(fuzz_db):
    fuzz = Fuzz(fuzz_db)
    try:
        activity = fuzz.observer.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND "
                                         "backend_type = 'pgmq worker'", [fuzz_db]).fetchone()[0]
        assert activity == 0, "a pgmq worker runs in the fuzz database: fingerprints would see it move messages"
        functions = fuzz.observer.execute(DISCOVER).fetchall()
        names = {f[0] for f in functions}
        assert {"send", "read", "create", "set_policy", "run_maintenance"} <= names, names
        print(f"\nfuzz seed {SEED}: {len(functions)} functions of schema pgmq, {CALLS} calls")
        # Every overload once per round, in a seeded order.
        schedule = []
        while len(schedule) < CALLS:
            batch = list(functions)
            fuzz.gen.rng.shuffle(batch)
            schedule.extend(batch)
        baseline = None
        for i, function in enumerate(schedule[:CALLS]):
            if i % RESET_EVERY == 0:
                fuzz.reset_queues()
                baseline = fuzz.fingerprint()
            baseline = fuzz.call(function, baseline)
        assert fuzz.postmaster_start_time() == fuzz.start_time, "the server restarted"
        report = fuzz.summary()
        print(report)
        assert not fuzz.findings, report
    finally:
        fuzz.close()
