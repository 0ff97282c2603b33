"""A backend's memory stays flat over many calls of every pgmq function family.

Each family runs in DO loops (one transaction) and as separate statements from the client;
after a warm-up round, more rounds must not grow the backend's memory contexts
(pg_backend_memory_contexts) by more than a small fraction of a byte per call. A leak of a
few bytes per call in TopMemoryContext or CacheMemoryContext (plans, hash entries, pallocs in a
long-lived context) shows up as tens of kilobytes here. Create/drop cycles are not measured:
PostgreSQL's own catalog caches grow with every table created and dropped, pgmq or not.
"""
import pytest

DO_CALLS = 500
CLIENT_CALLS = 100
# Growth allowed per round after warm-up: allocator noise, not per-call growth.
SLACK_BYTES = 32 * 1024

FAMILIES = {
    "send": "PERFORM pgmq.send('mem_q', '{\"a\": 1}', '{\"h\": 1}', 0)",
    "send_batch": "PERFORM pgmq.send_batch('mem_q', ARRAY['{\"a\": 1}', '{\"b\": 2}']::jsonb[])",
    "read": "PERFORM pgmq.read('mem_q', 0, 1)",
    "read_conditional": "PERFORM pgmq.read('mem_q', 0, 1, '{\"a\": 1}')",
    "read_policy": "PERFORM pgmq.read('mem_pol', 0, 1)",
    "read_with_poll": "PERFORM pgmq.read_with_poll('mem_q', 0, 1, 1, 10)",
    "pop": "PERFORM pgmq.pop('mem_pop')",
    "set_vt": "PERFORM pgmq.set_vt('mem_q', 1::bigint, 0), pgmq.set_vt('mem_q', 1::bigint, now()), "
              "pgmq.set_vt('mem_q', ARRAY[1, 2]::bigint[], 0), pgmq.set_vt('mem_q', ARRAY[1]::bigint[], now()), "
              "pgmq.set_vt('mem_q'::text, '1'::text, '0'::text), pgmq.set_vt('mem_q'::text, '{1,2}'::text, "
              "'2030-01-01 00:00+00'::text)",
    "delete_archive": "PERFORM pgmq.delete('mem_q', -1::bigint), pgmq.delete('mem_q', ARRAY[-1, -2]::bigint[]), "
                      "pgmq.archive('mem_q', -1::bigint), pgmq.archive('mem_q', ARRAY[-1, -2]::bigint[])",
    "metrics": "PERFORM pgmq.metrics('mem_q')",
    "set_policy": "PERFORM pgmq.set_policy('mem_pol', invalid_queue => 'mem_dlq', max_deliveries => 1000)",
    "run_maintenance_moving": "PERFORM pgmq.send('mem_mv', '{}'); UPDATE pgmq.q_mem_mv SET read_ct = 1; "
                              "PERFORM pgmq.run_maintenance()",
}


def backend_bytes(conn):
    return conn.execute("SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts").fetchone()[0]


def biggest_contexts(conn):
    return conn.execute("SELECT name, coalesce(ident, ''), total_bytes FROM pg_backend_memory_contexts "
                        "ORDER BY total_bytes DESC LIMIT 5").fetchall()


@pytest.fixture(scope="module")
def queues(database):
    from conftest import connect
    with connect(database) as conn:
        for q in ["mem_q", "mem_pop", "mem_pol", "mem_dlq", "mem_mv"]:
            conn.execute("SELECT pgmq.create(%s)", [q])
        conn.execute("SELECT pgmq.send_batch('mem_q', array_agg('{\"a\": 1}'::jsonb)) FROM generate_series(1, 20)")
        conn.execute("SELECT pgmq.send_batch('mem_pol', array_agg('{}'::jsonb)) FROM generate_series(1, 20)")
        conn.execute("SELECT pgmq.set_policy('mem_pol', invalid_queue => 'mem_dlq', max_deliveries => 1000)")
        conn.execute("SELECT pgmq.set_policy('mem_mv', invalid_queue => 'mem_dlq', max_deliveries => 1)")
    yield
    with connect(database) as conn:
        conn.execute("SELECT pgmq.clear_policy('mem_pol'), pgmq.clear_policy('mem_mv')")
        for q in ["mem_q", "mem_pop", "mem_pol", "mem_dlq", "mem_mv"]:
            conn.execute("SELECT pgmq.drop_queue(%s)", [q])


@pytest.mark.parametrize("family", list(FAMILIES))
def test_backend_memory_stays_flat(conn, queues, family):
    body = FAMILIES[family]
    conn.execute("SELECT pgmq.purge_queue('mem_pop')")
    conn.execute("SELECT pgmq.send_batch('mem_pop', array_agg('{}'::jsonb)) FROM generate_series(1, %s)"
                 % (4 * DO_CALLS + 3 * CLIENT_CALLS + 10))
    do_loop = "DO $$ BEGIN FOR i IN 1..%d LOOP %s; END LOOP; END $$" % (DO_CALLS, body)
    statements = [s.strip().replace("PERFORM", "SELECT", 1) for s in body.split("; ")]

    def client_round():
        for _ in range(CLIENT_CALLS):
            for s in statements:
                conn.execute(s)

    conn.execute(do_loop)  # warm-up: plans, caches, allocator blocks
    client_round()
    before = backend_bytes(conn)
    for _ in range(2):
        conn.execute(do_loop)
        client_round()
    after = backend_bytes(conn)
    assert after - before <= SLACK_BYTES, (
        f"{family}: backend memory grew by {after - before} bytes over {2 * DO_CALLS} calls in DO loops and "
        f"{2 * CLIENT_CALLS} from the client; biggest contexts: {biggest_contexts(conn)}")
