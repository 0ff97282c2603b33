-- batch_direct: send_batch and archive of many messages insert each page's rows with one
-- table_multi_insert (src/pg/direct_write.cpp), then each row's index entries. The rows, their
-- order, msg_ids, TOASTed values, index entries and pages are those of one insert per row.
-- delete and archive find the sorted ids in one forward scan of the primary key.
CREATE EXTENSION amcheck;
SELECT pgmq.create('bd');
-- 2,500 messages: more than one multi insert takes (1,000) and many pages. msg_ids come back in
-- array order, increasing by one (no other sender), each on the row of its message.
CREATE TEMP TABLE sent AS
SELECT * FROM pgmq.send_batch('bd', ARRAY(SELECT jsonb_build_object('i', i, 'pad', repeat('p', 100))
                                          FROM generate_series(1, 2500) AS i)) WITH ORDINALITY AS s(msg_id, i);
SELECT count(*) AS sent, bool_and(msg_id = (SELECT min(msg_id) FROM sent) + i - 1) AS in_order FROM sent;
SELECT count(*) AS matching FROM sent JOIN pgmq.q_bd AS q USING (msg_id) WHERE (q.message->>'i')::bigint = sent.i;
SELECT bool_and(read_ct = 0 AND last_read_at IS NULL AND headers IS NULL AND vt <= clock_timestamp()) AS defaults,
       count(DISTINCT enqueued_at) AS enqueued_ats
FROM pgmq.q_bd;
-- Every row is in the primary key (amcheck's heapallindexed), and found through it.
SELECT bt_index_check('pgmq.q_bd_pkey', true);
SET enable_seqscan = off;
SELECT count(*) AS by_index FROM pgmq.q_bd WHERE msg_id BETWEEN (SELECT min(msg_id) FROM sent) AND (SELECT max(msg_id) FROM sent);
RESET enable_seqscan;
-- The pages are filled as one INSERT per row fills them (the queue's fillfactor kept for HOT updates).
CREATE TEMP TABLE by_insert (LIKE pgmq.q_bd);
SELECT format('ALTER TABLE by_insert SET (%s)', array_to_string(reloptions, ', '))
FROM pg_class WHERE oid = 'pgmq.q_bd'::regclass AND reloptions IS NOT NULL \gexec
INSERT INTO by_insert SELECT * FROM pgmq.q_bd ORDER BY msg_id;
SELECT (SELECT array_agg(n ORDER BY page) FROM (SELECT (ctid::text::point)[0] AS page, count(*) AS n
                                               FROM pgmq.q_bd GROUP BY 1) AS p)
     = (SELECT array_agg(n ORDER BY page) FROM (SELECT (ctid::text::point)[0] AS page, count(*) AS n
                                               FROM by_insert GROUP BY 1) AS p) AS same_pages,
       pg_relation_size('pgmq.q_bd') / current_setting('block_size')::int > 10 AS many_pages;
-- A batch of one message; an empty batch is an error.
SELECT count(*) FROM pgmq.send_batch('bd', ARRAY['{"one": 1}']::jsonb[]);
\set VERBOSITY terse
SELECT * FROM pgmq.send_batch('bd', ARRAY[]::jsonb[]);
\set VERBOSITY default
-- Messages TOASTed (out of line) in a batch, and a row with a NULL message.
CREATE TEMP TABLE big AS
SELECT i, jsonb_build_object('big', (SELECT string_agg(md5(i::text || ':' || j::text), '') FROM generate_series(1, 2000) AS j))
       AS m
FROM generate_series(1, 3) AS i;
CREATE TEMP TABLE big_sent AS
SELECT * FROM pgmq.send_batch('bd', ARRAY(SELECT m FROM big ORDER BY i) || ARRAY[NULL::jsonb]) WITH ORDINALITY AS s(msg_id, i);
SELECT s.i, q.message = b.m AS same FROM big_sent AS s JOIN pgmq.q_bd AS q USING (msg_id) LEFT JOIN big AS b USING (i)
ORDER BY s.i;
SELECT pg_relation_size(reltoastrelid) > 0 AS toasted FROM pg_class WHERE oid = 'pgmq.q_bd'::regclass;
-- A batch rolled back in a subtransaction leaves nothing; its msg_ids stay used, as with INSERT.
BEGIN;
SAVEPOINT s;
SELECT count(*) FROM pgmq.send_batch('bd', ARRAY(SELECT '{"rolled": "back"}'::jsonb FROM generate_series(1, 1500)));
ROLLBACK TO s;
CREATE TEMP TABLE after_rollback AS
SELECT * FROM pgmq.send_batch('bd', ARRAY['{"after": 1}', '{"after": 2}']::jsonb[]) AS s(msg_id);
COMMIT;
SELECT count(*) FILTER (WHERE message ? 'rolled') AS rolled_back,
       count(*) FILTER (WHERE message ? 'after') AS after,
       (SELECT min(msg_id) FROM after_rollback) - (SELECT max(msg_id) FROM big_sent) AS id_step
FROM pgmq.q_bd;
-- A msg_id already taken (inserted with OVERRIDING SYSTEM VALUE) fails the whole batch (23505).
INSERT INTO pgmq.q_bd (msg_id, vt, message) OVERRIDING SYSTEM VALUE
VALUES ((SELECT max(msg_id) FROM after_rollback) + 5, now(), '{"taken": true}');
\set VERBOSITY terse
SELECT count(*) FROM pgmq.send_batch('bd', ARRAY(SELECT '{"dup": true}'::jsonb FROM generate_series(1, 10)));
\set VERBOSITY default
SELECT count(*) FILTER (WHERE message ? 'dup') AS dup_rows FROM pgmq.q_bd;
SELECT bt_index_check('pgmq.q_bd_pkey', true);
-- archive of a batch: missing ids (never sent, already archived) and repeats are skipped; the
-- rows arrive whole (TOASTed values too) with their index entries.
SELECT count(*) AS archived FROM pgmq.archive('bd', ARRAY(SELECT msg_id FROM sent WHERE i <= 1200));
SELECT count(*) AS archived FROM pgmq.archive('bd',
    ARRAY(SELECT msg_id FROM sent WHERE i BETWEEN 1000 AND 2500) || ARRAY[-1, 0, 999999999]::bigint[]
    || ARRAY(SELECT msg_id FROM sent WHERE i BETWEEN 2000 AND 2100));
SELECT count(*) AS left_of_sent FROM pgmq.q_bd WHERE msg_id IN (SELECT msg_id FROM sent);
SELECT count(*) AS in_archive, count(*) FILTER (WHERE (a.message->>'i')::bigint = s.i) AS matching
FROM sent AS s JOIN pgmq.a_bd AS a USING (msg_id);
BEGIN;
SELECT count(*) AS archived FROM pgmq.archive('bd', ARRAY(SELECT msg_id FROM big_sent ORDER BY msg_id DESC));
SELECT s.i, a.message = b.m AS same, a.read_ct, a.archived_at = now() AS archived_now
FROM big_sent AS s JOIN pgmq.a_bd AS a USING (msg_id) LEFT JOIN big AS b USING (i) ORDER BY s.i;
COMMIT;
SELECT bt_index_check('pgmq.a_bd_pkey', true), bt_index_check('pgmq.archived_at_idx_bd', true),
       bt_index_check('pgmq.q_bd_pkey', true);
-- Sparse ids: archive's one forward scan of the primary key passes rows not asked for (every
-- third id), or descends again where they are many (every tenth, given in descending order; the
-- rows archived before are dead in between); each row asked for is archived, no other.
CREATE TEMP TABLE sparse AS
SELECT * FROM pgmq.send_batch('bd', ARRAY(SELECT jsonb_build_object('j', j) FROM generate_series(1, 400) AS j))
    WITH ORDINALITY AS s(msg_id, j);
SELECT count(*) AS archived
FROM pgmq.archive('bd', ARRAY(SELECT msg_id FROM sparse WHERE j % 3 = 0 OR j IN (1, 2, 399, 400)));
SELECT count(*) AS archived FROM pgmq.archive('bd', ARRAY(SELECT msg_id FROM sparse WHERE j % 10 = 1 ORDER BY msg_id DESC));
SELECT count(a.msg_id) AS archived, count(q.msg_id) AS queued,
       bool_and((a.msg_id IS NOT NULL) = (j % 3 = 0 OR j % 10 = 1 OR j IN (1, 2, 400))) AS right_rows,
       bool_and((a.msg_id IS NULL) = (q.msg_id IS NOT NULL)) AS one_place,
       bool_and(coalesce(a.message, q.message) = jsonb_build_object('j', j)) AS whole
FROM sparse LEFT JOIN pgmq.a_bd AS a USING (msg_id) LEFT JOIN pgmq.q_bd AS q USING (msg_id);
-- delete takes the same scan.
SELECT count(*) AS deleted FROM pgmq.delete('bd', ARRAY(SELECT msg_id FROM sparse WHERE j % 7 = 0) || ARRAY[-3]::bigint[]);
SELECT count(*) AS queued, bool_and(j % 7 <> 0) AS right_rows FROM sparse JOIN pgmq.q_bd USING (msg_id);
-- An archive rolled back in a subtransaction leaves the rows in the queue and none in the archive.
BEGIN;
SAVEPOINT s;
SELECT count(*) FROM pgmq.archive('bd', ARRAY(SELECT msg_id FROM after_rollback));
ROLLBACK TO s;
COMMIT;
SELECT (SELECT count(*) FROM pgmq.q_bd WHERE msg_id IN (SELECT msg_id FROM after_rollback)) AS in_queue,
       (SELECT count(*) FROM pgmq.a_bd WHERE msg_id IN (SELECT msg_id FROM after_rollback)) AS in_archive;
SELECT pgmq.drop_queue('bd');
DROP EXTENSION amcheck;
