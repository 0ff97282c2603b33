-- queue_access: what each function checks before it locks a queue (the isolation spec
-- lock_after_check shows that a refused call never waits). acquire_queue_lock, create and
-- drop_queue take PGMQ's advisory lock only for a role with the privileges of the queue's owner,
-- or, for a missing queue, with CREATE on schema pgmq; the message functions need exactly the
-- table privileges their statements need, no more.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/regress/try.sql
SELECT pgmq.create('access_q');
CREATE ROLE regress_pgmq_access_owner;
CREATE ROLE regress_pgmq_access_member IN ROLE regress_pgmq_access_owner;
CREATE ROLE regress_pgmq_access_stranger;
CREATE ROLE regress_pgmq_access_creator;
GRANT USAGE ON SCHEMA pgmq TO regress_pgmq_access_owner, regress_pgmq_access_stranger, regress_pgmq_access_creator;
GRANT CREATE ON SCHEMA pgmq TO regress_pgmq_access_creator;
ALTER TABLE pgmq.q_access_q OWNER TO regress_pgmq_access_owner;
ALTER TABLE pgmq.a_access_q OWNER TO regress_pgmq_access_owner;
-- pg_temp.advisory_locks() counts the advisory locks this backend holds
CREATE FUNCTION pg_temp.advisory_locks() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
$$;

------------------------------------------------------------------------------
-- acquire_queue_lock
------------------------------------------------------------------------------
-- the owner and a member of the owner's role get the lock (the same key as create and drop_queue)
SET ROLE regress_pgmq_access_owner;
BEGIN;
SELECT pgmq.acquire_queue_lock('Access_Q');
SELECT count(*) AS advisory_locks,
       bool_and(((classid::bigint << 32) | objid::bigint) = hashtext('pgmq.queue_access_q')::bigint) AS key_matches
  FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
COMMIT;
SET ROLE regress_pgmq_access_member;
BEGIN;
SELECT pgmq.acquire_queue_lock('access_q');
SELECT pg_temp.advisory_locks();
COMMIT;
-- anyone else: 42501, also with CREATE on schema pgmq
SET ROLE regress_pgmq_access_stranger;
SELECT pg_temp.try($$SELECT pgmq.acquire_queue_lock('access_q')$$);
SET ROLE regress_pgmq_access_creator;
SELECT pg_temp.try($$SELECT pgmq.acquire_queue_lock('access_q')$$);
-- a missing queue: whoever may create it (CREATE on schema pgmq)
BEGIN;
SELECT pgmq.acquire_queue_lock('access_missing');
SELECT pg_temp.advisory_locks();
COMMIT;
SET ROLE regress_pgmq_access_stranger;
SELECT pg_temp.try($$SELECT pgmq.acquire_queue_lock('access_missing')$$);
-- the name is checked first
SELECT pg_temp.try($$SELECT pgmq.acquire_queue_lock(NULL)$$);
SELECT pg_temp.try($$SELECT pgmq.acquire_queue_lock('bad;name')$$);
RESET ROLE;
SELECT pg_temp.advisory_locks() AS superuser_on_missing FROM pgmq.acquire_queue_lock('access_missing');

------------------------------------------------------------------------------
-- create and drop_queue take the same lock after the same check
------------------------------------------------------------------------------
SET ROLE regress_pgmq_access_stranger;
SELECT pg_temp.try($$SELECT pgmq.create('access_q')$$);
SELECT pg_temp.try($$SELECT pgmq.drop_queue('access_q')$$);
SELECT pg_temp.try($$SELECT pgmq.create('access_missing')$$);
SELECT pg_temp.try($$SELECT pgmq.drop_queue('access_missing')$$);
SET ROLE regress_pgmq_access_creator;
SELECT pg_temp.try($$SELECT pgmq.create_unlogged('access_q')$$);
SELECT pg_temp.try($$SELECT pgmq.drop_queue('access_q', false)$$);
RESET ROLE;
SELECT count(*) AS queue_still_there FROM pgmq.meta WHERE queue_name = 'access_q';

------------------------------------------------------------------------------
-- the message functions: exactly the privileges of their statements
------------------------------------------------------------------------------
-- send: INSERT ... RETURNING msg_id
GRANT INSERT ON pgmq.q_access_q TO regress_pgmq_access_stranger;
SET ROLE regress_pgmq_access_stranger;
SELECT pg_temp.try($$SELECT pgmq.send('access_q', '{"n": 1}')$$) AS send_insert_only;
RESET ROLE;
-- (metrics also reads the msg_id sequence)
GRANT SELECT ON pgmq.q_access_q, pgmq.q_access_q_msg_id_seq TO regress_pgmq_access_stranger;
SET ROLE regress_pgmq_access_stranger;
SELECT pg_temp.try($$SELECT pgmq.send('access_q', '{"n": 1}')$$) AS send,
       pg_temp.try($$SELECT pgmq.send_batch('access_q', ARRAY['{"n": 2}', '{"n": 3}', '{"n": 4}']::jsonb[])$$) AS send_batch,
       pg_temp.try($$SELECT pgmq.metrics('access_q')$$) AS metrics,
       pg_temp.try($$SELECT pgmq.read('access_q', 0, 1)$$) AS read_without_update,
       pg_temp.try($$SELECT pgmq.delete('access_q', 1::bigint)$$) AS delete_without_delete;
RESET ROLE;
REVOKE INSERT ON pgmq.q_access_q FROM regress_pgmq_access_stranger;
-- read, read_with_poll, set_vt: UPDATE ... RETURNING, with SELECT ... FOR UPDATE
GRANT UPDATE ON pgmq.q_access_q TO regress_pgmq_access_stranger;
SET ROLE regress_pgmq_access_stranger;
SELECT pg_temp.try($$SELECT pgmq.read('access_q', 0, 1)$$) AS read,
       pg_temp.try($$SELECT pgmq.read_with_poll('access_q', 0, 1, 0, 10)$$) AS read_with_poll,
       pg_temp.try($$SELECT pgmq.set_vt('access_q', 1, 0)$$) AS set_vt,
       pg_temp.try($$SELECT pgmq.send('access_q', '{}')$$) AS send_without_insert,
       pg_temp.try($$SELECT pgmq.pop('access_q')$$) AS pop_without_delete;
RESET ROLE;
-- pop: DELETE ... RETURNING with SELECT ... FOR UPDATE, so UPDATE too
GRANT DELETE ON pgmq.q_access_q TO regress_pgmq_access_stranger;
SET ROLE regress_pgmq_access_stranger;
SELECT pg_temp.try($$SELECT pgmq.pop('access_q')$$) AS pop;
RESET ROLE;
REVOKE UPDATE ON pgmq.q_access_q FROM regress_pgmq_access_stranger;
SET ROLE regress_pgmq_access_stranger;
SELECT pg_temp.try($$SELECT pgmq.pop('access_q')$$) AS pop_without_update,
       pg_temp.try($$DELETE FROM pgmq.q_access_q WHERE msg_id = ANY (ARRAY(SELECT msg_id FROM pgmq.q_access_q FOR UPDATE))$$)
         AS its_statement_without_update,
-- delete: DELETE ... RETURNING msg_id; archive also INSERT ... RETURNING on the archive
       pg_temp.try($$SELECT pgmq.delete('access_q', 2::bigint)$$) AS delete,
       pg_temp.try($$SELECT pgmq.archive('access_q', 3::bigint)$$) AS archive_without_archive,
       pg_temp.try($$SELECT pgmq.purge_queue('access_q')$$) AS purge_without_truncate;
RESET ROLE;
GRANT INSERT, SELECT ON pgmq.a_access_q TO regress_pgmq_access_stranger;
SET ROLE regress_pgmq_access_stranger;
SELECT pg_temp.try($$SELECT pgmq.archive('access_q', 3::bigint)$$) AS archive,
       pg_temp.try($$SELECT pgmq.archive('access_q', ARRAY[4::bigint])$$) AS archive_batch;
RESET ROLE;
-- purge_queue: SELECT count(*), then TRUNCATE
REVOKE DELETE ON pgmq.q_access_q FROM regress_pgmq_access_stranger;
GRANT TRUNCATE ON pgmq.q_access_q TO regress_pgmq_access_stranger;
SELECT pgmq.send('access_q', '{"n": 5}');
SET ROLE regress_pgmq_access_stranger;
SELECT pgmq.purge_queue('access_q');
RESET ROLE;
-- a privilege on some column is enough for the check: the statement checks the columns
REVOKE ALL ON pgmq.q_access_q FROM regress_pgmq_access_stranger;
GRANT SELECT (msg_id), DELETE ON pgmq.q_access_q TO regress_pgmq_access_stranger;
SELECT pgmq.send('access_q', '{"n": 6}');
SET ROLE regress_pgmq_access_stranger;
SELECT pg_temp.try($$SELECT pgmq.delete('access_q', 6::bigint)$$) AS delete_with_select_on_msg_id,
       pg_temp.try($$SELECT pgmq.set_vt('access_q', 6, 0)$$) AS set_vt_without_update;
RESET ROLE;
SELECT msg_id, read_ct, message FROM pgmq.q_access_q ORDER BY msg_id;
SELECT msg_id, message FROM pgmq.a_access_q ORDER BY msg_id;

SELECT pgmq.drop_queue('access_q');
DROP OWNED BY regress_pgmq_access_owner, regress_pgmq_access_stranger, regress_pgmq_access_creator;
DROP ROLE regress_pgmq_access_member, regress_pgmq_access_owner, regress_pgmq_access_stranger,
          regress_pgmq_access_creator;
