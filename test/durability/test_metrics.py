"""test_metrics.py: metrics() stays exact across restarts and crashes. Its queue_length and
queue_visible_length come from counters in shared memory (src/pg/counters.hpp), which a restart or
crash wipes: the first metrics after recovery rebuilds them from one scan, and they go on from there."""

from test_crash import _kill_and_wait_for_reset


def _state(conn, queue):
    """_state is (metrics' lengths, count(*) and count(*) with vt <= now, the shared count)."""
    metrics = conn.execute("SELECT queue_length, queue_visible_length FROM pgmq.metrics(%s)", [queue]).fetchone()
    counted = conn.execute(f"SELECT count(*), count(*) FILTER (WHERE vt <= now()) FROM pgmq.q_{queue}").fetchone()
    counter = conn.execute("SELECT * FROM pgmq._metrics_counter(%s)", [queue]).fetchone()
    return metrics, counted, counter


def _fill(server, queue):
    """_fill makes a queue of 45 messages, 10 of them in flight, counted in shared memory."""
    with server.connect() as conn:
        conn.execute("SELECT pgmq.create(%s)", [queue])
        conn.execute("SELECT pgmq.send_batch(%s, array_fill('{}'::jsonb, ARRAY[50]))", [queue])
        ids = [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 3600, 15)", [queue])]
        conn.execute("SELECT pgmq.delete(%s, %s::bigint[])", [queue, ids[:5]])
        assert _state(conn, queue) == ((45, 35), (45, 35), (45, 35))


def test_metrics_recount_after_immediate_stop(server, queue_name):
    """A crash (`pg_ctl -m immediate`) with a transaction open that sent and deleted: afterwards the
    count is gone, the first metrics recounts exactly, and later sends are counted again."""
    _fill(server, queue_name)
    open_tx = server.connect(autocommit=False)
    open_tx.execute("SELECT pgmq.send_batch(%s, array_fill('{}'::jsonb, ARRAY[7]))", [queue_name])
    open_tx.execute("SELECT * FROM pgmq.pop(%s, 3)", [queue_name])
    server.crash()
    server.start()
    open_tx.close()
    with server.connect() as conn:
        assert conn.execute("SELECT * FROM pgmq._metrics_counter(%s)", [queue_name]).fetchone() == (None, None)
        assert _state(conn, queue_name) == ((45, 35), (45, 35), (45, 35))
        conn.execute("SELECT pgmq.send(%s, '{}')", [queue_name])
        assert _state(conn, queue_name) == ((46, 36), (46, 36), (46, 36))
    server.assert_no_real_crash()


def test_metrics_rebuild_after_restart(server, queue_name):
    """A clean restart: the counters start empty, the first metrics rebuilds them (delayed and in-flight
    messages included) and they go on from there."""
    _fill(server, queue_name)
    with server.connect() as conn:
        conn.execute("SELECT pgmq.send(%s, '{}', 600)", [queue_name])
    server.restart()
    with server.connect() as conn:
        assert conn.execute("SELECT * FROM pgmq._metrics_counter(%s)", [queue_name]).fetchone() == (None, None)
        assert _state(conn, queue_name) == ((46, 35), (46, 35), (46, 35))
        ids = [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 60, 5)", [queue_name])]
        conn.execute("SELECT pgmq.delete(%s, %s::bigint[])", [queue_name, ids[:2]])
        assert _state(conn, queue_name) == ((44, 30), (44, 30), (44, 30))
    server.assert_no_real_crash()


def test_metrics_recount_after_backend_sigkill(server, queue_name):
    """SIGKILL of a backend in a transaction that sent: the postmaster resets shared memory, the
    killed transaction's sends are gone and the recount finds exactly the committed messages."""
    _fill(server, queue_name)
    victim = server.connect(autocommit=False)
    victim.execute("SELECT pgmq.send_batch(%s, array_fill('{}'::jsonb, ARRAY[4]))", [queue_name])
    _kill_and_wait_for_reset(server, victim.info.backend_pid)
    victim.close()
    with server.connect() as conn:
        assert conn.execute("SELECT * FROM pgmq._metrics_counter(%s)", [queue_name]).fetchone() == (None, None)
        assert _state(conn, queue_name) == ((45, 35), (45, 35), (45, 35))


def test_metrics_without_preload_counts_the_table(queue_name):
    """Without shared_preload_libraries (and with pgmq.metrics_counters = 0) there is no shared count:
    metrics counts the table, exactly."""
    import pgcluster
    for name, settings in (("nopreload", {"shared_preload_libraries": "''"}),
                           ("nocounters", {"pgmq.metrics_counters": "0"})):
        cluster = pgcluster.new_primary(name, **settings)
        try:
            with cluster.connect() as conn:
                conn.execute("SELECT pgmq.create(%s)", [queue_name])
                conn.execute("SELECT pgmq.send_batch(%s, array_fill('{}'::jsonb, ARRAY[5]), 0)", [queue_name])
                conn.execute("SELECT pgmq.send(%s, '{}', 3600)", [queue_name])
                conn.execute("SELECT * FROM pgmq.pop(%s, 2)", [queue_name])
                assert _state(conn, queue_name) == ((4, 3), (4, 3), (None, None))
                assert _state(conn, queue_name) == ((4, 3), (4, 3), (None, None))
        finally:
            cluster.destroy()
