-- bad_input: every argument PGMQ 1.13 accepts gives PGMQ's result, every error
-- it raises has PGMQ's SQLSTATE (the calls of test/regress/bad_input_calls.sql
-- with pgmq.strict_input off, the default); with pgmq.strict_input on every bad
-- argument gets a clear error (SQLSTATE and message shown) and changes nothing
-- (the same calls again). pg_temp.try() runs a statement, returns 'ok' or
-- 'SQLSTATE: message', and appends ' [STATE CHANGED]' if the queue's rows, the
-- archive, pgmq.meta, the throttle table or the set of pgmq relations differ
-- afterwards; then it rolls the statement back, so each call starts from the
-- same queue.
SELECT pgmq.create('bad');
SELECT * FROM pgmq.send_batch('bad', ARRAY['{"n": 1}', '{"n": 2}', '{"n": 3}']::jsonb[]);
SELECT msg_id FROM pgmq.read('bad', 600, 1);
SELECT pgmq.archive('bad', 1);

CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', msg_id, read_ct, enqueued_at, last_read_at, vt, message, headers), ';'
                           ORDER BY msg_id) FROM pgmq.q_bad),
        (SELECT string_agg(concat_ws(',', msg_id, read_ct, enqueued_at, last_read_at, archived_at, vt, message,
                                     headers), ';' ORDER BY msg_id) FROM pgmq.a_bad),
        (SELECT string_agg(concat_ws(',', queue_name, is_partitioned, is_unlogged, created_at), ';'
                           ORDER BY queue_name) FROM pgmq.meta),
        (SELECT string_agg(concat_ws(',', queue_name, throttle_interval_ms, last_notified_at), ';'
                           ORDER BY queue_name) FROM pgmq.notify_insert_throttle),
        (SELECT string_agg(c.relname, ',' ORDER BY c.relname)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgmq'),
        (SELECT last_value FROM pgmq.q_bad_msg_id_seq)))
$$;
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    before text := pg_temp.state();
    result text;
BEGIN
    BEGIN
        BEGIN
            EXECUTE sql;
            result := 'ok';
        EXCEPTION WHEN OTHERS THEN
            result := SQLSTATE || ': ' || SQLERRM;
        END;
        IF pg_temp.state() IS DISTINCT FROM before THEN
            result := result || ' [STATE CHANGED]';
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'PGMQR';
    EXCEPTION WHEN SQLSTATE 'PGMQR' THEN
        NULL;
    END;
    RETURN result;
END
$$;

\getenv abs_srcdir PG_ABS_SRCDIR
------------------------------------------------------------------------------
-- PGMQ's behaviour (pgmq.strict_input off, the default)
------------------------------------------------------------------------------
SHOW pgmq.strict_input;
\i :abs_srcdir/test/regress/bad_input_calls.sql

------------------------------------------------------------------------------
-- pgmq.strict_input on: today's stricter checks
------------------------------------------------------------------------------
SET pgmq.strict_input = on;
\i :abs_srcdir/test/regress/bad_input_calls.sql
RESET pgmq.strict_input;

------------------------------------------------------------------------------
-- PGMQ's results for inputs PGMQ accepts (strict_input off)
------------------------------------------------------------------------------
BEGIN;
-- a NULL message is stored as NULL, also in a batch (NULL elements of msgs and headers)
SELECT * FROM pgmq.send('bad', NULL) AS id \gset
SELECT message IS NULL AS null_message FROM pgmq.q_bad WHERE msg_id = :id;
SELECT count(*) AS sent FROM pgmq.send_batch('bad', ARRAY['{"b": 1}', NULL]::jsonb[], ARRAY[NULL, '{"h": 1}']::jsonb[]);
SELECT message, headers FROM pgmq.q_bad WHERE msg_id > :id ORDER BY msg_id;
-- a negative delay means now: the message is visible at once
SELECT * FROM pgmq.send('bad', '{"neg": true}', -30) AS neg \gset
SELECT vt <= clock_timestamp() AS visible_now FROM pgmq.q_bad WHERE msg_id = :neg;
-- qty 0 returns nothing, qty NULL every visible message, pop likewise
SELECT count(*) AS qty_0 FROM pgmq.read('bad', 30, 0);
SELECT count(*) AS qty_0_pop FROM pgmq.pop('bad', 0);
SELECT count(*) AS qty_0_poll FROM pgmq.read_with_poll('bad', 30, 0, 1, 50);
-- a negative vt: read, and visible again at once (read_ct counts the reads)
SELECT msg_id, read_ct FROM pgmq.read('bad', -5, NULL) ORDER BY msg_id;
SELECT msg_id, read_ct FROM pgmq.read('bad', -5, 100) ORDER BY msg_id;
-- set_vt with a negative vt: visible now
SELECT count(*) AS set_vt_neg FROM pgmq.set_vt('bad', 2, -10) WHERE vt <= clock_timestamp();
SELECT count(*) AS popped_all FROM pgmq.pop('bad', NULL);
-- NULL msg_id(s) match nothing
SELECT pgmq.delete('bad', NULL::bigint) AS delete_null, pgmq.archive('bad', NULL::bigint) AS archive_null;
SELECT count(*) AS delete_nulls FROM pgmq.delete('bad', ARRAY[NULL, 2]::bigint[]);
SELECT count(*) AS set_vt_null FROM pgmq.set_vt('bad', NULL::bigint, 0);
-- no upper qty limit unless pgmq.max_read_qty is set
SHOW pgmq.max_read_qty;
SELECT count(*) AS qty_large FROM pgmq.read('bad', 30, 2000000000);
ROLLBACK;

-- after all of the above the queue is as it was (total_messages counts the msg_ids the rolled-back sends took)
SELECT msg_id, read_ct, message FROM pgmq.q_bad ORDER BY msg_id;
SELECT msg_id, read_ct, message FROM pgmq.a_bad ORDER BY msg_id;
SELECT queue_name FROM pgmq.meta WHERE queue_name LIKE 'bad%';
SELECT total_messages FROM pgmq.metrics('bad');

SELECT pgmq.drop_queue('bad');
