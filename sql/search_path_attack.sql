-- search_path_attack: an ordinary role that may create objects in schema public puts functions
-- and operators there that match the calls in pgmq's SQL and PL/pgSQL functions better than the
-- built-ins do (format(text, text) over format(text, VARIADIC "any"), integer * interval over
-- double precision * interval, varchar = text, ...). A superuser whose search_path starts with
-- public then uses every such pgmq function and sends to queues with a notify trigger (which
-- runs as the sender, throttled or not): none of the hostile objects runs, and pgmq works.
-- (search_path.sql covers the statements of the C++ functions.)
\set VERBOSITY terse
CREATE ROLE regress_pgmq_attacker;
GRANT CREATE ON SCHEMA public TO regress_pgmq_attacker;
SET ROLE regress_pgmq_attacker;
-- Each hostile object notes what ran and as whom, then does what the built-in would.
CREATE TABLE public.hijacked (what text, as_role name);
GRANT INSERT ON public.hijacked TO PUBLIC;
CREATE FUNCTION public.hijack_note(what text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO public.hijacked VALUES (what, current_user) $$;
CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE sql
    AS $$ SELECT public.hijack_note('format(text, text)'); SELECT pg_catalog.format($1, $2) $$;
CREATE FUNCTION public.format(text, text, text) RETURNS text LANGUAGE sql
    AS $$ SELECT public.hijack_note('format(text, text, text)'); SELECT pg_catalog.format($1, $2, $3) $$;
CREATE FUNCTION public.to_timestamp(integer) RETURNS timestamptz LANGUAGE sql
    AS $$ SELECT public.hijack_note('to_timestamp(integer)'); SELECT pg_catalog.to_timestamp($1) $$;
CREATE FUNCTION public.int_times_interval(integer, interval) RETURNS interval LANGUAGE sql
    AS $$ SELECT public.hijack_note('integer * interval'); SELECT $1::float8 OPERATOR(pg_catalog.*) $2 $$;
CREATE OPERATOR public.* (LEFTARG = integer, RIGHTARG = interval, FUNCTION = public.int_times_interval);
CREATE FUNCTION public.varchar_eq_text(varchar, text) RETURNS boolean LANGUAGE sql
    AS $$ SELECT public.hijack_note('varchar = text'); SELECT $1::text OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = text, FUNCTION = public.varchar_eq_text);
CREATE FUNCTION public.varchar_eq_varchar(varchar, varchar) RETURNS boolean LANGUAGE sql
    AS $$ SELECT public.hijack_note('varchar = varchar'); SELECT $1::text OPERATOR(pg_catalog.=) $2::text $$;
CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.varchar_eq_varchar);
CREATE FUNCTION public.name_concat(name, name) RETURNS text LANGUAGE sql
    AS $$ SELECT public.hijack_note('name || name'); SELECT $1::text OPERATOR(pg_catalog.||) $2::text $$;
CREATE OPERATOR public.|| (LEFTARG = name, RIGHTARG = name, FUNCTION = public.name_concat);
RESET ROLE;

SET search_path = public, pgmq;
SELECT pgmq.create('spa_q');
SELECT pgmq.create('spa_dlq');
-- notify: unthrottled, then throttled (update resets last_notified_at: the next send notifies)
SELECT pgmq.enable_notify_insert('spa_q', 0);
SELECT pgmq.send('spa_q', '{"n": 1}') > 0 AS sent;
SELECT pgmq.update_notify_insert('spa_q', 60000);
SELECT pgmq.send('spa_q', '{"n": 2}') > 0 AS sent;
SELECT queue_name, throttle_interval_ms, last_notified_at > pg_catalog.to_timestamp(0) AS notified
  FROM pgmq.list_notify_insert_throttles();
SELECT pgmq.send('spa_q', '{"n": 3}') > 0 AS sent;
SELECT queue_name FROM pgmq.list_queues();
SELECT queue_name, queue_length FROM pgmq.metrics_all();
-- policies
SELECT queue_name, invalid_queue, max_deliveries, deadline_seconds
  FROM pgmq.set_policy('spa_q', invalid_queue => 'spa_dlq', max_deliveries => 3, deadline_seconds => 60);
SELECT queue_name, invalid_queue, max_deliveries FROM pgmq.policy('spa_q');
SELECT queue_name, invalid_queue, max_deliveries FROM pgmq.policy('spa_dlq');
SELECT queue_name, invalid_queue, max_deliveries FROM pgmq.policies;
SELECT queue_name, invalid_queue, total_moved FROM pgmq.policy_metrics();
SELECT pgmq.clear_policy('spa_q');
SELECT pgmq.disable_notify_insert('spa_q');
SELECT count(*) AS throttles FROM pgmq.list_notify_insert_throttles();
SELECT pgmq.detach_archive('spa_q');
RESET search_path;

-- nothing of the attacker's ran
SELECT what, as_role, count(*) FROM public.hijacked GROUP BY 1, 2 ORDER BY 1, 2;

SELECT pgmq.drop_queue('spa_q'), pgmq.drop_queue('spa_dlq');
DROP OWNED BY regress_pgmq_attacker;
DROP ROLE regress_pgmq_attacker;
