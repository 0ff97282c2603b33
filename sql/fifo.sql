-- fifo: FIFO groups (header x-pgmq-group): read_grouped, read_grouped_rr,
-- read_grouped_head and their _with_poll forms, create_fifo_index(es_all),
-- the default group, a group blocked while a message is in flight, errors.
SELECT pgmq.create('fifo_q');
SELECT pgmq.create_fifo_index('fifo_q');
-- idempotent: a notice the second time
SELECT pgmq.create_fifo_index('fifo_q');
SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'q_fifo_q' AND indexname LIKE '%group%';

-- 1 A, 2 B, 3 A, 4 (no header: default), 5 B, 6 A, 7 (group null: default), 8 (group "", its own),
-- 9 (group _default_fifo_group: the default group's key)
SELECT * FROM pgmq.send('fifo_q', '{"n": 1}', '{"x-pgmq-group": "A"}'::jsonb);
SELECT * FROM pgmq.send('fifo_q', '{"n": 2}', '{"x-pgmq-group": "B"}'::jsonb);
SELECT * FROM pgmq.send('fifo_q', '{"n": 3}', '{"x-pgmq-group": "A"}'::jsonb);
SELECT * FROM pgmq.send('fifo_q', '{"n": 4}');
SELECT * FROM pgmq.send('fifo_q', '{"n": 5}', '{"x-pgmq-group": "B"}'::jsonb);
SELECT * FROM pgmq.send('fifo_q', '{"n": 6}', '{"x-pgmq-group": "A"}'::jsonb);
SELECT * FROM pgmq.send('fifo_q', '{"n": 7}', '{"x-pgmq-group": null}'::jsonb);
SELECT * FROM pgmq.send('fifo_q', '{"n": 8}', '{"x-pgmq-group": ""}'::jsonb);
SELECT * FROM pgmq.send('fifo_q', '{"n": 9}', '{"x-pgmq-group": "_default_fifo_group"}'::jsonb);

------------------------------------------------------------------------------
-- read_grouped: fill the batch from the oldest group first
------------------------------------------------------------------------------
SELECT msg_id, read_ct, message FROM pgmq.read_grouped('fifo_q', 30, 2);
-- A is in flight: nothing of it; B, then the default group, then "" (selection order)
SELECT msg_id, read_ct, message FROM pgmq.read_grouped('fifo_q', 30, 10);
SELECT count(*) AS nothing FROM pgmq.read_grouped('fifo_q', 30, 10);
-- acknowledging 1 leaves 3 in flight at the head of A: still nothing
SELECT pgmq.delete('fifo_q', 1);
SELECT count(*) AS nothing FROM pgmq.read_grouped('fifo_q', 30, 10);
SELECT pgmq.delete('fifo_q', 3);
SELECT msg_id, message FROM pgmq.read_grouped('fifo_q', 30, 10);
-- a vt that passes makes the group's head visible again: read_ct counts on
UPDATE pgmq.q_fifo_q SET vt = clock_timestamp() - interval '1 s' WHERE msg_id IN (2, 5);
SELECT msg_id, read_ct FROM pgmq.read_grouped('fifo_q', 0, 1);
-- read with vt 0: visible again at once, the same head again (the row shape: message_record)
SELECT pg_typeof(r), r.msg_id, r.read_ct FROM pgmq.read_grouped('fifo_q', 30, 1) AS r;

------------------------------------------------------------------------------
-- a message in the middle of a group that is in flight stops the group there
------------------------------------------------------------------------------
SELECT pgmq.create('fifo_mid');
SELECT * FROM pgmq.send_batch('fifo_mid', ARRAY['{"n": 1}', '{"n": 2}', '{"n": 3}']::jsonb[],
                              ARRAY['{"x-pgmq-group": "G"}', '{"x-pgmq-group": "G"}', '{"x-pgmq-group": "G"}']::jsonb[]);
SELECT msg_id AS hidden FROM pgmq.set_vt('fifo_mid', 2, 30);
SELECT msg_id FROM pgmq.read_grouped('fifo_mid', 30, 10);
SELECT count(*) AS nothing FROM pgmq.read_grouped('fifo_mid', 30, 10);

------------------------------------------------------------------------------
-- a long run of a group in flight at the front: past 1,024 rows the read
-- lists the groups' heads through the index instead of walking the run
------------------------------------------------------------------------------
SELECT pgmq.create('fifo_long');
SELECT pgmq.create_fifo_index('fifo_long');
SELECT * FROM pgmq.send('fifo_long', '{"n": "x1"}', '{"x-pgmq-group": "x"}'::jsonb);
SELECT count(*) FROM pgmq.send_batch('fifo_long', (SELECT array_agg(jsonb_build_object('n', i)) FROM generate_series(1, 3000) AS i),
                                     (SELECT array_agg('{"x-pgmq-group": "busy"}'::jsonb) FROM generate_series(1, 3000)));
SELECT * FROM pgmq.send('fifo_long', '{"n": "y1"}', '{"x-pgmq-group": "y"}'::jsonb);
SELECT * FROM pgmq.send('fifo_long', '{"n": "x2"}', '{"x-pgmq-group": "x"}'::jsonb);
SELECT * FROM pgmq.send('fifo_long', '{"n": "d1"}');
SELECT msg_id FROM pgmq.read_grouped_head('fifo_long', 30, 2);
SELECT msg_id, message FROM pgmq.read_grouped('fifo_long', 30, 10);
SELECT pgmq.delete('fifo_long', 1);
SELECT msg_id, message FROM pgmq.read_grouped_rr('fifo_long', 30, 10);
SELECT count(*) AS nothing FROM pgmq.read_grouped('fifo_long', 30, 10);
SELECT pgmq.drop_queue('fifo_long');

------------------------------------------------------------------------------
-- read_grouped_rr: every group's head, then every second message, ... in that order
------------------------------------------------------------------------------
SELECT pgmq.create('fifo_rr');
SELECT * FROM pgmq.send_batch('fifo_rr',
    ARRAY['{"n": 1}', '{"n": 2}', '{"n": 3}', '{"n": 4}', '{"n": 5}', '{"n": 6}', '{"n": 7}']::jsonb[],
    ARRAY['{"x-pgmq-group": "A"}', '{"x-pgmq-group": "A"}', '{"x-pgmq-group": "A"}', '{"x-pgmq-group": "B"}',
          '{"x-pgmq-group": "B"}', '{"x-pgmq-group": "C"}', '{"x-pgmq-group": "A"}']::jsonb[]);
SELECT msg_id, message FROM pgmq.read_grouped_rr('fifo_rr', 30, 5);
SELECT count(*) AS nothing FROM pgmq.read_grouped_rr('fifo_rr', 30, 5);
-- no index: the same answers (a scan per group)
UPDATE pgmq.q_fifo_rr SET vt = clock_timestamp() - interval '1 s';
SELECT msg_id FROM pgmq.read_grouped_rr('fifo_rr', 30, 2);
SELECT msg_id FROM pgmq.read_grouped_rr('fifo_rr', 30, 10);

------------------------------------------------------------------------------
-- read_grouped_head: the head of each group, one message per group
------------------------------------------------------------------------------
UPDATE pgmq.q_fifo_rr SET vt = clock_timestamp() - interval '1 s';
SELECT msg_id, message FROM pgmq.read_grouped_head('fifo_rr', 30, 10);
SELECT count(*) AS nothing FROM pgmq.read_grouped_head('fifo_rr', 30, 10);
SELECT pgmq.archive('fifo_rr', 1);
SELECT msg_id FROM pgmq.read_grouped_head('fifo_rr', 30, 10);
UPDATE pgmq.q_fifo_rr SET vt = clock_timestamp() - interval '1 s';
SELECT msg_id FROM pgmq.read_grouped_head('fifo_rr', 30, 2);

------------------------------------------------------------------------------
-- the _with_poll forms: a read at once when something is there, else a wait
------------------------------------------------------------------------------
UPDATE pgmq.q_fifo_rr SET vt = clock_timestamp() - interval '1 s';
SELECT msg_id FROM pgmq.read_grouped_with_poll('fifo_rr', 30, 2);
SELECT msg_id FROM pgmq.read_grouped_rr_with_poll('fifo_rr', 30, 10, 1, 10);
UPDATE pgmq.q_fifo_rr SET vt = clock_timestamp() - interval '1 s';
SELECT msg_id FROM pgmq.read_grouped_head_with_poll(queue_name => 'fifo_rr', vt => 30, qty => 10,
                                                    max_poll_seconds => 0, poll_interval_ms => 10);
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS nothing FROM pgmq.read_grouped_head_with_poll('fifo_rr', 30, 10, 1, 50);
SELECT clock_timestamp() - :'t0'::timestamptz >= interval '0.9 s' AS waited;

------------------------------------------------------------------------------
-- create_fifo_indexes_all: every queue
------------------------------------------------------------------------------
SELECT pgmq.create_fifo_indexes_all();
SELECT tablename, indexname FROM pg_indexes
 WHERE schemaname = 'pgmq' AND indexname LIKE 'q\_fifo%\_group\_idx' ORDER BY 1;
-- the index's expression is the one the reads use
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT msg_id FROM pgmq.q_fifo_rr
 WHERE COALESCE(headers ->> 'x-pgmq-group', '_default_fifo_group') = 'A' ORDER BY 1 LIMIT 1;
RESET enable_seqscan;

------------------------------------------------------------------------------
-- errors
------------------------------------------------------------------------------
\set VERBOSITY sqlstate
SELECT * FROM pgmq.read_grouped('no_such_q', 30, 1);
SELECT * FROM pgmq.read_grouped_rr('no_such_q', 30, 1);
SELECT * FROM pgmq.read_grouped_head('no_such_q', 30, 1);
SELECT pgmq.create_fifo_index('no_such_q');
SELECT * FROM pgmq.read_grouped(NULL, 30, 1);
SELECT * FROM pgmq.read_grouped('fifo_q', NULL, 1);
SELECT * FROM pgmq.read_grouped('fifo_q', 30, NULL);
SELECT * FROM pgmq.read_grouped('fifo_q', -1, 1);
SELECT * FROM pgmq.read_grouped_rr('fifo_q', 30, 0);
SELECT * FROM pgmq.read_grouped_head('fifo_q', 30, -1);
SELECT * FROM pgmq.read_grouped_with_poll('fifo_q', 30, 1, -1);
SELECT * FROM pgmq.read_grouped_rr_with_poll('fifo_q', 30, 1, 1, 0);
SELECT * FROM pgmq.read_grouped_head_with_poll('fifo_q', 30, 1, 1, NULL);
SELECT pgmq.create_fifo_index(NULL);
SELECT * FROM pgmq.read_grouped('bad;name', 30, 1);
\set VERBOSITY default
SELECT * FROM pgmq.read_grouped_rr('fifo_q', 30, 0);

SELECT pgmq.drop_queue('fifo_q');
SELECT pgmq.drop_queue('fifo_mid');
SELECT pgmq.drop_queue('fifo_rr');
