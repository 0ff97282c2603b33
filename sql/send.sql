-- send: every overload of send and send_batch; enqueued_at is transaction time,
-- vt is clock time (+ delay); send_batch returns ids in array order.
SELECT pgmq.create('send_q');

------------------------------------------------------------------------------
-- send, six overloads (named arguments as clients use them)
------------------------------------------------------------------------------
SELECT * FROM pgmq.send('send_q', '{"o": "msg"}');
SELECT * FROM pgmq.send(queue_name => 'send_q', msg => '{"o": "headers"}', headers => '{"h": 1}');
SELECT * FROM pgmq.send(queue_name => 'send_q', msg => '{"o": "delay int"}', delay => 60);
SELECT * FROM pgmq.send(queue_name => 'send_q', msg => '{"o": "delay tstz"}', delay => '2100-01-01 00:00:00+00'::timestamptz);
SELECT * FROM pgmq.send('send_q', '{"o": "headers, delay int"}', '{"h": 2}'::jsonb, 120);
SELECT * FROM pgmq.send('send_q', '{"o": "headers, delay tstz"}', '{"h": 3}'::jsonb, '2100-01-02 00:00:00+00'::timestamptz);
-- zero delay and a timestamp in the past: visible at once
SELECT * FROM pgmq.send('send_q', '{"o": "delay 0"}', 0);
SELECT * FROM pgmq.send('send_q', '{"o": "delay past"}', '2000-01-01 00:00:00+00'::timestamptz);
-- NULL headers are allowed (and stored as NULL)
SELECT * FROM pgmq.send('send_q', '{"o": "null headers"}', NULL::jsonb);
SELECT * FROM pgmq.send('send_q', '{"o": "null headers, delay"}', NULL::jsonb, 0);
-- any jsonb value is a message, not only objects
SELECT * FROM pgmq.send('send_q', '[1, "two", null]');
SELECT * FROM pgmq.send('send_q', '"just a string"');
-- send in the select list
SELECT pgmq.send('send_q', '{"o": "select list"}');

SELECT msg_id, read_ct, last_read_at IS NULL AS never_read, message, headers,
       CASE WHEN vt <= clock_timestamp() THEN 'visible'
            WHEN vt = '2100-01-01 00:00:00+00' THEN '2100-01-01'
            WHEN vt = '2100-01-02 00:00:00+00' THEN '2100-01-02'
            WHEN vt - enqueued_at BETWEEN interval '59 s' AND interval '61 s' THEN 'about 60 s after enqueue'
            WHEN vt - enqueued_at BETWEEN interval '119 s' AND interval '121 s' THEN 'about 120 s after enqueue'
            ELSE 'UNEXPECTED' END AS vt,
       enqueued_at <= clock_timestamp() AS enqueued_in_past
  FROM pgmq.q_send_q ORDER BY msg_id;

-- the visible ones are exactly the undelayed ones
SELECT array_agg(msg_id ORDER BY msg_id) AS visible FROM pgmq.q_send_q WHERE vt <= clock_timestamp();

------------------------------------------------------------------------------
-- enqueued_at = transaction time, vt = clock time
------------------------------------------------------------------------------
SELECT pgmq.purge_queue('send_q');
BEGIN;
SELECT pg_sleep(0.05);
SELECT pgmq.send('send_q', '{"t": 1}');
SELECT pg_sleep(0.05);
SELECT pgmq.send('send_q', '{"t": 2}', 10);
SELECT pgmq.send_batch('send_q', ARRAY['{"t": 3}']::jsonb[]);
SELECT count(DISTINCT enqueued_at) AS distinct_enqueued_at,
       bool_and(enqueued_at = now()) AS enqueued_at_is_now,
       bool_and(vt >= now() + interval '50 ms') AS vt_after_transaction_start,
       bool_and(vt <= clock_timestamp() + interval '10 s') AS vt_not_in_far_future
  FROM pgmq.q_send_q;
-- the second send ran later (clock time) and is delayed by 10 seconds
SELECT (SELECT vt FROM pgmq.q_send_q WHERE msg_id = 15) - (SELECT vt FROM pgmq.q_send_q WHERE msg_id = 14)
       BETWEEN interval '10.05 s' AND interval '11 s' AS delayed_vt_gap;
SELECT (SELECT vt FROM pgmq.q_send_q WHERE msg_id = 16) > (SELECT vt FROM pgmq.q_send_q WHERE msg_id = 14)
       AS batch_vt_is_later;
COMMIT;

------------------------------------------------------------------------------
-- send_batch, six overloads; ids come back in array order
------------------------------------------------------------------------------
SELECT pgmq.create('send_b');
SELECT * FROM pgmq.send_batch('send_b', ARRAY['{"b": 1}', '{"b": 2}', '{"b": 3}']::jsonb[]) WITH ORDINALITY;
SELECT * FROM pgmq.send_batch(queue_name => 'send_b', msgs => ARRAY['{"b": 4}', '{"b": 5}']::jsonb[],
                              headers => ARRAY['{"h": 4}', '{"h": 5}']::jsonb[]) WITH ORDINALITY;
SELECT * FROM pgmq.send_batch(queue_name => 'send_b', msgs => ARRAY['{"b": 6}', '{"b": 7}']::jsonb[],
                              delay => 60) WITH ORDINALITY;
SELECT * FROM pgmq.send_batch(queue_name => 'send_b', msgs => ARRAY['{"b": 8}']::jsonb[],
                              delay => '2100-01-01 00:00:00+00'::timestamptz);
SELECT * FROM pgmq.send_batch('send_b', ARRAY['{"b": 9}', '{"b": 10}']::jsonb[],
                              ARRAY['{"h": 9}', '{"h": 10}']::jsonb[], 120);
SELECT * FROM pgmq.send_batch('send_b', ARRAY['{"b": 11}']::jsonb[], ARRAY['{"h": 11}']::jsonb[],
                              '2100-01-02 00:00:00+00'::timestamptz);
-- NULL headers array: messages without headers
SELECT * FROM pgmq.send_batch('send_b', ARRAY['{"b": 12}', '{"b": 13}']::jsonb[], NULL::jsonb[]);
SELECT * FROM pgmq.send_batch('send_b', ARRAY['{"b": 14}']::jsonb[], NULL::jsonb[], 0);
-- a large batch keeps its order: message n has the n-th id
SELECT count(*) AS batch_size, bool_and(id = first_id + n - 1) AS ids_in_array_order
  FROM (SELECT id, n, min(id) OVER () AS first_id
          FROM pgmq.send_batch('send_b', (SELECT array_agg(jsonb_build_object('big', i) ORDER BY i)
                                            FROM generate_series(1, 500) AS i)) WITH ORDINALITY AS b(id, n)) AS s;
SELECT bool_and((message ->> 'big')::int = msg_id - min_id + 1) AS messages_match_ids
  FROM (SELECT msg_id, message, min(msg_id) OVER () AS min_id FROM pgmq.q_send_b WHERE message ? 'big') AS s;
DELETE FROM pgmq.q_send_b WHERE message ? 'big';

SELECT msg_id, message, headers,
       CASE WHEN vt <= clock_timestamp() THEN 'visible'
            WHEN vt = '2100-01-01 00:00:00+00' THEN '2100-01-01'
            WHEN vt = '2100-01-02 00:00:00+00' THEN '2100-01-02'
            WHEN vt - enqueued_at BETWEEN interval '59 s' AND interval '61 s' THEN 'about 60 s after enqueue'
            WHEN vt - enqueued_at BETWEEN interval '119 s' AND interval '121 s' THEN 'about 120 s after enqueue'
            ELSE 'UNEXPECTED' END AS vt
  FROM pgmq.q_send_b ORDER BY msg_id;

-- one batch shares one enqueued_at and one vt
SELECT count(DISTINCT enqueued_at) AS enqueued_at_values, count(DISTINCT vt) AS vt_values
  FROM pgmq.q_send_b WHERE msg_id IN (1, 2, 3);

------------------------------------------------------------------------------
-- unlogged queues and mixed-case names take the same path
------------------------------------------------------------------------------
SELECT pgmq.create_unlogged('send_u');
SELECT * FROM pgmq.send('SEND_U', '{"u": 1}');
SELECT * FROM pgmq.send_batch('Send_U', ARRAY['{"u": 2}', '{"u": 3}']::jsonb[]);
SELECT msg_id, message FROM pgmq.q_send_u ORDER BY msg_id;

SELECT pgmq.drop_queue('send_q');
SELECT pgmq.drop_queue('send_u');
SELECT pgmq.drop_queue('send_b');
