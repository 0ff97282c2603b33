-- fillfactor: queue tables leave room on their pages (pgmq.queue_fillfactor,
-- default 50) so that a read's update of many rows stays on their pages: a
-- HOT update, no new primary key entries. With 100 (PGMQ's packed tables) the
-- same read moves most rows to other pages.
SHOW pgmq.queue_fillfactor;
SELECT pgmq.create('ff_default');
SELECT reloptions FROM pg_class WHERE oid = 'pgmq.q_ff_default'::regclass;
-- the archive table is only inserted into: no storage option
SELECT reloptions FROM pg_class WHERE oid = 'pgmq.a_ff_default'::regclass;

SET pgmq.queue_fillfactor = 100;
SELECT pgmq.create('ff_packed');
SELECT reloptions FROM pg_class WHERE oid = 'pgmq.q_ff_packed'::regclass;
SET pgmq.queue_fillfactor = 70;
SELECT pgmq.create_unlogged('ff_unlogged');
SELECT reloptions FROM pg_class WHERE oid = 'pgmq.q_ff_unlogged'::regclass;
RESET pgmq.queue_fillfactor;

-- out of range
SET pgmq.queue_fillfactor = 5;
SET pgmq.queue_fillfactor = 101;

-- 300 messages, then one read of all of them: count the read's HOT updates
-- (a page may take one row more than its share: not quite all are HOT)
-- (this transaction's own counters, so no statistics delay)
SELECT count(*) FROM pgmq.send_batch('ff_default', (SELECT array_agg(jsonb_build_object('n', i, 'pad', repeat('x', 60))) FROM generate_series(1, 300) AS i));
SELECT count(*) FROM pgmq.send_batch('ff_packed', (SELECT array_agg(jsonb_build_object('n', i, 'pad', repeat('x', 60))) FROM generate_series(1, 300) AS i));
BEGIN;
SELECT count(*) AS read FROM pgmq.read('ff_default', 30, 300);
SELECT pg_stat_get_xact_tuples_updated('pgmq.q_ff_default'::regclass) AS updated,
       pg_stat_get_xact_tuples_hot_updated('pgmq.q_ff_default'::regclass) >= 270 AS nine_in_ten_hot;
COMMIT;
BEGIN;
SELECT count(*) AS read FROM pgmq.read('ff_packed', 30, 300);
SELECT pg_stat_get_xact_tuples_updated('pgmq.q_ff_packed'::regclass) AS updated,
       pg_stat_get_xact_tuples_hot_updated('pgmq.q_ff_packed'::regclass) < 30 AS few_hot_updates;
COMMIT;

SELECT pgmq.drop_queue('ff_default');
SELECT pgmq.drop_queue('ff_packed');
SELECT pgmq.drop_queue('ff_unlogged');
