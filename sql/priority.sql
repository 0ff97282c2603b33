-- priority: set_policy(priorities => true) reads visible messages by header x-pgmq-priority
-- (an integer, higher first; missing, null or headers that are no object: 0), FIFO within a
-- priority, for read, read_with_poll and pop; grouped reads stay FIFO. Sends check the header.
\set VERBOSITY terse
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/regress/try.sql
-- Strict priority order here; the FIFO turns (pgmq.priority_fifo_every) are tested at the end.
SET pgmq.priority_fifo_every = 0;
SELECT pgmq.create('prio_q');
SELECT pgmq.create('prio_plain');
SELECT queue_name, priorities FROM pgmq.set_policy('prio_q', priorities => true);
SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid) AS definition
  FROM pg_index WHERE indrelid = 'pgmq.q_prio_q'::regclass AND NOT indisprimary;

-- Bad headers on a priority queue: 22023, nothing stored (single sends and batches alike).
SELECT pg_temp.try($$SELECT pgmq.send('prio_q', '{"n": 0}', '{"x-pgmq-priority": "high"}'::jsonb)$$) AS text;
SELECT pg_temp.try($$SELECT pgmq.send('prio_q', '{"n": 0}', '{"x-pgmq-priority": "5"}'::jsonb)$$) AS numeric_text;
SELECT pg_temp.try($$SELECT pgmq.send('prio_q', '{"n": 0}', '{"x-pgmq-priority": 1.5}'::jsonb)$$) AS fraction;
SELECT pg_temp.try($$SELECT pgmq.send('prio_q', '{"n": 0}', '{"x-pgmq-priority": 2147483648}'::jsonb)$$) AS too_big;
SELECT pg_temp.try($$SELECT pgmq.send('prio_q', '{"n": 0}', '{"x-pgmq-priority": -2147483649}'::jsonb)$$) AS too_small;
SELECT pg_temp.try($$SELECT pgmq.send('prio_q', '{"n": 0}', '{"x-pgmq-priority": true}'::jsonb)$$) AS boolean;
SELECT pg_temp.try($$SELECT pgmq.send('prio_q', '{"n": 0}', '{"x-pgmq-priority": [1]}'::jsonb, 5)$$) AS array_delayed;
SELECT pg_temp.try($$SELECT pgmq.send_batch('prio_q', ARRAY['{"n": 0}', '{"n": 0}']::jsonb[],
                                             ARRAY['{"x-pgmq-priority": 1}', '{"x-pgmq-priority": {"p": 1}}']::jsonb[])$$) AS batch;
SELECT pgmq.bind_topic('prio.#', 'prio_q');
SELECT pg_temp.try($$SELECT pgmq.send_topic('prio.x', '{"n": 0}', '{"x-pgmq-priority": 0.5}'::jsonb, 0)$$) AS topic;
SELECT pgmq.unbind_topic('prio.#', 'prio_q');
SELECT count(*) AS stored FROM pgmq.q_prio_q;
-- The bounds themselves are integers.
SELECT pgmq._priority('{"x-pgmq-priority": 2147483647}') AS max, pgmq._priority('{"x-pgmq-priority": -2147483648}') AS min,
       pgmq._priority('{"x-pgmq-priority": 2.0}') AS two_point_zero, pgmq._priority('{"x-pgmq-priority": 1e2}') AS exponent;
-- The index key never fails: what sends refuse, and what counts as missing, is 0.
SELECT pgmq._priority(NULL) AS null_headers, pgmq._priority('[1, 2]') AS not_object,
       pgmq._priority('{"x-pgmq-priority": null}') AS json_null, pgmq._priority('{"x-pgmq-priority": "high"}') AS text,
       pgmq._priority('{"x-pgmq-priority": 1.5}') AS fraction, pgmq._priority('{"x-pgmq-priority": 1e10}') AS too_big;

-- A queue without the priority policy ignores the header, as before.
SELECT count(*) AS sent_plain FROM (
    SELECT pgmq.send('prio_plain', '{"n": 1}', '{"x-pgmq-priority": "high"}'::jsonb)
    UNION ALL SELECT pgmq.send('prio_plain', '{"n": 2}', '{"x-pgmq-priority": 9}'::jsonb)
    UNION ALL SELECT * FROM pgmq.send_batch('prio_plain', ARRAY['{"n": 3}']::jsonb[], ARRAY['{"x-pgmq-priority": 1.5}']::jsonb[])) AS s;
SELECT message FROM pgmq.read('prio_plain', 0, 10);

-- Priority order, then FIFO: read, read with a conditional, pop, read_with_poll.
SELECT * FROM pgmq.send_batch('prio_q',
    ARRAY['{"n": 1}', '{"n": 2}', '{"n": 3}', '{"n": 4}', '{"n": 5}', '{"n": 6}', '{"n": 7}', '{"n": 8}',
          '{"n": 9}', '{"n": 10}']::jsonb[],
    ARRAY['{"x-pgmq-priority": 0}', '{"x-pgmq-priority": 5}', NULL, '{"x-pgmq-priority": -1}',
          '{"x-pgmq-priority": 5}', '{"x-pgmq-priority": null}', '"not an object"', '{"x-pgmq-priority": 10}',
          '{"other": 1}', '{"x-pgmq-priority": 1e1}']::jsonb[]);
-- A delayed top priority waits its turn like any message.
SELECT pgmq.send('prio_q', '{"n": 11}', '{"x-pgmq-priority": 99}'::jsonb, 600) AS delayed;
SELECT msg_id, message, headers FROM pgmq.read('prio_q', 600, 3);
-- In flight: the next reads go on below them.
SELECT msg_id, message FROM pgmq.read('prio_q', 600, 1, '{"n": 1}');
SELECT msg_id, message FROM pgmq.read('prio_q', 600, 1);
SELECT msg_id, message FROM pgmq.pop('prio_q', 2);
SELECT msg_id, message FROM pgmq.read_with_poll('prio_q', 600, 1, 2);
-- Rolled back: the message is visible again, at its place in the order.
BEGIN;
SELECT msg_id, message FROM pgmq.read('prio_q', 600, 1);
ROLLBACK;
SELECT msg_id, message FROM pgmq.read('prio_q', 600, 5);
SELECT count(*) AS visible FROM pgmq.read('prio_q', 600, 5);

-- Grouped reads stay FIFO (oldest group head first), whatever the priorities.
SELECT pgmq.create('prio_groups');
SELECT priorities FROM pgmq.set_policy('prio_groups', priorities => true);
SELECT * FROM pgmq.send_batch('prio_groups', ARRAY['{"n": 1}', '{"n": 2}', '{"n": 3}']::jsonb[],
    ARRAY['{"x-pgmq-group": "a", "x-pgmq-priority": 1}', '{"x-pgmq-group": "b", "x-pgmq-priority": 9}',
          '{"x-pgmq-group": "a", "x-pgmq-priority": 9}']::jsonb[]);
SELECT msg_id, message FROM pgmq.read_grouped('prio_groups', 600, 3);
SELECT pgmq.drop_queue('prio_groups');

-- max_deliveries applies to priority reads too; setting the policy again keeps priorities (NULL: unchanged).
SELECT priorities, max_deliveries FROM pgmq.set_policy('prio_q', max_deliveries => 1);
SELECT pgmq.purge_queue('prio_q');
SELECT * FROM pgmq.send_batch('prio_q', ARRAY['{"n": 1}', '{"n": 2}']::jsonb[],
                              ARRAY['{"x-pgmq-priority": 1}', '{"x-pgmq-priority": 2}']::jsonb[]);
SELECT message FROM pgmq.read('prio_q', 0, 1);
SELECT message FROM pgmq.read('prio_q', 0, 2) AS read_once_each;
SELECT message FROM pgmq.pop('prio_q', 2) AS pop_skips_too;
SELECT priorities, max_deliveries FROM pgmq.set_policy('prio_q');

-- Plain SQL still works on the table; a header pgmq did not check counts as 0 there.
INSERT INTO pgmq.q_prio_q (vt, message, headers) VALUES (now(), '{"n": "sql high"}', '{"x-pgmq-priority": "high"}'),
    (now(), '{"n": "sql 3"}', '{"x-pgmq-priority": 3}');
SELECT message FROM pgmq.read('prio_q', 0, 5);

-- pgmq.priority_fifo_every = 3: every third read (or pop) of this session takes the oldest messages.
SELECT pgmq.purge_queue('prio_q');
SELECT count(*) AS sent FROM pgmq.send_batch('prio_q',
    ARRAY['{"n": 1}', '{"n": 2}', '{"n": 3}', '{"n": 4}', '{"n": 5}', '{"n": 6}', '{"n": 7}']::jsonb[],
    ARRAY['{}', '{"x-pgmq-priority": 1}', '{"x-pgmq-priority": 2}', '{"x-pgmq-priority": 3}', '{"x-pgmq-priority": 4}',
          '{"x-pgmq-priority": 5}', '{"x-pgmq-priority": 6}']::jsonb[]);
SET pgmq.priority_fifo_every = 3;
SELECT message FROM pgmq.read('prio_q', 600, 1) AS first;
SELECT message FROM pgmq.read('prio_q', 600, 1) AS second;
SELECT message FROM pgmq.pop('prio_q', 1) AS third_fifo;
SELECT message FROM pgmq.read('prio_q', 600, 1) AS fourth;
SELECT message FROM pgmq.read('prio_q', 600, 1) AS fifth;
SELECT message FROM pgmq.read('prio_q', 600, 1) AS sixth_fifo;
SELECT message FROM pgmq.read('prio_q', 600, 1) AS seventh;
SET pgmq.priority_fifo_every = 0;

-- Turned off: FIFO reads, no index, headers no longer checked; turned on again over the queue as it is.
SELECT queue_name, priorities FROM pgmq.set_policy('prio_q', priorities => false);
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'pgmq.q_prio_q'::regclass AND NOT indisprimary;
SELECT pgmq.purge_queue('prio_q');
SELECT * FROM pgmq.send_batch('prio_q', ARRAY['{"n": 1}', '{"n": 2}', '{"n": 3}']::jsonb[],
    ARRAY['{"x-pgmq-priority": "high"}', '{"x-pgmq-priority": 7}', '{"x-pgmq-priority": 8}']::jsonb[]);
SELECT message FROM pgmq.read('prio_q', 0, 3) AS fifo;
SELECT priorities FROM pgmq.set_policy('prio_q', priorities => true);
SELECT message FROM pgmq.read('prio_q', 0, 3) AS by_priority;
-- clear_policy turns priorities off and drops the index.
SELECT pgmq.clear_policy('prio_q');
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'pgmq.q_prio_q'::regclass AND NOT indisprimary;
SELECT message FROM pgmq.read('prio_q', 0, 3) AS fifo_again;
SELECT priorities FROM pgmq.policy('prio_q');

-- A queue administrator without superuser (README's recipe) turns priorities on; a producer and a
-- consumer with the recipe's privileges send and read by priority.
CREATE ROLE regress_prio_admin;
CREATE ROLE regress_prio_producer;
CREATE ROLE regress_prio_consumer;
GRANT USAGE, CREATE ON SCHEMA pgmq TO regress_prio_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON pgmq.meta, pgmq.queue_policy, pgmq.notify_insert_throttle TO regress_prio_admin;
GRANT USAGE ON SCHEMA pgmq TO regress_prio_producer, regress_prio_consumer;
SET ROLE regress_prio_admin;
SELECT pgmq.create('prio_owned');
SELECT priorities FROM pgmq.set_policy('prio_owned', priorities => true);
GRANT SELECT, INSERT ON pgmq.q_prio_owned TO regress_prio_producer;
GRANT SELECT, UPDATE, DELETE ON pgmq.q_prio_owned TO regress_prio_consumer;
RESET ROLE;
SET ROLE regress_prio_producer;
SELECT * FROM pgmq.send_batch('prio_owned', ARRAY['{"n": 1}', '{"n": 2}']::jsonb[],
                              ARRAY['{"x-pgmq-priority": -1}', '{"x-pgmq-priority": 1}']::jsonb[]);
SELECT pg_temp.try($$SELECT pgmq.send('prio_owned', '{"n": 3}', '{"x-pgmq-priority": "high"}'::jsonb)$$) AS producer_bad;
RESET ROLE;
SET ROLE regress_prio_consumer;
SELECT msg_id, message FROM pgmq.read('prio_owned', 30, 1);
SELECT msg_id, message FROM pgmq.pop('prio_owned', 1);
RESET ROLE;
SET ROLE regress_prio_admin;
SELECT pgmq.drop_queue('prio_owned');
RESET ROLE;
DROP OWNED BY regress_prio_admin, regress_prio_producer, regress_prio_consumer;
DROP ROLE regress_prio_admin, regress_prio_producer, regress_prio_consumer;

-- Bad arguments and permissions as for every policy.
SELECT pg_temp.try($$SELECT pgmq.set_policy('prio_missing', priorities => true)$$) AS unknown_queue;
CREATE ROLE regress_prio_stranger;
GRANT USAGE ON SCHEMA pgmq TO regress_prio_stranger;
GRANT SELECT ON pgmq.meta TO regress_prio_stranger;
SET ROLE regress_prio_stranger;
SELECT pg_temp.try($$SELECT pgmq.set_policy('prio_q', priorities => true)$$) AS not_owner;
RESET ROLE;
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'pgmq.q_prio_q'::regclass AND NOT indisprimary;
DROP OWNED BY regress_prio_stranger;
DROP ROLE regress_prio_stranger;
SELECT pgmq.drop_queue('prio_q');
SELECT pgmq.drop_queue('prio_plain');
RESET pgmq.priority_fifo_every;

-- A queue that deduplicates and reads by priority: the priority header is checked on the dedup path too.
SET pgmq.priority_fifo_every = 0;
SELECT pgmq.create('prio_dedup');
SELECT queue_name, dedup_seconds, priorities FROM pgmq.set_policy('prio_dedup', dedup_seconds => 60, priorities => true);
SELECT pg_temp.try($$SELECT pgmq.send('prio_dedup', '{"n": 1}', '{"x-pgmq-dedup-id": "a", "x-pgmq-priority": "high"}'::jsonb)$$) AS bad_with_dedup_id;
SELECT count(*) AS stored, (SELECT count(*) FROM pgmq.dedup WHERE queue_name = 'prio_dedup') AS ids FROM pgmq.q_prio_dedup;
SELECT * FROM pgmq.send('prio_dedup', '{"n": 2}', '{"x-pgmq-dedup-id": "b", "x-pgmq-priority": 1}'::jsonb) AS first;
SELECT * FROM pgmq.send('prio_dedup', '{"n": 3}', '{"x-pgmq-dedup-id": "c", "x-pgmq-priority": 5}'::jsonb) AS second;
SELECT * FROM pgmq.send('prio_dedup', '{"n": 2}', '{"x-pgmq-dedup-id": "b", "x-pgmq-priority": 1}'::jsonb) AS duplicate;
SELECT message FROM pgmq.read('prio_dedup', 30, 5);
SELECT pgmq.drop_queue('prio_dedup');
RESET pgmq.priority_fifo_every;
