-- redrive: messages of an invalid queue go back to the queue each came from (or to a target),
-- oldest first, read_ct 0 and visible at once, with their history in x-pgmq-redriven.
-- Moves to the invalid queue run in one transaction with run_maintenance() (the worker runs here too).
\set VERBOSITY terse
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/regress/try.sql
SELECT pgmq.create('rd_a');
SELECT pgmq.create('rd_b');
SELECT pgmq.create('rd_dlq');
SELECT pgmq.create('rd_other');
SELECT (pgmq.set_policy('rd_a', invalid_queue => 'rd_dlq', max_deliveries => 1)).invalid_queue;
SELECT (pgmq.set_policy('rd_b', invalid_queue => 'rd_dlq', max_deliveries => 1)).invalid_queue;
SELECT * FROM pgmq.send_batch('rd_a', ARRAY['{"a": 1}', '{"a": 2}', '{"a": 3}']::jsonb[],
                              ARRAY['{"h": 1}', '{"h": 2}', '{"h": 3}']::jsonb[]);
SELECT * FROM pgmq.send('rd_b', '{"b": 1}'::jsonb, '{"hb": 1}'::jsonb);
SELECT count(*) AS read FROM pgmq.read('rd_a', 600, 3);
SELECT count(*) AS read FROM pgmq.read('rd_b', 600, 1);
SELECT pgmq.nack('rd_a', 2, 0, '{"code": "E2"}');
BEGIN;
UPDATE pgmq.q_rd_a SET vt = clock_timestamp() - interval '1 s';
UPDATE pgmq.q_rd_b SET vt = clock_timestamp() - interval '1 s';
SELECT queue_name, reason, destination, messages FROM pgmq.run_maintenance()
 WHERE queue_name IN ('rd_a', 'rd_b') ORDER BY 1;
COMMIT;
SELECT msg_id, headers->'x-pgmq-invalid'->>'queue' AS queue, headers->'x-pgmq-invalid'->>'msg_id' AS was
  FROM pgmq.q_rd_dlq ORDER BY msg_id;

-- Bad input: clear errors, nothing moved.
SELECT pg_temp.try($$SELECT pgmq.redrive('rd_other')$$) AS nobodys_invalid_queue;
SELECT pg_temp.try($$SELECT pgmq.redrive('rd_a')$$) AS a_source_queue;
SELECT pg_temp.try($$SELECT pgmq.redrive('rd_missing')$$) AS unknown_queue;
SELECT pg_temp.try($$SELECT pgmq.redrive('rd_dlq', 'rd_missing')$$) AS unknown_target;
SELECT pg_temp.try($$SELECT pgmq.redrive('rd_dlq', 'rd_dlq')$$) AS into_itself;
SELECT pg_temp.try($$SELECT pgmq.redrive(NULL)$$) AS null_queue;
SELECT pg_temp.try($$SELECT pgmq.redrive('bad;name')$$) AS bad_name;
SELECT pg_temp.try($$SELECT pgmq.redrive('rd_dlq', max_messages => 0)$$) AS zero_max;
SELECT pg_temp.try($$SELECT pgmq.redrive('rd_dlq', max_messages => -1)$$) AS negative_max;
SELECT count(*) AS still_invalid FROM pgmq.q_rd_dlq;

-- Oldest first, in batches of max_messages: back where each came from, with its msg_id again.
SELECT pgmq.redrive('rd_dlq', max_messages => 2) AS moved;
SELECT msg_id, state, read_ct FROM pgmq.status('rd_a', ARRAY[1, 2, 3]::bigint[]);
SELECT msg_id, read_ct, last_read_at, vt <= clock_timestamp() AS visible, message,
       headers - 'x-pgmq-redriven' AS headers,
       jsonb_path_query_array(headers, '$."x-pgmq-redriven"[*].keyvalue().key') AS history_keys,
       headers->'x-pgmq-redriven'->0->'invalid'->>'reason' AS reason,
       headers->'x-pgmq-redriven'->0->>'from' AS redriven_from
  FROM pgmq.q_rd_a ORDER BY msg_id;
-- The rest (rd_a's 3 and rd_b's 1), to their own queues.
SELECT pgmq.redrive('rd_dlq') AS moved;
SELECT msg_id, message FROM pgmq.q_rd_b;
SELECT count(*) AS left_invalid FROM pgmq.q_rd_dlq;
SELECT pgmq.redrive('rd_dlq') AS nothing_left;

-- To a target queue: new msg_ids there, history kept, and a second redrive appends to it.
SELECT count(*) AS read FROM pgmq.read('rd_a', 600, 3);
BEGIN;
UPDATE pgmq.q_rd_a SET vt = clock_timestamp() - interval '1 s';
SELECT queue_name, reason, destination, messages FROM pgmq.run_maintenance() WHERE queue_name = 'rd_a';
COMMIT;
SELECT pgmq.redrive('RD_DLQ', target_queue => 'Rd_Other') AS moved;
SELECT msg_id, message, read_ct, jsonb_array_length(headers->'x-pgmq-redriven') AS times_redriven,
       headers ? 'x-pgmq-invalid' AS still_marked_invalid
  FROM pgmq.q_rd_other ORDER BY msg_id;
-- Messages whose queue no longer exists, or without x-pgmq-invalid, stay unless a target is given.
SELECT * FROM pgmq.send('rd_dlq', '{"direct": true}'::jsonb, '"not an object"'::jsonb);
SELECT pgmq.redrive('rd_dlq') AS moved_without_origin;
SELECT pgmq.redrive('rd_dlq', 'rd_b') AS moved_to_target;
SELECT message, headers - 'x-pgmq-redriven' AS headers, headers->'x-pgmq-redriven'->0->'invalid' AS invalid
  FROM pgmq.q_rd_b WHERE message ? 'direct';

-- Privileges: SELECT and DELETE on the invalid queue, INSERT on the targets; checked first.
SELECT pgmq.purge_queue('rd_a') >= 0 AS purged;
SELECT count(*) FROM pgmq.read('rd_b', 600, 10);
SELECT count(*) AS read FROM pgmq.send('rd_a', '{"a": 9}');
SELECT count(*) AS read FROM pgmq.read('rd_a', 600, 1);
BEGIN;
UPDATE pgmq.q_rd_a SET vt = clock_timestamp() - interval '1 s';
SELECT queue_name, messages FROM pgmq.run_maintenance() WHERE queue_name = 'rd_a';
COMMIT;
CREATE ROLE rd_user;
GRANT USAGE ON SCHEMA pgmq TO rd_user;
SET ROLE rd_user;
SELECT pg_temp.try($$SELECT pgmq.redrive('rd_dlq')$$) AS no_privileges;
RESET ROLE;
GRANT SELECT, DELETE ON pgmq.q_rd_dlq TO rd_user;
SET ROLE rd_user;
SELECT pg_temp.try($$SELECT pgmq.redrive('rd_dlq')$$) AS no_insert_on_target;
RESET ROLE;
GRANT INSERT ON pgmq.q_rd_a TO rd_user;
SET ROLE rd_user;
SELECT pgmq.redrive('rd_dlq') AS moved_by_rd_user;
RESET ROLE;
REVOKE ALL ON pgmq.q_rd_dlq, pgmq.q_rd_a FROM rd_user;
REVOKE USAGE ON SCHEMA pgmq FROM rd_user;
DROP ROLE rd_user;

SELECT pgmq.clear_policy('rd_a'), pgmq.clear_policy('rd_b');
SELECT pg_temp.try($$SELECT pgmq.redrive('rd_dlq')$$) AS no_longer_an_invalid_queue;
SELECT pgmq.drop_queue(q) FROM unnest(ARRAY['rd_a', 'rd_b', 'rd_dlq', 'rd_other']) AS q;
