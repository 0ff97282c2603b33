-- queue_admin: creating, dropping, purging, listing and measuring queues; helper
-- functions; the shape of queue tables, types and the function catalogue.
-- Every value printed is deterministic: times are only compared, never shown.

------------------------------------------------------------------------------
-- create, create_non_partitioned, create_unlogged
------------------------------------------------------------------------------
SELECT pgmq.create('admin_q');
-- create is idempotent: a notice, no error, nothing duplicated
SELECT pgmq.create('admin_q');
SELECT pgmq.create_non_partitioned('admin_q');
SELECT pgmq.create_non_partitioned('admin_np');
SELECT pgmq.create_unlogged('admin_u');
SELECT pgmq.create_unlogged('admin_u');
SELECT queue_name, is_partitioned, is_unlogged, created_at <= now() AS created_in_past
  FROM pgmq.meta WHERE queue_name LIKE 'admin%' ORDER BY queue_name;

-- unlogged applies to the queue table only; the archive stays logged
SELECT c.relname, c.relpersistence, c.relkind
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'pgmq' AND c.relname ~ '^[qa]_admin_' AND c.relkind = 'r'
 ORDER BY c.relname;

-- list_queues: one row per queue, by name
SELECT queue_name, is_partitioned, is_unlogged, created_at <= now() AS created_in_past
  FROM pgmq.list_queues() WHERE queue_name LIKE 'admin%';

------------------------------------------------------------------------------
-- Shape of the queue and archive tables (no OIDs, no \d)
------------------------------------------------------------------------------
SELECT table_name, ordinal_position AS pos, column_name, data_type, is_nullable, column_default,
       is_identity, identity_generation
  FROM information_schema.columns
 WHERE table_schema = 'pgmq' AND table_name IN ('q_admin_q', 'a_admin_q')
 ORDER BY table_name DESC, ordinal_position;

-- no index on vt (PGMQ has one): reads never use it, and read updates stay HOT (README)
SELECT tablename, indexname, indexdef
  FROM pg_indexes
 WHERE schemaname = 'pgmq' AND tablename IN ('q_admin_q', 'a_admin_q', 'q_admin_u', 'a_admin_u')
 ORDER BY tablename, indexname;

-- every queue table has the statement trigger that keeps the read hint right
SELECT tgrelid::regclass AS table_name, tgname, pg_get_triggerdef(oid) AS definition
  FROM pg_trigger
 WHERE tgrelid IN ('pgmq.q_admin_q'::regclass, 'pgmq.a_admin_q'::regclass, 'pgmq.q_admin_u'::regclass)
   AND NOT tgisinternal
 ORDER BY 1, 2;

SELECT conrelid::regclass AS table_name, conname, contype, pg_get_constraintdef(oid) AS definition
  FROM pg_constraint
 WHERE conrelid IN ('pgmq.q_admin_q'::regclass, 'pgmq.a_admin_q'::regclass)
 ORDER BY conrelid::regclass::text, conname;

SELECT pg_get_serial_sequence('pgmq.q_admin_q', 'msg_id') AS msg_id_sequence;

-- queue tables are plain tables, not extension members (as in PGMQ >= 1.6)
SELECT count(*) AS queue_tables_in_extension
  FROM pg_depend d JOIN pg_class c ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
 WHERE d.deptype = 'e' AND c.relname ~ '^[qa]_admin_';

-- the extension's own tables
SELECT table_name, ordinal_position AS pos, column_name, data_type, is_nullable, column_default
  FROM information_schema.columns
 WHERE table_schema = 'pgmq' AND table_name IN ('meta', 'notify_insert_throttle')
 ORDER BY table_name, ordinal_position;

-- the composite types, column order as in PGMQ 1.13
SELECT t.typname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type
  FROM pg_type t
  JOIN pg_namespace n ON n.oid = t.typnamespace
  JOIN pg_attribute a ON a.attrelid = t.typrelid
 WHERE n.nspname = 'pgmq' AND t.typname IN ('message_record', 'queue_record', 'metrics_result')
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY t.typname, a.attnum;

------------------------------------------------------------------------------
-- Function catalogue: every PGMQ 1.13 core-API function (PGMQ-API.md section 1.1-1.5)
-- with its argument names, defaults and result type. 'extra' marks functions
-- pgmq has beyond PGMQ. FIFO-group and topic functions are outside this API and
-- not listed, so that adding them later does not change this output.
------------------------------------------------------------------------------
CREATE TEMP TABLE pgmq_1_13 (name text, args text, result text);
INSERT INTO pgmq_1_13 VALUES
  ('acquire_queue_lock', 'queue_name text', 'void'),
  ('archive', 'queue_name text, msg_id bigint', 'boolean'),
  ('archive', 'queue_name text, msg_ids bigint[]', 'SETOF bigint'),
  ('convert_archive_partitioned', 'table_name text, partition_interval text DEFAULT ''10000''::text, retention_interval text DEFAULT ''100000''::text, leading_partition integer DEFAULT 10', 'void'),
  ('create', 'queue_name text', 'void'),
  ('create_non_partitioned', 'queue_name text', 'void'),
  ('create_partitioned', 'queue_name text, partition_interval text DEFAULT ''10000''::text, retention_interval text DEFAULT ''100000''::text, premake integer DEFAULT 4', 'void'),
  ('create_unlogged', 'queue_name text', 'void'),
  ('delete', 'queue_name text, msg_id bigint', 'boolean'),
  ('delete', 'queue_name text, msg_ids bigint[]', 'SETOF bigint'),
  ('detach_archive', 'queue_name text', 'void'),
  ('disable_notify_insert', 'queue_name text', 'void'),
  ('drop_queue', 'queue_name text', 'boolean'),
  ('drop_queue', 'queue_name text, partitioned boolean', 'boolean'),
  ('enable_notify_insert', 'queue_name text, throttle_interval_ms integer DEFAULT 250', 'void'),
  ('format_table_name', 'queue_name text, prefix text', 'text'),
  ('list_notify_insert_throttles', '', 'TABLE(queue_name text, throttle_interval_ms integer, last_notified_at timestamp with time zone)'),
  ('list_queues', '', 'SETOF pgmq.queue_record'),
  ('metrics', 'queue_name text', 'pgmq.metrics_result'),
  ('metrics_all', '', 'SETOF pgmq.metrics_result'),
  ('notify_queue_listeners', '', 'trigger'),
  ('pop', 'queue_name text, qty integer DEFAULT 1', 'SETOF pgmq.message_record'),
  ('purge_queue', 'queue_name text', 'bigint'),
  ('read', 'queue_name text, vt integer, qty integer, conditional jsonb DEFAULT ''{}''::jsonb', 'SETOF pgmq.message_record'),
  ('read_with_poll', 'queue_name text, vt integer, qty integer, max_poll_seconds integer DEFAULT 5, poll_interval_ms integer DEFAULT 100, conditional jsonb DEFAULT ''{}''::jsonb', 'SETOF pgmq.message_record'),
  ('send', 'queue_name text, msg jsonb', 'SETOF bigint'),
  ('send', 'queue_name text, msg jsonb, delay integer', 'SETOF bigint'),
  ('send', 'queue_name text, msg jsonb, delay timestamp with time zone', 'SETOF bigint'),
  ('send', 'queue_name text, msg jsonb, headers jsonb', 'SETOF bigint'),
  ('send', 'queue_name text, msg jsonb, headers jsonb, delay integer', 'SETOF bigint'),
  ('send', 'queue_name text, msg jsonb, headers jsonb, delay timestamp with time zone', 'SETOF bigint'),
  ('send_batch', 'queue_name text, msgs jsonb[]', 'SETOF bigint'),
  ('send_batch', 'queue_name text, msgs jsonb[], delay integer', 'SETOF bigint'),
  ('send_batch', 'queue_name text, msgs jsonb[], delay timestamp with time zone', 'SETOF bigint'),
  ('send_batch', 'queue_name text, msgs jsonb[], headers jsonb[]', 'SETOF bigint'),
  ('send_batch', 'queue_name text, msgs jsonb[], headers jsonb[], delay integer', 'SETOF bigint'),
  ('send_batch', 'queue_name text, msgs jsonb[], headers jsonb[], delay timestamp with time zone', 'SETOF bigint'),
  ('set_vt', 'queue_name text, msg_id bigint, vt integer', 'SETOF pgmq.message_record'),
  ('set_vt', 'queue_name text, msg_id bigint, vt timestamp with time zone', 'SETOF pgmq.message_record'),
  ('set_vt', 'queue_name text, msg_ids bigint[], vt integer', 'SETOF pgmq.message_record'),
  ('set_vt', 'queue_name text, msg_ids bigint[], vt timestamp with time zone', 'SETOF pgmq.message_record'),
  ('update_notify_insert', 'queue_name text, throttle_interval_ms integer', 'void'),
  ('validate_queue_name', 'queue_name text', 'void');

WITH actual AS (
  SELECT p.proname::text AS name, pg_get_function_arguments(p.oid) AS args, pg_get_function_result(p.oid) AS result
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = 'pgmq' AND p.proname IN (SELECT name FROM pgmq_1_13)
)
SELECT coalesce(e.name, a.name) AS name, coalesce(e.args, a.args) AS args, coalesce(a.result, e.result) AS result,
       CASE WHEN e.name IS NULL THEN 'extra'
            WHEN a.name IS NULL THEN 'MISSING'
            WHEN e.result IS DISTINCT FROM a.result THEN 'RESULT DIFFERS, PGMQ: ' || e.result
            ELSE 'ok' END AS status
  FROM pgmq_1_13 e FULL JOIN actual a ON e.name = a.name AND e.args = a.args
 ORDER BY 1, 2;

-- none is STRICT (NULL arguments reach the checks and get clear errors); SECURITY DEFINER only
-- the notify trigger function, so producers need no privilege on pgmq.notify_insert_throttle
SELECT count(*) FILTER (WHERE p.proisstrict) AS strict,
       string_agg(p.proname, ', ') FILTER (WHERE p.prosecdef) AS security_definer
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'pgmq' AND p.proname IN (SELECT name FROM pgmq_1_13);
DROP TABLE pgmq_1_13;

------------------------------------------------------------------------------
-- metrics and metrics_all
------------------------------------------------------------------------------
-- empty queue: lengths 0, ages NULL, total 0, scrape_time = now(), no partitions
SELECT queue_name, queue_length, queue_visible_length, newest_msg_age_sec, oldest_msg_age_sec,
       total_messages, scrape_time = now() AS scrape_time_is_now, default_partition_length
  FROM pgmq.metrics('admin_q');

-- three messages, one of them invisible (delayed)
SELECT pgmq.send('admin_q', '{"n": 1}');
SELECT pgmq.send('admin_q', '{"n": 2}');
SELECT pgmq.send('admin_q', '{"n": 3}', 3600);
SELECT queue_name, queue_length, queue_visible_length, newest_msg_age_sec >= 0 AS newest_age_ok,
       oldest_msg_age_sec >= newest_msg_age_sec AS oldest_ge_newest, total_messages,
       default_partition_length
  FROM pgmq.metrics('admin_q');

-- a read hides a message: queue_length stays, queue_visible_length drops
SELECT msg_id FROM pgmq.read('admin_q', 600, 1);
SELECT queue_length, queue_visible_length, total_messages FROM pgmq.metrics('admin_q');

-- total_messages counts every message ever sent: it survives delete, archive and purge
SELECT pgmq.delete('admin_q', 1);
SELECT pgmq.archive('admin_q', 2);
SELECT queue_length, queue_visible_length, total_messages FROM pgmq.metrics('admin_q');

-- metrics_all: one row per queue, by name
SELECT queue_name, queue_length, queue_visible_length, total_messages, default_partition_length
  FROM pgmq.metrics_all() WHERE queue_name LIKE 'admin%';

-- metrics with a mixed-case name reports the stored (lower-case) name
SELECT queue_name FROM pgmq.metrics('ADMIN_Q');

------------------------------------------------------------------------------
-- purge_queue: count of deleted messages; archive untouched; ids continue
------------------------------------------------------------------------------
SELECT pgmq.send_batch('admin_q', ARRAY['{"n": 4}', '{"n": 5}']::jsonb[]);
SELECT count(*) AS queue_rows FROM pgmq.q_admin_q;
SELECT pgmq.purge_queue('admin_q');
SELECT count(*) AS queue_rows FROM pgmq.q_admin_q;
SELECT msg_id, message FROM pgmq.a_admin_q ORDER BY msg_id;
SELECT queue_length, total_messages, newest_msg_age_sec, oldest_msg_age_sec FROM pgmq.metrics('admin_q');
SELECT pgmq.send('admin_q', '{"n": 6}');
SELECT pgmq.purge_queue('admin_q');
SELECT pgmq.purge_queue('admin_q');

------------------------------------------------------------------------------
-- helpers: validate_queue_name, format_table_name, acquire_queue_lock
------------------------------------------------------------------------------
SELECT pgmq.validate_queue_name('any_valid-Name1');
SELECT pgmq.validate_queue_name(repeat('n', 47));
SELECT pgmq.format_table_name('Jobs', 'q'), pgmq.format_table_name('jobs', 'a'),
       pgmq.format_table_name('My-Queue', 'Q');

BEGIN;
SELECT pgmq.acquire_queue_lock('Admin_Q');
-- the transaction holds PGMQ's advisory lock hashtext('pgmq.queue_<name>')
SELECT count(*) AS advisory_locks,
       bool_and(((classid::bigint << 32) | objid::bigint) = hashtext('pgmq.queue_admin_q')::bigint) AS key_matches
  FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
COMMIT;
SELECT count(*) AS advisory_locks_after_commit FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();

------------------------------------------------------------------------------
-- detach_archive (deprecated no-op), partitioning (in detail: regress partitioned)
------------------------------------------------------------------------------
SELECT pgmq.detach_archive('admin_q');
SELECT count(*) AS archive_still_there FROM pgmq.a_admin_q;

\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/regress/try.sql
-- In a transaction that is rolled back: the worker never sees these queues.
BEGIN;
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('admin_p')$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('admin_p', '10000', '100000', 4)$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('admin_pd', 'daily', '7 days')$$);
SELECT pg_temp.try($$SELECT pgmq.convert_archive_partitioned('admin_q')$$);
SELECT queue_name, is_partitioned, is_unlogged FROM pgmq.list_queues() WHERE queue_name IN ('admin_p', 'admin_pd');
SELECT c.relname, c.relkind FROM pg_class AS c
 WHERE c.relnamespace = 'pgmq'::regnamespace AND c.relname IN ('q_admin_p', 'a_admin_p', 'q_admin_pd', 'a_admin_pd', 'a_admin_q', 'a_admin_q_old')
 ORDER BY 1;
ROLLBACK;

------------------------------------------------------------------------------
-- drop_queue
------------------------------------------------------------------------------
SELECT pgmq.drop_queue('admin_q');
-- missing queue: false and a notice
SELECT pgmq.drop_queue('admin_q');
SELECT pgmq.drop_queue('never_created');
-- the deprecated two-argument form warns, then behaves like drop_queue(name)
SELECT pgmq.drop_queue('admin_np', false);
-- the deprecated form returns true even for a missing queue, as PGMQ's does
SELECT pgmq.drop_queue('admin_np', true);
SELECT pgmq.drop_queue('ADMIN_U');
-- nothing of the dropped queues is left
SELECT count(*) AS admin_meta_rows FROM pgmq.meta WHERE queue_name LIKE 'admin%';
SELECT count(*) AS admin_relations
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'pgmq' AND c.relname LIKE '%admin%';
