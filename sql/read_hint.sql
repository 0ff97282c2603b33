-- read_hint: the shared read hint (src/pg/readhint.cpp: where visible messages may start)
-- never hides a visible message, on the direct path and through the prepared statements.
-- 40 messages hidden for an hour, then 3 visible ones.
SELECT pgmq.create('hint');
SELECT count(*) FROM pgmq.send_batch('hint', array_fill('{}'::jsonb, ARRAY[40]), 3600);
SELECT count(*) FROM pgmq.send_batch('hint', array_fill('{"v": 1}'::jsonb, ARRAY[3]));
SELECT msg_id FROM pgmq.read('hint', 30, 1);
SELECT msg_id FROM pgmq.read('hint', 30, 1);
-- set_vt makes an old message visible: the next read sees it.
SELECT msg_id FROM pgmq.set_vt('hint', 5::bigint, 0);
SELECT msg_id FROM pgmq.read('hint', 30, 1);
-- A read rolled back (savepoint, then whole transaction): its message is visible again,
-- although the empty read after it moved the hint past it.
BEGIN;
SAVEPOINT s;
SELECT msg_id FROM pgmq.read('hint', 30, 1);
SELECT msg_id FROM pgmq.read('hint', 30, 1);
ROLLBACK TO SAVEPOINT s;
SELECT msg_id FROM pgmq.read('hint', 30, 1);
SELECT msg_id FROM pgmq.read('hint', 30, 1);
ROLLBACK;
SELECT msg_id FROM pgmq.read('hint', 30, 1);
-- Empty of visible messages: nothing; a new send is found; so is a message read with vt 0.
SELECT msg_id FROM pgmq.read('hint', 30, 1);
SELECT * FROM pgmq.send('hint', '{"v": 2}');
SELECT msg_id FROM pgmq.read('hint', 0, 1);
SELECT msg_id, read_ct FROM pgmq.read('hint', 30, 5);
-- pop and a conditional read honour the hint too.
SELECT msg_id FROM pgmq.set_vt('hint', ARRAY[2, 3]::bigint[], 0);
SELECT msg_id FROM pgmq.pop('hint');
SELECT msg_id FROM pgmq.read('hint', 30, 1, '{"x": 1}');
SELECT msg_id FROM pgmq.read('hint', 30, 1, '{}');
-- A message sent inside a transaction that also reads.
BEGIN;
SELECT * FROM pgmq.send('hint', '{"v": 3}');
SELECT msg_id FROM pgmq.read('hint', 30, 2);
COMMIT;
-- purge_queue empties the queue; ids go on; new messages are found.
SELECT pgmq.purge_queue('hint');
SELECT * FROM pgmq.send('hint', '{"v": 4}');
SELECT msg_id FROM pgmq.read('hint', 30, 5);
-- Dropped and re-created: the hint of the old table does not apply.
SELECT pgmq.drop_queue('hint');
SELECT pgmq.create('hint');
SELECT * FROM pgmq.send('hint', '{"v": 5}');
SELECT msg_id FROM pgmq.read('hint', 30, 5);
SELECT pgmq.drop_queue('hint');
-- The same through the prepared statements (a trigger on the queue table rules out direct
-- access), where a separate probe moves the hint.
SELECT pgmq.create('hint2');
CREATE FUNCTION pg_temp.keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER keep BEFORE UPDATE ON pgmq.q_hint2 FOR EACH ROW EXECUTE FUNCTION pg_temp.keep();
SELECT count(*) FROM pgmq.send_batch('hint2', array_fill('{}'::jsonb, ARRAY[100]), 3600);
SELECT count(*) FROM pgmq.send_batch('hint2', array_fill('{"v": 1}'::jsonb, ARRAY[3]));
SELECT msg_id FROM pgmq.read('hint2', 30, 1);
SELECT msg_id FROM pgmq.read('hint2', 30, 1);
SELECT msg_id FROM pgmq.set_vt('hint2', 5::bigint, 0);
SELECT msg_id FROM pgmq.read('hint2', 30, 1);
BEGIN;
SAVEPOINT s;
SELECT msg_id FROM pgmq.read('hint2', 30, 1);
SELECT msg_id FROM pgmq.read('hint2', 30, 1);
ROLLBACK TO SAVEPOINT s;
SELECT msg_id FROM pgmq.read('hint2', 30, 1);
ROLLBACK;
SELECT msg_id, read_ct FROM pgmq.read('hint2', 30, 5);
SELECT pgmq.drop_queue('hint2');
