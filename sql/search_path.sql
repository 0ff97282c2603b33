-- search_path: a function a user creates in a schema on the search_path, with argument types
-- that match better than the built-in's, cannot take the place of a built-in that pgmq's
-- statements call (they are schema-qualified). Here: the jsonb_build_object(VARIADIC "any")
-- call that run_maintenance uses to record why it moved a message.
CREATE FUNCTION public.jsonb_build_object(text, text, text, text, text, bigint, text, timestamptz, text, timestamptz)
    RETURNS jsonb LANGUAGE sql AS $$ SELECT '{"hijacked": true}'::jsonb $$;
SELECT pgmq.create('sp_q');
SELECT pgmq.create('sp_dlq');
SELECT policy_queue FROM (SELECT 1 AS policy_queue FROM pgmq.set_policy('sp_q', invalid_queue => 'sp_dlq', max_deliveries => 1)) AS p;
SELECT * FROM pgmq.send('sp_q', '{"a": 1}');
SELECT msg_id, read_ct FROM pgmq.read('sp_q', 30, 1);
UPDATE pgmq.q_sp_q SET vt = clock_timestamp() - interval '1 second';
SELECT queue_name, reason, destination, messages FROM pgmq.run_maintenance();
SELECT message, headers->'x-pgmq-invalid'->>'reason' AS reason, headers ? 'hijacked' AS hijacked
  FROM pgmq.q_sp_dlq;
SELECT pgmq.drop_queue('sp_q');
SELECT pgmq.drop_queue('sp_dlq');
DROP FUNCTION public.jsonb_build_object(text, text, text, text, text, bigint, text, timestamptz, text, timestamptz);
