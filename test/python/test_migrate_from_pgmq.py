"""test_migrate_from_pgmq.py: ALTER EXTENSION pgmq UPDATE on a database where PGMQ is installed.

For every PGMQ version the update supports, a database gets PGMQ's state of that version from the
fixture (pgmq_fixture.py: PGMQ's documented schema, stand-in function bodies), written into the
private test installation as pgmq--<version>.sql; then ALTER EXTENSION pgmq UPDATE TO '2.0.0'. The
test checks that every message, archived message, msg_id sequence, throttle row and topic binding
is kept, that pgmq's functions work on the converted queues (a consumer's held message stays hidden
and is acknowledged by its msg_id), that the catalog is that of a fresh install, and how DROP
EXTENSION behaves. Partitioned queues and names pgmq cannot address refuse the update, changing
nothing; the update waits for transactions that use a queue.
"""
import os
import subprocess
import threading

import psycopg
import pytest
from psycopg import errors, sql

import pgmq_fixture as fx
from helpers import Listener

DB = "pgmq_py_migrate"
FRESH_DB = "pgmq_py_migrate_fresh"
VERSION = "2.0.0"


def _admin():
    return psycopg.connect(dbname="postgres", autocommit=True)


def _recreate(name):
    with _admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop(name):
    with _admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def fixture_scripts():
    """fixture_scripts writes pgmq--<version>.sql of every fixture version into the server's
    extension directory (the private test installation) and removes them afterwards."""
    with _admin() as admin:
        share = admin.execute("SELECT setting FROM pg_config WHERE name = 'SHAREDIR'").fetchone()[0]
    paths = []
    for version in fx.VERSIONS:
        path = os.path.join(share, "extension", f"pgmq--{version}.sql")
        assert not os.path.exists(path) or open(path).read().startswith("-- fixture"), path
        with open(path, "w") as f:
            f.write(fx.install_script(version))
        os.chmod(path, 0o644)
        paths.append(path)
    yield
    for path in paths:
        os.unlink(path)


@pytest.fixture(scope="module")
def fresh():
    """fresh is a database with a fresh install of pgmq and queues made by its own functions."""
    _recreate(FRESH_DB)
    with psycopg.connect(dbname=FRESH_DB, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pgmq")
        conn.execute("SELECT pgmq.create('orders'), pgmq.create_unlogged('fast'), pgmq.create('mixedcase')")
        conn.execute("SELECT pgmq.enable_notify_insert('orders', 250)")
        yield conn
    _drop(FRESH_DB)


def _pgmq_db(version):
    _recreate(DB)
    conn = psycopg.connect(dbname=DB, autocommit=True)
    conn.execute(sql.SQL("CREATE EXTENSION pgmq VERSION {}").format(sql.Literal(version)))
    fx.populate(conn, version)
    return conn


@pytest.fixture
def pgmq_db(fixture_scripts):
    """pgmq_db(version) is a connection to a database in PGMQ `version`'s state (dropped afterwards)."""
    opened = []

    def make(version):
        conn = _pgmq_db(version)
        opened.append(conn)
        return conn

    yield make
    for conn in opened:
        conn.close()
    _drop(DB)


def _rows(conn, table):
    cur = conn.execute(sql.SQL("SELECT * FROM pgmq.{} ORDER BY msg_id").format(sql.Identifier(table)))
    names = [d.name for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _snapshot(conn):
    """_snapshot is every queue and archive table's rows, sequence, and PGMQ's own tables."""
    tables = [r[0] for r in conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'pgmq'::regnamespace AND relkind = 'r' "
        "AND (relname LIKE 'q\\_%' OR relname LIKE 'a\\_%') ORDER BY relname")]
    snap = {t: _rows(conn, t) for t in tables}
    for t in tables:
        if t.startswith("q_"):
            snap[t + "_seq"] = conn.execute(sql.SQL("SELECT last_value, is_called FROM pgmq.{}").format(
                sql.Identifier(t + "_msg_id_seq"))).fetchone()
    return snap


def _catalog(conn):
    """_catalog is what a fresh install and a converted database must have alike."""
    c = {}
    c["functions"] = sorted(conn.execute(
        "SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid) FROM pg_proc AS p "
        "WHERE p.pronamespace = 'pgmq'::regnamespace").fetchall())
    c["types"] = conn.execute(
        "SELECT t.typname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_type AS t "
        "JOIN pg_attribute AS a ON a.attrelid = t.typrelid WHERE t.typnamespace = 'pgmq'::regnamespace "
        "AND t.typtype = 'c' AND t.typname IN ('message_record', 'queue_record', 'metrics_result') "
        "ORDER BY 1, 2").fetchall()
    c["members"] = sorted(r[0] for r in conn.execute(
        "SELECT pg_describe_object(classid, objid, 0) FROM pg_depend WHERE deptype = 'e' AND refobjid = "
        "(SELECT oid FROM pg_extension WHERE extname = 'pgmq')"))
    c["config"] = sorted(r[0] for r in conn.execute(
        "SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'pgmq'"))
    c["own_tables"] = conn.execute(
        "SELECT c.relname, c.relpersistence, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), "
        "a.attnotnull, pg_get_expr(d.adbin, d.adrelid) FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid "
        "LEFT JOIN pg_attrdef AS d ON d.adrelid = c.oid AND d.adnum = a.attnum "
        "WHERE c.relnamespace = 'pgmq'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped "
        "AND c.relname IN ('meta', 'notify_insert_throttle', 'queue_policy', 'queue_policy_stats') "
        "ORDER BY 1, 3").fetchall()
    c["constraints"] = sorted(conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = 'pgmq'::regnamespace AND conrelid::regclass::text IN "
        "('pgmq.meta', 'pgmq.notify_insert_throttle', 'pgmq.queue_policy', 'pgmq.queue_policy_stats')").fetchall())
    return c


def _columns(conn, table):
    return conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, "
        "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute AS a "
        "LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        ["pgmq." + table]).fetchall()


def _triggers(conn, table):
    return sorted(r[0] for r in conn.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
        ["pgmq." + table]))


def _indexes(conn, table):
    return sorted(r[0] for r in conn.execute(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %s::regclass", ["pgmq." + table]))


@pytest.mark.parametrize("version", fx.VERSIONS)
def test_update_from_pgmq(version, pgmq_db, fresh):
    v = fx.v(version)
    conn = pgmq_db(version)
    before = _snapshot(conn)
    # One meta row per queue: PGMQ's oldest row of the lower-case name, its name as given.
    meta_before = conn.execute("SELECT DISTINCT ON (lower(queue_name)) queue_name, created_at FROM pgmq.meta "
                               "ORDER BY lower(queue_name), created_at, queue_name").fetchall()
    conn.execute(f"ALTER EXTENSION pgmq UPDATE TO '{VERSION}'")
    assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'pgmq'").fetchone()[0] == VERSION

    # Every row, archive and sequence as it was (last_read_at added, NULL, where PGMQ had none).
    after = _snapshot(conn)
    assert sorted(after) == sorted(before)
    for table, rows in before.items():
        if table.endswith("_seq"):
            assert after[table] == rows, table
            continue
        expected = [dict({"last_read_at": None}, **r) for r in rows]
        assert after[table] == expected, table
    assert sorted(conn.execute("SELECT queue_name, created_at FROM pgmq.meta").fetchall()) == sorted(meta_before)

    # The catalog is a fresh install's: our functions, types, members, config tables, own tables.
    assert _catalog(conn) == _catalog(fresh)
    for table in ("q_orders", "a_orders", "q_fast", "a_fast", "q_mixedcase", "a_mixedcase"):
        mine, theirs = _columns(conn, table), _columns(fresh, table)
        if v >= (1, 10, 0):
            assert mine == theirs, table
        else:  # last_read_at appended, as PGMQ's own update to 1.10 does
            assert sorted(mine) == sorted(theirs), table
    for table in ("q_orders", "q_fast", "q_mixedcase"):
        expected = [t for t in _triggers(fresh, table) if v >= (1, 7, 0) or "notify" not in t]
        assert _triggers(conn, table) == expected, table
        fifo = ["CREATE INDEX q_orders_fifo_idx ON pgmq.q_orders USING gin (headers)"]
        assert _indexes(conn, table) == sorted(_indexes(fresh, table) + (fifo if table == "q_orders" and v >= (1, 9, 0) else []))
        assert _indexes(conn, "a" + table[1:]) == _indexes(fresh, "a" + table[1:])
    persistence = dict(conn.execute(
        "SELECT relname, relpersistence FROM pg_class WHERE relname IN ('q_fast', 'q_fast_msg_id_seq', 'a_fast')"))
    assert persistence == {"q_fast": "u", "q_fast_msg_id_seq": "p", "a_fast": "p"}
    assert conn.execute("SELECT has_table_privilege('pg_monitor', 'pgmq.meta', 'SELECT')").fetchone()[0]

    # PGMQ's throttle rows (sends below update last_notified_at).
    throttles = conn.execute("SELECT queue_name, throttle_interval_ms, extract(epoch FROM last_notified_at)::bigint "
                             "FROM pgmq.list_notify_insert_throttles()").fetchall()
    if v >= (1, 8, 0):
        assert throttles == [("orders", 250, 1767323045)]  # 2026-01-02 03:04:05+00
    elif v >= (1, 7, 0):
        assert throttles == [("orders", 0, 0)]
    else:
        assert throttles == []
    # pgmq's functions on the converted queues.
    assert conn.execute("SELECT queue_name, is_unlogged FROM pgmq.list_queues()").fetchall() == (
        [("fast", True), ("MixedCase", False)] + ([("old_layout", False)] if v >= (1, 10, 0) else [])
        + [("orders", False)])
    read = conn.execute("SELECT msg_id, read_ct, message FROM pgmq.read('orders', 30, 10)").fetchall()
    assert read == [(3, 2, {"n": 3}), (6, 1, {"n": 6}), (7, 1, {"n": 7})]  # 1, 2 held, 8 delayed
    assert conn.execute("SELECT pgmq.delete('orders', 1::bigint)").fetchone()[0] is True  # the holder acks
    conn.execute("SELECT * FROM pgmq.set_vt('orders', 2::bigint, 0)")
    assert conn.execute("SELECT msg_id, read_ct FROM pgmq.read('orders', 30, 10)").fetchall() == [(2, 3)]
    last = before["q_orders_seq"][0]
    assert conn.execute("SELECT * FROM pgmq.send('orders', '{\"new\": 1}')").fetchone()[0] == last + 1
    assert conn.execute("SELECT pgmq.archive('orders', 3::bigint)").fetchone()[0] is True
    assert [r["msg_id"] for r in _rows(conn, "a_orders")] == [3, 5]
    metrics = conn.execute("SELECT queue_length, total_messages FROM pgmq.metrics('orders')").fetchone()
    assert metrics == (len(before["q_orders"]) - 2 + 1, last + 1)
    assert conn.execute("SELECT * FROM pgmq.send('MixedCase', '{\"m\": 2}')").fetchone()[0] == 2
    assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.pop('mixedcase', 5)")] == [1, 2]
    assert conn.execute("SELECT * FROM pgmq.send('fast', '{\"f\": 3}')").fetchone()[0] == 4
    assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read('fast', 30, 10)")] == [1, 3, 4]
    if v >= (1, 10, 0):
        assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read('old_layout', 30, 10)")] == [1]
        assert conn.execute("SELECT pgmq.archive('old_layout', 1::bigint)").fetchone()[0] is True
        assert [r["msg_id"] for r in _rows(conn, "a_old_layout")] == [1, 2]

    # Insert notifications where PGMQ had them.
    if v >= (1, 7, 0):
        with psycopg.connect(dbname=DB, autocommit=True) as lconn:
            listener = Listener(lconn, "pgmq.q_orders.INSERT")
            conn.execute("SELECT pgmq.update_notify_insert('orders', 0)")
            conn.execute("SELECT * FROM pgmq.send('orders', '{\"notify\": 1}')")
            listener.wait(5, until_count=1)
            assert len(listener.received) == 1

    # PGMQ's topic bindings, names lower-cased ('MixedCase' and 'mixedcase' were one queue).
    if v >= (1, 11, 0):
        bindings = conn.execute("SELECT pattern, queue_name, compiled_regex FROM pgmq.topic_bindings "
                                "ORDER BY queue_name").fetchall()
        assert bindings == [("#", "mixedcase", "^.*$"), ("orders.*", "orders", "^orders\\.[^.]+$")]
        assert conn.execute("SELECT bound_at = '2026-02-03 04:05:06+00' FROM pgmq.topic_bindings "
                            "WHERE queue_name = 'orders'").fetchone() == (True,)
        assert conn.execute("SELECT pgmq.drop_queue('mixedcase')").fetchone()[0] is True
        assert conn.execute("SELECT count(*) FROM pgmq.topic_bindings").fetchone()[0] == 1
        # pgmq's router (what send_topic uses) routes by the kept binding at once
        assert conn.execute("SELECT pattern, queue_name FROM pgmq.test_routing('orders.new')").fetchall() == [
            ("orders.*", "orders")]
    else:
        # pgmq's own, empty bindings table (with its filter column), as a fresh install has
        assert conn.execute("SELECT count(*), count(filter) FROM pgmq.topic_bindings").fetchone() == (0, 0)

    # DROP EXTENSION as on PGMQ: refused while a queue has insert notifications (the fresh install's
    # and PGMQ 1.7+'s orders); else it drops the read hint triggers (they depend on the extension)
    # and keeps the queues; CASCADE keeps the queues.
    with pytest.raises(errors.DependentObjectsStillExist):
        fresh.execute("DROP EXTENSION pgmq")
    if v >= (1, 7, 0):
        with pytest.raises(errors.DependentObjectsStillExist):
            conn.execute("DROP EXTENSION pgmq")
        conn.execute("DROP EXTENSION pgmq CASCADE")
    else:
        conn.execute("DROP EXTENSION pgmq")
    assert conn.execute("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal").fetchone()[0] == 0
    assert _rows(conn, "a_orders")[0]["msg_id"] == 3
    assert conn.execute("SELECT count(*) FROM pgmq.q_orders").fetchone()[0] == len(before["q_orders"]) - 2 + 1 + (
        1 if v >= (1, 7, 0) else 0)


def _unchanged(conn, version):
    """_unchanged asserts that the database is still in PGMQ `version`'s state."""
    assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'pgmq'").fetchone()[0] == version
    assert "stand-in" in conn.execute("SELECT prosrc FROM pg_proc WHERE oid = 'pgmq.read(text, integer, integer, jsonb)'"
                                      "::regprocedure").fetchone()[0]
    assert conn.execute("SELECT count(*) FROM pgmq.meta").fetchone()[0] >= 4
    assert conn.execute("SELECT to_regnamespace('_pgmq_from_pgmq')").fetchone()[0] is None


@pytest.mark.parametrize("version", ["1.5.1", "1.13.1"])
def test_partitioned_queue_refuses_update(version, pgmq_db):
    conn = pgmq_db(version)
    conn.execute("CREATE TABLE pgmq.q_parted (msg_id bigint GENERATED ALWAYS AS IDENTITY, read_ct int DEFAULT 0 NOT NULL, "
                 "enqueued_at timestamp with time zone DEFAULT now() NOT NULL, vt timestamp with time zone NOT NULL, "
                 "message jsonb, headers jsonb) PARTITION BY RANGE (msg_id)")
    conn.execute("CREATE TABLE pgmq.a_parted (LIKE pgmq.a_orders)")
    conn.execute("INSERT INTO pgmq.meta (queue_name, is_partitioned, is_unlogged) VALUES ('parted', true, false)")
    with pytest.raises(errors.FeatureNotSupported, match="partitioned queues.*parted") as info:
        conn.execute(f"ALTER EXTENSION pgmq UPDATE TO '{VERSION}'")
    assert "pgmq.drop_queue" in info.value.diag.message_hint
    assert "Nothing was changed" in info.value.diag.message_detail
    _unchanged(conn, version)


def test_name_pgmq_cannot_address_refuses_update(pgmq_db):
    conn = pgmq_db("1.13.1")
    fx.create_queue(conn, "1.13.1", "my queue")
    with pytest.raises(errors.InvalidName, match="'my queue'"):
        conn.execute(f"ALTER EXTENSION pgmq UPDATE TO '{VERSION}'")
    _unchanged(conn, "1.13.1")


def test_update_waits_for_consumers(pgmq_db):
    """A consumer's open transaction keeps the update waiting (lock_timeout ends the wait, changing
    nothing); after it commits, the update keeps what it did."""
    conn = pgmq_db("1.5.1")
    consumer = psycopg.connect(dbname=DB)
    try:
        fx.read(consumer, "1.5.1", "orders", 6, 3600)  # a consumer's read, not committed yet
        conn.execute("SET lock_timeout = '300ms'")
        with pytest.raises(errors.LockNotAvailable):
            conn.execute(f"ALTER EXTENSION pgmq UPDATE TO '{VERSION}'")
        _unchanged(conn, "1.5.1")
        conn.execute("SET lock_timeout = '30s'")
        done = threading.Event()
        failure = []

        def update():
            try:
                with psycopg.connect(dbname=DB, autocommit=True) as c:
                    c.execute(f"ALTER EXTENSION pgmq UPDATE TO '{VERSION}'")
            except Exception as e:  # reported below
                failure.append(e)
            done.set()

        t = threading.Thread(target=update)
        t.start()
        assert not done.wait(0.5)  # waits for the consumer
        consumer.commit()
        t.join(30)
        assert done.is_set() and not failure, failure
    finally:
        consumer.close()
    assert conn.execute("SELECT read_ct, vt > now() + interval '50 minutes' FROM pgmq.q_orders WHERE msg_id = 6"
                        ).fetchone() == (1, True)
    assert [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read('orders', 30, 10)")] == [3, 7]


RESTORED_DB = "pgmq_py_migrate_restored"


@pytest.mark.parametrize("version", ["1.5.1", "1.13.1"])
def test_dump_and_restore_after_update(version, pgmq_db):
    """pg_dump of a converted database restores into one with a fresh install: every queue, message,
    sequence, throttle row and PGMQ topic binding."""
    conn = pgmq_db(version)
    conn.execute(f"ALTER EXTENSION pgmq UPDATE TO '{VERSION}'")
    before = _snapshot(conn)
    bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
    dump = subprocess.run([os.path.join(bindir, "pg_dump"), "-Fc", "-d", DB], capture_output=True, check=True).stdout
    _recreate(RESTORED_DB)
    try:
        subprocess.run([os.path.join(bindir, "pg_restore"), "--exit-on-error", "-d", RESTORED_DB], input=dump,
                       capture_output=True, check=True)
        with psycopg.connect(dbname=RESTORED_DB, autocommit=True) as restored:
            assert _snapshot(restored) == before
            for q in ("SELECT * FROM pgmq.meta ORDER BY 1", "SELECT * FROM pgmq.notify_insert_throttle",
                      "SELECT to_regclass('pgmq.topic_bindings') IS NOT NULL"):
                assert restored.execute(q).fetchall() == conn.execute(q).fetchall(), q
            if fx.v(version) >= (1, 11, 0):
                q = "SELECT * FROM pgmq.topic_bindings ORDER BY 1, 2"
                assert restored.execute(q).fetchall() == conn.execute(q).fetchall()
            assert restored.execute("SELECT * FROM pgmq.send('orders', '{}')").fetchone()[0] == (
                before["q_orders_seq"][0] + 1)
    finally:
        _drop(RESTORED_DB)


def test_object_using_pgmq_function_refuses_update(pgmq_db):
    conn = pgmq_db("1.11.1")
    conn.execute("CREATE VIEW public.my_queues AS SELECT * FROM pgmq.list_queues()")
    with pytest.raises(errors.DependentObjectsStillExist, match="list_queues") as info:
        conn.execute(f"ALTER EXTENSION pgmq UPDATE TO '{VERSION}'")
    assert "Drop them" in info.value.diag.message_hint
    _unchanged(conn, "1.11.1")
