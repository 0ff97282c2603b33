"""test_versions.py: pgmq's versions, the update path 1.0.0 -> 2.0.0, and who may install.

The update test installs the frozen 1.0.0 script (sql/pgmq--1.0.0.sql) in one database, gives it
queues with messages, a policy and a notify throttle, runs ALTER EXTENSION pgmq UPDATE and compares
the catalog of schema pgmq with a database where CREATE EXTENSION pgmq installed 2.0.0 and the same
queues were made: functions, types, tables, columns, constraints, indexes, triggers, views,
sequences, grants and extension membership must be identical, and the messages must have survived.
"""
import difflib
import glob
import os
import re
import subprocess

import psycopg
import pytest
from psycopg import errors, sql

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OLD_DB = "pgmq_py_versions_updated"
NEW_DB = "pgmq_py_versions_fresh"
ROLE = "pgmq_py_versions_nosuper"
CURRENT = re.search(r"^default_version\s*=\s*'([^']+)'", open(os.path.join(REPO, "pgmq.control")).read(), re.M)[1]

# Each entry: a name and a query over schema pgmq whose rows must match between the databases.
CATALOG = {
    "schema": """
        SELECT n.nspname, pg_get_userbyid(n.nspowner), n.nspacl::text FROM pg_namespace AS n
         WHERE n.nspname = 'pgmq'""",
    "extension": """
        SELECT e.extversion, e.extrelocatable, e.extnamespace::regnamespace::text,
               ARRAY(SELECT c::regclass::text FROM unnest(e.extconfig) AS c ORDER BY 1), e.extcondition
          FROM pg_extension AS e WHERE e.extname = 'pgmq'""",
    "functions": """
        SELECT p.oid::regprocedure::text, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid),
               l.lanname, p.prosrc, p.probin, p.prokind, p.provolatile, p.proisstrict, p.prosecdef,
               p.proleakproof, p.proparallel, p.procost, p.prorows, p.proretset, p.proconfig,
               pg_get_userbyid(p.proowner), p.proacl::text, obj_description(p.oid, 'pg_proc')
          FROM pg_proc AS p JOIN pg_language AS l ON l.oid = p.prolang
         WHERE p.pronamespace = 'pgmq'::regnamespace""",
    "types": """
        SELECT t.typname, t.typtype, t.typcategory, t.typelem::regtype::text, t.typrelid <> 0,
               pg_get_userbyid(t.typowner), t.typacl::text
          FROM pg_type AS t WHERE t.typnamespace = 'pgmq'::regnamespace""",
    "relations": """
        SELECT c.relname, c.relkind, c.relpersistence, c.reloptions, pg_get_userbyid(c.relowner),
               c.relacl::text, c.relrowsecurity, c.relreplident, obj_description(c.oid, 'pg_class')
          FROM pg_class AS c WHERE c.relnamespace = 'pgmq'::regnamespace""",
    # Columns in order, without attnum: an update may leave dropped columns behind.
    "columns": """
        SELECT c.relname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,
               format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attgenerated,
               pg_get_expr(d.adbin, d.adrelid), a.attcollation::regcollation::text, a.attacl::text
          FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid
          LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE c.relnamespace = 'pgmq'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped""",
    "constraints": """
        SELECT conrelid::regclass::text, contypid::regtype::text, conname, contype,
               pg_get_constraintdef(oid), condeferrable, condeferred, convalidated
          FROM pg_constraint WHERE connamespace = 'pgmq'::regnamespace""",
    "indexes": """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), i.indisunique, i.indisprimary
          FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indrelid
         WHERE c.relnamespace = 'pgmq'::regnamespace""",
    "triggers": """
        SELECT t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
          FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
         WHERE c.relnamespace = 'pgmq'::regnamespace AND NOT t.tgisinternal""",
    "views": """
        SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class AS c
         WHERE c.relnamespace = 'pgmq'::regnamespace AND c.relkind IN ('v', 'm')""",
    "sequences": """
        SELECT s.seqrelid::regclass::text, s.seqtypid::regtype::text, s.seqstart, s.seqincrement, s.seqmax,
               s.seqmin, s.seqcache, s.seqcycle
          FROM pg_sequence AS s JOIN pg_class AS c ON c.oid = s.seqrelid
         WHERE c.relnamespace = 'pgmq'::regnamespace""",
    "members": """
        SELECT pg_describe_object(d.classid, d.objid, d.objsubid)
          FROM pg_depend AS d JOIN pg_extension AS e ON e.oid = d.refobjid
         WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'pgmq' AND d.deptype = 'e'""",
    "dependencies": """
        SELECT pg_describe_object(d.classid, d.objid, d.objsubid), d.deptype,
               pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)
          FROM pg_depend AS d
         WHERE d.deptype IN ('n', 'a', 'x') AND d.classid IN ('pg_proc'::regclass, 'pg_trigger'::regclass,
                                                          'pg_rewrite'::regclass)
           AND pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) ~ 'pgmq'""",
}


def catalog(conn):
    """catalog is every CATALOG query's rows, as sorted lines of text."""
    return {name: sorted(repr(tuple(row)) for row in conn.execute(query).fetchall())
            for name, query in CATALOG.items()}


def assert_same_catalog(updated, fresh):
    """assert_same_catalog fails with a diff of every part of the catalog that differs."""
    diffs = []
    for name in CATALOG:
        if updated[name] != fresh[name]:
            diffs.append(f"== {name} (- updated, + fresh)")
            diffs.extend(difflib.unified_diff(updated[name], fresh[name], lineterm="", n=0))
    assert not diffs, "\n".join(diffs)


def recreate_db(name):
    """recreate_db drops and creates a database."""
    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_db(name):
    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def two_dbs():
    """two_dbs yields connections to two fresh databases, dropped afterwards."""
    recreate_db(OLD_DB)
    recreate_db(NEW_DB)
    try:
        with psycopg.connect(dbname=OLD_DB, autocommit=True) as old, \
                psycopg.connect(dbname=NEW_DB, autocommit=True) as new:
            yield old, new
    finally:
        drop_db(OLD_DB)
        drop_db(NEW_DB)


def make_queues(conn):
    """make_queues gives a database the test's queues: messages, a policy, a notify throttle."""
    conn.execute("SELECT pgmq.create('upg_a')")
    conn.execute("SELECT pgmq.create('upg_dlq')")
    conn.execute("SELECT pgmq.create_unlogged('upg_unlogged')")
    conn.execute("SELECT pgmq.send('upg_a', '{\"n\": 1}')")
    conn.execute("SELECT pgmq.send('upg_a', '{\"n\": 2}', '{\"h\": \"x\"}'::jsonb)")
    conn.execute("SELECT pgmq.send_batch('upg_a', ARRAY['{\"n\": 3}', '{\"n\": 4}']::jsonb[])")
    conn.execute("SELECT pgmq.send('upg_unlogged', '{\"u\": 1}')")
    conn.execute("SELECT * FROM pgmq.read('upg_a', 0, 1)")
    conn.execute("SELECT pgmq.archive('upg_a', 4::bigint)")
    conn.execute("SELECT pgmq.set_policy('upg_a', invalid_queue => 'upg_dlq', max_deliveries => 5, "
                 "deadline_seconds => 3600)")
    conn.execute("SELECT pgmq.enable_notify_insert('upg_a', 1000)")


def messages(conn):
    """messages is every message of the test's queues and archives, with its counters and times."""
    rows = []
    for table in ("q_upg_a", "a_upg_a", "q_upg_unlogged", "q_upg_dlq"):
        rows.append((table, conn.execute(sql.SQL(
            "SELECT msg_id, read_ct, enqueued_at, vt, message, headers FROM pgmq.{} ORDER BY msg_id")
            .format(sql.Identifier(table))).fetchall()))
    return rows


def test_versions_available():
    with psycopg.connect(dbname="postgres") as conn:
        versions = {r[0] for r in conn.execute(
            "SELECT version FROM pg_available_extension_versions WHERE name = 'pgmq'")}
        paths = {(r[0], r[1]) for r in conn.execute(
            "SELECT source, target FROM pg_extension_update_paths('pgmq') WHERE path IS NOT NULL")}
        default = conn.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'pgmq'").fetchone()
    assert {"1.0.0", CURRENT} <= versions
    assert ("1.0.0", CURRENT) in paths
    assert default == (CURRENT,)


def test_update_from_1_0_0_matches_fresh_install(two_dbs):
    old, new = two_dbs
    old.execute("CREATE EXTENSION pgmq VERSION '1.0.0'")
    assert old.execute("SELECT extversion FROM pg_extension WHERE extname = 'pgmq'").fetchone() == ("1.0.0",)
    make_queues(old)
    before = messages(old)
    policy_before = old.execute("SELECT * FROM pgmq.policy('upg_a')").fetchone()
    old.execute("ALTER EXTENSION pgmq UPDATE")
    assert old.execute("SELECT extversion FROM pg_extension WHERE extname = 'pgmq'").fetchone() == (CURRENT,)

    new.execute("CREATE EXTENSION pgmq")
    make_queues(new)
    assert_same_catalog(catalog(old), catalog(new))

    # The messages, the policy and the throttle survived, and the updated functions use them.
    assert messages(old) == before
    # 2.0.0 appended the backoff settings and dedup_seconds (unset) and priorities (off) to the policy's row.
    policy_after = old.execute("SELECT * FROM pgmq.policy('upg_a')").fetchone()
    assert policy_after[:len(policy_before)] == policy_before
    assert policy_after[len(policy_before):] == (None, None, False, None, False)
    assert old.execute("SELECT queue_name, throttle_interval_ms FROM pgmq.list_notify_insert_throttles()"
                       ).fetchall() == [("upg_a", 1000)]
    assert [r[0] for r in old.execute("SELECT queue_name FROM pgmq.list_queues()")] == \
        ["upg_a", "upg_dlq", "upg_unlogged"]
    read = old.execute("SELECT msg_id, message FROM pgmq.read('upg_a', 30, 10)").fetchall()
    assert [m for _, m in read] == [{"n": 1}, {"n": 2}, {"n": 3}]
    sent = old.execute("SELECT * FROM pgmq.send('upg_a', '{\"n\": 5}')").fetchone()[0]
    assert sent > max(i for i, _ in read)
    assert old.execute("SELECT pgmq.delete('upg_a', %s)", [sent]).fetchone() == (True,)
    assert old.execute("SELECT queue_length FROM pgmq.metrics('upg_a')").fetchone() == (3,)
    old.execute("SELECT pgmq.acquire_queue_lock('upg_a')")
    assert old.execute("SELECT pgmq.drop_queue('upg_unlogged')").fetchone() == (True,)
    # Priorities on a queue that was updated (its policy set again with them): reads go by priority.
    assert old.execute("SELECT max_deliveries, priorities FROM pgmq.set_policy('upg_a', invalid_queue => 'upg_dlq', "
                       "max_deliveries => 5, deadline_seconds => 3600, priorities => true)").fetchone() == (5, True)
    old.execute("SELECT pgmq.send('upg_a', '{\"n\": 6}')")
    old.execute("SELECT pgmq.send('upg_a', '{\"n\": 7}', '{\"x-pgmq-priority\": 3}'::jsonb)")
    assert old.execute("SELECT message FROM pgmq.read('upg_a', 30, 1)").fetchone() == ({"n": 7},)


def test_policies_enforced_before_the_update(two_dbs):
    """This library on a 1.0.0 schema not yet updated still enforces that schema's policies."""
    old, _ = two_dbs
    old.execute("CREATE EXTENSION pgmq VERSION '1.0.0'")
    old.execute("SELECT pgmq.create('old_q')")
    old.execute("SELECT pgmq.create('old_dlq')")
    old.execute("SELECT pgmq.set_policy('old_q', invalid_queue => 'old_dlq', max_deliveries => 1)")
    sent = old.execute("SELECT * FROM pgmq.send('old_q', '{\"n\": 1}')").fetchone()[0]
    assert old.execute("SELECT msg_id FROM pgmq.read('old_q', 0, 1)").fetchone() == (sent,)
    moved = old.execute("SELECT queue_name, destination, messages FROM pgmq.run_maintenance()").fetchall()
    assert moved == [("old_q", "old_dlq", 1)]
    assert old.execute("SELECT count(*) FROM pgmq.q_old_q").fetchone() == (0,)
    assert old.execute("SELECT message FROM pgmq.q_old_dlq").fetchall() == [({"n": 1},)]


def test_update_refuses_pgmq_1_0_0(two_dbs):
    """PGMQ's 1.0.0 is another extension's version 1.0.0: the script refuses it (here imitated by a
    pgmq 1.0.0 without the read hint trigger function, which PGMQ never had)."""
    old, _ = two_dbs
    old.execute("CREATE EXTENSION pgmq VERSION '1.0.0'")
    old.execute("ALTER EXTENSION pgmq DROP FUNCTION pgmq._read_hint_guard()")
    old.execute("DROP FUNCTION pgmq._read_hint_guard()")
    with pytest.raises(errors.ObjectNotInPrerequisiteState, match="PGMQ 1.0.0") as raised:
        old.execute("ALTER EXTENSION pgmq UPDATE")
    assert "from PGMQ 1.5.1 or later" in raised.value.diag.message_hint
    assert old.execute("SELECT extversion FROM pg_extension WHERE extname = 'pgmq'").fetchone() == ("1.0.0",)


def test_update_refuses_schema_others_may_create_in(two_dbs):
    """The update script runs with search_path = pgmq, pg_temp, as the install script does: it
    refuses a schema pgmq where another role may create objects (42501), as CREATE EXTENSION does."""
    old, _ = two_dbs
    old.execute("CREATE EXTENSION pgmq VERSION '1.0.0'")
    old.execute(sql.SQL("DROP ROLE IF EXISTS {0}; CREATE ROLE {0}").format(sql.Identifier(ROLE)))
    try:
        old.execute(sql.SQL("GRANT CREATE ON SCHEMA pgmq TO {}").format(sql.Identifier(ROLE)))
        with pytest.raises(errors.InsufficientPrivilege, match='schema "pgmq" must be owned'):
            old.execute("ALTER EXTENSION pgmq UPDATE")
        old.execute(sql.SQL("REVOKE CREATE ON SCHEMA pgmq FROM {}").format(sql.Identifier(ROLE)))
        old.execute("ALTER EXTENSION pgmq UPDATE")
        assert old.execute("SELECT extversion FROM pg_extension WHERE extname = 'pgmq'").fetchone() == (CURRENT,)
    finally:
        old.execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(sql.Identifier(ROLE)))


def test_create_extension_needs_superuser(two_dbs):
    """The scripts create C functions: a non-superuser is refused before anything is created."""
    _, new = two_dbs
    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(ROLE)))
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(ROLE)))
    try:
        new.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(NEW_DB), sql.Identifier(ROLE)))
        with psycopg.connect(dbname=NEW_DB, user=ROLE, autocommit=True) as conn:
            with pytest.raises(errors.InsufficientPrivilege, match='permission denied to create extension "pgmq"'):
                conn.execute("CREATE EXTENSION pgmq")
        assert new.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'pgmq'").fetchone() == (0,)
    finally:
        new.execute(sql.SQL("ALTER DATABASE {} OWNER TO postgres").format(sql.Identifier(NEW_DB)))
        with psycopg.connect(dbname="postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(ROLE)))


def test_every_script_finds_its_symbols(conn):
    """Every C symbol named by an install or update script (old ones included) is in pgmq.so:
    one removed from the library would break CREATE EXTENSION ... VERSION and the updates. Both
    are read where the server under test has them (the test suite's private installation)."""
    dirs = dict(conn.execute("SELECT name, setting FROM pg_config WHERE name IN ('PKGLIBDIR', 'SHAREDIR')").fetchall())
    exported = set(subprocess.run(["nm", "-D", "--defined-only", "--format=posix",
                                   os.path.join(dirs["PKGLIBDIR"], "pgmq.so")],
                                  check=True, capture_output=True, text=True).stdout.split())
    scripts = sorted(glob.glob(os.path.join(dirs["SHAREDIR"], "extension", "pgmq--*.sql")))
    scripts = [s for s in scripts if not open(s).read().startswith("-- fixture")]
    assert any(s.endswith("pgmq--1.0.0.sql") for s in scripts)
    assert any(s.endswith("pgmq--1.0.0--2.0.0.sql") for s in scripts)
    for script in scripts:
        symbols = set(re.findall(r"'MODULE_PATHNAME',\s*'(\w+)'", open(script).read()))
        assert symbols, script
        assert symbols <= exported, (script, sorted(symbols - exported))
