-- plan_cache: kept plans follow a queue that is dropped, re-created or altered (the shared
-- read hint, also kept per queue, has its own file: read_hint).
SELECT pgmq.create('pc');
SELECT * FROM pgmq.send('pc', '{"n": 1}');
SELECT msg_id, read_ct FROM pgmq.read('pc', 30, 1);
SELECT pgmq.delete('pc', 1::bigint);

-- Dropped and re-created in the same session: the plans of the old tables are not reused.
SELECT pgmq.drop_queue('pc');
SELECT pgmq.create('pc');
SELECT * FROM pgmq.send('pc', '{"n": 2}');
SELECT msg_id, read_ct, message FROM pgmq.read('pc', 30, 1);
SELECT pgmq.archive('pc', 1::bigint);
SELECT msg_id, message FROM pgmq.a_pc;

-- Dropped and re-created by plain DDL in another order: still a fresh plan.
SELECT pgmq.drop_queue('pc');
SELECT pgmq.create('pc');
ALTER TABLE pgmq.q_pc ADD COLUMN extra int;
SELECT * FROM pgmq.send('pc', '{"n": 3}');
SELECT msg_id, read_ct, message FROM pgmq.read('pc', 30, 1);
ALTER TABLE pgmq.q_pc DROP COLUMN extra;
SELECT * FROM pgmq.send('pc', '{"n": 4}');
SELECT msg_id, read_ct, message FROM pgmq.read('pc', 30, 1);
SELECT pgmq.drop_queue('pc');
SELECT msg_id FROM pgmq.read('pc', 30, 1);
