-- permission_recipes: the README's GRANT recipes (section "Permissions"), run as written, give
-- a queue administrator, a producer and a consumer what they need and nothing more.
\set VERBOSITY terse
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/regress/try.sql
CREATE ROLE regress_queue_admin;
CREATE ROLE regress_producer;
CREATE ROLE regress_consumer;
CREATE ROLE regress_stranger;
GRANT USAGE ON SCHEMA pgmq TO regress_stranger;

-- README: queue administrators, and the schema for producers and consumers (by a superuser)
GRANT USAGE, CREATE ON SCHEMA pgmq TO regress_queue_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON pgmq.meta, pgmq.queue_policy, pgmq.notify_insert_throttle
    TO regress_queue_admin;
GRANT USAGE ON SCHEMA pgmq TO regress_producer, regress_consumer;

SET ROLE regress_queue_admin;
SELECT pgmq.create('recipe_orders');
SELECT pgmq.create('recipe_orders_dlq');
SELECT queue_name, invalid_queue, max_deliveries
  FROM pgmq.set_policy('recipe_orders', invalid_queue => 'recipe_orders_dlq', max_deliveries => 3);
SELECT pgmq.enable_notify_insert('recipe_orders', 1000);
-- README: a producer and a consumer of one queue (by the queue's owner)
GRANT SELECT, INSERT ON pgmq.q_recipe_orders TO regress_producer;
GRANT SELECT, UPDATE, DELETE ON pgmq.q_recipe_orders TO regress_consumer;
GRANT SELECT, INSERT ON pgmq.a_recipe_orders TO regress_consumer;
RESET ROLE;

SET ROLE regress_producer;
SELECT * FROM pgmq.send('recipe_orders', '{"n": 1}');
SELECT * FROM pgmq.send_batch('recipe_orders', ARRAY['{"n": 2}', '{"n": 3}', '{"n": 4}']::jsonb[]);
SELECT pg_temp.try($$SELECT * FROM pgmq.read('recipe_orders', 30, 1)$$);
SELECT pg_temp.try($$SELECT pgmq.delete('recipe_orders', 1::bigint)$$);
SELECT pg_temp.try($$SELECT pgmq.purge_queue('recipe_orders')$$);
RESET ROLE;

SET ROLE regress_consumer;
SELECT msg_id, read_ct, message FROM pgmq.read('recipe_orders', 30, 2);
SELECT pgmq.delete('recipe_orders', 1::bigint), pgmq.archive('recipe_orders', 2::bigint);
SELECT msg_id FROM pgmq.set_vt('recipe_orders', 3, 0);
SELECT msg_id, message FROM pgmq.pop('recipe_orders');
SELECT pg_temp.try($$SELECT * FROM pgmq.send('recipe_orders', '{}')$$);
SELECT pg_temp.try($$SELECT pgmq.drop_queue('recipe_orders')$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.set_policy('recipe_orders')$$);
RESET ROLE;

-- a role with USAGE only sees and changes nothing, and is refused before any lock
SET ROLE regress_stranger;
SELECT pg_temp.try($$SELECT * FROM pgmq.read('recipe_orders', 30, 1)$$);
SELECT pg_temp.try($$SELECT * FROM pgmq.send('recipe_orders', '{}')$$);
SELECT pg_temp.try($$SELECT pgmq.purge_queue('recipe_orders')$$);
SELECT pg_temp.try($$SELECT pgmq.acquire_queue_lock('recipe_orders')$$);
SELECT pg_temp.try($$SELECT pgmq.create('recipe_stranger')$$);
RESET ROLE;

-- the notify trigger function runs as the extension's owner: it acts for no other table
GRANT CREATE ON SCHEMA public TO regress_stranger;
SET ROLE regress_stranger;
CREATE TABLE public.stranger_t (x int);
CREATE TRIGGER stranger_notify AFTER INSERT ON public.stranger_t
    FOR EACH ROW EXECUTE FUNCTION pgmq.notify_queue_listeners('recipe_orders');
SELECT pg_temp.try($$INSERT INTO public.stranger_t VALUES (1)$$);
DROP TABLE public.stranger_t;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM regress_stranger;
SELECT queue_name, throttle_interval_ms FROM pgmq.list_notify_insert_throttles();

SELECT msg_id, message FROM pgmq.q_recipe_orders ORDER BY msg_id;
SELECT msg_id, message FROM pgmq.a_recipe_orders ORDER BY msg_id;

SET ROLE regress_queue_admin;
SELECT pgmq.clear_policy('recipe_orders');
SELECT pgmq.disable_notify_insert('recipe_orders');
SELECT pgmq.drop_queue('recipe_orders'), pgmq.drop_queue('recipe_orders_dlq');
RESET ROLE;
REVOKE ALL ON pgmq.meta, pgmq.queue_policy, pgmq.notify_insert_throttle FROM regress_queue_admin;
REVOKE ALL ON SCHEMA pgmq FROM regress_queue_admin, regress_producer, regress_consumer, regress_stranger;
DROP ROLE regress_queue_admin, regress_producer, regress_consumer, regress_stranger;
