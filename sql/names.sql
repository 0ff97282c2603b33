-- names: by default PGMQ's rules (at most 47 characters, no $ ; -- ', P0001;
-- pgmq also refuses non-ASCII and control characters), every other name is
-- quoted everywhere and works end to end; with pgmq.strict_input hostile and
-- invalid names are rejected (22023) and create nothing; names are
-- case-insensitive (one queue, one meta row); hyphenated and 47-character names
-- work end to end.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/regress/try.sql
-- every relation in schema pgmq and every meta row, as one fingerprint
CREATE FUNCTION pg_temp.catalog_state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(c.relname, ',' ORDER BY c.relname)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgmq'),
        (SELECT string_agg(queue_name, ',' ORDER BY queue_name) FROM pgmq.meta),
        (SELECT count(*) FROM pg_class)))
$$;

------------------------------------------------------------------------------
-- strict: hostile and invalid names: rejected by every entry point, nothing created
------------------------------------------------------------------------------
SELECT pg_temp.catalog_state() AS before \gset
SET pgmq.strict_input = on;
CREATE TEMP TABLE hostile (id serial, name text);
INSERT INTO hostile (name) VALUES
  ('x''; DROP TABLE pgmq.meta; --'),
  ('x"; DROP TABLE pgmq.meta; --'),
  ('a"b'),
  ('a b'),
  ('q$1'),
  ('a;b'),
  ('a.b'),
  ('pgmq.meta'),
  ('a/b'),
  ('a\b'),
  (E'a\tb'),
  (E'a\nb'),
  ('(select 1)'),
  ('%s'),
  ('ünïcödé'),
  ('日本'),
  ('a' || chr(160) || 'b'),
  (' leading'),
  ('trailing ');
SELECT pg_temp.catalog_state() AS with_hostile \gset
SELECT id, to_json(name) AS name, pg_temp.try(format('SELECT pgmq.create(%L)', name)) AS "create"
  FROM hostile ORDER BY id;
SELECT id, pg_temp.try(format('SELECT pgmq.create_unlogged(%L)', name)) AS create_unlogged,
       pg_temp.try(format('SELECT * FROM pgmq.send(%L, ''{}'')', name)) AS send,
       pg_temp.try(format('SELECT * FROM pgmq.read(%L, 1, 1)', name)) AS read,
       pg_temp.try(format('SELECT pgmq.drop_queue(%L)', name)) AS drop_queue
  FROM hostile ORDER BY id;
SELECT DISTINCT pg_temp.try(format('SELECT pgmq.%s(%L)', f, name)) AS every_other_function
  FROM hostile, unnest(ARRAY['create_non_partitioned', 'purge_queue', 'metrics', 'detach_archive',
                             'validate_queue_name', 'acquire_queue_lock', 'enable_notify_insert',
                             'disable_notify_insert']) AS f;
RESET pgmq.strict_input;
SELECT pg_temp.catalog_state() = :'with_hostile' AS nothing_created;
SELECT count(*) AS meta_rows_are_fine FROM pgmq.meta;

------------------------------------------------------------------------------
-- PGMQ's rules (the default): names with ' $ ; -- are P0001 everywhere; the
-- others are queues like any other (quoted identifiers); non-ASCII and control
-- characters are refused (P0001)
------------------------------------------------------------------------------
SELECT id, to_json(name) AS name, pg_temp.try(format('SELECT pgmq.create(%L)', name)) AS "create",
       pg_temp.try(format('SELECT * FROM pgmq.send(%L, ''{"n": 1}'')', name)) AS send,
       pg_temp.try(format('SELECT * FROM pgmq.send_batch(%L, ARRAY[''{}'', NULL]::jsonb[])', name)) AS send_batch,
       (SELECT string_agg(r.msg_id::text, ',') FROM pgmq.read(name, 30, 5) AS r
         WHERE name !~ '[$;'']|--|[^ -~]') AS read,
       pg_temp.try(format('SELECT pgmq.archive(%L, 1)', name)) AS archive,
       pg_temp.try(format('SELECT pgmq.purge_queue(%L)', name)) AS purge
  FROM hostile ORDER BY id;
SELECT queue_name, queue_length, total_messages FROM pgmq.metrics_all() ORDER BY queue_name;
SELECT id, pg_temp.try(format('SELECT pgmq.drop_queue(%L)', name)) AS drop_queue FROM hostile ORDER BY id;
SELECT pg_temp.catalog_state() = :'with_hostile' AS all_dropped;
-- the empty name is a queue too (tables q_ and a_), as in PGMQ
SELECT pgmq.create('');
SELECT * FROM pgmq.send('', '{"empty": true}');
SELECT msg_id, message FROM pgmq.pop('');
SELECT pgmq.drop_queue('');
DROP TABLE hostile;
SELECT pg_temp.catalog_state() = :'before' AS nothing_left;

------------------------------------------------------------------------------
-- case: Foo, foo and FOO are one queue with one meta row, named as first created
------------------------------------------------------------------------------
SELECT pgmq.create('Foo');
SELECT pgmq.create('foo');
SELECT pgmq.create_unlogged('FOO');
SELECT queue_name, is_unlogged FROM pgmq.meta WHERE lower(queue_name) = 'foo';
SELECT queue_name FROM pgmq.list_queues() WHERE lower(queue_name) = 'foo';
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'pgmq' AND lower(c.relname) LIKE '%foo%' ORDER BY c.relname;
SELECT * FROM pgmq.send('FOO', '{"via": "FOO"}');
SELECT * FROM pgmq.send('foo', '{"via": "foo"}');
SELECT msg_id, message FROM pgmq.read('Foo', 30, 10);
SELECT pgmq.archive('fOO', 1), pgmq.delete('FoO', 2);
SELECT queue_name, queue_length, total_messages FROM pgmq.metrics('FOO');
SELECT pgmq.drop_queue('FOO');
SELECT pgmq.drop_queue('foo');
SELECT count(*) AS foo_meta_rows FROM pgmq.meta WHERE lower(queue_name) = 'foo';

-- the name keeps its case in meta and list_queues (clients look their queues up by the name they
-- created); every function takes it in any case, and so do the tables naming queues by queue_key
SELECT pgmq.create('MyQueue');
SELECT queue_name, queue_key FROM pgmq.meta WHERE queue_key = 'myqueue';
SELECT queue_name, is_partitioned, is_unlogged FROM pgmq.list_queues() WHERE queue_name = 'MyQueue';
SELECT queue_name FROM pgmq.metrics_all() WHERE lower(queue_name) = 'myqueue';
SELECT * FROM pgmq.send('MYQUEUE', '{"n": 1}');
SELECT * FROM pgmq.send('myqueue', '{"n": 2}');
SELECT msg_id, message FROM pgmq.read('MyQueue', 30, 10);
SELECT pgmq.enable_notify_insert('MYQUEUE', 0);
SELECT pgmq.bind_topic('case.#', 'myQUEUE');
SELECT (pgmq.set_policy('MyQueue', max_deliveries => 5)).queue_name AS policy_of;
SELECT queue_name FROM pgmq.notify_insert_throttle WHERE queue_name = 'myqueue';
SELECT pattern, queue_name FROM pgmq.list_topic_bindings('MyQueue');
SELECT queue_name, max_deliveries FROM pgmq.policies WHERE queue_name = 'myqueue';
SELECT pgmq.send_topic('case.x', '{"n": 3}');
SELECT queue_name, queue_length FROM pgmq.metrics('MyQueue');
-- a second create in another case changes nothing
SELECT pgmq.create('MYQUEUE');
SELECT queue_name FROM pgmq.list_queues() WHERE lower(queue_name) = 'myqueue';
SELECT pgmq.drop_queue('MYQUEUE');
SELECT count(*) AS meta_rows, (SELECT count(*) FROM pgmq.notify_insert_throttle WHERE queue_name = 'myqueue') AS throttle_rows,
       (SELECT count(*) FROM pgmq.topic_bindings WHERE queue_name = 'myqueue') AS bindings,
       (SELECT count(*) FROM pgmq.queue_policy WHERE queue_name = 'myqueue') AS policies
  FROM pgmq.meta WHERE queue_key = 'myqueue';
SELECT pgmq._queue_table('myqueue') IS NULL AS table_dropped;

------------------------------------------------------------------------------
-- hyphenated names: quoted identifiers everywhere
------------------------------------------------------------------------------
SELECT pgmq.create('my-queue');
SELECT pgmq.create('-');
-- PGMQ refuses '--' in a name (P0001); so does pgmq.strict_input (22023)
SELECT pg_temp.try($$SELECT pgmq.create('a--b')$$);
SET pgmq.strict_input = on;
SELECT pg_temp.try($$SELECT pgmq.create('a--b')$$);
RESET pgmq.strict_input;
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'pgmq' AND (c.relname LIKE '%my-queue%' OR c.relname IN ('q_-', 'a_-', 'q_-_pkey', 'a_-_pkey'))
 ORDER BY c.relname;
SELECT * FROM pgmq.send('my-queue', '{"h": 1}');
SELECT * FROM pgmq.send_batch('my-queue', ARRAY['{"h": 2}', '{"h": 3}']::jsonb[]);
SELECT * FROM pgmq.send('-', '{"dash": true}');
SELECT msg_id, message FROM pgmq.read('my-queue', 30, 2);
SELECT pgmq.archive('my-queue', 1);
SELECT * FROM pgmq.archive('my-queue', ARRAY[2]::bigint[]);
SELECT msg_id FROM pgmq.set_vt('my-queue', 3, 0);
SELECT msg_id, message FROM pgmq.pop('my-queue');
SELECT msg_id, message FROM pgmq.read('-', 30, 1);
SELECT pgmq.enable_notify_insert('my-queue');
SELECT * FROM pgmq.send('my-queue', '{"h": 4}');
SELECT pgmq.purge_queue('my-queue');
SELECT queue_name, queue_length, total_messages FROM pgmq.metrics('my-queue');
SELECT msg_id, message FROM pgmq."a_my-queue" ORDER BY msg_id;
SELECT pgmq.drop_queue('my-queue');
SELECT pgmq.drop_queue('-');

------------------------------------------------------------------------------
-- 47 characters, the longest name: every derived identifier fits in 63 bytes
------------------------------------------------------------------------------
SELECT repeat('L', 20) || '-' || repeat('z', 26) AS long_name \gset
SELECT length(:'long_name');
SELECT pgmq.create(:'long_name');
SELECT c.relname, length(c.relname) AS len FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'pgmq' AND c.relname LIKE '%llllllllllllllllllll-%' ORDER BY c.relname;
SELECT * FROM pgmq.send(:'long_name', '{"long": 1}');
SELECT * FROM pgmq.send_batch(:'long_name', ARRAY['{"long": 2}', '{"long": 3}']::jsonb[]);
SELECT msg_id, message FROM pgmq.read(:'long_name', 30, 1);
SELECT pgmq.archive(:'long_name', 1);
SELECT msg_id, message FROM pgmq.pop(:'long_name');
SELECT pgmq.delete(:'long_name', 3);
SELECT queue_name = :'long_name' AS as_given, queue_length, total_messages FROM pgmq.metrics(:'long_name');
SELECT pgmq.enable_notify_insert(:'long_name');
SELECT queue_name = lower(:'long_name') AS throttle_row FROM pgmq.list_notify_insert_throttles();
SELECT pgmq.drop_queue(:'long_name');
SELECT count(*) AS long_relations_left FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'pgmq' AND c.relname LIKE '%llllllllllllllllllll-%';
-- one more character is rejected: P0001 (PGMQ's), 22023 with pgmq.strict_input
SELECT pg_temp.try(format('SELECT pgmq.create(%L)', :'long_name' || 'z'));
SET pgmq.strict_input = on;
SELECT pg_temp.try(format('SELECT pgmq.create(%L)', :'long_name' || 'z'));
RESET pgmq.strict_input;

-- digits, underscores and a leading digit are fine
SELECT pgmq.create('1_2_3');
SELECT * FROM pgmq.send('1_2_3', '{}');
SELECT msg_id FROM pgmq.read('1_2_3', 30, 1);
SELECT pgmq.drop_queue('1_2_3');

-- a name whose q_<name> is another queue's index or sequence names no queue (42P01)
SELECT pgmq.create('clash');
SELECT name, substring(stmt from 'pgmq\.(\w+)') AS fn, pg_temp.try(format(stmt, name))
  FROM unnest(ARRAY['clash_pkey', 'clash_msg_id_seq']) AS name,
       unnest(ARRAY['SELECT * FROM pgmq.send(%L, ''{}'')', 'SELECT * FROM pgmq.read(%L, 30, 1)',
                    'SELECT pgmq.delete(%L, 1::bigint)', 'SELECT * FROM pgmq.metrics(%L)',
                    'SELECT pgmq.purge_queue(%L)', 'SELECT * FROM pgmq.set_policy(%L, max_deliveries => 1)',
                    'SELECT pgmq.enable_notify_insert(%L)', 'SELECT pgmq.disable_notify_insert(%L)'])
       AS stmt ORDER BY 1, 2;
SELECT pgmq.drop_queue('clash_pkey'), pgmq.drop_queue('clash');

SELECT pg_temp.catalog_state() = :'before' AS catalog_as_at_start;
