-- combinations: the features developed apart, used together. Deduplication, priorities, pop and
-- policies on partitioned queues (by msg_id and by time, with partitions missing), a mixed-case
-- name given in other cases to every feature, drop_queue and purge_queue of a partitioned queue
-- with deduplication ids and a policy, policy moves into a partitioned invalid queue. Each
-- scenario runs in a transaction, so the background worker never sees its queues.
\set VERBOSITY terse
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/regress/try.sql

------------------------------------------------------------------------------
-- Deduplication on a queue partitioned by msg_id: sends whose partition is missing make it
------------------------------------------------------------------------------
BEGIN;
SELECT pgmq.create_partitioned('c_dedup', '10', NULL, 1);
SELECT dedup_seconds FROM pgmq.set_policy('c_dedup', dedup_seconds => 300);
SELECT partition FROM pgmq._partitions('pgmq.q_c_dedup');
-- A batch of 25 ids, past the partitions made ahead, then one that spans two more.
SELECT count(*), min(s), max(s) FROM pgmq.send_batch('c_dedup',
    array_fill('{}'::jsonb, ARRAY[25]),
    ARRAY(SELECT jsonb_build_object('x-pgmq-dedup-id', 'b' || g) FROM generate_series(1, 25) AS g)) AS s;
SELECT count(*) AS rows, count(DISTINCT headers->>'x-pgmq-dedup-id') AS ids FROM pgmq.q_c_dedup;
SELECT count(*) AS misplaced FROM pgmq.q_c_dedup AS q JOIN pgmq._partitions('pgmq.q_c_dedup') AS p
    ON p.partition = q.tableoid WHERE q.msg_id < p.lower_bound::bigint OR q.msg_id >= p.upper_bound::bigint;
-- Duplicates return the first msg_id and insert nothing; a new id in the same batch is inserted.
SELECT (SELECT msg_id FROM pgmq.q_c_dedup WHERE headers->>'x-pgmq-dedup-id' = 'b25') =
       (SELECT * FROM pgmq.send('c_dedup', '{}', '{"x-pgmq-dedup-id": "b25"}'::jsonb)) AS first_id;
SELECT setval(pg_get_serial_sequence('pgmq.q_c_dedup', 'msg_id'), 95) > 0 AS jumped;
SELECT s > 95 AS new_id FROM pgmq.send_batch('c_dedup', ARRAY['{}', '{}']::jsonb[],
    ARRAY['{"x-pgmq-dedup-id": "b1"}', '{"x-pgmq-dedup-id": "new"}']::jsonb[]) AS s;
SELECT count(*) AS rows FROM pgmq.q_c_dedup;
SELECT count(*) AS ids FROM pgmq.dedup WHERE queue_name = 'c_dedup';
ROLLBACK;

------------------------------------------------------------------------------
-- Deduplication on a queue partitioned by time whose partitions are all gone
------------------------------------------------------------------------------
BEGIN;
SELECT pgmq.create_partitioned('c_dedup_t', '1 hour', NULL, 1);
SELECT dedup_seconds FROM pgmq.set_policy('c_dedup_t', dedup_seconds => 300);
DO $$
DECLARE p regclass;
BEGIN
    FOR p IN SELECT partition FROM pgmq._partitions('pgmq.q_c_dedup_t') LOOP
        EXECUTE format('DROP TABLE %s', p);
    END LOOP;
END
$$;
SELECT count(*) AS partitions FROM pgmq._partitions('pgmq.q_c_dedup_t');
SELECT * FROM pgmq.send('c_dedup_t', '{"n": 1}', '{"x-pgmq-dedup-id": "a"}'::jsonb);
SELECT * FROM pgmq.send('c_dedup_t', '{"n": 2}', '{"x-pgmq-dedup-id": "a"}'::jsonb);
SELECT * FROM pgmq.send_batch('c_dedup_t', ARRAY['{"n": 3}', '{"n": 4}']::jsonb[],
    ARRAY['{"x-pgmq-dedup-id": "a"}', '{"x-pgmq-dedup-id": "b"}']::jsonb[]);
SELECT msg_id, message FROM pgmq.q_c_dedup_t ORDER BY msg_id;
SELECT count(*) > 0 AS made FROM pgmq._partitions('pgmq.q_c_dedup_t');
ROLLBACK;

------------------------------------------------------------------------------
-- Priorities on a partitioned queue: the index and the policy's column on the parent and on every
-- partition, also those made later (on demand and by maintenance); reads and pops in priority order
------------------------------------------------------------------------------
BEGIN;
SELECT pgmq.create_partitioned('c_prio', '10', NULL, 1);
SELECT priorities FROM pgmq.set_policy('c_prio', priorities => true);
SELECT * FROM pgmq.send_batch('c_prio', ARRAY['{"n": 1}', '{"n": 2}', '{"n": 3}']::jsonb[],
    ARRAY['{"x-pgmq-priority": 1}', '{"x-pgmq-priority": 5}', '{}']::jsonb[]);
SELECT count(*) FROM pgmq.send_batch('c_prio',
    ARRAY(SELECT jsonb_build_object('n', g) FROM generate_series(4, 25) AS g),
    ARRAY(SELECT jsonb_build_object('x-pgmq-priority', g % 3) FROM generate_series(4, 25) AS g));
SELECT count(*) > 0 AS maintained FROM pgmq.run_maintenance() WHERE queue_name = 'c_prio';
SELECT count(*) AS partitions,
       count(*) FILTER (WHERE EXISTS (SELECT FROM pg_attribute WHERE attrelid = p.partition
                                      AND attname = 'first_visible_at' AND NOT attisdropped)) AS with_column,
       count(*) FILTER (WHERE EXISTS (SELECT FROM pg_index AS i JOIN pg_inherits AS h ON h.inhrelid = i.indexrelid
                                      WHERE i.indrelid = p.partition
                                      AND h.inhparent = 'pgmq.priority_idx_c_prio'::regclass)) AS with_index
  FROM pgmq._partitions('pgmq.q_c_prio') AS p;
SELECT message FROM pgmq.read('c_prio', 30, 4);
SELECT message FROM pgmq.pop('c_prio', 3);
SELECT message FROM pgmq.pop('c_prio');
-- A send with a bad priority stores nothing, also with a dedup id on a deduplicating queue.
SELECT dedup_seconds, priorities FROM pgmq.set_policy('c_prio', dedup_seconds => 60);
SELECT pg_temp.try($$SELECT pgmq.send('c_prio', '{}', '{"x-pgmq-priority": "high", "x-pgmq-dedup-id": "x"}'::jsonb)$$);
SELECT count(*) AS ids FROM pgmq.dedup WHERE queue_name = 'c_prio';
SELECT s > 0 AS sent FROM pgmq.send('c_prio', '{"n": 26}', '{"x-pgmq-priority": 9, "x-pgmq-dedup-id": "x"}'::jsonb) AS s;
SELECT message FROM pgmq.pop('c_prio');
-- clear_policy drops the index, from the partitions too; reads are FIFO again.
SELECT pgmq.clear_policy('c_prio');
SELECT count(*) AS priority_indexes FROM pg_class WHERE relname LIKE 'priority_idx_c_prio%' OR relname LIKE 'q_c_prio_p%priority%';
SELECT message FROM pgmq.pop('c_prio', 2);
ROLLBACK;

------------------------------------------------------------------------------
-- pop on partitioned queues (the statement path), without and with a policy
------------------------------------------------------------------------------
BEGIN;
SELECT pgmq.create_partitioned('c_pop', '10', NULL, 1);
SELECT count(*) FROM pgmq.send_batch('c_pop', array_fill('{"x": 1}'::jsonb, ARRAY[12]));
SELECT msg_id FROM pgmq.pop('c_pop');
SELECT msg_id FROM pgmq.pop('c_pop', 2);
SELECT max_deliveries FROM pgmq.set_policy('c_pop', max_deliveries => 3);
SELECT msg_id FROM pgmq.pop('c_pop');
SELECT msg_id, read_ct FROM pgmq.pop('c_pop', 20);
SELECT msg_id FROM pgmq.pop('c_pop');
ROLLBACK;

------------------------------------------------------------------------------
-- A mixed-case partitioned queue, named in other cases to every feature
------------------------------------------------------------------------------
BEGIN;
SELECT pgmq.create_partitioned('MyPart', '10', NULL, 1);
SELECT queue_name, is_partitioned FROM pgmq.list_queues() WHERE queue_name ILIKE 'mypart';
SELECT queue_name, queue_key, is_partitioned FROM pgmq.meta WHERE queue_key = 'mypart';
SELECT table_name, queue_name FROM pgmq.partition_config WHERE queue_name = 'mypart' ORDER BY 1;
SELECT max_deliveries, dedup_seconds, priorities
  FROM pgmq.set_policy('MYPART', dedup_seconds => 60, priorities => true, max_deliveries => 2);
SELECT * FROM pgmq.send('mypart', '{"a": 1}', '{"x-pgmq-dedup-id": "a", "x-pgmq-priority": 3}'::jsonb);
SELECT * FROM pgmq.send('MyPart', '{"a": 1}', '{"x-pgmq-dedup-id": "a", "x-pgmq-priority": 3}'::jsonb);
SELECT * FROM pgmq.send('MYPART', '{"a": 2}', '{"x-pgmq-priority": 5}'::jsonb);
SELECT queue_name, dedup_id, msg_id FROM pgmq.dedup WHERE queue_name ILIKE 'mypart';
SELECT msg_id, state, read_ct FROM pgmq.status('mypart', ARRAY[1, 2, 3]::bigint[]);
SELECT msg_id FROM pgmq.read_grouped('mYpArT', 0, 5);
SELECT msg_id FROM pgmq.read('MYPART', 30, 5);
SELECT * FROM pgmq.nack('mypart', 3::bigint);
SELECT msg_id, state FROM pgmq.status('MyPart', ARRAY[3]::bigint[]);
SELECT pgmq.bind_topic('orders.*', 'MYPART');
SELECT * FROM pgmq.send_topic('orders.x', '{"t": 1}');
SELECT pattern, queue_name FROM pgmq.topic_bindings;
SELECT pgmq.create('MyInv');
SELECT invalid_queue, max_deliveries FROM pgmq.set_policy('mypart', max_deliveries => 1, invalid_queue => 'MYINV');
UPDATE pgmq.q_mypart SET vt = now() - interval '1 second';
SELECT queue_name, reason, destination, messages FROM pgmq.run_maintenance() WHERE reason = 'max_deliveries';
SELECT headers->'x-pgmq-invalid'->>'queue' AS from_queue, headers->'x-pgmq-invalid'->>'msg_id' AS msg_id
  FROM pgmq.q_myinv ORDER BY 2;
SELECT * FROM pgmq.redrive('MYINV', 'myPART');
SELECT msg_id FROM pgmq.q_mypart ORDER BY 1;
SELECT pgmq.drop_queue('mypart');
SELECT count(*) AS meta FROM pgmq.meta WHERE queue_key = 'mypart';
SELECT count(*) AS partition_config FROM pgmq.partition_config WHERE queue_name = 'mypart';
SELECT count(*) AS dedup FROM pgmq.dedup WHERE queue_name = 'mypart';
SELECT count(*) AS policies FROM pgmq.policies WHERE queue_name = 'mypart';
SELECT count(*) AS bindings FROM pgmq.topic_bindings WHERE queue_name = 'mypart';
SELECT count(*) AS tables FROM pg_class WHERE relname LIKE '%mypart%';
ROLLBACK;

------------------------------------------------------------------------------
-- purge_queue and drop_queue of a partitioned queue with dedup ids and a policy; policy moves into
-- partitioned invalid queues (by msg_id and by time) whose partitions for the moved rows are missing
------------------------------------------------------------------------------
BEGIN;
SELECT pgmq.create_partitioned('c_src', '10', NULL, 1);
SELECT pgmq.create_partitioned('C_Inv', '10', NULL, 1);
SELECT pgmq.create_partitioned('c_inv_t', '1 hour', NULL, 1);
SELECT setval(pg_get_serial_sequence('pgmq.q_c_inv', 'msg_id'), 55) > 0 AS jumped;
SELECT invalid_queue, dedup_seconds FROM pgmq.set_policy('C_SRC', max_deliveries => 1, invalid_queue => 'c_inv', dedup_seconds => 60);
SELECT * FROM pgmq.send_batch('c_src', array_fill('{}'::jsonb, ARRAY[3]),
    ARRAY(SELECT jsonb_build_object('x-pgmq-dedup-id', 'd' || g) FROM generate_series(1, 3) AS g));
SELECT msg_id FROM pgmq.read('c_src', 0, 5);
SELECT queue_name, reason, destination, messages FROM pgmq.run_maintenance() WHERE reason = 'max_deliveries';
SELECT msg_id > 55 AS new_id, headers->'x-pgmq-invalid'->>'msg_id' AS was FROM pgmq.q_c_inv ORDER BY 2;
SELECT count(*) AS misplaced FROM pgmq.q_c_inv AS q JOIN pgmq._partitions('pgmq.q_c_inv') AS p
    ON p.partition = q.tableoid WHERE q.msg_id < p.lower_bound::bigint OR q.msg_id >= p.upper_bound::bigint;
-- Into a queue partitioned by time, all of whose partitions are gone.
DO $$
DECLARE p regclass;
BEGIN
    FOR p IN SELECT partition FROM pgmq._partitions('pgmq.q_c_inv_t') LOOP
        EXECUTE format('DROP TABLE %s', p);
    END LOOP;
END
$$;
SELECT invalid_queue FROM pgmq.set_policy('c_src', max_deliveries => 1, invalid_queue => 'c_inv_t', dedup_seconds => 60);
SELECT * FROM pgmq.send('c_src', '{}', '{"x-pgmq-dedup-id": "t1"}'::jsonb);
SELECT msg_id FROM pgmq.read('c_src', 0, 5);
SELECT queue_name, reason, destination, messages FROM pgmq.run_maintenance() WHERE reason = 'max_deliveries';
SELECT headers->'x-pgmq-invalid'->>'msg_id' AS was FROM pgmq.q_c_inv_t;
-- purge_queue forgets the ids: a purged message sent again is inserted.
SELECT * FROM pgmq.send('c_src', '{}', '{"x-pgmq-dedup-id": "p"}'::jsonb);
SELECT * FROM pgmq.send('c_src', '{}', '{"x-pgmq-dedup-id": "p"}'::jsonb);
SELECT pgmq.purge_queue('C_Src');
SELECT count(*) AS ids FROM pgmq.dedup WHERE queue_name = 'c_src';
SELECT * FROM pgmq.send('c_src', '{}', '{"x-pgmq-dedup-id": "p"}'::jsonb);
SELECT pgmq.drop_queue('c_src');
SELECT count(*) AS ids FROM pgmq.dedup WHERE queue_name = 'c_src';
SELECT count(*) AS policies FROM pgmq.policies WHERE queue_name = 'c_src';
SELECT table_name FROM pgmq.partition_config WHERE queue_name LIKE 'c\_%' ORDER BY 1;
SELECT count(*) AS tables FROM pg_class WHERE relname LIKE '%c\_src%';
ROLLBACK;
