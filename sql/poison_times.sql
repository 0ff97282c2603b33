-- poison_times: messages at the ends of time never disable a queue's policy. A vt on the last
-- valid day ('294276-12-31') plus a deadline over about 8 days overflowed int64 when the due
-- time was computed; the garbage due_at failed the move with 22008, so every pass of that
-- queue failed and none of its messages was moved again. send and set_vt store 'infinity' and
-- '-infinity' as given, as PGMQ does. Each step runs in one transaction with
-- run_maintenance(), so the background worker never sees the overdue messages first.
\set VERBOSITY terse
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/regress/try.sql
SET timezone = 'UTC';
SELECT pgmq.create('pt_src'), pgmq.create('pt_dlq');

-- send, send_batch and set_vt store the ends of time as given; reads take what is visible
BEGIN;
SELECT count(*) FROM pgmq.send('pt_src', '{"n": 1}', 'infinity'::timestamptz);
SELECT count(*) FROM pgmq.send('pt_src', '{"n": 2}', '{}'::jsonb, '-infinity'::timestamptz);
SELECT count(*) FROM pgmq.send('pt_src', '{"n": 3}', '294276-12-31 23:59:59.999999+00'::timestamptz);
SELECT count(*) FROM pgmq.send('pt_src', '{"n": 4}', '4713-01-01 00:00:00+00 BC'::timestamptz);
SELECT count(*) FROM pgmq.send_batch('pt_src', ARRAY['{"n": 5}', '{"n": 6}']::jsonb[], 'infinity'::timestamptz);
SELECT message, vt FROM pgmq.q_pt_src ORDER BY msg_id;
SELECT message FROM pgmq.set_vt('pt_src', (SELECT msg_id FROM pgmq.q_pt_src WHERE message = '{"n": 1}'),
                                '-infinity'::timestamptz);
SELECT message FROM pgmq.set_vt('pt_src', ARRAY(SELECT msg_id FROM pgmq.q_pt_src WHERE message->>'n' IN ('2', '4')),
                                'infinity'::timestamptz);
SELECT message FROM pgmq.set_vt('pt_src', (SELECT msg_id FROM pgmq.q_pt_src WHERE message = '{"n": 5}')::text,
                                '-infinity'::text);
SELECT message, vt FROM pgmq.q_pt_src ORDER BY msg_id;
-- the largest vt in seconds is 68 years from now; the most negative one means now (PGMQ), is refused with
-- pgmq.strict_input
SELECT message, vt BETWEEN now() + interval '68 years' AND now() + interval '69 years' AS in_68_years
  FROM pgmq.read('pt_src', 2147483647, 10);
SELECT pg_temp.try($$SELECT * FROM pgmq.read('pt_src', -2147483648, 1)$$);
SELECT message, vt BETWEEN now() + interval '68 years' AND now() + interval '69 years' AS in_68_years
  FROM pgmq.set_vt('pt_src', (SELECT msg_id FROM pgmq.q_pt_src WHERE message = '{"n": 6}'), 2147483647);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('pt_src', 1, -2147483648)$$);
SET LOCAL pgmq.strict_input = on;
SELECT pg_temp.try($$SELECT * FROM pgmq.read('pt_src', -2147483648, 1)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('pt_src', 1, -2147483648)$$);
RESET pgmq.strict_input;
SELECT count(*) FROM pgmq.send('pt_src', '{"n": 7}', 2147483647);
SELECT vt BETWEEN now() + interval '68 years' AND now() + interval '69 years' AS in_68_years
  FROM pgmq.q_pt_src WHERE message = '{"n": 7}';
ROLLBACK;

SELECT 1 FROM pgmq.set_policy('pt_src', invalid_queue => 'pt_dlq', deadline_seconds => 864000,
                              retention_seconds => 2592000);

-- vt on the last valid day, enqueued 31 days ago: its deadline never comes, its retention
-- (30 days) has passed; the ordinary message, visible 11 days ago, is past its deadline
BEGIN;
SELECT count(*) FROM pgmq.send('pt_src', '{"poison": "last day"}', '294276-12-31'::timestamptz);
SELECT count(*) FROM pgmq.send('pt_src', '{"ok": 1}');
UPDATE pgmq.q_pt_src SET enqueued_at = now() - interval '31 days' WHERE message ? 'poison';
UPDATE pgmq.q_pt_src SET enqueued_at = now() - interval '11 days', vt = now() - interval '11 days'
 WHERE message ? 'ok';
SELECT * FROM pgmq.run_maintenance() ORDER BY reason;
SELECT count(*) AS left_in_queue FROM pgmq.q_pt_src;
SELECT message, headers->'x-pgmq-invalid'->>'reason' AS reason,
       (headers->'x-pgmq-invalid'->>'due_at')::timestamptz = now() - interval '1 day' AS due_a_day_ago
  FROM pgmq.q_pt_dlq;
SELECT message, headers->'x-pgmq-invalid'->>'reason' AS reason,
       (headers->'x-pgmq-invalid'->>'due_at')::timestamptz = now() - interval '1 day' AS due_a_day_ago
  FROM pgmq.a_pt_src;
ROLLBACK;

-- vt 'infinity', and the last valid day, enqueued 11 days ago: neither is due (the rows stay),
-- and the ordinary message is moved
BEGIN;
SELECT count(*) FROM pgmq.send('pt_src', '{"poison": "infinity"}', 'infinity'::timestamptz);
SELECT count(*) FROM pgmq.send('pt_src', '{"poison": "last day"}', '294276-12-31'::timestamptz);
SELECT count(*) FROM pgmq.send('pt_src', '{"ok": 2}');
UPDATE pgmq.q_pt_src SET enqueued_at = now() - interval '11 days';
UPDATE pgmq.q_pt_src SET vt = now() - interval '11 days' WHERE message ? 'ok';
SELECT * FROM pgmq.run_maintenance();
SELECT message FROM pgmq.q_pt_src ORDER BY msg_id;
SELECT message, headers->'x-pgmq-invalid'->>'reason' AS reason FROM pgmq.q_pt_dlq;
ROLLBACK;

-- enqueued_at '-infinity' (set by hand) is past its retention: moved with the earliest valid
-- due_at; a message read max_deliveries times whose vt is '-infinity' likewise
BEGIN;
SELECT 1 FROM pgmq.set_policy('pt_src', invalid_queue => 'pt_dlq', max_deliveries => 1,
                              retention_seconds => 2592000);
SELECT count(*) FROM pgmq.send('pt_src', '{"ancient": 1}');
SELECT count(*) FROM pgmq.send('pt_src', '{"read": 1}');
UPDATE pgmq.q_pt_src SET enqueued_at = '-infinity' WHERE message ? 'ancient';
SELECT message FROM pgmq.read('pt_src', 30, 1, '{"read": 1}');
SELECT message FROM pgmq.set_vt('pt_src', (SELECT msg_id FROM pgmq.q_pt_src WHERE message ? 'read'),
                                '-infinity'::timestamptz);
SELECT * FROM pgmq.run_maintenance() ORDER BY reason;
SELECT count(*) AS left_in_queue FROM pgmq.q_pt_src;
SELECT message, headers->'x-pgmq-invalid'->>'due_at' AS due_at FROM pgmq.q_pt_dlq;
SELECT message, headers->'x-pgmq-invalid'->>'due_at' AS due_at FROM pgmq.a_pt_src;
ROLLBACK;

-- metrics of a queue with a message enqueued (by hand) at an infinity, or so long ago that its
-- age in seconds does not fit an int, is the error PGMQ's SQL raises, not a made-up age
BEGIN;
SELECT count(*) FROM pgmq.send('pt_src', '{"n": 1}');
UPDATE pgmq.q_pt_src SET enqueued_at = 'infinity';
SELECT pg_temp.try($$SELECT * FROM pgmq.metrics('pt_src')$$);
UPDATE pgmq.q_pt_src SET enqueued_at = '4713-01-01 00:00:00+00 BC';
SELECT pg_temp.try($$SELECT * FROM pgmq.metrics('pt_src')$$);
ROLLBACK;

SELECT pgmq.clear_policy('pt_src');
SELECT pgmq.drop_queue('pt_src'), pgmq.drop_queue('pt_dlq');
