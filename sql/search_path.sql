-- search_path: a function a user creates in a schema on the search_path, with argument types
-- that match better than the built-in's, cannot take the place of the built-ins pgmq's
-- statements use (they are schema-qualified).
CREATE FUNCTION public.unnest(jsonb[]) RETURNS SETOF jsonb LANGUAGE sql
    AS $$ SELECT '{"hijacked": true}'::jsonb $$;
SELECT pgmq.create('sp_q');
-- a trigger on the queue makes send_batch take the prepared statement, not the direct path
SELECT pgmq.enable_notify_insert('sp_q', 0);
SELECT count(*) FROM pgmq.send_batch('sp_q', ARRAY['{"a": 1}', '{"a": 2}']::jsonb[],
                                     ARRAY['{"h": 1}', '{"h": 2}']::jsonb[]);
SELECT message, headers FROM pgmq.q_sp_q ORDER BY msg_id;
SELECT pgmq.drop_queue('sp_q');
DROP FUNCTION public.unnest(jsonb[]);
