-- dedup: set_policy(..., dedup_seconds => N) deduplicates sends by the header x-pgmq-dedup-id (SQS
-- semantics): an id sent within the last N seconds inserts nothing and returns the first message's
-- msg_id, also when that message is gone; within one batch the first message with an id wins. Bad ids
-- are errors (22023) and insert nothing. Expiry is tested by moving sent_at back, never by waiting;
-- the background worker runs in this database, so a backdated id is checked in the same transaction.
\set VERBOSITY terse
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/regress/try.sql
SELECT pgmq.create('dd_q');
SELECT pgmq.create('dd_plain');
SELECT queue_name, dedup_seconds, max_deliveries FROM pgmq.set_policy('dd_q', dedup_seconds => 300);
SELECT queue_name, dedup_seconds FROM pgmq.policies WHERE queue_name = 'dd_q';
SELECT (pgmq.policy('dd_q')).dedup_seconds;

-- The first send of an id inserts; the second returns the same msg_id and inserts nothing.
SELECT * FROM pgmq.send('dd_q', '{"n": 1}', '{"x-pgmq-dedup-id": "a"}'::jsonb);
SELECT * FROM pgmq.send('dd_q', '{"n": 2}', '{"x-pgmq-dedup-id": "a", "other": 1}'::jsonb);
SELECT * FROM pgmq.send('dd_q', '{"n": 3}', '{"x-pgmq-dedup-id": "a"}'::jsonb, 10);
SELECT msg_id, message, headers FROM pgmq.q_dd_q ORDER BY msg_id;
-- Without the header (no headers, other headers, headers that are not an object): sent as always.
SELECT * FROM pgmq.send('dd_q', '{"n": 4}');
SELECT * FROM pgmq.send('dd_q', '{"n": 5}', '{"x-other": "a"}'::jsonb);
SELECT * FROM pgmq.send('dd_q', '{"n": 6}', '["x-pgmq-dedup-id", "a"]'::jsonb);
SELECT * FROM pgmq.send('dd_q', '{"n": 7}', 'null'::jsonb);
-- Ids are exact strings: case and whitespace count.
SELECT * FROM pgmq.send('dd_q', '{"n": 8}', '{"x-pgmq-dedup-id": "A"}'::jsonb);
SELECT * FROM pgmq.send('dd_q', '{"n": 9}', '{"x-pgmq-dedup-id": "a "}'::jsonb);
SELECT count(*) AS rows FROM pgmq.q_dd_q;

-- A batch: ids already sent return the first's msg_id, a repeat within the batch the first in the
-- batch's; the others are inserted, in array order.
SELECT * FROM pgmq.send_batch('dd_q', ARRAY['{"b": 1}', '{"b": 2}', '{"b": 3}', '{"b": 4}', '{"b": 5}', '{"b": 6}']::jsonb[],
    ARRAY['{"x-pgmq-dedup-id": "c"}', '{"x-pgmq-dedup-id": "a"}', '{"x-pgmq-dedup-id": "b"}', NULL,
          '{"x-pgmq-dedup-id": "c"}', '{"x-pgmq-dedup-id": "b"}']::jsonb[]);
SELECT msg_id, message FROM pgmq.q_dd_q WHERE message ? 'b' ORDER BY msg_id;
-- A batch of duplicates only inserts nothing.
SELECT * FROM pgmq.send_batch('dd_q', ARRAY['{"b": 7}', '{"b": 8}']::jsonb[],
    ARRAY['{"x-pgmq-dedup-id": "b"}', '{"x-pgmq-dedup-id": "c"}']::jsonb[]);
SELECT count(*) AS rows FROM pgmq.q_dd_q;

-- The first message was deleted (or archived): its id still deduplicates and returns its msg_id.
SELECT pgmq.delete('dd_q', 1::bigint), pgmq.archive('dd_q', 12::bigint);
SELECT * FROM pgmq.send('dd_q', '{"n": 10}', '{"x-pgmq-dedup-id": "a"}'::jsonb);
SELECT * FROM pgmq.send('dd_q', '{"n": 11}', '{"x-pgmq-dedup-id": "b"}'::jsonb);
SELECT count(*) AS rows FROM pgmq.q_dd_q WHERE message ? 'n' AND (message ->> 'n')::int >= 10;

-- Sent longer ago than dedup_seconds: no longer a duplicate, even before the worker forgets it.
BEGIN;
UPDATE pgmq.dedup SET sent_at = sent_at - interval '301 seconds' WHERE queue_name = 'dd_q' AND dedup_id = 'a';
SELECT * FROM pgmq.send('dd_q', '{"n": 12}', '{"x-pgmq-dedup-id": "a"}'::jsonb);
SELECT * FROM pgmq.send('dd_q', '{"n": 13}', '{"x-pgmq-dedup-id": "a"}'::jsonb);
SELECT dedup_id, msg_id, sent_at > now() - interval '1 minute' AS recent FROM pgmq.dedup WHERE queue_name = 'dd_q' AND dedup_id = 'a';
COMMIT;
-- The window is the policy's current one: a shorter one applies to ids already sent.
BEGIN;
UPDATE pgmq.dedup SET sent_at = sent_at - interval '120 seconds' WHERE queue_name = 'dd_q' AND dedup_id = 'A';
SELECT * FROM pgmq.send('dd_q', '{"n": 14}', '{"x-pgmq-dedup-id": "A"}'::jsonb);
SELECT 1 FROM pgmq.set_policy('dd_q', dedup_seconds => 60);
SELECT * FROM pgmq.send('dd_q', '{"n": 15}', '{"x-pgmq-dedup-id": "A"}'::jsonb);
ROLLBACK;

-- Expired ids are forgotten by the maintenance pass (the worker's, or run_maintenance's).
UPDATE pgmq.dedup SET sent_at = sent_at - interval '1 hour' WHERE queue_name = 'dd_q' AND dedup_id IN ('b', 'c');
SELECT count(*) AS moved FROM pgmq.run_maintenance() WHERE queue_name = 'dd_q';
SELECT dedup_id FROM pgmq.dedup WHERE queue_name = 'dd_q' ORDER BY dedup_id COLLATE "C";

-- Bad ids on a deduplicating queue: 22023, nothing inserted (a bad id anywhere in a batch fails it all).
SELECT count(*) AS before FROM pgmq.q_dd_q;
SELECT pg_temp.try($$SELECT pgmq.send('dd_q', '{}', '{"x-pgmq-dedup-id": 17}'::jsonb)$$);
SELECT pg_temp.try($$SELECT pgmq.send('dd_q', '{}', '{"x-pgmq-dedup-id": null}'::jsonb)$$);
SELECT pg_temp.try($$SELECT pgmq.send('dd_q', '{}', '{"x-pgmq-dedup-id": {"id": "a"}}'::jsonb)$$);
SELECT pg_temp.try($$SELECT pgmq.send('dd_q', '{}', '{"x-pgmq-dedup-id": ""}'::jsonb)$$);
SELECT pg_temp.try(format($$SELECT pgmq.send('dd_q', '{}', '{"x-pgmq-dedup-id": "%s"}'::jsonb)$$, repeat('x', 129)));
SELECT pg_temp.try(format($$SELECT pgmq.send_batch('dd_q', ARRAY['{}', '{}']::jsonb[], ARRAY['{"x-pgmq-dedup-id": "new"}', '{"x-pgmq-dedup-id": %s}']::jsonb[])$$, 'true'));
SELECT count(*) AS after FROM pgmq.q_dd_q;
SELECT count(*) AS new_ids FROM pgmq.dedup WHERE queue_name = 'dd_q' AND dedup_id = 'new';
-- 128 characters, multibyte ones too, are fine.
SELECT count(*) FROM pgmq.send('dd_q', '{}', jsonb_build_object('x-pgmq-dedup-id', repeat('x', 128)));
SELECT count(*) FROM pgmq.send('dd_q', '{}', jsonb_build_object('x-pgmq-dedup-id', repeat('é', 128)));
SELECT pg_temp.try(format($$SELECT pgmq.send('dd_q', '{}', jsonb_build_object('x-pgmq-dedup-id', %L))$$, repeat('é', 129)));

-- On a queue without deduplication the header is just a header (as in PGMQ), even a bad one.
SELECT * FROM pgmq.send('dd_plain', '{}', '{"x-pgmq-dedup-id": "a"}'::jsonb);
SELECT * FROM pgmq.send('dd_plain', '{}', '{"x-pgmq-dedup-id": "a"}'::jsonb);
SELECT * FROM pgmq.send('dd_plain', '{}', '{"x-pgmq-dedup-id": 1}'::jsonb);
SELECT count(*) AS plain_ids FROM pgmq.dedup WHERE queue_name = 'dd_plain';

-- set_policy: dedup_seconds must be positive; unknown queues and NULL names as for every policy.
SELECT pg_temp.try($$SELECT pgmq.set_policy('dd_q', dedup_seconds => 0)$$);
SELECT pg_temp.try($$SELECT pgmq.set_policy('dd_q', dedup_seconds => -5)$$);
SELECT pg_temp.try($$SELECT pgmq.set_policy('dd_missing', dedup_seconds => 60)$$);
SELECT pg_temp.try($$SELECT pgmq.set_policy(NULL, dedup_seconds => 60)$$);
SELECT dedup_seconds FROM pgmq.policies WHERE queue_name = 'dd_q';

-- A queue table with a trigger of its own is sent to through the INSERT statement: same result.
CREATE TABLE public.dd_seen (msg_id bigint);
CREATE FUNCTION public.dd_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.dd_seen VALUES (NEW.msg_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER dd_note AFTER INSERT ON pgmq.q_dd_q FOR EACH ROW EXECUTE FUNCTION public.dd_note();
SELECT * FROM pgmq.send_batch('dd_q', ARRAY['{"t": 1}', '{"t": 2}', '{"t": 3}']::jsonb[],
    ARRAY['{"x-pgmq-dedup-id": "t"}', '{"x-pgmq-dedup-id": "t"}', '{"x-pgmq-dedup-id": "u"}']::jsonb[]);
SELECT * FROM pgmq.send('dd_q', '{"t": 4}', '{"x-pgmq-dedup-id": "u"}'::jsonb);
SELECT s.msg_id, q.message FROM public.dd_seen AS s JOIN pgmq.q_dd_q AS q USING (msg_id) ORDER BY 1;
DROP TRIGGER dd_note ON pgmq.q_dd_q;
DROP TABLE public.dd_seen;
DROP FUNCTION public.dd_note();

-- send_topic goes through the same send: a routed duplicate inserts nothing.
SELECT pgmq.bind_topic('dd.*', 'dd_q');
SELECT pgmq.send_topic('dd.x', '{"topic": 1}', '{"x-pgmq-dedup-id": "topic"}'::jsonb, 0);
SELECT pgmq.send_topic('dd.x', '{"topic": 2}', '{"x-pgmq-dedup-id": "topic"}'::jsonb, 0);
SELECT message FROM pgmq.q_dd_q WHERE message ? 'topic';
SELECT pgmq.unbind_topic('dd.*', 'dd_q');

-- Privileges: a role that may send to the queue deduplicates there, but sees and writes no ids.
CREATE ROLE regress_pgmq_dd;
GRANT USAGE ON SCHEMA pgmq TO regress_pgmq_dd;
GRANT SELECT, INSERT ON pgmq.q_dd_q TO regress_pgmq_dd;
SET ROLE regress_pgmq_dd;
SELECT * FROM pgmq.send('dd_q', '{"r": 1}', '{"x-pgmq-dedup-id": "r"}'::jsonb);
SELECT * FROM pgmq.send('dd_q', '{"r": 2}', '{"x-pgmq-dedup-id": "r"}'::jsonb);
SELECT pg_temp.try($$SELECT count(*) FROM pgmq.dedup$$);
SELECT pg_temp.try($$INSERT INTO pgmq.dedup VALUES ('dd_q', 'forged', 1, now())$$);
SELECT pg_temp.try($$DELETE FROM pgmq.dedup$$);
SELECT pg_temp.try($$SELECT pgmq.send('dd_plain', '{}', '{"x-pgmq-dedup-id": "r"}'::jsonb)$$);
RESET ROLE;
SELECT dedup_id, msg_id FROM pgmq.dedup WHERE dedup_id = 'r';
REVOKE ALL ON pgmq.q_dd_q FROM regress_pgmq_dd;
REVOKE USAGE ON SCHEMA pgmq FROM regress_pgmq_dd;
DROP ROLE regress_pgmq_dd;

-- Reads are as on any queue with a policy.
SELECT count(*) AS read FROM pgmq.read('dd_q', 30, 100);

-- Who forgets a queue's ids: purge_queue (a purged queue starts afresh), set_policy without
-- dedup_seconds, clear_policy, drop_queue.
SELECT count(*) > 0 AS has_ids FROM pgmq.dedup WHERE queue_name = 'dd_q';
SELECT pgmq.purge_queue('dd_q') > 0 AS purged;
SELECT count(*) AS ids_after_purge FROM pgmq.dedup WHERE queue_name = 'dd_q';
SELECT * FROM pgmq.send('dd_q', '{"p": 1}', '{"x-pgmq-dedup-id": "a"}'::jsonb);
SELECT 1 FROM pgmq.set_policy('dd_q', max_deliveries => 5);
SELECT count(*) AS ids_without_dedup FROM pgmq.dedup WHERE queue_name = 'dd_q';
SELECT * FROM pgmq.send('dd_q', '{"p": 2}', '{"x-pgmq-dedup-id": "a"}'::jsonb);
SELECT * FROM pgmq.send('dd_q', '{"p": 3}', '{"x-pgmq-dedup-id": "a"}'::jsonb);
SELECT 1 FROM pgmq.set_policy('dd_q', dedup_seconds => 60);
SELECT * FROM pgmq.send('dd_q', '{"p": 4}', '{"x-pgmq-dedup-id": "a"}'::jsonb);
SELECT pgmq.clear_policy('dd_q');
SELECT count(*) AS ids_after_clear FROM pgmq.dedup WHERE queue_name = 'dd_q';
SELECT 1 FROM pgmq.set_policy('dd_q', dedup_seconds => 60);
SELECT * FROM pgmq.send('dd_q', '{"p": 5}', '{"x-pgmq-dedup-id": "a"}'::jsonb);
SELECT count(*) AS messages_a FROM pgmq.q_dd_q WHERE headers ->> 'x-pgmq-dedup-id' = 'a';
SELECT pgmq.drop_queue('dd_q'), pgmq.drop_queue('dd_plain');
SELECT count(*) AS ids_after_drop FROM pgmq.dedup WHERE queue_name IN ('dd_q', 'dd_plain');
