-- nack: a consumer gives back messages it holds (in flight: read, vt ahead), after a delay or the
-- queue's backoff policy, with the error kept in headers x-pgmq-last-error; archive with a result.
-- No max_deliveries here (the background worker runs in this database): see test_task_queue.py.
\set VERBOSITY terse
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/regress/try.sql
SELECT pgmq.create('nack_q');
SELECT * FROM pgmq.send_batch('nack_q', ARRAY['{"n": 1}', '{"n": 2}', '{"n": 3}', '{"n": 4}', '{"n": 5}']::jsonb[],
                              ARRAY['{"h": 1}', '"text"', 'null', '[1]', '{"x-pgmq-last-error": "old"}']::jsonb[]);
UPDATE pgmq.q_nack_q SET headers = NULL WHERE msg_id = 3;

-- Not in flight: never read (visible), or delayed, or unknown: false, nothing changes.
CREATE TEMP TABLE snap AS SELECT * FROM pgmq.q_nack_q;
SELECT pgmq.nack('nack_q', 1) AS visible_never_read, pgmq.nack('nack_q', 999) AS unknown;
SELECT count(*) AS unchanged FROM pgmq.q_nack_q q JOIN snap s USING (msg_id)
 WHERE q.vt = s.vt AND q.headers IS NOT DISTINCT FROM s.headers;

-- In flight: released at once (no delay, no policy: 0 s), error merged into the headers.
SELECT msg_id FROM pgmq.read('nack_q', 600, 5) ORDER BY msg_id;
SELECT pgmq.nack('nack_q', 1, error => '{"code": "E1"}') AS nacked;
SELECT msg_id, read_ct, vt <= clock_timestamp() AS visible, headers FROM pgmq.q_nack_q WHERE msg_id = 1;
-- Released: no longer in flight, a second nack is false.
SELECT pgmq.nack('nack_q', 1) AS again;
-- An explicit delay; headers kept as the policy mover keeps them (not an object: under x-pgmq-headers).
SELECT * FROM pgmq.nack('nack_q', ARRAY[2, 3, 4, 5, 1, 999]::bigint[], 100, '"boom"') ORDER BY 1;
SELECT msg_id, vt BETWEEN clock_timestamp() + interval '95 s' AND clock_timestamp() + interval '100 s' AS delayed_100,
       headers
  FROM pgmq.q_nack_q ORDER BY msg_id;
-- Without error the headers stay as they were; named arguments.
SELECT pgmq.set_vt('nack_q', 2, 600) IS NOT NULL AS held;
SELECT pgmq.nack(queue_name => 'nack_q', msg_id => 2, delay_seconds => 0);
SELECT headers FROM pgmq.q_nack_q WHERE msg_id = 2;
SELECT count(*) AS empty_array FROM pgmq.nack('nack_q', ARRAY[]::bigint[]);

-- Bad input: clear errors, nothing changed.
DELETE FROM snap; INSERT INTO snap SELECT * FROM pgmq.q_nack_q;
SELECT pg_temp.try($$SELECT pgmq.nack('nack_q', 2, -1)$$) AS negative_delay;
SELECT pg_temp.try($$SELECT * FROM pgmq.nack('nack_q', ARRAY[2]::bigint[], -5)$$) AS negative_delay_batch;
SELECT pg_temp.try($$SELECT pgmq.nack('nack_missing', 2)$$) AS unknown_queue;
SELECT pg_temp.try($$SELECT * FROM pgmq.nack('nack_missing', ARRAY[2]::bigint[])$$) AS unknown_queue_batch;
SELECT pg_temp.try($$SELECT pgmq.nack(NULL, 2)$$) AS null_queue;
SELECT pg_temp.try($$SELECT pgmq.nack('nack_q', NULL::bigint)$$) AS null_id;
SELECT pg_temp.try($$SELECT * FROM pgmq.nack('nack_q', NULL::bigint[])$$) AS null_ids;
SELECT pg_temp.try($$SELECT * FROM pgmq.nack('nack_q', ARRAY[2, NULL]::bigint[])$$) AS null_element;
SELECT pg_temp.try($$SELECT * FROM pgmq.nack('nack_q', ARRAY[[2]]::bigint[])$$) AS two_dimensions;
SELECT pg_temp.try($$SELECT pgmq.nack('bad;name', 2)$$) AS bad_name;
SELECT count(*) AS unchanged FROM pgmq.q_nack_q q JOIN snap s USING (msg_id)
 WHERE q.vt = s.vt AND q.headers IS NOT DISTINCT FROM s.headers AND q.read_ct = s.read_ct;

------------------------------------------------------------------------------
-- Backoff policy: delay = base * 2^(read_ct - 1), capped at max; jitter: uniform 0..delay.
------------------------------------------------------------------------------
SELECT queue_name, backoff_base_seconds, backoff_max_seconds, backoff_jitter FROM pgmq.policy('nack_q');
SELECT queue_name, max_deliveries, backoff_base_seconds, backoff_max_seconds, backoff_jitter
  FROM pgmq.set_policy('nack_q', backoff_base_seconds => 10, backoff_max_seconds => 50);
SELECT queue_name, backoff_base_seconds, backoff_max_seconds, backoff_jitter FROM pgmq.policies;
TRUNCATE pgmq.q_nack_q;
SELECT * FROM pgmq.send('nack_q', '{"n": 6}');
-- read 1, 2, 3, 4 times: 10, 20, 40, then 50 (capped) seconds
CREATE TEMP TABLE delays (read_ct int, seconds numeric);
DO $$
BEGIN
    FOR i IN 1..4 LOOP
        UPDATE pgmq.q_nack_q SET vt = clock_timestamp() - interval '1 s';
        PERFORM * FROM pgmq.read('nack_q', 600, 1);
        PERFORM pgmq.nack('nack_q', 6);
        INSERT INTO delays SELECT read_ct, round(extract(epoch FROM vt - clock_timestamp()))
          FROM pgmq.q_nack_q;
    END LOOP;
END
$$;
SELECT * FROM delays ORDER BY read_ct;
-- An explicit delay wins over the policy.
UPDATE pgmq.q_nack_q SET vt = clock_timestamp() + interval '1 h';
SELECT pgmq.nack('nack_q', 6, 0) AS nacked;
SELECT vt <= clock_timestamp() AS visible FROM pgmq.q_nack_q;
-- Jitter: between 0 and the delay.
SELECT backoff_jitter FROM pgmq.set_policy('nack_q', backoff_base_seconds => 1000, backoff_jitter => true);
DELETE FROM delays;
DO $$
BEGIN
    FOR i IN 1..20 LOOP
        UPDATE pgmq.q_nack_q SET vt = clock_timestamp() + interval '1 h', read_ct = 1;
        PERFORM pgmq.nack('nack_q', 6);
        INSERT INTO delays SELECT read_ct, extract(epoch FROM vt - clock_timestamp()) FROM pgmq.q_nack_q;
    END LOOP;
END
$$;
SELECT bool_and(seconds BETWEEN -1 AND 1000) AS within, count(DISTINCT round(seconds)) > 1 AS varies FROM delays;
-- Without a base nothing else may be set; non-positive values: 22023; NULL jitter: 22004.
SELECT pg_temp.try($$SELECT pgmq.set_policy('nack_q', backoff_base_seconds => 0)$$) AS zero_base;
SELECT pg_temp.try($$SELECT pgmq.set_policy('nack_q', backoff_base_seconds => 1, backoff_max_seconds => -1)$$) AS negative_max;
SELECT pg_temp.try($$SELECT pgmq.set_policy('nack_q', backoff_max_seconds => 10)$$) AS max_without_base;
SELECT pg_temp.try($$SELECT pgmq.set_policy('nack_q', backoff_jitter => true)$$) AS jitter_without_base;
SELECT pg_temp.try($$SELECT pgmq.set_policy('nack_q', backoff_base_seconds => 1, backoff_jitter => NULL)$$) AS null_jitter;
SELECT backoff_base_seconds, backoff_max_seconds, backoff_jitter FROM pgmq.policy('nack_q');
-- set_policy keeps its first six arguments in their order.
SELECT queue_name, retention_seconds, retention_action, backoff_base_seconds, backoff_jitter
  FROM pgmq.set_policy('nack_q', NULL, NULL, NULL, 3600, 'delete');
SELECT pgmq.clear_policy('nack_q');

------------------------------------------------------------------------------
-- archive(queue_name, msg_id, result): acknowledges, the result in the archive's x-pgmq-result.
------------------------------------------------------------------------------
SELECT * FROM pgmq.send('nack_q', '{"n": 7}'::jsonb, '{"trace": "t7"}'::jsonb);
SELECT * FROM pgmq.send('nack_q', '{"n": 8}'::jsonb, '[1, 2]'::jsonb);
SELECT pgmq.archive('nack_q', 7, '{"ok": true, "rows": 3}') AS archived,
       pgmq.archive('nack_q', 8, '42') AS archived_non_object_headers,
       pgmq.archive('nack_q', 7, '{}') AS again, pgmq.archive('nack_q', 999, '{}') AS unknown;
SELECT msg_id, message, headers FROM pgmq.a_nack_q ORDER BY msg_id;
SELECT count(*) AS left_in_queue FROM pgmq.q_nack_q WHERE msg_id IN (7, 8);
SELECT pg_temp.try($$SELECT pgmq.archive('nack_q', 6, NULL)$$) AS null_result;
SELECT pg_temp.try($$SELECT pgmq.archive('nack_q', NULL, '{}')$$) AS null_id;
SELECT pg_temp.try($$SELECT pgmq.archive('nack_missing', 6, '{}')$$) AS unknown_queue;
SELECT pg_temp.try($$SELECT pgmq.archive(NULL, 6, '{}')$$) AS null_queue;
SELECT count(*) AS still_there FROM pgmq.q_nack_q WHERE msg_id = 6;
SELECT pgmq.drop_queue('nack_q');
