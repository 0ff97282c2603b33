-- ack: delete, archive (single id and array forms) and set_vt (every overload,
-- including set_vt(text, text, text) that untyped parameters resolve to).
SELECT pgmq.create('ack_q');
SELECT * FROM pgmq.send_batch('ack_q', ARRAY['{"n": 1}', '{"n": 2}', '{"n": 3}', '{"n": 4}', '{"n": 5}',
                                             '{"n": 6}', '{"n": 7}', '{"n": 8}', '{"n": 9}', '{"n": 10}']::jsonb[],
                              ARRAY['{"h": 1}', '{"h": 2}', '{"h": 3}', '{"h": 4}', '{"h": 5}',
                                    '{"h": 6}', '{"h": 7}', '{"h": 8}', '{"h": 9}', '{"h": 10}']::jsonb[]);

------------------------------------------------------------------------------
-- delete
------------------------------------------------------------------------------
SELECT pgmq.delete('ack_q', 1);
-- already gone / never existed
SELECT pgmq.delete('ack_q', 1);
SELECT pgmq.delete('ack_q', 999);
-- a hidden (read) message can be deleted
SELECT msg_id FROM pgmq.read('ack_q', 600, 1);
SELECT pgmq.delete(queue_name => 'ack_q', msg_id => 2);
-- array form: the ids that existed; missing ones are skipped
SELECT * FROM pgmq.delete('ack_q', ARRAY[3, 4, 999, 3]::bigint[]) ORDER BY 1;
SELECT * FROM pgmq.delete(queue_name => 'ack_q', msg_ids => ARRAY[3, 4]::bigint[]);
SELECT count(*) AS empty_array FROM pgmq.delete('ack_q', ARRAY[]::bigint[]);
SELECT msg_id FROM pgmq.q_ack_q ORDER BY msg_id;
SELECT count(*) AS archived_by_delete FROM pgmq.a_ack_q;

------------------------------------------------------------------------------
-- archive: moves the row to a_<name> with every column kept
------------------------------------------------------------------------------
SELECT msg_id FROM pgmq.read('ack_q', 600, 1);
CREATE TEMP TABLE before_archive AS SELECT * FROM pgmq.q_ack_q;
SELECT pgmq.archive('ack_q', 5);
SELECT pgmq.archive('ack_q', 5);
SELECT pgmq.archive('ack_q', 999);
SELECT * FROM pgmq.archive('ack_q', ARRAY[6, 7, 999, 6]::bigint[]) ORDER BY 1;
SELECT * FROM pgmq.archive(queue_name => 'ack_q', msg_ids => ARRAY[6, 7]::bigint[]);
SELECT count(*) AS empty_array FROM pgmq.archive('ack_q', ARRAY[]::bigint[]);
SELECT pgmq.archive(queue_name => 'ack_q', msg_id => 8);

SELECT a.msg_id, a.read_ct, a.message, a.headers,
       a.enqueued_at = b.enqueued_at AS enqueued_at_kept,
       a.last_read_at IS NOT DISTINCT FROM b.last_read_at AS last_read_at_kept,
       a.vt = b.vt AS vt_kept,
       a.archived_at >= a.enqueued_at AND a.archived_at <= now() AS archived_at_ok
  FROM pgmq.a_ack_q a JOIN before_archive b USING (msg_id) ORDER BY a.msg_id;
SELECT msg_id FROM pgmq.q_ack_q ORDER BY msg_id;
DROP TABLE before_archive;

-- archived_at is the archiving transaction's time
BEGIN;
SELECT pgmq.archive('ack_q', 9);
SELECT archived_at = now() AS archived_at_is_now FROM pgmq.a_ack_q WHERE msg_id = 9;
COMMIT;

------------------------------------------------------------------------------
-- set_vt: four typed overloads
------------------------------------------------------------------------------
SELECT * FROM pgmq.send_batch('ack_q', ARRAY['{"v": 11}', '{"v": 12}', '{"v": 13}']::jsonb[]);
-- (queue_name, msg_id bigint, vt integer): vt = clock time + vt seconds; read_ct untouched
SELECT msg_id, read_ct, message, last_read_at IS NULL AS never_read,
       vt - clock_timestamp() BETWEEN interval '29 s' AND interval '30 s' AS vt_in_30_s
  FROM pgmq.set_vt('ack_q', 11, 30);
SELECT count(*) AS hidden_11 FROM pgmq.read('ack_q', 30, 10) WHERE msg_id = 11;
-- (queue_name, msg_id bigint, vt timestamptz): absolute
SELECT msg_id, vt = '2100-01-01 00:00:00+00' AS vt_set
  FROM pgmq.set_vt(queue_name => 'ack_q', msg_id => 11, vt => '2100-01-01 00:00:00+00'::timestamptz);
-- (queue_name, msg_ids bigint[], vt integer): 0 makes them visible again; missing ids skipped
SELECT msg_id, read_ct, vt <= clock_timestamp() AS visible
  FROM pgmq.set_vt('ack_q', ARRAY[12, 13, 999]::bigint[], 0);
SELECT msg_id, read_ct FROM pgmq.read('ack_q', 30, 10);
-- (queue_name, msg_ids bigint[], vt timestamptz)
SELECT msg_id, vt = '2000-01-01 00:00:00+00' AS vt_set
  FROM pgmq.set_vt(queue_name => 'ack_q', msg_ids => ARRAY[11, 12, 13]::bigint[],
                   vt => '2000-01-01 00:00:00+00'::timestamptz);
SELECT msg_id, read_ct FROM pgmq.read('ack_q', 600, 10);
-- set_vt of a missing id returns no row
SELECT count(*) AS missing FROM pgmq.set_vt('ack_q', 999, 10);
SELECT count(*) AS missing FROM pgmq.set_vt('ack_q', ARRAY[998, 999]::bigint[], 10);
SELECT count(*) AS empty FROM pgmq.set_vt('ack_q', ARRAY[]::bigint[], 10);
-- the row shape of set_vt: pgmq.message_record
SELECT pg_typeof(r) FROM pgmq.set_vt('ack_q', 11, 0) AS r;

------------------------------------------------------------------------------
-- set_vt(text, text, text): what set_vt($1, $2, $3) with untyped parameters resolves to
------------------------------------------------------------------------------
PREPARE set_vt_untyped AS SELECT msg_id, vt - clock_timestamp() BETWEEN interval '29 s' AND interval '30 s' AS vt_in_30_s,
                                 vt = '2100-01-01 00:00:00+00' AS vt_2100, vt <= clock_timestamp() AS visible
                            FROM pgmq.set_vt($1, $2, $3);
-- the parameters were resolved as text: the (text, text, text) overload was chosen
SELECT parameter_types FROM pg_prepared_statements WHERE name = 'set_vt_untyped';
EXECUTE set_vt_untyped('ack_q', '11', '30');
EXECUTE set_vt_untyped('ack_q', '{11,12}', '0');
EXECUTE set_vt_untyped('ack_q', '{11, 12, 999}', '30');
EXECUTE set_vt_untyped('ack_q', '12', '2100-01-01 00:00:00+00');
EXECUTE set_vt_untyped('ack_q', '{11,12,13}', '2100-01-01 00:00:00+00');
EXECUTE set_vt_untyped('ack_q', ' 13 ', ' 0 ');
EXECUTE set_vt_untyped('ack_q', '999', '30');
DEALLOCATE set_vt_untyped;
-- the typed overloads still resolve as in PGMQ
SELECT count(*) FROM pgmq.set_vt('ack_q', 11, 30);
SELECT count(*) FROM pgmq.set_vt('ack_q', 11::bigint, 30);
SELECT count(*) FROM pgmq.set_vt('ack_q', '{11}'::bigint[], 30);

------------------------------------------------------------------------------
-- acknowledging inside a rolled-back transaction changes nothing
------------------------------------------------------------------------------
BEGIN;
SELECT pgmq.delete('ack_q', 11), pgmq.archive('ack_q', 12);
ROLLBACK;
SELECT msg_id FROM pgmq.q_ack_q ORDER BY msg_id;
SELECT count(*) AS archived FROM pgmq.a_ack_q WHERE msg_id IN (11, 12);

SELECT pgmq.drop_queue('ack_q');
