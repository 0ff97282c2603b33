-- plan_cache_empty_name: queue "" is a valid name (as in PGMQ) and its kept plans are not those of
-- pgmq's own tables: a backend that had run statements on pgmq.queue_policy (run_maintenance) used
-- to find the entry of those under the key "" and fail an assertion on its first use of queue "".
SELECT pgmq.create('');
SELECT count(*) >= 0 AS ran FROM pgmq.run_maintenance();
SELECT * FROM pgmq.send('', '{"a": 1}');
SELECT msg_id, message FROM pgmq.pop('');
SELECT pgmq.drop_queue('');
