"""test_plan_cache.py: a session's kept plans (src/pg/plans.cpp) are bounded by
pgmq.plan_cache_queues, however many queues it touches or maintains, and a queue whose plans
were evicted is planned again correctly, also after its table was dropped and re-created.
"""
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

# The memory contexts of plans kept with SPI_keepplan (PostgreSQL's plan cache).
PLAN_CONTEXTS = "('SPI Plan', 'CachedPlanSource', 'CachedPlanQuery', 'CachedPlan')"


def plan_memory(conn):
    """plan_memory returns (number of pgmq's plans on queue tables, bytes of all plan contexts)
    of conn's backend; a plan's CachedPlanSource context is identified by its query text."""
    return conn.execute(
        "SELECT count(*) FILTER (WHERE name = 'CachedPlanSource' AND ident ~ ' pgmq\\.q_'), "
        f"coalesce(sum(total_bytes), 0)::bigint FROM pg_backend_memory_contexts WHERE name IN {PLAN_CONTEXTS}"
    ).fetchone()


@pytest.fixture
def many_queues(dbname, connect):
    """many_queues creates 300 queues and drops them after the test."""
    names = [f"pcm_{i}" for i in range(300)]
    admin = connect()
    for start in range(0, len(names), 100):
        admin.execute("SELECT pgmq.create(n) FROM unnest(%s::text[]) AS n", [names[start:start + 100]])
    yield names
    for start in range(0, len(names), 100):
        admin.execute("SELECT pgmq.drop_queue(n) FROM unnest(%s::text[]) AS n", [names[start:start + 100]])


def touch(conn, name):
    """touch uses a queue the ways that plan statements (pop, set_vt, metrics) and those that do not."""
    (msg_id,) = conn.execute("SELECT * FROM pgmq.send(%s, %s)", [name, Jsonb({"q": name})]).fetchone()
    assert conn.execute("SELECT msg_id FROM pgmq.read(%s, 0, 1)", [name]).fetchall() == [(msg_id,)]
    assert conn.execute("SELECT msg_id FROM pgmq.set_vt(%s, %s::bigint, 0)", [name, msg_id]).fetchall() == [(msg_id,)]
    assert conn.execute("SELECT queue_length FROM pgmq.metrics(%s)", [name]).fetchone() == (1,)
    assert conn.execute("SELECT msg_id FROM pgmq.pop(%s)", [name]).fetchall() == [(msg_id,)]
    assert conn.execute("SELECT pgmq.delete(%s, %s::bigint)", [name, msg_id]).fetchone() == (False,)


def test_plans_stay_bounded_over_many_queues(connect, many_queues):
    # No client-side prepared statements: only pgmq's plans are kept in this backend.
    conn = connect(prepare_threshold=None)
    limit = int(conn.execute("SELECT coalesce(current_setting('pgmq.plan_cache_queues', true), '64')").fetchone()[0])
    half = len(many_queues) // 2
    assert limit < half
    for name in many_queues[:half]:
        touch(conn, name)
    _, bytes_half = plan_memory(conn)
    for name in many_queues[half:]:
        touch(conn, name)
    plans, bytes_all = plan_memory(conn)
    # pop and set_vt keep a plan per queue, metrics none: at most two plans per cached queue.
    assert plans <= 2 * limit, f"{plans} plans kept for {len(many_queues)} queues"
    assert bytes_all < 8 * 1024 * 1024, f"{bytes_all} bytes of plans"
    # Flat: the second 150 queues add (next to) nothing.
    assert bytes_all - bytes_half < 1024 * 1024, f"{bytes_half} -> {bytes_all} bytes of plans"


def test_metrics_all_keeps_no_plans(connect, many_queues):
    conn = connect(prepare_threshold=None)
    plans_before, bytes_before = plan_memory(conn)
    assert conn.execute("SELECT count(*) FROM pgmq.metrics_all() WHERE queue_name LIKE 'pcm\\_%'").fetchone() == (300,)
    plans, bytes_after = plan_memory(conn)
    assert plans == plans_before
    assert bytes_after - bytes_before < 256 * 1024


def test_maintenance_plans_stay_bounded(connect, many_queues):
    """run_maintenance's candidate and move plans are kept with the queues' message plans: those of
    at most pgmq.plan_cache_queues queues however many queues have a policy; a queue whose policy
    now names another invalid queue moves into that one."""
    to_queue, to_archive = many_queues[:150], many_queues[150:]
    admin = connect()
    admin.execute("SELECT pgmq.create('pcm_dlq'), pgmq.create('pcm_dlq2')")
    try:
        admin.execute(
            "SELECT pgmq.set_policy(n, invalid_queue => 'pcm_dlq', max_deliveries => 1) FROM unnest(%s::text[]) AS n",
            [to_queue],
        )
        admin.execute(
            "SELECT pgmq.set_policy(n, max_deliveries => 1, retention_seconds => 86400) FROM unnest(%s::text[]) AS n",
            [to_archive],
        )
        conn = connect(prepare_threshold=None)

        def overdue_pass(names):
            # Made overdue and moved in one transaction: the worker never sees these messages.
            with conn.transaction():
                conn.execute("SELECT pgmq.send(n, '{}') FROM unnest(%s::text[]) AS n", [names])
                conn.execute("SELECT count(*) FROM unnest(%s::text[]) AS n, pgmq.read(n, 0, 1)", [names])
                return conn.execute(
                    "SELECT destination, sum(messages)::int FROM pgmq.run_maintenance() GROUP BY 1 ORDER BY 1"
                ).fetchall()

        conn.execute("SET pgmq.plan_cache_queues = 8")
        assert overdue_pass(many_queues) == [("archive", 150), ("pcm_dlq", 150)]
        plans, _ = plan_memory(conn)
        # send, read, two candidate statements and a move: at most five plans per cached queue.
        assert plans <= 5 * 8, f"{plans} plans kept for {len(many_queues)} queues with a policy"

        conn.execute("SET pgmq.plan_cache_queues = 1000")
        assert overdue_pass(to_queue[:1]) == [("pcm_dlq", 1)]
        admin.execute("SELECT pgmq.set_policy(%s, invalid_queue => 'pcm_dlq2', max_deliveries => 1)", [to_queue[0]])
        assert overdue_pass(to_queue[:1]) == [("pcm_dlq2", 1)]
        assert conn.execute("SELECT count(*) FROM pgmq.q_pcm_dlq2").fetchone() == (1,)
    finally:
        admin.execute("SELECT pgmq.clear_policy(n) FROM unnest(%s::text[]) AS n", [many_queues])
        admin.execute("SELECT pgmq.drop_queue('pcm_dlq'), pgmq.drop_queue('pcm_dlq2')")


def test_evicted_queue_is_planned_again(connect, dbname):
    names = ["pce_a", "pce_b", "pce_c"]
    admin = connect()
    for name in names:
        admin.execute("SELECT pgmq.create(%s)", [name])
    try:
        conn = connect()
        conn.execute("SET pgmq.plan_cache_queues = 1")

        def planned_pop(name):
            # set_vt runs its prepared statement (a pop on a plain queue table runs none, it goes
            # through the access methods); the pop then takes the message.
            conn.execute("SELECT * FROM pgmq.set_vt(%s, 0::bigint, 0)", [name])
            return conn.execute("SELECT message FROM pgmq.pop(%s)", [name]).fetchall()

        for round_ in range(2):
            for name in names:
                conn.execute("SELECT pgmq.send(%s, %s)", [name, Jsonb({"r": round_})])
                assert planned_pop(name) == [({"r": round_},)]
        assert plan_memory(conn)[0] == 1

        # Another session drops and re-creates pce_a while its plans are cached here ...
        conn.execute("SELECT pgmq.send('pce_a', '{\"old\": true}')")
        assert planned_pop("pce_a") == [({"old": True},)]
        admin.execute("SELECT pgmq.drop_queue('pce_a')")
        admin.execute("SELECT pgmq.create('pce_a')")
        admin.execute("SELECT pgmq.send('pce_a', '{\"new\": 1}')")
        assert planned_pop("pce_a") == [({"new": 1},)]
        # ... and again after they were evicted here, now by plain DDL with another shape.
        planned_pop("pce_b")
        admin.execute("SELECT pgmq.drop_queue('pce_a')")
        admin.execute("SELECT pgmq.create('pce_a')")
        admin.execute("ALTER TABLE pgmq.q_pce_a ADD COLUMN extra int")
        admin.execute("SELECT pgmq.send('pce_a', '{\"new\": 2}')")
        assert planned_pop("pce_a") == [({"new": 2},)]
        assert conn.execute("SELECT queue_length FROM pgmq.metrics('pce_a')").fetchone() == (0,)
        # Only pce_a's plans are kept: set_vt's, and pop's statement (the added column rules out
        # the direct pop).
        on_pce_a = conn.execute(
            "SELECT array_agg(ident ~ ' pgmq\\.q_pce_a ') FROM pg_backend_memory_contexts "
            "WHERE name = 'CachedPlanSource' AND ident ~ ' pgmq\\.q_'"
        ).fetchone()[0]
        assert on_pce_a == [True, True]
    finally:
        for name in names:
            admin.execute("SELECT pgmq.drop_queue(%s)", [name])


def test_plan_running_while_a_trigger_uses_other_queues(connect, dbname):
    """A read through the prepared statement fires a trigger that pops from three other
    queues; with room for one queue's plans, the read's own plan must not be freed while
    it runs (it would be used after the trigger returns), only after it."""
    names = ["pct_outer", "pct_1", "pct_2", "pct_3"]
    admin = connect()
    for name in names:
        admin.execute("SELECT pgmq.create(%s)", [name])
    try:
        admin.execute("CREATE TABLE pct_seen (outer_plans int)")
        admin.execute(
            "CREATE FUNCTION pct_forward() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "PERFORM pgmq.pop('pct_1'); PERFORM pgmq.pop('pct_2'); PERFORM pgmq.pop('pct_3'); "
            "INSERT INTO pct_seen SELECT count(*) FROM pg_backend_memory_contexts "
            "WHERE name = 'CachedPlanSource' AND ident ~ ' pgmq\\.q_pct_outer '; "
            "RETURN NEW; END $$"
        )
        # A row trigger rules out the direct read: the read runs its kept plan.
        admin.execute(
            "CREATE TRIGGER forward BEFORE UPDATE ON pgmq.q_pct_outer FOR EACH ROW EXECUTE FUNCTION pct_forward()"
        )
        for name in names[1:]:
            admin.execute("SELECT pgmq.send_batch(%s, array_fill('{}'::jsonb, ARRAY[5]))", [name])
        admin.execute("SELECT pgmq.send_batch('pct_outer', %s::jsonb[])", [[Jsonb({"n": i}) for i in range(5)]])
        conn = connect()
        conn.execute("SET pgmq.plan_cache_queues = 1")
        for i in range(5):
            rows = conn.execute("SELECT message FROM pgmq.read('pct_outer', 30, 1)").fetchall()
            assert rows == [({"n": i},)]
        for name in names[1:]:
            table = sql.Identifier("q_" + name)
            assert admin.execute(sql.SQL("SELECT count(*) FROM pgmq.{}").format(table)).fetchone() == (0,)
        # Each time the trigger ran, the read's plan was still there.
        assert admin.execute("SELECT outer_plans, count(*) FROM pct_seen GROUP BY 1").fetchall() == [(1, 5)]
        # Trimmed back to one queue's plans once nothing runs.
        conn.execute("SELECT pgmq.pop('pct_1')")
        assert plan_memory(conn)[0] == 1
    finally:
        for name in names:
            admin.execute("SELECT pgmq.drop_queue(%s)", [name])
        admin.execute("DROP FUNCTION IF EXISTS pct_forward()")
        admin.execute("DROP TABLE IF EXISTS pct_seen")
