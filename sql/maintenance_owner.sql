-- maintenance_owner: run_maintenance() moves each queue's messages as the queue table's owner,
-- never as its caller (a superuser running it from cron must not run an owner's trigger as a
-- superuser), and whatever settings the owner's code changes, even for the session, are undone:
-- the caller's session and the other queues of the same call are unaffected. A caller that is
-- not a superuser maintains only the queues of owners whose privileges it has, and needs no
-- privilege on pgmq's own tables for it. Each step runs in one transaction so that the
-- background worker never sees the overdue messages first.
\set VERBOSITY terse
CREATE ROLE regress_pgmq_alice;
CREATE ROLE regress_pgmq_bob;
CREATE ROLE regress_pgmq_carol IN ROLE regress_pgmq_alice;
GRANT USAGE ON SCHEMA pgmq TO regress_pgmq_alice, regress_pgmq_bob;
SELECT pgmq.create('mo_alice'), pgmq.create('mo_bob');
ALTER TABLE pgmq.q_mo_alice OWNER TO regress_pgmq_alice;
ALTER TABLE pgmq.a_mo_alice OWNER TO regress_pgmq_alice;
ALTER TABLE pgmq.q_mo_bob OWNER TO regress_pgmq_bob;
ALTER TABLE pgmq.a_mo_bob OWNER TO regress_pgmq_bob;
CREATE TABLE public.mo_seen (queue text, who text, super boolean, session_super boolean);
GRANT INSERT ON public.mo_seen TO PUBLIC;
-- alice's trigger records who runs it, then changes settings of the session
CREATE FUNCTION public.mo_spy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.mo_seen
        SELECT TG_TABLE_NAME, current_user, r.rolsuper, (SELECT s.rolsuper FROM pg_roles AS s WHERE s.rolname = session_user)
          FROM pg_roles AS r WHERE r.rolname = current_user;
    PERFORM set_config('search_path', 'evil', false), set_config('default_transaction_read_only', 'on', false),
            set_config('regress.mo', 'alice', false), set_config('statement_timeout', '17min', false);
    RETURN NULL;
END
$$;
CREATE TRIGGER mo_spy AFTER DELETE ON pgmq.q_mo_alice FOR EACH STATEMENT EXECUTE FUNCTION public.mo_spy();
SET regress.mo = 'caller';

-- a superuser's call: alice's trigger runs as alice; bob's queue, after alice's, still moves;
-- the caller's settings are as before
BEGIN;
SELECT 1 FROM pgmq.set_policy('mo_alice', max_deliveries => 1);
SELECT 1 FROM pgmq.set_policy('mo_bob', max_deliveries => 1);
SELECT pgmq.send('mo_alice', '{"a": 1}'), pgmq.send('mo_bob', '{"b": 1}');
UPDATE pgmq.q_mo_alice SET read_ct = 1;
UPDATE pgmq.q_mo_bob SET read_ct = 1;
SELECT * FROM pgmq.run_maintenance();
SELECT * FROM public.mo_seen;
SELECT current_setting('search_path') AS search_path,
       current_setting('default_transaction_read_only') AS default_read_only,
       current_setting('regress.mo') AS custom, current_setting('statement_timeout') AS statement_timeout;
SELECT queue_name, moved_max_deliveries FROM pgmq.policy_metrics() WHERE queue_name LIKE 'mo\_%';
ROLLBACK;

-- bob, no superuser: his own queue only, with the counters written; alice's is not touched
BEGIN;
SELECT 1 FROM pgmq.set_policy('mo_alice', max_deliveries => 1);
SELECT 1 FROM pgmq.set_policy('mo_bob', max_deliveries => 1);
SELECT pgmq.send('mo_alice', '{"a": 1}'), pgmq.send('mo_bob', '{"b": 1}');
UPDATE pgmq.q_mo_alice SET read_ct = 1;
UPDATE pgmq.q_mo_bob SET read_ct = 1;
SET LOCAL ROLE regress_pgmq_bob;
SELECT * FROM pgmq.run_maintenance();
RESET ROLE;
SELECT (SELECT count(*) FROM pgmq.q_mo_alice) AS left_alice, (SELECT count(*) FROM pgmq.a_mo_alice) AS moved_alice,
       (SELECT count(*) FROM pgmq.q_mo_bob) AS left_bob, (SELECT count(*) FROM pgmq.a_mo_bob) AS moved_bob,
       (SELECT count(*) FROM public.mo_seen) AS triggers_run;
SELECT queue_name, moved_max_deliveries FROM pgmq.policy_metrics() WHERE queue_name LIKE 'mo\_%';
-- carol, a member of alice: alice's queue (as alice, not as carol), not bob's
SET LOCAL ROLE regress_pgmq_carol;
SELECT * FROM pgmq.run_maintenance();
SELECT current_setting('search_path') AS search_path, current_setting('regress.mo') AS custom;
RESET ROLE;
SELECT * FROM public.mo_seen;
ROLLBACK;

-- alice's trigger makes the transaction read-only: undone when her queue's moves end, so her own
-- counters and bob's queue, maintained later in the same transaction, are written
BEGIN;
CREATE OR REPLACE FUNCTION public.mo_spy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('transaction_read_only', 'on', false);
    RETURN NULL;
END
$$;
SELECT 1 FROM pgmq.set_policy('mo_alice', max_deliveries => 1);
SELECT 1 FROM pgmq.set_policy('mo_bob', max_deliveries => 1);
SELECT pgmq.send('mo_alice', '{"a": 1}'), pgmq.send('mo_bob', '{"b": 1}');
UPDATE pgmq.q_mo_alice SET read_ct = 1;
UPDATE pgmq.q_mo_bob SET read_ct = 1;
SELECT * FROM pgmq.run_maintenance();
SELECT current_setting('transaction_read_only') AS read_only;
SELECT queue_name, moved_max_deliveries FROM pgmq.policy_metrics() WHERE queue_name LIKE 'mo\_%';
ROLLBACK;

-- alice's trigger changes settings and then fails: her queue's moves are rolled back (a WARNING),
-- and so are her settings and identity; bob's queue still moves
BEGIN;
CREATE OR REPLACE FUNCTION public.mo_spy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('search_path', 'evil', false), set_config('regress.mo', 'alice', false);
    RAISE EXCEPTION 'alice says no' USING ERRCODE = 'check_violation';
END
$$;
SELECT 1 FROM pgmq.set_policy('mo_alice', max_deliveries => 1);
SELECT 1 FROM pgmq.set_policy('mo_bob', max_deliveries => 1);
SELECT pgmq.send('mo_alice', '{"a": 1}'), pgmq.send('mo_bob', '{"b": 1}');
UPDATE pgmq.q_mo_alice SET read_ct = 1;
UPDATE pgmq.q_mo_bob SET read_ct = 1;
SELECT * FROM pgmq.run_maintenance();
SELECT current_user = session_user AS caller, current_setting('search_path') AS search_path,
       current_setting('regress.mo') AS custom;
ROLLBACK;

RESET regress.mo;
SELECT pgmq.drop_queue('mo_alice'), pgmq.drop_queue('mo_bob');
DROP TABLE public.mo_seen;
DROP FUNCTION public.mo_spy();
REVOKE USAGE ON SCHEMA pgmq FROM regress_pgmq_alice, regress_pgmq_bob;
DROP ROLE regress_pgmq_carol, regress_pgmq_alice, regress_pgmq_bob;
