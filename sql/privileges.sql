-- privileges: a role granted USAGE on schema pgmq and the privileges on one queue's tables
-- can use that queue (the read path's policy lookup needs no privilege on pgmq.queue_policy);
-- any other queue gives 42501 and shows nothing of its messages.
\set VERBOSITY terse
SELECT pgmq.create('priv_mine');
SELECT pgmq.create('priv_other');
SELECT pgmq.create('priv_dlq');
SELECT queue_name, invalid_queue, max_deliveries FROM pgmq.set_policy('priv_other', invalid_queue => 'priv_dlq', max_deliveries => 2);
SELECT * FROM pgmq.send('priv_other', '{"secret": true}');
CREATE ROLE regress_pgmq_app;
GRANT USAGE ON SCHEMA pgmq TO regress_pgmq_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON pgmq.q_priv_mine, pgmq.a_priv_mine TO regress_pgmq_app;
GRANT SELECT ON SEQUENCE pgmq.q_priv_mine_msg_id_seq TO regress_pgmq_app;

SET ROLE regress_pgmq_app;
SELECT * FROM pgmq.send('priv_mine', '{"n": 1}');
SELECT * FROM pgmq.send_batch('priv_mine', ARRAY['{"n": 2}', '{"n": 3}', '{"n": 4}']::jsonb[]);
SELECT msg_id, read_ct, message FROM pgmq.read('priv_mine', 30, 1);
SELECT msg_id, read_ct, message FROM pgmq.read('priv_mine', 30, 1, '{"n": 3}');
SELECT msg_id, read_ct, message FROM pgmq.read_with_poll('priv_mine', 30, 1, 1, 10);
SELECT msg_id, message FROM pgmq.set_vt('priv_mine', 1, 0);
SELECT msg_id, message FROM pgmq.pop('priv_mine');
SELECT pgmq.archive('priv_mine', 2::bigint), pgmq.delete('priv_mine', 3::bigint);
SELECT queue_name, queue_length, total_messages FROM pgmq.metrics('priv_mine');
-- another queue: permission denied (42501), never its data
SELECT * FROM pgmq.read('priv_other', 30, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgmq.pop('priv_other');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgmq.send('priv_other', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT pgmq.delete('priv_other', 1::bigint);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgmq.set_vt('priv_other', 1, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgmq.metrics('priv_other');
\echo :LAST_ERROR_SQLSTATE
SELECT pgmq.purge_queue('priv_other');
\echo :LAST_ERROR_SQLSTATE
SELECT pgmq.drop_queue('priv_other');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgmq.set_policy('priv_mine', max_deliveries => 1);
\echo :LAST_ERROR_SQLSTATE
-- the session still works after the errors
SELECT count(*) FROM pgmq.read('priv_mine', 30, 10);
RESET ROLE;

-- the message of the other queue was not touched
SELECT msg_id, read_ct, message FROM pgmq.q_priv_other;
SELECT pgmq.clear_policy('priv_other');
SELECT pgmq.drop_queue('priv_mine'), pgmq.drop_queue('priv_other'), pgmq.drop_queue('priv_dlq');
REVOKE USAGE ON SCHEMA pgmq FROM regress_pgmq_app;
DROP ROLE regress_pgmq_app;
