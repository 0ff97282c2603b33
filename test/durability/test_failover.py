"""test_failover.py: a synchronous streaming standby has every acknowledged message after failover.

The primary runs with `synchronous_standby_names = '*'` and `synchronous_commit = on`, so a
commit is acknowledged only once the standby has flushed its WAL. A standby made with
`pg_basebackup -R` is read-only before promotion: plain SELECTs on the queue tables and
pgmq.metrics work, every pgmq function that writes fails with SQLSTATE 25006 and nothing
crashes. Then producers and a consumer run, the primary crashes, the standby is promoted,
and it must hold every acknowledged send and acknowledgement, and keep working as a pgmq
primary whose new msg_ids never collide with existing ones (unlogged queues included), with
insert notifications still enabled.
"""
import time

import psycopg
import pytest

import pgcluster
import workload


@pytest.fixture(scope="module")
def pair():
    """pair is (primary, standby): a primary with pgmq and a synchronous streaming standby, both running.

    The tests below run in file order: the read-only test needs the standby still in recovery,
    the failover test then crashes the primary and promotes the standby."""
    primary = pgcluster.new_primary("primary", synchronous_commit="on")
    standby = primary.base_backup("standby")
    standby.start()
    with primary.connect() as conn:
        # Synchronous only now: the standby's copy of the configuration must not wait for a standby of its own
        # once promoted, and nothing on the primary may wait before the standby is there.
        conn.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
        conn.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 60
        while conn.execute("SELECT sync_state FROM pg_stat_replication").fetchall() != [("sync",)]:
            assert time.monotonic() < deadline, "the standby never became synchronous\n" + standby.log_tail()
            time.sleep(0.1)
    yield primary, standby
    standby.destroy()
    primary.destroy()


def _wait_for_replay(primary, standby):
    """_wait_for_replay waits until the standby has replayed everything the primary has written so far."""
    with primary.connect() as conn:
        lsn = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    with standby.connect() as conn:
        deadline = time.monotonic() + 60
        while not conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]).fetchone()[0]:
            assert time.monotonic() < deadline, "the standby does not replay"
            time.sleep(0.05)


# Each call writes (or, for pgmq.create, also takes a lock a standby refuses) and must fail with 25006.
_WRITING_CALLS = [
    "SELECT * FROM pgmq.read('fo_ro', 30, 1)",
    "SELECT * FROM pgmq.read_with_poll('fo_ro', 30, 1, 1, 100)",
    "SELECT * FROM pgmq.send('fo_ro', '{\"x\": 1}')",
    "SELECT * FROM pgmq.send_batch('fo_ro', ARRAY['{\"x\": 1}'::jsonb])",
    "SELECT * FROM pgmq.pop('fo_ro')",
    "SELECT pgmq.delete('fo_ro', 1::bigint)",
    "SELECT pgmq.archive('fo_ro', 1::bigint)",
    "SELECT * FROM pgmq.set_vt('fo_ro', 1::bigint, 10)",
]


def test_standby_is_read_only(pair):
    """Before promotion the standby serves plain SELECTs and metrics; writing pgmq calls fail with 25006."""
    primary, standby = pair
    with primary.connect() as conn:
        conn.execute("SELECT pgmq.create('fo_ro')")
        conn.execute("SELECT pgmq.send_batch('fo_ro', array_fill('{\"x\": 1}'::jsonb, array[20]))")
        ids = [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read('fo_ro', 30, 5)")]
        conn.execute("SELECT pgmq.archive('fo_ro', %s::bigint[])", [ids])
        conn.execute("SELECT pgmq.enable_notify_insert('fo_ro', 0)")
    _wait_for_replay(primary, standby)
    with standby.connect() as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM pgmq.q_fo_ro").fetchone()[0] == 15
        assert conn.execute("SELECT count(*) FROM pgmq.q_fo_ro WHERE read_ct = 0").fetchone()[0] == 15
        assert sorted(r[0] for r in conn.execute("SELECT msg_id FROM pgmq.a_fo_ro")) == sorted(ids)
        assert conn.execute("SELECT queue_length FROM pgmq.metrics('fo_ro')").fetchone()[0] == 15
        assert "fo_ro" in [r[0] for r in conn.execute("SELECT queue_name FROM pgmq.list_queues()")]
        assert conn.execute("SELECT queue_name, throttle_interval_ms FROM pgmq.list_notify_insert_throttles()"
                            ).fetchall() == [("fo_ro", 0)]
        for call in _WRITING_CALLS:
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction) as caught:
                conn.execute(call)
            assert caught.value.sqlstate == "25006"
            assert "read-only transaction" in str(caught.value), f"{call}: {caught.value}"
            assert not conn.broken
        assert conn.execute("SELECT count(*) FROM pgmq.q_fo_ro").fetchone()[0] == 15
    standby.assert_no_real_crash()


def test_failover_keeps_every_acknowledged_message(pair):
    """Producers and consumers run on the primary, the primary crashes, the standby is promoted: every send
    and acknowledgement the primary confirmed is on the new primary, and pgmq works there."""
    primary, standby = pair
    queue = "fo"
    with primary.connect() as conn:
        conn.execute("SELECT pgmq.create(%s)", [queue])
        # An unlogged queue: its table is not replicated, its archive is.
        conn.execute("SELECT pgmq.create_unlogged('fo_u')")
        conn.execute("SELECT pgmq.send_batch('fo_u', array_fill('{\"u\": 1}'::jsonb, array[10]))")
        u_archived = [r[0] for r in conn.execute(
            "SELECT * FROM pgmq.archive('fo_u', ARRAY(SELECT msg_id FROM pgmq.read('fo_u', 30, 3)))")]
        assert len(u_archived) == 3
    load = workload.Workload(primary.connect, queue, producers=3, consumers=2).start()
    try:
        load.wait_for_acks(800)
        primary.crash()  # immediate: nothing acknowledged after this point
        time.sleep(0.2)
    finally:
        load.stop()
    standby.promote()

    ledger = load.ledger
    with standby.connect() as conn:
        problems = workload.check(ledger, conn, queue)
    print(f"{queue}: {ledger.summary()}")
    assert not problems, f"{len(problems)} violations ({ledger.summary()}), first ones:\n" + "\n".join(problems[:30])
    assert ledger.deleted and ledger.archived, "consumers acknowledged nothing"

    with standby.connect() as conn:
        existing = [r[0] for r in conn.execute(f"SELECT msg_id FROM pgmq.q_{queue} UNION ALL "
                                               f"SELECT msg_id FROM pgmq.a_{queue}")]
        new_ids = [r[0] for r in conn.execute(
            "SELECT pgmq.send_batch(%s, array_fill('{\"after\": 1}'::jsonb, array[50]))", [queue])]
        new_ids.append(conn.execute("SELECT * FROM pgmq.send(%s, '{\"after\": 2}')", [queue]).fetchone()[0])
        # Identity sequences may skip ahead after promotion; they must never go back.
        assert min(new_ids) > max(existing), f"new msg_ids from {min(new_ids)}, existing up to {max(existing)}"
        got = [r[0] for r in conn.execute("SELECT msg_id FROM pgmq.read(%s, 30, 10000, '{\"after\": 1}')",
                                          [queue])]
        assert sorted(got) == sorted(new_ids[:50])
        archived = [r[0] for r in conn.execute("SELECT * FROM pgmq.archive(%s, %s::bigint[])", [queue, got])]
        assert sorted(archived) == sorted(got)
        length, total = conn.execute("SELECT queue_length, total_messages FROM pgmq.metrics(%s)",
                                     [queue]).fetchone()
        assert length == conn.execute(f"SELECT count(*) FROM pgmq.q_{queue}").fetchone()[0]
        assert total >= max(new_ids)

        # The unlogged queue is empty on the promoted standby and goes on without reusing archived msg_ids.
        assert conn.execute("SELECT count(*) FROM pgmq.q_fo_u").fetchone()[0] == 0
        assert sorted(r[0] for r in conn.execute("SELECT msg_id FROM pgmq.a_fo_u")) == sorted(u_archived)
        u_new = [r[0] for r in conn.execute("SELECT pgmq.send_batch('fo_u', array_fill('{\"u\": 2}'::jsonb, "
                                            "array[5]))")]
        assert min(u_new) > max(u_archived)
        assert len(conn.execute("SELECT * FROM pgmq.archive('fo_u', %s::bigint[])", [u_new]).fetchall()) == 5
    # Insert notifications enabled on the old primary still wake LISTENers on the new one.
    assert workload.notified_after_send(standby, "fo_ro"), "no notification on the promoted standby"
    primary.assert_no_real_crash()
    standby.assert_no_real_crash()
