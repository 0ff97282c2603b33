-- send_direct: sends insert rows through the table and index access methods when the queue
-- table is as pgmq creates it, and through a prepared INSERT (so triggers, added columns,
-- row-level security apply) otherwise. Both give the same rows.
SELECT pgmq.create('sd');
BEGIN;
SELECT * FROM pgmq.send('sd', '{"a": 1}');
SELECT * FROM pgmq.send('sd', '{"a": 2}', '{"h": 1}'::jsonb);
SELECT * FROM pgmq.send_batch('sd', ARRAY['{"b": 1}', '{"b": 2}']::jsonb[], ARRAY['{"h": 2}', '{"h": 3}']::jsonb[]);
SELECT * FROM pgmq.send('sd', '{"a": 3}', 3600);
-- Visible to the same transaction at once; enqueued_at is the transaction time.
SELECT msg_id, read_ct, enqueued_at = now() AS enqueued_now, last_read_at, vt <= clock_timestamp() AS visible,
       message, headers
FROM pgmq.q_sd ORDER BY msg_id;
SELECT msg_id, message FROM pgmq.read('sd', 30, 10);
COMMIT;
-- A rolled back send leaves nothing; its msg_id is used up, as with INSERT.
BEGIN;
SELECT * FROM pgmq.send('sd', '{"rolled": "back"}');
ROLLBACK;
SELECT * FROM pgmq.send('sd', '{"a": 4}');
SELECT msg_id, message FROM pgmq.q_sd WHERE msg_id > 5 ORDER BY msg_id;
-- The primary key is still checked: a row with a coming msg_id already there is an error.
INSERT INTO pgmq.q_sd (msg_id, vt, message) OVERRIDING SYSTEM VALUE VALUES (9, now(), '{}');
SELECT * FROM pgmq.send('sd', '{"before": "dup"}');
SELECT * FROM pgmq.send('sd', '{"dup": true}');
SELECT * FROM pgmq.send('sd', '{"after": "dup"}');
-- A trigger on the queue table fires (the send takes the INSERT path).
CREATE FUNCTION pg_temp.stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.message := NEW.message || '{"stamped": true}';
    RETURN NEW;
END $$;
CREATE TRIGGER stamp BEFORE INSERT ON pgmq.q_sd FOR EACH ROW EXECUTE FUNCTION pg_temp.stamp();
SELECT * FROM pgmq.send('sd', '{"a": 5}');
SELECT * FROM pgmq.send_batch('sd', ARRAY['{"b": 3}']::jsonb[]);
SELECT msg_id, message FROM pgmq.q_sd WHERE msg_id > 10 ORDER BY msg_id;
DROP TRIGGER stamp ON pgmq.q_sd;
SELECT * FROM pgmq.send('sd', '{"a": 6}');
SELECT msg_id, message FROM pgmq.q_sd WHERE msg_id > 12 ORDER BY msg_id;
-- A CHECK constraint is honoured.
ALTER TABLE pgmq.q_sd ADD CONSTRAINT small CHECK (pg_column_size(message) < 100);
\set VERBOSITY terse
SELECT * FROM pgmq.send('sd', jsonb_build_object('big', repeat('x', 200)));
\set VERBOSITY default
ALTER TABLE pgmq.q_sd DROP CONSTRAINT small;
-- Large messages are TOASTed as by INSERT.
SELECT * FROM pgmq.send('sd', jsonb_build_object('big', repeat('x', 100000)));
SELECT msg_id, length(message->>'big') FROM pgmq.q_sd WHERE message ? 'big';
SELECT pgmq.drop_queue('sd');
