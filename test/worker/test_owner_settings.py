"""A queue owner's trigger cannot change the worker's session: what it sets, even with
set_config(..., false), is undone when the worker's moves for that queue end, so the other
queues' policies are still enforced in later passes. In a cluster of its own, so that a worker
whose session was changed could not disturb the other tests."""
import pgcluster
import pytest
from conftest import WORKER_SETTINGS, wait_for

SETS = ("PERFORM set_config('default_transaction_read_only', 'on', false), "
        "set_config('search_path', 'evil', false), set_config('statement_timeout', '1', false);")


@pytest.fixture
def cluster():
    cluster = pgcluster.Cluster("worker_owner_settings").init(**WORKER_SETTINGS).start()
    yield cluster
    cluster.destroy()


def worker_pid(c):
    row = c.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgmq worker' "
                    "AND datname = 'postgres'").fetchone()
    return row[0] if row else None


def count(c, table):
    return c.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_owner_trigger_cannot_change_the_workers_settings(cluster):
    with cluster.connect() as c:
        c.execute("CREATE EXTENSION pgmq")
        c.execute("CREATE ROLE alice")
        c.execute("CREATE ROLE bob")
        c.execute("GRANT USAGE ON SCHEMA pgmq TO alice, bob")
        c.execute("CREATE TABLE public.seen (queue text, who text)")
        c.execute("GRANT INSERT ON public.seen TO PUBLIC")
        # Both of alice's queues sort before bob's: the worker meets them first in every pass.
        for queue, owner in (("alice_raise", "alice"), ("alice_set", "alice"), ("bob_q", "bob")):
            c.execute("SELECT pgmq.create(%s)", [queue])
            c.execute(f"ALTER TABLE pgmq.q_{queue} OWNER TO {owner}")
            c.execute(f"ALTER TABLE pgmq.a_{queue} OWNER TO {owner}")
        c.execute(f"""CREATE FUNCTION public.alice_set() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO public.seen VALUES (TG_TABLE_NAME, current_user);
                {SETS}
                RETURN NULL;
            END $$""")
        c.execute(f"""CREATE FUNCTION public.alice_raise() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {SETS}
                RAISE EXCEPTION 'alice says no';
            END $$""")
        for queue in ("alice_raise", "alice_set"):
            c.execute(f"CREATE TRIGGER {queue} AFTER DELETE ON pgmq.q_{queue} FOR EACH STATEMENT "
                      f"EXECUTE FUNCTION public.{queue}()")
        c.execute("SELECT pgmq.set_policy('alice_raise', max_deliveries => 1)")
        c.execute("SELECT pgmq.set_policy('alice_set', max_deliveries => 1)")
        c.execute("SELECT pgmq.set_policy('bob_q', deadline_seconds => 1)")
        pid = wait_for(lambda: worker_pid(c), 30, what="the pgmq worker")

        # alice's messages, read once, are overdue at once; the worker runs both triggers.
        for queue in ("alice_raise", "alice_set"):
            c.execute("SELECT pgmq.send(%s, '{\"alice\": 1}')", [queue])
            assert c.execute("SELECT count(*) FROM pgmq.read(%s, 0, 1)", [queue]).fetchone()[0] == 1
        wait_for(lambda: count(c, "pgmq.a_alice_set") == 1, 10, what="alice's message moved")
        assert c.execute("SELECT queue, who FROM public.seen").fetchall() == [("q_alice_set", "alice")]

        # Later passes still work: bob's deadline is enforced, and alice's next message moves too.
        c.execute("SELECT pgmq.send('bob_q', '{\"bob\": 1}')")
        c.execute("SELECT pgmq.send('alice_set', '{\"alice\": 2}')")
        assert c.execute("SELECT count(*) FROM pgmq.read('alice_set', 0, 1)").fetchone()[0] == 1
        wait_for(lambda: count(c, "pgmq.a_bob_q") == 1, 15, what="bob's overdue message moved")
        wait_for(lambda: count(c, "pgmq.a_alice_set") == 2, 10, what="alice's second message moved")
        assert count(c, "pgmq.q_bob_q") == 0
        # The raising queue's moves are rolled back every pass; nothing else is affected.
        assert count(c, "pgmq.q_alice_raise") == 1
        assert c.execute("SELECT moved_deadline FROM pgmq.policy_metrics() WHERE queue_name = 'bob_q'"
                         ).fetchone() == (1,)
        # Not healed by a restart: the same worker did it all.
        assert worker_pid(c) == pid
    cluster.assert_no_real_crash()
