-- read: read, read_with_poll and pop; visibility timeouts, qty, msg_id order,
-- read_ct / last_read_at, the conditional filter, and rollback behaviour.
SELECT pgmq.create('read_q');
SELECT * FROM pgmq.send_batch('read_q', ARRAY['{"n": 1}', '{"n": 2}', '{"n": 3}', '{"n": 4}', '{"n": 5}']::jsonb[]);

------------------------------------------------------------------------------
-- read: the oldest visible messages, hidden for vt seconds
------------------------------------------------------------------------------
SELECT msg_id, read_ct, message, headers, last_read_at IS NOT NULL AS was_read FROM pgmq.read('read_q', 30, 1);
-- message 1 is hidden now: the next read gets 2 and 3
SELECT msg_id, read_ct, message FROM pgmq.read('read_q', 30, 2);
-- qty larger than what is visible returns what is visible, in msg_id order
SELECT msg_id, read_ct, message FROM pgmq.read(queue_name => 'read_q', vt => 30, qty => 10);
SELECT count(*) AS nothing_visible FROM pgmq.read('read_q', 30, 10);

-- read sets vt = clock time + vt seconds, read_ct + 1, last_read_at = clock time
SELECT msg_id, read_ct,
       last_read_at >= enqueued_at AND last_read_at <= clock_timestamp() AS last_read_at_ok,
       vt - last_read_at BETWEEN interval '29.9 s' AND interval '30.1 s' AS vt_is_30_s_after_read
  FROM pgmq.q_read_q ORDER BY msg_id;

------------------------------------------------------------------------------
-- vt 0: the message is visible again at once, read_ct keeps counting;
-- rows come back in msg_id order even after their tuples moved
------------------------------------------------------------------------------
UPDATE pgmq.q_read_q SET vt = clock_timestamp() - interval '1 s';
-- the row shape of read: pgmq.message_record
SELECT pg_typeof(r) FROM pgmq.read('read_q', 0, 1) AS r;
SELECT msg_id, read_ct FROM pgmq.read('read_q', 0, 1);
SELECT msg_id, read_ct FROM pgmq.read('read_q', 0, 1);
UPDATE pgmq.q_read_q SET message = message WHERE msg_id IN (2, 4);
SELECT msg_id, read_ct FROM pgmq.read('read_q', 0, 5);
-- a user may make a message visible by hand (plain SQL on the queue table)
SELECT msg_id FROM pgmq.read('read_q', 600, 5);
UPDATE pgmq.q_read_q SET vt = clock_timestamp() - interval '1 s' WHERE msg_id = 4;
SELECT msg_id, read_ct FROM pgmq.read('read_q', 600, 5);

------------------------------------------------------------------------------
-- conditional: message @> conditional
------------------------------------------------------------------------------
SELECT pgmq.create('read_c');
SELECT * FROM pgmq.send_batch('read_c', ARRAY['{"type": "a", "n": 1}', '{"type": "b", "n": 2}',
                                              '{"type": "a", "n": 3}', '{"type": "b", "n": 4, "x": {"y": 1}}',
                                              '[1, 2]']::jsonb[]);
-- nested containment
SELECT msg_id FROM pgmq.read('read_c', 30, 10, conditional => '{"x": {"y": 1}}');
SELECT msg_id, message FROM pgmq.read('read_c', 30, 10, '{"type": "b"}');
-- no match
SELECT count(*) FROM pgmq.read('read_c', 30, 10, '{"type": "zzz"}');
-- qty applies after the filter
SELECT msg_id, message FROM pgmq.read('read_c', 30, 1, '{"type": "a"}');
-- '{}' and NULL mean no filter
SELECT msg_id FROM pgmq.read('read_c', 30, 1, '{}');
SELECT msg_id FROM pgmq.read('read_c', 30, 1, NULL);
SELECT msg_id FROM pgmq.read('read_c', 30, 10);

------------------------------------------------------------------------------
-- read_with_poll
------------------------------------------------------------------------------
SELECT pgmq.purge_queue('read_q');
SELECT * FROM pgmq.send('read_q', '{"poll": 1}');
-- a visible message: returns at once (well before max_poll_seconds)
SELECT clock_timestamp() AS t0 \gset
SELECT msg_id, read_ct, message FROM pgmq.read_with_poll('read_q', 30, 5, 10, 100);
SELECT clock_timestamp() - :'t0'::timestamptz < interval '5 s' AS returned_early;
-- nothing visible: returns empty after max_poll_seconds
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM pgmq.read_with_poll('read_q', 30, 5, max_poll_seconds => 1);
SELECT clock_timestamp() - :'t0'::timestamptz BETWEEN interval '0.9 s' AND interval '10 s' AS waited_about_1_s;
-- a message that becomes visible while polling is returned when it becomes visible
SELECT clock_timestamp() AS t0 \gset
SELECT * FROM pgmq.send('read_q', '{"poll": 2}', 1);
SELECT msg_id, message FROM pgmq.read_with_poll('read_q', 30, 5, max_poll_seconds => 10, poll_interval_ms => 50);
SELECT clock_timestamp() - :'t0'::timestamptz BETWEEN interval '1 s' AND interval '9 s' AS returned_after_delay;
-- conditional in read_with_poll
SELECT * FROM pgmq.send_batch('read_q', ARRAY['{"poll": 3, "k": "x"}', '{"poll": 4, "k": "y"}']::jsonb[]);
SELECT msg_id, message FROM pgmq.read_with_poll('read_q', 30, 5, 1, 100, '{"k": "y"}');
-- max_poll_seconds 0 reads once
SELECT msg_id, message FROM pgmq.read_with_poll('read_q', 30, 5, 0);
SELECT count(*) FROM pgmq.read_with_poll('read_q', 30, 5, 0);

------------------------------------------------------------------------------
-- pop: read and delete, oldest visible first, qty default 1
------------------------------------------------------------------------------
SELECT pgmq.create('read_p');
SELECT * FROM pgmq.send_batch('read_p', ARRAY['{"p": 1}', '{"p": 2}', '{"p": 3}', '{"p": 4}']::jsonb[]);
SELECT * FROM pgmq.send('read_p', '{"p": 5}', 3600);
SELECT msg_id, read_ct, message, last_read_at IS NULL AS last_read_at_null FROM pgmq.pop('read_p');
SELECT msg_id, message FROM pgmq.pop('read_p', 2);
-- a message hidden by a read is not popped
SELECT msg_id FROM pgmq.read('read_p', 30, 1);
SELECT count(*) AS popped FROM pgmq.pop(queue_name => 'read_p', qty => 10);
SELECT msg_id, message FROM pgmq.q_read_p ORDER BY msg_id;
SELECT count(*) AS archived FROM pgmq.a_read_p;

------------------------------------------------------------------------------
-- transactions: a rolled-back read or send leaves no trace
------------------------------------------------------------------------------
SELECT pgmq.purge_queue('read_q');
SELECT * FROM pgmq.send('read_q', '{"tx": 1}');
BEGIN;
SELECT msg_id, read_ct FROM pgmq.read('read_q', 600, 1);
SELECT count(*) AS visible_inside FROM pgmq.q_read_q WHERE vt <= clock_timestamp();
ROLLBACK;
-- readable again, read_ct as if never read
SELECT msg_id, read_ct, last_read_at IS NULL AS last_read_at_null FROM pgmq.q_read_q;
SELECT msg_id, read_ct FROM pgmq.read('read_q', 600, 1);

BEGIN;
SELECT pgmq.send('read_q', '{"tx": 2}') IS NOT NULL AS sent;
SELECT pgmq.send_batch('read_q', ARRAY['{"tx": 3}', '{"tx": 4}']::jsonb[]) IS NOT NULL AS sent;
SELECT count(*) AS rows_inside FROM pgmq.q_read_q;
ROLLBACK;
SELECT count(*) AS rows_after_rollback FROM pgmq.q_read_q;
SELECT queue_length FROM pgmq.metrics('read_q');

-- a rolled-back pop leaves the message in place
UPDATE pgmq.q_read_q SET vt = clock_timestamp() - interval '1 s';
BEGIN;
SELECT msg_id FROM pgmq.pop('read_q');
ROLLBACK;
SELECT msg_id, message FROM pgmq.q_read_q;

-- a savepoint rolled back inside a transaction: the read is undone, later reads see it
BEGIN;
SAVEPOINT s;
SELECT msg_id FROM pgmq.read('read_q', 600, 1);
ROLLBACK TO SAVEPOINT s;
SELECT msg_id FROM pgmq.read('read_q', 600, 1);
COMMIT;

SELECT pgmq.drop_queue('read_q');
SELECT pgmq.drop_queue('read_c');
SELECT pgmq.drop_queue('read_p');
