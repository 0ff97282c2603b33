-- pop_direct: pop through the table and index access methods (a plain queue table) and
-- through SQL (a queue with a trigger) gives the same rows: every column as it was, a
-- TOASTed message in full (also later in the transaction), the oldest visible first,
-- invisible messages skipped; a pop rolled back to a savepoint gives its rows back.
CREATE TABLE pd_log (op text, msg_id bigint);
CREATE FUNCTION pg_temp.log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pd_log VALUES (TG_OP || ' ' || TG_TABLE_NAME, OLD.msg_id);
    RETURN NULL;
END $$;
CREATE FUNCTION pg_temp.fill(q text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pgmq.create(q);
    PERFORM pgmq.send_batch(q, (SELECT array_agg(jsonb_build_object('i', i)) FROM generate_series(1, 4) AS i));
    PERFORM pgmq.send(q, jsonb_build_object('big', repeat('y', 100000)), '{"h": 9}'::jsonb);
    PERFORM pgmq.send(q, '{"later": true}', 3600);
    PERFORM pgmq.send(q, '{"i": 7}');
    -- message 1 read once and visible again; message 2 hidden for an hour
    PERFORM pgmq.read(q, 0, 1);
    PERFORM pgmq.set_vt(q, 2, 3600);
END $$;
CREATE FUNCTION pg_temp.popped(q text, qty integer)
RETURNS TABLE (msg_id bigint, read_ct integer, enqueued boolean, was_read boolean, visible boolean,
               message_length integer, headers jsonb) LANGUAGE sql AS $$
    SELECT msg_id, read_ct, enqueued_at <= now(), last_read_at IS NOT NULL, vt <= clock_timestamp(),
           length(message::text), headers
    FROM pgmq.pop(q, qty)
$$;
SELECT pg_temp.fill('pd');
SELECT pg_temp.fill('pt');
CREATE TRIGGER log AFTER DELETE ON pgmq.q_pt FOR EACH ROW EXECUTE FUNCTION pg_temp.log();
BEGIN;
SELECT * FROM pg_temp.popped('pd', 1);
SELECT * FROM pg_temp.popped('pd', 2);
SAVEPOINT s;
SELECT * FROM pg_temp.popped('pd', 10);
ROLLBACK TO SAVEPOINT s;
CREATE TEMP TABLE pd_big AS SELECT * FROM pgmq.pop('pd', 10);
SELECT msg_id, length(message::text) AS message_length, message ->> 'i' AS i FROM pd_big ORDER BY msg_id;
COMMIT;
SELECT msg_id, read_ct FROM pgmq.q_pd ORDER BY msg_id;
-- The same through SQL: the trigger fires once per popped message.
BEGIN;
SELECT * FROM pg_temp.popped('pt', 1);
SELECT * FROM pg_temp.popped('pt', 2);
SAVEPOINT s;
SELECT * FROM pg_temp.popped('pt', 10);
ROLLBACK TO SAVEPOINT s;
CREATE TEMP TABLE pt_big AS SELECT * FROM pgmq.pop('pt', 10);
SELECT msg_id, length(message::text) AS message_length, message ->> 'i' AS i FROM pt_big ORDER BY msg_id;
COMMIT;
SELECT msg_id, read_ct FROM pgmq.q_pt ORDER BY msg_id;
SELECT * FROM pd_log ORDER BY msg_id;
-- Without UPDATE on the queue table, pop is refused as the statement's FOR UPDATE would be.
CREATE ROLE pd_deleter;
GRANT USAGE ON SCHEMA pgmq TO pd_deleter;
GRANT SELECT, DELETE ON pgmq.q_pd TO pd_deleter;
SET ROLE pd_deleter;
SELECT msg_id FROM pgmq.pop('pd');
RESET ROLE;
SELECT count(*) FROM pgmq.q_pd;
REVOKE ALL ON pgmq.q_pd FROM pd_deleter;
REVOKE USAGE ON SCHEMA pgmq FROM pd_deleter;
DROP ROLE pd_deleter;
SELECT pgmq.drop_queue('pd');
SELECT pgmq.drop_queue('pt');
DROP TABLE pd_log;
