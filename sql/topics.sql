-- topics: topic_bindings, bind_topic (with and without filter), unbind_topic, send_topic and
-- send_batch_topic (every overload), list_topic_bindings, test_routing, validate_routing_key,
-- validate_topic_pattern; PGMQ's errors (P0001) and ours.
\set VERBOSITY terse
SELECT pgmq.create('t_orders');
SELECT pgmq.create('t_audit');
SELECT pgmq.create('t_eu');

------------------------------------------------------------------------------
-- the table: PGMQ's columns, then filter
------------------------------------------------------------------------------
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attgenerated <> '' AS generated
  FROM pg_attribute AS a WHERE a.attrelid = 'pgmq.topic_bindings'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT conname, contype FROM pg_constraint WHERE conrelid = 'pgmq.topic_bindings'::regclass ORDER BY conname;
SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'topic_bindings' ORDER BY indexname;

------------------------------------------------------------------------------
-- validate_routing_key, validate_topic_pattern
------------------------------------------------------------------------------
SELECT pgmq.validate_routing_key('logs.error'), pgmq.validate_routing_key('app.user-service.auth_1');
SELECT pgmq.validate_routing_key(repeat('a', 255));
SELECT pgmq.validate_routing_key(NULL);
SELECT pgmq.validate_routing_key('');
SELECT pgmq.validate_routing_key(repeat('a', 256));
SELECT pgmq.validate_routing_key(repeat('é', 256));
SELECT pgmq.validate_routing_key('logs error');
SELECT pgmq.validate_routing_key('logs.*');
SELECT pgmq.validate_routing_key('.logs');
SELECT pgmq.validate_routing_key('logs.');
SELECT pgmq.validate_routing_key('logs..error');
SELECT pgmq.validate_topic_pattern('logs.*'), pgmq.validate_topic_pattern('#'), pgmq.validate_topic_pattern('app.*.#'),
       pgmq.validate_topic_pattern('log*');
SELECT pgmq.validate_topic_pattern(NULL);
SELECT pgmq.validate_topic_pattern('');
SELECT pgmq.validate_topic_pattern(repeat('*.', 128) || 'a');
SELECT pgmq.validate_topic_pattern('logs.error!');
SELECT pgmq.validate_topic_pattern('.logs.*');
SELECT pgmq.validate_topic_pattern('logs.*.');
SELECT pgmq.validate_topic_pattern('logs..error');
SELECT pgmq.validate_topic_pattern('logs.**');
SELECT pgmq.validate_topic_pattern('logs.##');
SELECT pgmq.validate_topic_pattern('logs.*#');
SELECT pgmq.validate_topic_pattern('logs.#*');
-- PGMQ's SQLSTATE: P0001 (RAISE EXCEPTION)
DO $$
BEGIN
    PERFORM pgmq.validate_routing_key('a..b');
EXCEPTION WHEN raise_exception THEN
    RAISE NOTICE 'caught raise_exception: %', SQLERRM;
END
$$;

------------------------------------------------------------------------------
-- bind_topic, unbind_topic
------------------------------------------------------------------------------
SELECT pgmq.bind_topic('orders.*', 't_orders');
SELECT pgmq.bind_topic('orders.*', 't_orders');   -- again: a no-op
SELECT pgmq.bind_topic('#', 'T_Audit');            -- queue names fold to lower case
SELECT pgmq.bind_topic('*.*.eu', 't_eu', '{"event_name": ["created", "updated"]}');
SELECT pattern, queue_name, compiled_regex, filter, bound_at <= now() AS bound_in_past
  FROM pgmq.topic_bindings ORDER BY pattern, queue_name;
SELECT pgmq.bind_topic(NULL, 't_orders');
SELECT pgmq.bind_topic('orders..x', 't_orders');
SELECT pgmq.bind_topic('orders.*', NULL);
SELECT pgmq.bind_topic('orders.*', '');
SELECT pgmq.bind_topic('orders.*', 't_missing');
SELECT pgmq.bind_topic('orders.*', 'bad;name');
-- filters: an object of non-empty arrays of scalars
SELECT pgmq.bind_topic('x', 't_eu', '[1]');
SELECT pgmq.bind_topic('x', 't_eu', '{"a": "created"}');
SELECT pgmq.bind_topic('x', 't_eu', '{"a": []}');
SELECT pgmq.bind_topic('x', 't_eu', '{"a": [{"b": 1}]}');
SELECT pgmq.bind_topic('x', 't_eu', NULL::jsonb);
SELECT pattern, filter FROM pgmq.topic_bindings WHERE pattern = 'x';
-- binding again with a filter replaces it; the two-argument form leaves it
SELECT pgmq.bind_topic('x', 't_eu', '{"region": ["eu"]}');
SELECT pgmq.bind_topic('x', 't_eu');
SELECT pattern, filter FROM pgmq.topic_bindings WHERE pattern = 'x';
SELECT pgmq.unbind_topic('x', 't_eu');
SELECT pgmq.unbind_topic('x', 't_eu');
SELECT pgmq.unbind_topic('nothing.*', 'T_ORDERS');
SELECT pgmq.unbind_topic(NULL, 't_eu');
SELECT pgmq.unbind_topic('', 't_eu');
SELECT pgmq.unbind_topic('x', NULL);
SELECT pgmq.unbind_topic('x', '');

------------------------------------------------------------------------------
-- list_topic_bindings, test_routing
------------------------------------------------------------------------------
SELECT pattern, queue_name, compiled_regex FROM pgmq.list_topic_bindings() ORDER BY pattern;
SELECT pattern, queue_name, compiled_regex FROM pgmq.list_topic_bindings('t_orders');
SELECT pattern, queue_name FROM pgmq.list_topic_bindings('T_EU');
SELECT count(*) FROM pgmq.list_topic_bindings('t_missing');
SELECT count(*) FROM pgmq.list_topic_bindings(NULL);
-- newest first
BEGIN;
SELECT pgmq.bind_topic('zz.first', 't_audit');
SELECT pg_sleep(0.01);
COMMIT;
SELECT pgmq.bind_topic('aa.second', 't_audit');
SELECT pattern FROM pgmq.list_topic_bindings('t_audit') LIMIT 2;
SELECT pgmq.unbind_topic('zz.first', 't_audit'), pgmq.unbind_topic('aa.second', 't_audit');
SELECT * FROM pgmq.test_routing('orders.created');
SELECT * FROM pgmq.test_routing('orders.created.eu');
SELECT * FROM pgmq.test_routing('orders');
SELECT * FROM pgmq.test_routing('orders.*');

------------------------------------------------------------------------------
-- * and #: # matches one or more segments, as PGMQ's compiled_regex does ('logs.#' is
-- ^logs\..*$: not 'logs'); the router agrees with that regex on every binding and key
------------------------------------------------------------------------------
SELECT pgmq.create('t_hash');
SELECT pgmq.bind_topic('logs.#', 't_hash');
SELECT pgmq.bind_topic('#.error', 't_hash');
SELECT pgmq.bind_topic('a.#.b', 't_hash');
SELECT k, array(SELECT pattern FROM pgmq.test_routing(k) WHERE queue_name = 't_hash') AS matched
  FROM unnest(ARRAY['logs', 'logs.x', 'logs.x.y', 'error', 'db.error', 'a.b', 'a.x.y.b', 'a.x.c', 'log']) AS k;
SELECT pgmq.bind_topic(p, 't_hash') FROM unnest(ARRAY['#', '#.#', '*.#', '#.*', '#.a.#', 'a.*.#', 'a.#.b.#.c', 'a*.#']) AS p;
SELECT count(*) AS keys_tried,
       count(*) FILTER (WHERE (k ~ b.compiled_regex) IS DISTINCT FROM
                              EXISTS (SELECT 1 FROM pgmq.test_routing(k) AS r
                                       WHERE r.pattern = b.pattern AND r.queue_name = b.queue_name)) AS disagreements
  FROM pgmq.topic_bindings AS b,
       unnest(ARRAY['a', 'b', 'a.b', 'b.a', 'x.a', 'a.x', 'a.b.c', 'a.x.b.y.c', 'a.1.b.2.3.c', 'x.a.y', 'ab.c',
                    'logs', 'logs.x', 'error', 'x.error', 'a.x.y.b']) AS k
 WHERE b.queue_name = 't_hash';
SELECT pgmq.drop_queue('t_hash');
-- dropping the queue removed its bindings
SELECT count(*) FROM pgmq.topic_bindings WHERE queue_name = 't_hash';
SELECT * FROM pgmq.test_routing('logs.x');

------------------------------------------------------------------------------
-- send_topic: three overloads; the count of queues sent to
------------------------------------------------------------------------------
SELECT pgmq.send_topic('orders.created', '{"n": 1}');
SELECT pgmq.send_topic(routing_key => 'orders.created', msg => '{"n": 2}', delay => 60);
SELECT pgmq.send_topic('orders.created.eu', '{"n": 3}', '{"event_name": "created"}', 0);
SELECT pgmq.send_topic('orders.deleted.eu', '{"n": 4}', '{"event_name": "deleted"}', 0);
SELECT pgmq.send_topic('orders.created.eu', '{"n": 5}', NULL, 0);
SELECT pgmq.send_topic('nothing', '{"n": 6}');
SELECT 't_orders' AS q, message, headers, vt > clock_timestamp() AS delayed FROM pgmq.q_t_orders
UNION ALL SELECT 't_audit', message, headers, vt > clock_timestamp() FROM pgmq.q_t_audit
UNION ALL SELECT 't_eu', message, headers, vt > clock_timestamp() FROM pgmq.q_t_eu
ORDER BY 1, 2;
SELECT pgmq.send_topic(NULL, '{}');
SELECT pgmq.send_topic('a..b', '{}');
SELECT pgmq.send_topic('orders.x', NULL);
SELECT pgmq.send_topic('orders.x', '{}', -1);
SELECT pgmq.send_topic('orders.x', '{}', NULL::integer);
SELECT pgmq.send_topic('orders.x', '{}', '{}', -5);
-- one transaction: an error after routing leaves no message anywhere
SELECT pgmq.purge_queue('t_orders'), pgmq.purge_queue('t_audit'), pgmq.purge_queue('t_eu');
BEGIN;
SELECT pgmq.send_topic('orders.created', '{"n": "rolled back"}');
ROLLBACK;
SELECT (SELECT count(*) FROM pgmq.q_t_orders) + (SELECT count(*) FROM pgmq.q_t_audit) AS after_rollback;

------------------------------------------------------------------------------
-- filters: every key must hold one of its values
------------------------------------------------------------------------------
SELECT pgmq.create('t_filter');
SELECT pgmq.bind_topic('f.#', 't_filter', '{"event_name": ["created", "updated"], "region": ["eu"], "n": [1, true]}');
SELECT h, pgmq.send_topic('f.x', '{}', h::jsonb, 0) - 1 AS to_t_filter
  FROM unnest(ARRAY['{"event_name": "created", "region": "eu", "n": 1}',
                    '{"event_name": "updated", "region": "eu", "n": true, "other": 1}',
                    '{"event_name": "deleted", "region": "eu", "n": 1}',
                    '{"event_name": "created", "region": "us", "n": 1}',
                    '{"event_name": "created", "n": 1}',
                    '{"event_name": ["created"], "region": "eu", "n": 1}',
                    '{"event_name": "created", "region": "eu", "n": "1"}',
                    '[]', '"created"']) AS h;
SELECT pgmq.send_topic('f.x', '{}', NULL, 0) - 1 AS no_headers;
SELECT headers FROM pgmq.q_t_filter ORDER BY msg_id;
-- a second, unfiltered binding of the same queue delivers everything (still once)
SELECT pgmq.bind_topic('f.*', 't_filter');
SELECT pgmq.send_topic('f.x', '{}', '{"region": "us"}', 0);
SELECT count(*) FROM pgmq.q_t_filter WHERE headers = '{"region": "us"}';
-- an empty filter accepts every message
SELECT pgmq.unbind_topic('f.*', 't_filter');
SELECT pgmq.bind_topic('f.#', 't_filter', '{}');
SELECT pgmq.send_topic('f.x', '{}', NULL, 0);

------------------------------------------------------------------------------
-- send_batch_topic: six overloads; (queue_name, msg_id) per stored message
------------------------------------------------------------------------------
SELECT pgmq.purge_queue('t_orders'), pgmq.purge_queue('t_audit'), pgmq.purge_queue('t_eu');
SELECT queue_name, msg_id > 0 AS has_id FROM pgmq.send_batch_topic('orders.created', ARRAY['{"b": 1}', '{"b": 2}']::jsonb[]);
SELECT queue_name FROM pgmq.send_batch_topic(routing_key => 'orders.created', msgs => ARRAY['{"b": 3}']::jsonb[],
                                             headers => ARRAY['{"h": 3}']::jsonb[]);
SELECT queue_name FROM pgmq.send_batch_topic('orders.created', ARRAY['{"b": 4}']::jsonb[], 60);
SELECT queue_name FROM pgmq.send_batch_topic('orders.created', ARRAY['{"b": 5}']::jsonb[], '2100-01-01 00:00:00+00'::timestamptz);
SELECT queue_name FROM pgmq.send_batch_topic('orders.created', ARRAY['{"b": 6}']::jsonb[], ARRAY['{"h": 6}']::jsonb[], 60);
SELECT queue_name FROM pgmq.send_batch_topic('orders.created', ARRAY['{"b": 7}']::jsonb[], ARRAY['{"h": 7}']::jsonb[],
                                             '2100-01-01 00:00:00+00'::timestamptz);
-- the returned ids are the stored ones, in array order per queue
CREATE TEMP TABLE sent AS
    SELECT * FROM pgmq.send_batch_topic('orders.created', ARRAY['{"b": 8}', '{"b": 9}']::jsonb[]) WITH ORDINALITY;
SELECT s.queue_name, array_agg(q.message->>'b' ORDER BY s.ordinality) AS msgs,
       bool_and(q.msg_id IS NOT NULL) AS stored
  FROM sent AS s
  LEFT JOIN (SELECT 't_orders' AS queue_name, msg_id, message FROM pgmq.q_t_orders
             UNION ALL SELECT 't_audit', msg_id, message FROM pgmq.q_t_audit) AS q USING (queue_name, msg_id)
 GROUP BY s.queue_name ORDER BY s.queue_name;
DROP TABLE sent;
SELECT message->>'b' AS b, headers, CASE WHEN vt <= clock_timestamp() THEN 'visible'
                                          WHEN vt = '2100-01-01 00:00:00+00' THEN '2100-01-01'
                                          ELSE 'delayed' END AS vt
  FROM pgmq.q_t_orders ORDER BY msg_id;
-- filtered per message: only the messages whose headers pass go to t_eu
SELECT queue_name, count(*) FROM pgmq.send_batch_topic('orders.created.eu', ARRAY['{"b": 1}', '{"b": 2}', '{"b": 3}']::jsonb[],
       ARRAY['{"event_name": "created"}', '{"event_name": "deleted"}', '{"event_name": "updated"}']::jsonb[])
 GROUP BY queue_name ORDER BY queue_name;
SELECT message->>'b' AS b FROM pgmq.q_t_eu ORDER BY msg_id;
SELECT count(*) FROM pgmq.send_batch_topic('nothing', ARRAY['{}']::jsonb[]);
SELECT * FROM pgmq.send_batch_topic(NULL, ARRAY['{}']::jsonb[]);
SELECT * FROM pgmq.send_batch_topic('a.', ARRAY['{}']::jsonb[]);
SELECT * FROM pgmq.send_batch_topic('orders.x', NULL::jsonb[]);
SELECT * FROM pgmq.send_batch_topic('orders.x', ARRAY[]::jsonb[]);
SELECT * FROM pgmq.send_batch_topic('orders.x', ARRAY['{}', '{}']::jsonb[], ARRAY['{}']::jsonb[]);
-- as PGMQ's unnest: a NULL element is a NULL message, or NULL headers (which no filter accepts)
SELECT pgmq.purge_queue('t_orders'), pgmq.purge_queue('t_audit'), pgmq.purge_queue('t_eu');
SELECT queue_name, count(*) FROM pgmq.send_batch_topic('orders.created.eu', ARRAY['{"b": 1}', NULL, '{"b": 3}']::jsonb[],
       ARRAY[NULL, '{"event_name": "created"}', '{"event_name": "created"}']::jsonb[])
 GROUP BY queue_name ORDER BY queue_name;
SELECT message, headers FROM pgmq.q_t_orders ORDER BY msg_id;
SELECT message, headers FROM pgmq.q_t_eu ORDER BY msg_id;
SELECT queue_name, count(*) FROM pgmq.send_batch_topic('orders.created', ARRAY[NULL, NULL]::jsonb[]) GROUP BY queue_name ORDER BY queue_name;
SELECT count(*) FILTER (WHERE message IS NULL) AS null_messages FROM pgmq.q_t_orders;
SET pgmq.strict_input = on;
SELECT * FROM pgmq.send_batch_topic('orders.x', ARRAY['{}', NULL]::jsonb[]);
SELECT * FROM pgmq.send_batch_topic('orders.x', ARRAY['{}']::jsonb[], ARRAY[NULL]::jsonb[]);
SELECT * FROM pgmq.send_batch_topic('orders.x', ARRAY['{}']::jsonb[], -1);
RESET pgmq.strict_input;
-- a negative delay means now, as for send_batch (PGMQ's batch forms add it unchecked)
SELECT pgmq.purge_queue('t_orders');
SELECT queue_name, count(*) FROM pgmq.send_batch_topic('orders.created', ARRAY['{}']::jsonb[], -5) GROUP BY queue_name ORDER BY queue_name;
SELECT queue_name, count(*) FROM pgmq.send_batch_topic('orders.created', ARRAY['{}']::jsonb[], ARRAY['{}']::jsonb[], -5) GROUP BY queue_name ORDER BY queue_name;
SELECT count(*) AS visible FROM pgmq.q_t_orders WHERE vt <= clock_timestamp();
SELECT * FROM pgmq.send_batch_topic('orders.x', ARRAY['{}']::jsonb[], NULL::integer);
SELECT * FROM pgmq.send_batch_topic('orders.x', ARRAY['{}']::jsonb[], NULL::timestamptz);

------------------------------------------------------------------------------
-- the cache follows binding changes, in this session and in the same transaction
------------------------------------------------------------------------------
SELECT pgmq.purge_queue('t_eu');
BEGIN;
SELECT pgmq.bind_topic('late.#', 't_eu');
SELECT pgmq.send_topic('late.x', '{}');
SELECT pgmq.unbind_topic('late.#', 't_eu');
SELECT pgmq.send_topic('late.x', '{}');
ROLLBACK;
SELECT pgmq.send_topic('late.x', '{}');
INSERT INTO pgmq.topic_bindings (pattern, queue_name) VALUES ('direct.*', 't_eu');
SELECT pgmq.send_topic('direct.x', '{}');
DELETE FROM pgmq.topic_bindings WHERE pattern = 'direct.*';
SELECT pgmq.send_topic('direct.x', '{}');
-- a wildcard inside a segment matches as PGMQ's regex does
SELECT pgmq.bind_topic('log*.x', 't_eu');
SELECT pgmq.send_topic('logs.x', '{}'), pgmq.send_topic('log.x', '{}');
SELECT pgmq.unbind_topic('log*.x', 't_eu');

------------------------------------------------------------------------------
-- privileges: a send to every target queue; test_routing needs SELECT on the table
------------------------------------------------------------------------------
CREATE ROLE topics_producer;
GRANT USAGE ON SCHEMA pgmq TO topics_producer;
GRANT INSERT, SELECT ON pgmq.q_t_orders TO topics_producer;
SET ROLE topics_producer;
SELECT pgmq.send_topic('orders.created', '{}');    -- t_audit too: refused
SELECT * FROM pgmq.test_routing('orders.created');
RESET ROLE;
GRANT INSERT, SELECT ON pgmq.q_t_audit TO topics_producer;
SET ROLE topics_producer;
SELECT pgmq.send_topic('orders.created', '{}');
SELECT pgmq.bind_topic('p.*', 't_orders');
RESET ROLE;
REVOKE ALL ON pgmq.q_t_orders, pgmq.q_t_audit FROM topics_producer;
REVOKE USAGE ON SCHEMA pgmq FROM topics_producer;
DROP ROLE topics_producer;

SELECT pgmq.drop_queue('t_orders'), pgmq.drop_queue('t_audit'), pgmq.drop_queue('t_eu'), pgmq.drop_queue('t_filter');
SELECT count(*) FROM pgmq.topic_bindings;
