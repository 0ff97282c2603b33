-- partitioned: create_partitioned and convert_archive_partitioned without pg_partman: table
-- shapes, partitions made ahead (premake), retention drops, partitions made on demand by a send
-- or an archive that finds none (never an overrun), every message path, metrics, drop_queue.
-- Each scenario runs in a transaction, so the background worker (which maintains committed
-- partitioned queues) never sees its queues: what is printed is what run_maintenance did.

\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/regress/try.sql

------------------------------------------------------------------------------
-- Arguments
------------------------------------------------------------------------------
SELECT pg_temp.try($$SELECT pgmq.create_partitioned(NULL)$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('bad;name')$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned(repeat('p', 48))$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('p_bad', NULL)$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('p_bad', '0')$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('p_bad', '-5')$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('p_bad', '99999999999999999999')$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('p_bad', 'often')$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('p_bad', '-1 day')$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('p_bad', '1 month 2 days')$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('p_bad', '10', '1 day')$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('p_bad', '1 day', '10')$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('p_bad', '10', '0')$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('p_bad', '10', '100', 0)$$);
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('p_bad', '10', '100', NULL)$$);
SELECT pg_temp.try($$SELECT pgmq.convert_archive_partitioned(NULL)$$);
SELECT pg_temp.try($$SELECT pgmq.convert_archive_partitioned('p_bad', 'often')$$);
-- nothing was made by the failed calls
SELECT count(*) AS leftovers FROM pg_class WHERE relnamespace = 'pgmq'::regnamespace AND relname LIKE '%p\_bad%';

------------------------------------------------------------------------------
-- A queue partitioned by msg_id: 10 ids per partition, keep the newest 20, premake 2
------------------------------------------------------------------------------
BEGIN;
SELECT pgmq.create_partitioned('p_ids', '10', '20', 2);
-- idempotent
SELECT pgmq.create_partitioned('p_ids', '10', '20', 2);
SELECT queue_name, is_partitioned, is_unlogged FROM pgmq.list_queues() WHERE queue_name = 'p_ids';
SELECT table_name, queue_name, control, partition_interval, retention_interval, premake
  FROM pgmq.partition_config WHERE queue_name = 'p_ids' ORDER BY 1;
-- PGMQ 1.13's shapes: no primary key, msg_id an identity BY DEFAULT, RANGE (msg_id)
SELECT table_name, ordinal_position AS pos, column_name, data_type, is_nullable, is_identity, identity_generation
  FROM information_schema.columns
 WHERE table_schema = 'pgmq' AND table_name IN ('q_p_ids', 'a_p_ids')
 ORDER BY table_name DESC, ordinal_position;
SELECT c.relname, c.relkind, pg_get_partkeydef(c.oid) AS partition_key
  FROM pg_class AS c WHERE c.oid IN ('pgmq.q_p_ids'::regclass, 'pgmq.a_p_ids'::regclass) ORDER BY 1;
SELECT tablename, indexname, indexdef FROM pg_indexes
 WHERE schemaname = 'pgmq' AND tablename IN ('q_p_ids', 'a_p_ids') ORDER BY 1, 2;
SELECT count(*) AS primary_keys FROM pg_constraint
 WHERE conrelid IN ('pgmq.q_p_ids'::regclass, 'pgmq.a_p_ids'::regclass) AND contype = 'p';
-- the partition of msg_id 1 and premake (2) after it, in the queue and in the archive
SELECT partition, lower_bound, upper_bound FROM pgmq._partitions('pgmq.q_p_ids');
SELECT partition, lower_bound, upper_bound FROM pgmq._partitions('pgmq.a_p_ids');

-- 45 messages at once: more than the partitions made ahead hold; the send makes the ones it needs
SELECT count(*) AS sent, min(s) AS first, max(s) AS last
  FROM pgmq.send_batch('p_ids', ARRAY(SELECT jsonb_build_object('n', i) FROM generate_series(1, 45) AS i)) AS s;
SELECT partition, lower_bound, upper_bound FROM pgmq._partitions('pgmq.q_p_ids');
SELECT count(*) AS messages, count(DISTINCT tableoid) AS partitions_used FROM pgmq.q_p_ids;
SELECT queue_name, queue_length, queue_visible_length, total_messages, default_partition_length
  FROM pgmq.metrics('p_ids');

-- every message path works on the partitioned tables (the first try of the batch took msg_ids 1 to 30:
-- msg_id 30 found no partition; its ids are skipped, as those of a rolled-back send)
SELECT msg_id, read_ct, message FROM pgmq.read('p_ids', 30, 3);
SELECT msg_id, read_ct FROM pgmq.read_with_poll('p_ids', 30, 2, 1, 10);
SELECT msg_id, message FROM pgmq.pop('p_ids');
SELECT msg_id, read_ct, vt > clock_timestamp() + interval '50 seconds' AS hidden FROM pgmq.set_vt('p_ids', 37, 60);
SELECT pgmq.delete('p_ids', 38::bigint) AS deleted, pgmq.delete('p_ids', 38::bigint) AS again;
SELECT * FROM pgmq.delete('p_ids', ARRAY[39, 40, 999]::bigint[]);
SELECT pgmq.archive('p_ids', 41::bigint) AS archived;
SELECT * FROM pgmq.archive('p_ids', ARRAY[42, 43, 999]::bigint[]);
SELECT msg_id, read_ct, message, tableoid::regclass AS partition FROM pgmq.a_p_ids ORDER BY msg_id;
SELECT * FROM pgmq.send('p_ids', '{"h": 1}', '{"x-pgmq-group": "g"}'::jsonb);
SELECT msg_id, message FROM pgmq.read_grouped('p_ids', 30, 1);
-- the archive had partitions up to msg_id 29 only: archiving 41 made a_p_ids_p40 on demand, and the
-- archive's premake after the current msg_id (76) with it
SELECT partition, lower_bound, upper_bound FROM pgmq._partitions('pgmq.a_p_ids');
SELECT pgmq.archive('p_ids', 76::bigint) AS archived;
SELECT msg_id, tableoid::regclass AS partition FROM pgmq.a_p_ids WHERE msg_id = 76;
SELECT queue_name, queue_length, total_messages, default_partition_length FROM pgmq.metrics('p_ids');

-- Maintenance: the newest 20 msg_ids are kept (next is 77): partitions wholly below 57 go,
-- their messages with them (PGMQ's retention, as pg_partman drops them), in the queue and the
-- archive; premake after the current partition already exists.
SELECT * FROM pgmq.run_maintenance() WHERE queue_name = 'p_ids' ORDER BY destination;
SELECT partition, lower_bound, upper_bound FROM pgmq._partitions('pgmq.q_p_ids');
SELECT partition, lower_bound, upper_bound FROM pgmq._partitions('pgmq.a_p_ids');
SELECT min(msg_id), count(*) FROM pgmq.q_p_ids;
-- the sequence moves on without sends (say, ids taken by rolled-back sends): partitions made ahead
SELECT setval(pg_get_serial_sequence('pgmq.q_p_ids', 'msg_id'), 105);
SELECT * FROM pgmq.run_maintenance() WHERE queue_name = 'p_ids' ORDER BY reason, destination;
SELECT partition, lower_bound, upper_bound FROM pgmq._partitions('pgmq.q_p_ids');

-- plain SQL into the parent finds no partition for a msg_id far ahead: PostgreSQL's error, nothing silent
SELECT pg_temp.try($$INSERT INTO pgmq.q_p_ids (msg_id, vt, message) VALUES (100000, now(), '{}')$$);

-- drop_queue drops the tables with every partition, and the partition settings
SELECT pgmq.drop_queue('p_ids');
SELECT count(*) AS relations_left FROM pg_class WHERE relnamespace = 'pgmq'::regnamespace AND relname LIKE '%p\_ids%';
SELECT count(*) AS config_left FROM pgmq.partition_config WHERE queue_name = 'p_ids';
COMMIT;

------------------------------------------------------------------------------
-- A queue partitioned by time: hourly partitions (enqueued_at; the archive by archived_at)
------------------------------------------------------------------------------
BEGIN;
SELECT pgmq.create_partitioned('p_time', '1 hour', '3 hours');
SELECT c.relname, pg_get_partkeydef(c.oid) AS partition_key
  FROM pg_class AS c WHERE c.oid IN ('pgmq.q_p_time'::regclass, 'pgmq.a_p_time'::regclass) ORDER BY 1;
SELECT tablename, indexname, indexdef FROM pg_indexes
 WHERE schemaname = 'pgmq' AND tablename IN ('q_p_time', 'a_p_time') ORDER BY 1, 2;
-- the hour of now() and 4 (the default premake) after it, named after their start in UTC
SELECT count(*) AS partitions,
       bool_and(upper_bound::timestamptz - lower_bound::timestamptz = interval '1 hour') AS hourly,
       min(lower_bound::timestamptz) = date_trunc('hour', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS first_is_now,
       bool_and(partition::text = 'pgmq.q_p_time_p' || to_char(lower_bound::timestamptz AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MISS')) AS named
  FROM pgmq._partitions('pgmq.q_p_time');
SELECT pgmq.send('p_time', '{"t": 1}');
SELECT msg_id FROM pgmq.read('p_time', 30, 1);
SELECT pgmq.archive('p_time', 1::bigint);
SELECT msg_id, archived_at = now() AS archived_now FROM pgmq.a_p_time;
-- a message from five hours ago (its partition made as a send would make it, with those after it up
-- to now), then maintenance: the partitions wholly older than 3 hours go, the message with them
SELECT count(*) AS made FROM pgmq._maintain_partitions('pgmq.q_p_time', 'p_time', 'enqueued_at', '1 hour', '3 hours',
                                                       4, 0, (now() - interval '5 hours')::text, false, false);
INSERT INTO pgmq.q_p_time (enqueued_at, vt, message) VALUES (now() - interval '5 hours', now(), '{"old": true}');
SELECT reason, destination = 'pgmq.q_p_time_p' || to_char(date_trunc('hour', (now() - interval '5 hours') AT TIME ZONE 'UTC'), 'YYYYMMDD_HH24MISS') AS old_hour,
       messages
  FROM pgmq.run_maintenance() WHERE queue_name = 'p_time';
SELECT count(*) AS old_messages FROM pgmq.q_p_time WHERE message ? 'old';
SELECT pgmq.drop_queue('p_time');
COMMIT;

-- months: bins of whole months in UTC
BEGIN;
SELECT pgmq.create_partitioned('p_month', 'monthly', '1 year', 1);
SELECT count(*) AS partitions,
       min(lower_bound::timestamptz) = date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS first_is_this_month,
       bool_and(upper_bound::timestamptz = ((lower_bound::timestamptz AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC') AS monthly
  FROM pgmq._partitions('pgmq.q_p_month');
ROLLBACK;

------------------------------------------------------------------------------
-- create_partitioned over an existing plain queue, and convert_archive_partitioned
------------------------------------------------------------------------------
BEGIN;
SELECT pgmq.create('p_plain');
SELECT pg_temp.try($$SELECT pgmq.create_partitioned('p_plain')$$);
-- create() of a partitioned queue: exists, skipping
SELECT pgmq.create_partitioned('p_other', '100', '1000');
SELECT pgmq.create('p_other');
SELECT c.relkind FROM pg_class AS c WHERE c.oid = 'pgmq.q_p_other'::regclass;

SELECT pgmq.send('p_plain', '{"before": true}');
SELECT pgmq.archive('p_plain', 1::bigint);
-- as PGMQ: the old archive keeps its rows as a_<name>_old; the new one is partitioned (by msg_id)
SELECT pgmq.convert_archive_partitioned('p_plain', '5', '50');
SELECT c.relname, c.relkind, pg_get_partkeydef(c.oid) AS partition_key
  FROM pg_class AS c WHERE c.relnamespace = 'pgmq'::regnamespace AND c.relname IN ('a_p_plain', 'a_p_plain_old', 'q_p_plain') ORDER BY 1;
SELECT msg_id, message FROM pgmq.a_p_plain_old;
SELECT indexname FROM pg_indexes WHERE schemaname = 'pgmq' AND tablename IN ('a_p_plain', 'a_p_plain_old') ORDER BY 1;
SELECT partition, lower_bound, upper_bound FROM pgmq._partitions('pgmq.a_p_plain');
SELECT pgmq.send('p_plain', '{"after": true}');
SELECT pgmq.archive('p_plain', 2::bigint);
SELECT msg_id, message, tableoid::regclass AS partition FROM pgmq.a_p_plain;
SELECT queue_name, is_partitioned FROM pgmq.list_queues() WHERE queue_name = 'p_plain';
-- again: already partitioned; a queue with no archive: nothing to do
SELECT pgmq.convert_archive_partitioned('p_plain');
SELECT pgmq.convert_archive_partitioned('p_missing');
-- by time: the archive by archived_at
SELECT pgmq.create('p_plain_t');
SELECT pgmq.convert_archive_partitioned('p_plain_t', '1 day', '30 days');
SELECT pg_get_partkeydef('pgmq.a_p_plain_t'::regclass) AS partition_key;
SELECT pgmq.send('p_plain_t', '{}');
SELECT pgmq.archive('p_plain_t', 1::bigint);
SELECT count(*) AS archived FROM pgmq.a_p_plain_t;
SELECT pgmq.drop_queue('p_plain');
SELECT pgmq.drop_queue('p_plain_t');
SELECT pgmq.drop_queue('p_other');
-- what is left is PGMQ's: the old archives, with their primary keys renamed
SELECT relname, relkind FROM pg_class WHERE relnamespace = 'pgmq'::regnamespace AND relname LIKE '%p\_plain%' ORDER BY 1;
ROLLBACK;

-- the long names PGMQ allows (47 characters): partition names are cut to fit, as pg_partman cuts them
BEGIN;
SELECT pgmq.create_partitioned(repeat('l', 47), '10000', '100000', 1);
SELECT partition FROM pgmq._partitions(format('pgmq.%I', 'q_' || repeat('l', 47))::regclass);
SELECT pgmq.send(repeat('l', 47), '{}');
ROLLBACK;

------------------------------------------------------------------------------
-- PGMQ's own regression expectations for partitioned queues (its test_partitioned_delete and
-- the queues of test_lifecycle), in our words
------------------------------------------------------------------------------
BEGIN;
SELECT pgmq.create_partitioned('p_pgmq', '2', '2');
SELECT queue_name FROM pgmq.list_queues() WHERE queue_name = 'p_pgmq';
SELECT send AS msg_id1 FROM pgmq.send('p_pgmq', '0') \gset
SELECT send AS msg_id2 FROM pgmq.send('p_pgmq', '0') \gset
SELECT send AS msg_id3 FROM pgmq.send('p_pgmq', '0') \gset
SELECT count(*) = 3 AS three FROM pgmq.q_p_pgmq;
SELECT * FROM pgmq.delete('p_pgmq', :msg_id3);
SELECT count(*) = 2 AS two FROM pgmq.q_p_pgmq;
SELECT ARRAY(SELECT archive FROM pgmq.archive('p_pgmq', ARRAY[:msg_id1, :msg_id2, :msg_id3, -3]))
       = ARRAY[:msg_id1, :msg_id2]::bigint[] AS archived_the_two;
SELECT pgmq.create_partitioned('p_pgmq_duration', '5 seconds', '10 seconds');
SELECT pgmq.create_partitioned('p_pgmq_numeric', '10 seconds', '20 seconds');
SELECT pgmq.drop_queue(queue, true) FROM unnest('{p_pgmq_numeric}'::text[]) AS queue;
SELECT pgmq.drop_queue(queue) FROM unnest('{p_pgmq_duration, p_pgmq}'::text[]) AS queue;
ROLLBACK;
