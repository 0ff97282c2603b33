-- plans: pgmq keeps one prepared plan per queue and statement in each session.
-- A queue dropped and re-created in the same session (directly, after other
-- operations, inside one transaction, or after a rolled-back drop) keeps working
-- with the cached plans; a dropped queue gives 42P01.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/regress/try.sql

-- use every statement once so that every plan is cached
CREATE FUNCTION pg_temp.exercise(q text) RETURNS TABLE (step text, result text) LANGUAGE plpgsql AS $$
BEGIN
    step := 'send'; result := (SELECT array_agg(s) FROM pgmq.send(q, '{"s": 1}') AS s)::text; RETURN NEXT;
    step := 'send_batch'; result := (SELECT array_agg(s) FROM pgmq.send_batch(q, ARRAY['{"s": 2}', '{"s": 3}', '{"s": 4}', '{"s": 5}']::jsonb[]) AS s)::text; RETURN NEXT;
    step := 'read'; result := (SELECT array_agg(msg_id) FROM pgmq.read(q, 30, 1))::text; RETURN NEXT;
    step := 'read conditional'; result := (SELECT array_agg(msg_id) FROM pgmq.read(q, 30, 1, '{"s": 3}'))::text; RETURN NEXT;
    step := 'set_vt'; result := (SELECT array_agg(msg_id) FROM pgmq.set_vt(q, 1, 0))::text; RETURN NEXT;
    step := 'set_vt array'; result := (SELECT array_agg(msg_id) FROM pgmq.set_vt(q, ARRAY[3]::bigint[], 0))::text; RETURN NEXT;
    step := 'pop'; result := (SELECT array_agg(msg_id) FROM pgmq.pop(q))::text; RETURN NEXT;
    step := 'archive'; result := pgmq.archive(q, 2)::text; RETURN NEXT;
    step := 'archive array'; result := (SELECT array_agg(a) FROM pgmq.archive(q, ARRAY[3]::bigint[]) AS a)::text; RETURN NEXT;
    step := 'delete'; result := pgmq.delete(q, 4)::text; RETURN NEXT;
    step := 'delete array'; result := (SELECT array_agg(d) FROM pgmq.delete(q, ARRAY[5]::bigint[]) AS d)::text; RETURN NEXT;
    step := 'metrics'; result := (SELECT format('length %s, total %s', queue_length, total_messages) FROM pgmq.metrics(q)); RETURN NEXT;
    step := 'archive rows';
    EXECUTE format('SELECT array_agg(msg_id ORDER BY msg_id)::text FROM pgmq.%I', pgmq.format_table_name(q, 'a'))
        INTO result;
    RETURN NEXT;
END
$$;

------------------------------------------------------------------------------
-- a fresh queue, then drop and re-create: ids restart at 1, every plan works
------------------------------------------------------------------------------
SELECT pgmq.create('plans_q');
SELECT * FROM pg_temp.exercise('plans_q');
SELECT pgmq.drop_queue('plans_q');
SELECT pgmq.create('plans_q');
SELECT * FROM pg_temp.exercise('plans_q');

------------------------------------------------------------------------------
-- a dropped queue: 42P01 from every function (plans were cached before)
------------------------------------------------------------------------------
SELECT pgmq.drop_queue('plans_q');
SELECT pg_temp.try($$SELECT * FROM pgmq.send('plans_q', '{}')$$) AS send,
       pg_temp.try($$SELECT * FROM pgmq.send_batch('plans_q', ARRAY['{}']::jsonb[])$$) AS send_batch,
       pg_temp.try($$SELECT * FROM pgmq.read('plans_q', 30, 1)$$) AS read;
SELECT pg_temp.try($$SELECT * FROM pgmq.read('plans_q', 30, 1, '{"s": 3}')$$) AS read_conditional,
       pg_temp.try($$SELECT * FROM pgmq.pop('plans_q')$$) AS pop,
       pg_temp.try($$SELECT * FROM pgmq.set_vt('plans_q', 1, 0)$$) AS set_vt;
SELECT pg_temp.try($$SELECT * FROM pgmq.archive('plans_q', 1)$$) AS archive,
       pg_temp.try($$SELECT * FROM pgmq.delete('plans_q', ARRAY[1]::bigint[])$$) AS delete,
       pg_temp.try($$SELECT * FROM pgmq.metrics('plans_q')$$) AS metrics;

------------------------------------------------------------------------------
-- re-created after the errors: works again, ids from 1
------------------------------------------------------------------------------
SELECT pgmq.create('plans_q');
SELECT * FROM pg_temp.exercise('plans_q');

------------------------------------------------------------------------------
-- drop and re-create inside one transaction, then use it in the same transaction
------------------------------------------------------------------------------
BEGIN;
SELECT pgmq.drop_queue('plans_q');
SELECT pgmq.create('plans_q');
SELECT * FROM pg_temp.exercise('plans_q');
COMMIT;
SELECT * FROM pgmq.send('plans_q', '{"after": "commit"}');
SELECT msg_id, message FROM pgmq.read('plans_q', 30, 1);

------------------------------------------------------------------------------
-- a drop rolled back: the queue and its messages are still there and usable
------------------------------------------------------------------------------
SELECT pgmq.purge_queue('plans_q');
SELECT * FROM pgmq.send('plans_q', '{"kept": true}');
BEGIN;
SELECT pgmq.drop_queue('plans_q');
ROLLBACK;
SELECT msg_id, message FROM pgmq.read('plans_q', 30, 1);
SELECT * FROM pgmq.send('plans_q', '{"after": "rollback"}');
SELECT queue_length, total_messages FROM pgmq.metrics('plans_q');

------------------------------------------------------------------------------
-- purge (TRUNCATE) between uses, and re-created as unlogged
------------------------------------------------------------------------------
SELECT pgmq.purge_queue('plans_q');
SELECT * FROM pgmq.send('plans_q', '{"after": "purge"}');
SELECT msg_id, message FROM pgmq.read('plans_q', 30, 1);
SELECT pgmq.drop_queue('plans_q');
SELECT pgmq.create_unlogged('plans_q');
SELECT * FROM pg_temp.exercise('plans_q');
SELECT relpersistence FROM pg_class WHERE oid = 'pgmq.q_plans_q'::regclass;

------------------------------------------------------------------------------
-- the queue table changed by plain SQL (a column added and dropped, an index):
-- the plans are re-planned and still work
------------------------------------------------------------------------------
ALTER TABLE pgmq.q_plans_q ADD COLUMN extra int;
SELECT * FROM pgmq.send('plans_q', '{"altered": 1}');
SELECT msg_id, message FROM pgmq.read('plans_q', 30, 1);
ALTER TABLE pgmq.q_plans_q DROP COLUMN extra;
CREATE INDEX plans_extra_idx ON pgmq.q_plans_q (enqueued_at);
SELECT * FROM pgmq.send('plans_q', '{"altered": 2}');
SELECT msg_id, message FROM pgmq.read('plans_q', 30, 1);
SELECT pgmq.archive('plans_q', 7);
SELECT msg_id, message FROM pgmq.a_plans_q WHERE msg_id = 7;

------------------------------------------------------------------------------
-- many queues in one session: each has its own plans
------------------------------------------------------------------------------
SELECT pgmq.create('plans_' || i) FROM generate_series(1, 20) AS i;
SELECT count(*) AS sent FROM generate_series(1, 20) AS i, pgmq.send('plans_' || i, jsonb_build_object('q', i));
SELECT bool_and(r.message = jsonb_build_object('q', i)) AS each_queue_got_its_own
  FROM generate_series(1, 20) AS i, pgmq.read('plans_' || i, 30, 1) AS r;
SELECT bool_and(pgmq.drop_queue('plans_' || i)) FROM generate_series(1, 20) AS i;

SELECT pgmq.drop_queue('plans_q');
