-- maintenance_errors: errors in the middle of run_maintenance(). A failing trigger on an
-- invalid queue costs only that queue's moves (a WARNING); a cancel or statement_timeout
-- ends the whole call with 57014 instead of being swallowed as one queue's failure; the
-- session keeps working afterwards. Each step runs in one transaction so that the
-- background worker never sees the overdue messages first.
\set VERBOSITY terse
SELECT pgmq.create('me_a'), pgmq.create('me_b'), pgmq.create('me_dlq_a'), pgmq.create('me_dlq_b');
CREATE FUNCTION public.me_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'no entry for %', NEW.message USING ERRCODE = 'check_violation';
END
$$;
CREATE FUNCTION public.me_slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(0.5);
    RETURN NEW;
END
$$;

-- a failing trigger on one invalid queue: that queue's moves are rolled back, the other queue's happen
BEGIN;
SELECT 1 FROM pgmq.set_policy('me_a', invalid_queue => 'me_dlq_a', max_deliveries => 1);
SELECT 1 FROM pgmq.set_policy('me_b', invalid_queue => 'me_dlq_b', max_deliveries => 1);
CREATE TRIGGER me_fail BEFORE INSERT ON pgmq.q_me_dlq_a FOR EACH ROW EXECUTE FUNCTION public.me_fail();
SELECT pgmq.send('me_a', '{"a": 1}'), pgmq.send('me_b', '{"b": 1}');
UPDATE pgmq.q_me_a SET read_ct = 1;
UPDATE pgmq.q_me_b SET read_ct = 1;
SELECT * FROM pgmq.run_maintenance();
SELECT (SELECT count(*) FROM pgmq.q_me_a) AS left_a, (SELECT count(*) FROM pgmq.q_me_dlq_a) AS moved_a,
       (SELECT count(*) FROM pgmq.q_me_b) AS left_b, (SELECT count(*) FROM pgmq.q_me_dlq_b) AS moved_b;
-- the same session, plans and all, works once the trigger is gone
DROP TRIGGER me_fail ON pgmq.q_me_dlq_a;
SELECT * FROM pgmq.run_maintenance();
SELECT (SELECT count(*) FROM pgmq.q_me_a) AS left_a, (SELECT count(*) FROM pgmq.q_me_dlq_a) AS moved_a;
ROLLBACK;

-- statement_timeout while a queue is being maintained ends the call (57014), not just that queue
BEGIN;
SELECT 1 FROM pgmq.set_policy('me_a', invalid_queue => 'me_dlq_a', max_deliveries => 1);
SELECT 1 FROM pgmq.set_policy('me_b', invalid_queue => 'me_dlq_b', max_deliveries => 1);
CREATE TRIGGER me_slow BEFORE INSERT ON pgmq.q_me_dlq_a FOR EACH ROW EXECUTE FUNCTION public.me_slow();
SELECT pgmq.send('me_a', '{"a": 1}'), pgmq.send('me_b', '{"b": 1}');
UPDATE pgmq.q_me_a SET read_ct = 1;
UPDATE pgmq.q_me_b SET read_ct = 1;
SET LOCAL statement_timeout = '200ms';
SELECT * FROM pgmq.run_maintenance();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- and the session is fine afterwards
SELECT * FROM pgmq.run_maintenance() WHERE queue_name LIKE 'me\_%';
SELECT pgmq.drop_queue(q) FROM unnest(ARRAY['me_a', 'me_b', 'me_dlq_a', 'me_dlq_b']) AS q;
DROP FUNCTION public.me_fail(), public.me_slow();
