-- status: where a message is now (queued, delayed, in_flight, archived, invalid, unknown), by key.
-- Moves to the invalid queue run in one transaction with run_maintenance() (the background
-- worker runs in this database too), so the output is deterministic.
\set VERBOSITY terse
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/regress/try.sql
SELECT pgmq.create('st_q');
SELECT pgmq.create('st_dlq');
SELECT (pgmq.set_policy('st_q', invalid_queue => 'st_dlq', max_deliveries => 2)).invalid_queue;
-- set_policy indexed the invalid queue's x-pgmq-invalid msg_id and queue.
SELECT indexdef FROM pg_indexes WHERE schemaname = 'pgmq' AND indexname = 'invalid_msg_idx_st_dlq';
SELECT * FROM pgmq.send_batch('st_q', ARRAY['{"n": 1}', '{"n": 2}', '{"n": 3}', '{"n": 4}']::jsonb[]);
SELECT * FROM pgmq.send('st_q', '{"n": 5}', 3600);

-- 1 queued, 2 in flight, 3 archived with a result, 4 in flight then nacked with an error, 5 delayed.
SELECT msg_id FROM pgmq.read('st_q', 600, 4) ORDER BY msg_id;
SELECT count(*) AS released FROM pgmq.set_vt('st_q', 1, 0);
UPDATE pgmq.q_st_q SET read_ct = 0, last_read_at = NULL WHERE msg_id = 1;
SELECT pgmq.archive('st_q', 3, '{"answer": 42}');
SELECT pgmq.nack('st_q', 4, 600, '{"code": "E4"}');
SELECT msg_id, state, read_ct, result, last_error, invalid_queue, reason,
       enqueued_at IS NOT NULL AS has_enqueued_at, last_read_at IS NOT NULL AS was_read,
       vt > clock_timestamp() AS hidden
  FROM pgmq.status('st_q', ARRAY[5, 4, 3, 2, 1, 999, 2]::bigint[]);
SELECT state, read_ct, result, last_error, invalid_queue, reason FROM pgmq.status('st_q', 3);
SELECT state FROM pgmq.status('st_q', 999);
SELECT state, read_ct, vt IS NULL AS no_vt FROM pgmq.status(queue_name => 'st_q', msg_id => 1);
SELECT count(*) AS empty_array FROM pgmq.status('st_q', ARRAY[]::bigint[]);

-- 2 and 4 break max_deliveries: moved to the invalid queue, status says which one and why.
BEGIN;
UPDATE pgmq.q_st_q SET read_ct = 2, vt = clock_timestamp() - interval '1 s' WHERE msg_id IN (2, 4);
SELECT queue_name, reason, destination, messages FROM pgmq.run_maintenance() WHERE queue_name = 'st_q';
COMMIT;
SELECT msg_id, state, read_ct, last_error, invalid_queue, reason FROM pgmq.status('st_q', ARRAY[2, 4]::bigint[]);
-- The lookup in the invalid queue uses the index.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM pgmq.q_st_dlq AS v
 WHERE (v.headers -> 'x-pgmq-invalid') ->> 'msg_id' = '2' AND (v.headers -> 'x-pgmq-invalid') ->> 'queue' = 'st_q';
RESET enable_seqscan;
-- Gone from the invalid queue too: unknown.
SELECT pgmq.purge_queue('st_dlq');
SELECT msg_id, state FROM pgmq.status('st_q', ARRAY[2, 4]::bigint[]);
-- Status of the invalid queue's own messages is theirs (it has no policy).
SELECT msg_id, state FROM pgmq.status('st_dlq', ARRAY[1]::bigint[]);

-- Bad input: clear errors.
SELECT pg_temp.try($$SELECT pgmq.status('st_missing', 1)$$) AS unknown_queue;
SELECT pg_temp.try($$SELECT * FROM pgmq.status('st_missing', ARRAY[1]::bigint[])$$) AS unknown_queue_batch;
SELECT pg_temp.try($$SELECT pgmq.status(NULL, 1)$$) AS null_queue;
SELECT pg_temp.try($$SELECT pgmq.status('st_q', NULL::bigint)$$) AS null_id;
SELECT pg_temp.try($$SELECT * FROM pgmq.status('st_q', NULL::bigint[])$$) AS null_ids;
SELECT pg_temp.try($$SELECT * FROM pgmq.status('st_q', ARRAY[1, NULL]::bigint[])$$) AS null_element;
SELECT pg_temp.try($$SELECT * FROM pgmq.status('bad;name', ARRAY[1]::bigint[])$$) AS bad_name;

-- Privileges: SELECT on the queue table (and its archive).
CREATE ROLE st_reader;
GRANT USAGE ON SCHEMA pgmq TO st_reader;
SET ROLE st_reader;
SELECT pg_temp.try($$SELECT pgmq.status('st_q', 1)$$) AS no_privileges;
RESET ROLE;
GRANT SELECT ON pgmq.q_st_q TO st_reader;
SET ROLE st_reader;
SELECT pg_temp.try($$SELECT pgmq.status('st_q', 1)$$) AS no_archive_privileges;
RESET ROLE;
REVOKE ALL ON pgmq.q_st_q FROM st_reader;
REVOKE USAGE ON SCHEMA pgmq FROM st_reader;
DROP ROLE st_reader;
SELECT pgmq.clear_policy('st_q');
SELECT pgmq.drop_queue('st_q'), pgmq.drop_queue('st_dlq');
