-- policy: the per-queue policy API, its validation, and moves by pgmq.run_maintenance().
-- The background worker runs in this database too; every step that makes a message overdue
-- (by moving its timestamps back) runs in one transaction with run_maintenance(), so the
-- worker never sees it first and the output is deterministic.
\set VERBOSITY terse
SELECT pgmq.create('pol_src');
SELECT pgmq.create('pol_dlq');
SELECT pgmq.create('pol_other');

-- Defaults: a queue without a policy reads as NULL limits.
SELECT queue_name, invalid_queue, max_deliveries, deadline_seconds, retention_seconds, retention_action
  FROM pgmq.policy('pol_src');
SELECT count(*) FROM pgmq.policies;

-- Setting a policy returns it; names are folded like queue names.
SELECT queue_name, invalid_queue, max_deliveries, deadline_seconds, retention_seconds, retention_action
  FROM pgmq.set_policy('POL_SRC', invalid_queue => 'Pol_Dlq', max_deliveries => 3, deadline_seconds => 60);
SELECT queue_name, invalid_queue, max_deliveries, deadline_seconds FROM pgmq.policies;
-- set_policy replaces the whole policy: omitted settings become "no limit".
SELECT queue_name, invalid_queue, max_deliveries, deadline_seconds, retention_seconds
  FROM pgmq.set_policy('pol_src', invalid_queue => 'pol_dlq', max_deliveries => 2);
-- The queue table gained first_visible_at (reads of a policy queue fill it).
SELECT attname FROM pg_attribute WHERE attrelid = 'pgmq.q_pol_src'::regclass AND attnum > 0 ORDER BY attnum;

-- Bad input.
SELECT pgmq.set_policy('pol_src', max_deliveries => 0);
SELECT pgmq.set_policy('pol_src', max_deliveries => -1);
SELECT pgmq.set_policy('pol_src', deadline_seconds => 0);
SELECT pgmq.set_policy('pol_src', retention_seconds => -5);
SELECT pgmq.set_policy('pol_src', retention_seconds => 10, retention_action => 'keep');
SELECT pgmq.set_policy('pol_src', retention_action => NULL);
SELECT pgmq.set_policy('pol_src', invalid_queue => 'pol_src');
SELECT pgmq.set_policy('pol_src', invalid_queue => 'POL_SRC');
SELECT pgmq.set_policy('no_such_queue', max_deliveries => 1);
SELECT pgmq.set_policy('pol_src', invalid_queue => 'no_such_queue');
SELECT pgmq.set_policy(NULL, max_deliveries => 1);
SELECT pgmq.set_policy('bad;name!', max_deliveries => 1);
SELECT pgmq.policy('no_such_queue');
SELECT pgmq.clear_policy('no_such_queue');
-- Cycles: pol_src -> pol_dlq exists; pol_dlq -> pol_src would close it, also through a third queue.
SELECT pgmq.set_policy('pol_dlq', invalid_queue => 'pol_src');
SELECT queue_name, invalid_queue FROM pgmq.set_policy('pol_other', invalid_queue => 'pol_src');
SELECT pgmq.set_policy('pol_dlq', invalid_queue => 'pol_other');
SELECT pgmq.clear_policy('pol_other');
-- The policy is unchanged by the failed calls.
SELECT queue_name, invalid_queue, max_deliveries, deadline_seconds FROM pgmq.policies;
-- An invalid queue cannot be dropped while a policy points at it.
SELECT pgmq.drop_queue('pol_dlq');
SELECT (pgmq.metrics('pol_dlq')).queue_name AS still_there;

-- max_deliveries in the read path: a message read twice is never handed out again,
-- even before any maintenance pass; pop skips it too.
BEGIN;
SELECT count(*) FROM pgmq.send('pol_src', '{"n": 1}');
SELECT read_ct FROM pgmq.read('pol_src', 0, 1);
SELECT read_ct FROM pgmq.read('pol_src', 0, 1);
SELECT count(*) AS third_read FROM pgmq.read('pol_src', 0, 1);
SELECT count(*) AS third_read_conditional FROM pgmq.read('pol_src', 0, 1, '{"n": 1}');
SELECT count(*) AS popped FROM pgmq.pop('pol_src');
-- first_visible_at was remembered by the first read.
SELECT first_visible_at IS NOT NULL AS remembered FROM pgmq.q_pol_src;
SELECT * FROM pgmq.run_maintenance();
COMMIT;
SELECT read_ct, message, headers->'x-pgmq-invalid'->>'reason' AS reason,
       headers->'x-pgmq-invalid'->>'queue' AS queue,
       (headers->'x-pgmq-invalid'->>'msg_id')::bigint > 0 AS has_msg_id,
       (headers->'x-pgmq-invalid'->>'moved_at')::timestamptz >= (headers->'x-pgmq-invalid'->>'due_at')::timestamptz AS moved_after_due
  FROM pgmq.q_pol_dlq;
SELECT count(*) FROM pgmq.q_pol_src;

-- A message still within its read limit but whose vt has not expired is not moved.
BEGIN;
SELECT count(*) FROM pgmq.send('pol_src', '{"n": 2}');
SELECT read_ct FROM pgmq.read('pol_src', 0, 1);
SELECT read_ct FROM pgmq.read('pol_src', 3600, 1);
SELECT count(*) FROM pgmq.run_maintenance();
-- ... until its vt expires.
UPDATE pgmq.q_pol_src SET vt = now() - interval '1 second';
SELECT * FROM pgmq.run_maintenance();
COMMIT;
SELECT count(*) AS in_dlq FROM pgmq.q_pol_dlq;

-- Deadline: counted from the first visibility; an unread delayed message gets its full deadline.
SELECT queue_name, deadline_seconds FROM pgmq.set_policy('pol_src', invalid_queue => 'pol_dlq', deadline_seconds => 60);
BEGIN;
-- enqueued two minutes ago with a 100 s delay: visible for 20 s only, not yet overdue.
SELECT count(*) FROM pgmq.send('pol_src', '{"n": "delayed"}', 100);
UPDATE pgmq.q_pol_src SET enqueued_at = enqueued_at - interval '2 minutes', vt = vt - interval '2 minutes';
-- enqueued two minutes ago without delay and read once (first visible then): overdue.
SELECT count(*) FROM pgmq.send('pol_src', '{"n": "read"}');
SELECT count(*) FROM pgmq.read('pol_src', 3600, 1, '{"n": "read"}');
UPDATE pgmq.q_pol_src SET enqueued_at = enqueued_at - interval '2 minutes',
       first_visible_at = first_visible_at - interval '2 minutes' WHERE message->>'n' = 'read';
SELECT * FROM pgmq.run_maintenance();
SELECT message->>'n' AS left_in_queue FROM pgmq.q_pol_src;
-- The delayed one, read late (first visible 70 s ago), is overdue.
SELECT count(*) FROM pgmq.read('pol_src', 3600, 1);
UPDATE pgmq.q_pol_src SET first_visible_at = now() - interval '70 seconds';
SELECT * FROM pgmq.run_maintenance();
COMMIT;
SELECT message->>'n' AS n, read_ct, headers->'x-pgmq-invalid'->>'reason' AS reason
  FROM pgmq.q_pol_dlq ORDER BY msg_id;

-- No invalid queue: overdue messages are archived with the reason in their headers.
SELECT queue_name, invalid_queue FROM pgmq.set_policy('pol_other', max_deliveries => 1);
BEGIN;
SELECT count(*) FROM pgmq.send('pol_other', '{"n": "archived"}', '[1, 2]'::jsonb);
SELECT read_ct FROM pgmq.read('pol_other', 0, 1);
SELECT * FROM pgmq.run_maintenance();
COMMIT;
SELECT read_ct, message, headers->'x-pgmq-headers' AS kept_headers, headers->'x-pgmq-invalid'->>'reason' AS reason
  FROM pgmq.a_pol_other;

-- Retention: archive (default) or delete.
SELECT queue_name, retention_seconds, retention_action FROM pgmq.set_policy('pol_other', retention_seconds => 60);
BEGIN;
SELECT count(*) FROM pgmq.send_batch('pol_other', ARRAY['{"r": 1}', '{"r": 2}', '{"r": 3}']::jsonb[]);
UPDATE pgmq.q_pol_other SET enqueued_at = enqueued_at - interval '61 seconds' WHERE message->>'r' IN ('1', '2');
SELECT * FROM pgmq.run_maintenance();
COMMIT;
SELECT message->>'r' AS r, headers->'x-pgmq-invalid'->>'reason' AS reason FROM pgmq.a_pol_other
 WHERE message ? 'r' ORDER BY msg_id;
SELECT queue_name, retention_action
  FROM pgmq.set_policy('pol_other', retention_seconds => 60, retention_action => 'delete');
BEGIN;
UPDATE pgmq.q_pol_other SET enqueued_at = enqueued_at - interval '61 seconds';
SELECT * FROM pgmq.run_maintenance();
COMMIT;
SELECT count(*) AS left_in_queue FROM pgmq.q_pol_other;
SELECT count(*) AS archived_r FROM pgmq.a_pol_other WHERE message ? 'r';

-- Batches: more overdue messages than pgmq.worker_batch_size move in one call.
SET pgmq.worker_batch_size = 2;
BEGIN;
SELECT count(*) FROM pgmq.send_batch('pol_other', ARRAY['{"b": 1}', '{"b": 2}', '{"b": 3}', '{"b": 4}', '{"b": 5}']::jsonb[]);
UPDATE pgmq.q_pol_other SET enqueued_at = enqueued_at - interval '61 seconds';
SELECT * FROM pgmq.run_maintenance();
COMMIT;
RESET pgmq.worker_batch_size;

-- One broken queue does not stop the others: its work is rolled back with a WARNING.
SELECT pgmq.create('pol_broken');
SELECT pgmq.create('pol_broken_dlq');
ALTER TABLE pgmq.q_pol_broken_dlq ADD COLUMN must_be_set integer NOT NULL;
SELECT queue_name FROM pgmq.set_policy('pol_broken', invalid_queue => 'pol_broken_dlq', max_deliveries => 1);
SELECT queue_name FROM pgmq.set_policy('pol_src', invalid_queue => 'pol_dlq', max_deliveries => 1);
BEGIN;
SELECT count(*) FROM pgmq.send('pol_broken', '{"n": "broken"}');
SELECT count(*) FROM pgmq.send('pol_src', '{"n": "fine"}');
SELECT count(*) FROM pgmq.read('pol_broken', 0, 1);
SELECT count(*) FROM pgmq.read('pol_src', 0, 1);
SELECT * FROM pgmq.run_maintenance();
SELECT count(*) AS still_in_broken FROM pgmq.q_pol_broken;
COMMIT;
SELECT message->>'n' AS n FROM pgmq.q_pol_dlq WHERE message->>'n' = 'fine';
SELECT pgmq.clear_policy('pol_broken');
SELECT pgmq.drop_queue('pol_broken_dlq');
SELECT pgmq.drop_queue('pol_broken');

-- Observability: counters per queue; metrics() keeps PGMQ's columns.
SELECT queue_name, invalid_queue, moved_deadline, moved_max_deliveries, removed_retention, total_moved,
       last_moved_at IS NOT NULL AS has_last_moved
  FROM pgmq.policy_metrics();
SELECT count(*) FROM pgmq.metrics('pol_src');

-- Clearing: reads hand out anything again; drop works once no policy points at the queue.
SELECT pgmq.clear_policy('pol_src');
SELECT pgmq.clear_policy('pol_src');
SELECT count(*) FROM pgmq.policies WHERE queue_name = 'pol_src';
SELECT pgmq.drop_queue('pol_dlq');
-- Dropping a queue drops its policy and counters.
SELECT pgmq.drop_queue('pol_other');
SELECT count(*) FROM pgmq.queue_policy;
SELECT queue_name FROM pgmq.queue_policy_stats;
SELECT pgmq.drop_queue('pol_src');
SELECT count(*) FROM pgmq.queue_policy_stats;
