-- ack_direct: delete and archive through the table and index access methods (plain queue
-- tables) and through SQL (when triggers are present) give the same results.
SELECT pgmq.create('ad');
SELECT count(*) FROM pgmq.send_batch('ad', (SELECT array_agg(jsonb_build_object('i', i)) FROM generate_series(1, 8) AS i));
SELECT * FROM pgmq.send('ad', jsonb_build_object('big', repeat('y', 100000)), '{"h": 9}'::jsonb);
SELECT msg_id, read_ct FROM pgmq.read('ad', 30, 2);
SELECT pgmq.delete('ad', 1::bigint);
SELECT pgmq.delete('ad', 1::bigint);
SELECT pgmq.delete('ad', 1000::bigint);
-- Arrays: each existing id once, in msg_id order.
SELECT * FROM pgmq.delete('ad', ARRAY[4, 3, 3, 1000, 1]::bigint[]);
SELECT * FROM pgmq.delete('ad', ARRAY[]::bigint[]);
-- archive keeps every column and sets archived_at.
BEGIN;
SELECT pgmq.archive('ad', 2::bigint);
SELECT * FROM pgmq.archive('ad', ARRAY[6, 5, 9, 1000]::bigint[]);
SELECT msg_id, read_ct, archived_at = now() AS archived_now, last_read_at IS NOT NULL AS was_read,
       length(message::text) AS message_length, headers
FROM pgmq.a_ad ORDER BY msg_id;
COMMIT;
SELECT msg_id FROM pgmq.q_ad ORDER BY msg_id;
-- Archiving an id that is already in the archive fails as the INSERT would; nothing changes.
INSERT INTO pgmq.a_ad (msg_id, vt, message) VALUES (7, now(), '{}');
SELECT pgmq.archive('ad', 7::bigint);
SELECT msg_id FROM pgmq.q_ad ORDER BY msg_id;
DELETE FROM pgmq.a_ad WHERE msg_id = 7;
-- With triggers the SQL statements run (and the triggers fire).
CREATE TABLE ad_log (op text, msg_id bigint);
CREATE FUNCTION pg_temp.log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ad_log VALUES (TG_OP || ' ' || TG_TABLE_NAME, COALESCE(NEW.msg_id, OLD.msg_id));
    RETURN NULL;
END $$;
CREATE TRIGGER log AFTER DELETE ON pgmq.q_ad FOR EACH ROW EXECUTE FUNCTION pg_temp.log();
CREATE TRIGGER log AFTER INSERT ON pgmq.a_ad FOR EACH ROW EXECUTE FUNCTION pg_temp.log();
SELECT pgmq.archive('ad', 7::bigint);
SELECT pgmq.delete('ad', 8::bigint);
SELECT * FROM ad_log ORDER BY msg_id, op;
SELECT msg_id FROM pgmq.q_ad ORDER BY msg_id;
DROP TABLE ad_log;
SELECT pgmq.drop_queue('ad');
-- Privileges are those of the statements: a role that may only SELECT the queue table can
-- neither send, read (an UPDATE) nor delete.
SELECT pgmq.create('priv');
SELECT * FROM pgmq.send('priv', '{}');
CREATE ROLE regress_pgmq_select_only;
GRANT USAGE ON SCHEMA pgmq TO regress_pgmq_select_only;
GRANT SELECT ON pgmq.q_priv TO regress_pgmq_select_only;
SET ROLE regress_pgmq_select_only;
SELECT msg_id FROM pgmq.q_priv;
SELECT * FROM pgmq.send('priv', '{}');
SELECT msg_id FROM pgmq.read('priv', 30, 1);
SELECT pgmq.delete('priv', 1::bigint);
RESET ROLE;
GRANT UPDATE ON pgmq.q_priv TO regress_pgmq_select_only;
SET ROLE regress_pgmq_select_only;
SELECT msg_id, read_ct FROM pgmq.read('priv', 0, 1);
RESET ROLE;
SELECT pgmq.drop_queue('priv');
DROP OWNED BY regress_pgmq_select_only;
DROP ROLE regress_pgmq_select_only;
-- A read-only transaction can neither send, read nor delete.
SELECT pgmq.create('ro');
SELECT * FROM pgmq.send('ro', '{}');
BEGIN READ ONLY;
SELECT * FROM pgmq.send('ro', '{}');
ROLLBACK;
BEGIN READ ONLY;
SELECT msg_id FROM pgmq.read('ro', 30, 1);
ROLLBACK;
BEGIN READ ONLY;
SELECT pgmq.delete('ro', 1::bigint);
ROLLBACK;
SELECT msg_id, read_ct FROM pgmq.read('ro', 30, 1);
SELECT pgmq.drop_queue('ro');
