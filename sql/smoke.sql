-- smoke: the shortest path through the API: create, send, read, archive, metrics, drop.
SELECT pgmq.create('smoke');
SELECT * FROM pgmq.send('smoke', '{"hello": "world"}');
SELECT msg_id, read_ct, message FROM pgmq.read('smoke', 30, 1);
SELECT pgmq.archive('smoke', 1);
SELECT queue_name, queue_length, total_messages FROM pgmq.metrics('smoke');
SELECT msg_id, message FROM pgmq.a_smoke;
SELECT pgmq.drop_queue('smoke');
