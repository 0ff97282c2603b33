-- notify: enable_notify_insert, update_notify_insert, disable_notify_insert,
-- list_notify_insert_throttles; the trigger and the throttle row. (Delivery of
-- the notification to a LISTENer is tested by the Python suite.)
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/regress/try.sql
-- the notify trigger of each queue table: name, timing, deferrable, function, argument
CREATE FUNCTION pg_temp.notify_triggers() RETURNS TABLE (table_name text, trigger_name name, definition text)
LANGUAGE sql AS $$
    SELECT t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid)
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'pgmq' AND c.relname LIKE 'q\_notify%' AND NOT t.tgisinternal
       AND t.tgname <> 'pgmq_read_hint_guard'  -- every queue has it (see queue_admin)
     ORDER BY 1, 2
$$;

SELECT pgmq.create('notify_q');
SELECT pgmq.create('Notify_Other');
SELECT * FROM pg_temp.notify_triggers();

------------------------------------------------------------------------------
-- enable: trigger and throttle row (default interval 250 ms)
------------------------------------------------------------------------------
SELECT pgmq.enable_notify_insert('notify_q');
SELECT * FROM pg_temp.notify_triggers();
SELECT queue_name, throttle_interval_ms, last_notified_at = to_timestamp(0) AS never_notified
  FROM pgmq.notify_insert_throttle ORDER BY queue_name;
SELECT queue_name, throttle_interval_ms, last_notified_at = to_timestamp(0) AS never_notified
  FROM pgmq.list_notify_insert_throttles();

-- mixed-case name: stored and triggered under the lower-case name
SELECT pgmq.enable_notify_insert(queue_name => 'NOTIFY_OTHER', throttle_interval_ms => 0);
SELECT * FROM pg_temp.notify_triggers();
SELECT queue_name, throttle_interval_ms FROM pgmq.list_notify_insert_throttles();

-- enabling again replaces the interval; still one trigger, one row
SELECT pgmq.enable_notify_insert('notify_q', 60000);
SELECT * FROM pg_temp.notify_triggers();
SELECT queue_name, throttle_interval_ms FROM pgmq.list_notify_insert_throttles();

------------------------------------------------------------------------------
-- a send updates last_notified_at (the notification itself goes out at commit);
-- within the throttle interval a second send does not
------------------------------------------------------------------------------
SELECT pgmq.send('notify_q', '{"n": 1}');
SELECT last_notified_at > to_timestamp(0) AND last_notified_at <= clock_timestamp() AS notified
  FROM pgmq.notify_insert_throttle WHERE queue_name = 'notify_q';
SELECT last_notified_at AS first_notified FROM pgmq.notify_insert_throttle WHERE queue_name = 'notify_q' \gset
SELECT pgmq.send('notify_q', '{"n": 2}');
SELECT last_notified_at = :'first_notified'::timestamptz AS throttled
  FROM pgmq.notify_insert_throttle WHERE queue_name = 'notify_q';
-- interval 0: every send notifies (test/python checks delivery) without touching, and so
-- without locking, the throttle row: concurrent senders never wait for each other
SELECT pgmq.send('notify_other', '{"n": 1}');
SELECT last_notified_at AS first_notified FROM pgmq.notify_insert_throttle WHERE queue_name = 'notify_other' \gset
SELECT pg_sleep(0.01);
SELECT pgmq.send_batch('notify_other', ARRAY['{"n": 2}', '{"n": 3}']::jsonb[]);
SELECT last_notified_at = :'first_notified'::timestamptz AS row_untouched
  FROM pgmq.notify_insert_throttle WHERE queue_name = 'notify_other';
-- a rolled-back send leaves the throttle row as it was
SELECT last_notified_at AS before_rollback FROM pgmq.notify_insert_throttle WHERE queue_name = 'notify_other' \gset
BEGIN;
SELECT pgmq.send('notify_other', '{"n": 4}');
ROLLBACK;
SELECT last_notified_at = :'before_rollback'::timestamptz AS unchanged
  FROM pgmq.notify_insert_throttle WHERE queue_name = 'notify_other';

------------------------------------------------------------------------------
-- update: new interval, last_notified_at reset
------------------------------------------------------------------------------
SELECT pgmq.update_notify_insert('notify_q', 5000);
SELECT queue_name, throttle_interval_ms, last_notified_at = to_timestamp(0) AS reset
  FROM pgmq.list_notify_insert_throttles();
SELECT pgmq.update_notify_insert(queue_name => 'Notify_Q', throttle_interval_ms => 0);
SELECT queue_name, throttle_interval_ms FROM pgmq.list_notify_insert_throttles();
SELECT * FROM pg_temp.notify_triggers();

------------------------------------------------------------------------------
-- errors: nothing changes
------------------------------------------------------------------------------
SELECT pg_temp.try($$SELECT pgmq.enable_notify_insert('notify_q', -1)$$);
SELECT pg_temp.try($$SELECT pgmq.enable_notify_insert('notify_q', NULL)$$);
SELECT pg_temp.try($$SELECT pgmq.enable_notify_insert('notify_missing')$$);
SELECT pg_temp.try($$SELECT pgmq.enable_notify_insert('bad;name')$$);
SELECT pg_temp.try($$SELECT pgmq.enable_notify_insert(NULL)$$);
SELECT pg_temp.try($$SELECT pgmq.update_notify_insert('notify_q', -5)$$);
SELECT pg_temp.try($$SELECT pgmq.update_notify_insert('notify_q', NULL)$$);
SELECT pg_temp.try($$SELECT pgmq.update_notify_insert('notify_missing', 10)$$);
SELECT pg_temp.try($$SELECT pgmq.update_notify_insert(NULL, 10)$$);
SELECT pg_temp.try($$SELECT pgmq.disable_notify_insert(NULL)$$);
SELECT pg_temp.try($$SELECT pgmq.disable_notify_insert('bad;name')$$);
SELECT queue_name, throttle_interval_ms FROM pgmq.list_notify_insert_throttles();
SELECT * FROM pg_temp.notify_triggers();

------------------------------------------------------------------------------
-- disable: trigger and row gone; sends still work; disabling twice is harmless
------------------------------------------------------------------------------
SELECT pgmq.disable_notify_insert('notify_q');
SELECT * FROM pg_temp.notify_triggers();
SELECT queue_name FROM pgmq.list_notify_insert_throttles();
SELECT pgmq.send('notify_q', '{"n": 3}');
SELECT pgmq.disable_notify_insert('notify_q');
-- update after disable: not enabled
SELECT pg_temp.try($$SELECT pgmq.update_notify_insert('notify_q', 10)$$);
-- disabling a queue that does not exist is a no-op (like DROP TRIGGER IF EXISTS)
SELECT pg_temp.try($$SELECT pgmq.disable_notify_insert('notify_missing')$$);

------------------------------------------------------------------------------
-- drop_queue removes the throttle row with the queue; re-created queues start disabled
------------------------------------------------------------------------------
SELECT pgmq.drop_queue('notify_other');
SELECT queue_name FROM pgmq.list_notify_insert_throttles();
SELECT pgmq.create('notify_other');
SELECT * FROM pg_temp.notify_triggers();
SELECT pgmq.enable_notify_insert('notify_other');
SELECT queue_name, throttle_interval_ms FROM pgmq.list_notify_insert_throttles();

SELECT pgmq.drop_queue('notify_q');
SELECT pgmq.drop_queue('notify_other');
SELECT count(*) AS throttle_rows FROM pgmq.notify_insert_throttle;
