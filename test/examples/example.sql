CREATE EXTENSION IF NOT EXISTS pgmq;         -- once per database, as a superuser
SELECT pgmq.create('orders');
SELECT * FROM pgmq.send('orders', '{"id": 1}');
SELECT * FROM pgmq.read('orders', 30, 10);   -- hide up to 10 messages for 30 s
SELECT pgmq.archive('orders', 1);            -- or pgmq.delete('orders', 1)
SELECT * FROM pgmq.metrics('orders');
SELECT pgmq.drop_queue('orders');            -- the queue, its archive and its messages
