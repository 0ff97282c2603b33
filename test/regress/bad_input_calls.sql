-- bad_input_calls.sql: the calls of regress test bad_input (sql/bad_input.sql), run with
-- pgmq.strict_input off and on, with the pg_temp.state() and pg_temp.try() defined there.
-- psql prefixes the notices and warnings of an included file with its path, which differs
-- between checkouts: they are left out here (the deprecation warnings are in queue_admin).
SET client_min_messages = error;
------------------------------------------------------------------------------
-- Queue names, for every function that takes one. %1$s is the name literal.
------------------------------------------------------------------------------
CREATE TEMP TABLE calls (id serial, creates boolean DEFAULT false, call text);
INSERT INTO calls (creates, call) VALUES
  (true, 'pgmq.create(%1$s)'),
  (true, 'pgmq.create_non_partitioned(%1$s)'),
  (true, 'pgmq.create_unlogged(%1$s)'),
  (false, 'pgmq.drop_queue(%1$s)'),
  (false, 'pgmq.drop_queue(%1$s, false)'),
  (false, 'pgmq.purge_queue(%1$s)'),
  (false, 'pgmq.metrics(%1$s)'),
  (false, 'pgmq.detach_archive(%1$s)'),
  (false, 'pgmq.validate_queue_name(%1$s)'),
  (false, 'pgmq.format_table_name(%1$s, ''q'')'),
  (false, 'pgmq.acquire_queue_lock(%1$s)'),
  (false, 'pgmq.send(%1$s, ''{}'')'),
  (false, 'pgmq.send(%1$s, ''{}'', ''{}''::jsonb)'),
  (false, 'pgmq.send(%1$s, ''{}'', 0)'),
  (false, 'pgmq.send(%1$s, ''{}'', now())'),
  (false, 'pgmq.send(%1$s, ''{}'', ''{}''::jsonb, 0)'),
  (false, 'pgmq.send(%1$s, ''{}'', ''{}''::jsonb, now())'),
  (false, 'pgmq.send_batch(%1$s, ARRAY[''{}'']::jsonb[])'),
  (false, 'pgmq.send_batch(%1$s, ARRAY[''{}'']::jsonb[], ARRAY[''{}'']::jsonb[])'),
  (false, 'pgmq.send_batch(%1$s, ARRAY[''{}'']::jsonb[], 0)'),
  (false, 'pgmq.send_batch(%1$s, ARRAY[''{}'']::jsonb[], now())'),
  (false, 'pgmq.send_batch(%1$s, ARRAY[''{}'']::jsonb[], ARRAY[''{}'']::jsonb[], 0)'),
  (false, 'pgmq.send_batch(%1$s, ARRAY[''{}'']::jsonb[], ARRAY[''{}'']::jsonb[], now())'),
  (false, 'pgmq.read(%1$s, 30, 1)'),
  (false, 'pgmq.read(%1$s, 30, 1, ''{"n": 2}'')'),
  (false, 'pgmq.read_with_poll(%1$s, 30, 1, 0)'),
  (false, 'pgmq.pop(%1$s)'),
  (false, 'pgmq.pop(%1$s, 2)'),
  (false, 'pgmq.delete(%1$s, 2)'),
  (false, 'pgmq.delete(%1$s, ARRAY[2]::bigint[])'),
  (false, 'pgmq.archive(%1$s, 2)'),
  (false, 'pgmq.archive(%1$s, ARRAY[2]::bigint[])'),
  (false, 'pgmq.set_vt(%1$s, 2, 30)'),
  (false, 'pgmq.set_vt(%1$s, 2, now())'),
  (false, 'pgmq.set_vt(%1$s, ARRAY[2]::bigint[], 30)'),
  (false, 'pgmq.set_vt(%1$s, ARRAY[2]::bigint[], now())'),
  (false, 'pgmq.set_vt(%1$s, ''2''::text, ''30''::text)'),
  (false, 'pgmq.enable_notify_insert(%1$s)'),
  (false, 'pgmq.update_notify_insert(%1$s, 10)'),
  (false, 'pgmq.disable_notify_insert(%1$s)');

-- unknown queue: 42P01 'queue "x" does not exist' (functions that create or only
-- validate a name are left out; drop_queue returns false with a notice)
SELECT id, format(call, '''bad_missing''') AS call,
       pg_temp.try(format('SELECT * FROM ' || call, '''bad_missing''')) AS result
  FROM calls WHERE NOT creates ORDER BY id;
-- the message uses the normalised name
SELECT pg_temp.try($$SELECT * FROM pgmq.send('Bad_Missing', '{}')$$);

-- name longer than 47 characters (48): P0001 where PGMQ checks the length (create, validate_queue_name, and
-- in pgmq also drop_queue, acquire_queue_lock, format_table_name, the notify functions), 42P01 elsewhere, as
-- in PGMQ; 22023 everywhere with pgmq.strict_input
SELECT id, format(call, 'repeat(''x'', 48)') AS call,
       pg_temp.try(format('SELECT * FROM ' || call, quote_literal(repeat('x', 48)))) AS result
  FROM calls ORDER BY id;
-- a 48-character name that would otherwise be an existing queue's is still too long
SELECT pg_temp.try(format('SELECT * FROM pgmq.send(%L, %L)', 'bad' || repeat('_', 45), '{}'));

-- empty name (only with pgmq.strict_input; PGMQ accepts it: tables q_ and a_)
SELECT id, format(call, '''''') AS call, pg_temp.try(format('SELECT * FROM ' || call, '''''')) AS result
  FROM calls ORDER BY id;

-- invalid characters: a space (only with pgmq.strict_input; PGMQ accepts it), a ';' (PGMQ refuses it)
SELECT id, format(call, '''bad name''') AS call, pg_temp.try(format('SELECT * FROM ' || call, '''bad name''')) AS result
  FROM calls ORDER BY id;
SELECT id, format(call, '''bad;name''') AS call, pg_temp.try(format('SELECT * FROM ' || call, '''bad;name''')) AS result
  FROM calls ORDER BY id;

-- NULL name: 22004
SELECT id, format(call, 'NULL') AS call, pg_temp.try(format('SELECT * FROM ' || call, 'NULL')) AS result
  FROM calls ORDER BY id;
DROP TABLE calls;

------------------------------------------------------------------------------
-- vt: negative or NULL
------------------------------------------------------------------------------
SELECT pg_temp.try($$SELECT * FROM pgmq.read('bad', -1, 1)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.read('bad', NULL, 1)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.read_with_poll('bad', -1, 1, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.read_with_poll('bad', NULL, 1, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', 2, -1)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', 2, NULL::integer)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', 2, NULL::timestamptz)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', ARRAY[2]::bigint[], -1)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', ARRAY[2]::bigint[], NULL::integer)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', ARRAY[2]::bigint[], NULL::timestamptz)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', '2'::text, '-1'::text)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', '2'::text, NULL::text)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', '2'::text, 'soon'::text)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', '2'::text, '99999999999'::text)$$);

------------------------------------------------------------------------------
-- qty: below 1, NULL, above pgmq.max_read_qty (0 by default: no limit; set to 2 below)
------------------------------------------------------------------------------
SELECT pg_temp.try($$SELECT * FROM pgmq.read('bad', 30, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.read('bad', 30, -1)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.read('bad', 30, NULL)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.read('bad', 30, 10001)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.read_with_poll('bad', 30, 0, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.read_with_poll('bad', 30, NULL, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.read_with_poll('bad', 30, 10001, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.pop('bad', 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.pop('bad', -1)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.pop('bad', NULL)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.pop('bad', 10001)$$);
SHOW pgmq.max_read_qty;
SET pgmq.max_read_qty = 2;
SELECT pg_temp.try($$SELECT * FROM pgmq.read('bad', 30, 3)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.read_with_poll('bad', 30, 3, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.pop('bad', 3)$$);
-- at the cap: allowed
BEGIN;
SELECT count(*) AS read_at_cap FROM pgmq.read('bad', 30, 2);
ROLLBACK;
RESET pgmq.max_read_qty;
SELECT pg_temp.try($$SET pgmq.max_read_qty = -1$$);

------------------------------------------------------------------------------
-- poll parameters: negative or NULL max_poll_seconds, poll_interval_ms below 1 or NULL
------------------------------------------------------------------------------
SELECT pg_temp.try($$SELECT * FROM pgmq.read_with_poll('bad', 30, 1, -1)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.read_with_poll('bad', 30, 1, NULL)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.read_with_poll('bad', 30, 1, 1, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.read_with_poll('bad', 30, 1, 1, -100)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.read_with_poll('bad', 30, 1, 1, NULL)$$);

------------------------------------------------------------------------------
-- send: NULL message, negative / NULL delay ('infinity' is a value: see poison_times)
------------------------------------------------------------------------------
SELECT pg_temp.try($$SELECT * FROM pgmq.send('bad', NULL)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send('bad', NULL, '{}'::jsonb)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send('bad', NULL, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send('bad', NULL, now())$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send('bad', NULL, '{}'::jsonb, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send('bad', NULL, '{}'::jsonb, now())$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send('bad', 'null'::jsonb)$$) AS json_null_is_a_message;
DELETE FROM pgmq.q_bad WHERE message = 'null';
SELECT pg_temp.try($$SELECT * FROM pgmq.send('bad', '{}', -1)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send('bad', '{}', '{}'::jsonb, -1)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send('bad', '{}', NULL::integer)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send('bad', '{}', NULL::timestamptz)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send('bad', '{}', '{}'::jsonb, NULL::integer)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send('bad', '{}', '{}'::jsonb, NULL::timestamptz)$$);

------------------------------------------------------------------------------
-- send_batch: NULL or empty arrays, NULL elements, headers of another length,
-- multi-dimensional arrays, bad delays
------------------------------------------------------------------------------
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', NULL)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', NULL, ARRAY['{}']::jsonb[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', NULL, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', NULL, now())$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', NULL, ARRAY['{}']::jsonb[], 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', NULL, ARRAY['{}']::jsonb[], now())$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY[]::jsonb[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', '{}'::jsonb[], '{}'::jsonb[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY[]::jsonb[], 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY[]::jsonb[], now())$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY['{}', NULL]::jsonb[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY[NULL]::jsonb[], 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY['{}', '{}']::jsonb[], ARRAY['{}', NULL]::jsonb[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY['{}', '{}']::jsonb[], ARRAY['{}']::jsonb[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY['{}']::jsonb[], ARRAY['{}', '{}']::jsonb[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY['{}']::jsonb[], ARRAY[]::jsonb[], 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY['{}', '{}']::jsonb[], ARRAY['{}']::jsonb[], now())$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY[['{}'], ['{}']]::jsonb[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY[['{}', '{}']]::jsonb[], ARRAY['{}', '{}']::jsonb[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY['{}', '{}']::jsonb[], ARRAY[['{}', '{}']]::jsonb[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY['{}']::jsonb[], -1)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY['{}']::jsonb[], ARRAY['{}']::jsonb[], -1)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY['{}']::jsonb[], NULL::integer)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY['{}']::jsonb[], NULL::timestamptz)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY['{}']::jsonb[], ARRAY['{}']::jsonb[], NULL::integer)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send_batch('bad', ARRAY['{}']::jsonb[], ARRAY['{}']::jsonb[], NULL::timestamptz)$$);

------------------------------------------------------------------------------
-- delete, archive, set_vt: NULL ids, NULL elements, multi-dimensional arrays
------------------------------------------------------------------------------
SELECT pg_temp.try($$SELECT * FROM pgmq.delete('bad', NULL::bigint)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.delete('bad', NULL::bigint[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.delete('bad', ARRAY[2, NULL]::bigint[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.delete('bad', ARRAY[[2], [3]]::bigint[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.archive('bad', NULL::bigint)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.archive('bad', NULL::bigint[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.archive('bad', ARRAY[2, NULL]::bigint[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.archive('bad', ARRAY[[2], [3]]::bigint[])$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', NULL::bigint, 30)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', NULL::bigint, now())$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', NULL::bigint[], 30)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', ARRAY[2, NULL]::bigint[], 30)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', ARRAY[[2], [3]]::bigint[], now())$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', NULL::text, '30'::text)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', 'two'::text, '30'::text)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', '{2,NULL}'::text, '30'::text)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', '{{2},{3}}'::text, '30'::text)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_vt('bad', '{2,x}'::text, '30'::text)$$);

------------------------------------------------------------------------------
-- other arguments
------------------------------------------------------------------------------
SELECT pg_temp.try($$SELECT pgmq.format_table_name('bad', NULL)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.read('bad', 30, 1, 'not json')$$);
RESET client_min_messages;
