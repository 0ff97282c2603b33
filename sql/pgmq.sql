-- pgmq: install script (the single source; the Makefile copies it to pgmq--<version>.sql).
-- Objects, names, argument names, defaults and result types follow PGMQ 1.13 so that
-- PGMQ clients work unchanged; the message path is implemented in C++ (MODULE_PATHNAME).

\echo Use "CREATE EXTENSION pgmq" to load this file. \quit

------------------------------------------------------------------------------
-- Tables and types
------------------------------------------------------------------------------

-- One row per queue. Queue names are stored lower-cased (see README).
CREATE TABLE pgmq.meta (
    queue_name varchar NOT NULL UNIQUE,
    is_partitioned boolean NOT NULL,
    is_unlogged boolean NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('pgmq.meta', '');

-- Logged, unlike PGMQ's: an unlogged table is emptied by crash recovery and on a promoted standby
-- while the queue's notify trigger stays, so notifications would stop and the setting vanish.
CREATE TABLE pgmq.notify_insert_throttle (
    queue_name varchar NOT NULL UNIQUE
        CONSTRAINT notify_insert_throttle_meta_queue_name_fk
        REFERENCES pgmq.meta (queue_name) ON DELETE CASCADE,
    throttle_interval_ms integer NOT NULL DEFAULT 0,
    last_notified_at timestamp with time zone NOT NULL DEFAULT to_timestamp(0)
);
SELECT pg_catalog.pg_extension_config_dump('pgmq.notify_insert_throttle', '');

CREATE TYPE pgmq.message_record AS (
    msg_id bigint,
    read_ct integer,
    enqueued_at timestamp with time zone,
    last_read_at timestamp with time zone,
    vt timestamp with time zone,
    message jsonb,
    headers jsonb
);

CREATE TYPE pgmq.queue_record AS (
    queue_name varchar,
    is_partitioned boolean,
    is_unlogged boolean,
    created_at timestamp with time zone
);

CREATE TYPE pgmq.metrics_result AS (
    queue_name text,
    queue_length bigint,
    newest_msg_age_sec integer,
    oldest_msg_age_sec integer,
    total_messages bigint,
    scrape_time timestamp with time zone,
    queue_visible_length bigint,
    default_partition_length bigint
);

------------------------------------------------------------------------------
-- Queue management
------------------------------------------------------------------------------

CREATE FUNCTION pgmq.validate_queue_name(queue_name text) RETURNS void
    AS 'MODULE_PATHNAME', 'pgmq_validate_queue_name' LANGUAGE C VOLATILE;

CREATE FUNCTION pgmq.format_table_name(queue_name text, prefix text) RETURNS text
    AS 'MODULE_PATHNAME', 'pgmq_format_table_name' LANGUAGE C IMMUTABLE;

CREATE FUNCTION pgmq.acquire_queue_lock(queue_name text) RETURNS void
    LANGUAGE sql AS $$
    SELECT pg_catalog.pg_advisory_xact_lock(
        pg_catalog.hashtext('pgmq.queue_' || substr(pgmq.format_table_name(queue_name, 'q'), 3)))
$$;

CREATE FUNCTION pgmq."create"(queue_name text) RETURNS void
    AS 'MODULE_PATHNAME', 'pgmq_create' LANGUAGE C VOLATILE;

CREATE FUNCTION pgmq.create_non_partitioned(queue_name text) RETURNS void
    AS 'MODULE_PATHNAME', 'pgmq_create' LANGUAGE C VOLATILE;

CREATE FUNCTION pgmq.create_unlogged(queue_name text) RETURNS void
    AS 'MODULE_PATHNAME', 'pgmq_create_unlogged' LANGUAGE C VOLATILE;

CREATE FUNCTION pgmq.create_partitioned(
    queue_name text,
    partition_interval text DEFAULT '10000',
    retention_interval text DEFAULT '100000',
    premake integer DEFAULT 4
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'partitioned queues are not supported by this pgmq'
        USING ERRCODE = 'feature_not_supported',
              HINT = 'Use pgmq.create() and pgmq.set_policy(..., retention_seconds => ...) for retention.';
END
$$;

CREATE FUNCTION pgmq.convert_archive_partitioned(
    table_name text,
    partition_interval text DEFAULT '10000',
    retention_interval text DEFAULT '100000',
    leading_partition integer DEFAULT 10
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'partitioned archives are not supported by this pgmq'
        USING ERRCODE = 'feature_not_supported';
END
$$;

CREATE FUNCTION pgmq.drop_queue(queue_name text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgmq_drop_queue' LANGUAGE C VOLATILE;

CREATE FUNCTION pgmq.drop_queue(queue_name text, partitioned boolean) RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgmq_drop_queue_partitioned' LANGUAGE C VOLATILE;

CREATE FUNCTION pgmq.purge_queue(queue_name text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'pgmq_purge_queue' LANGUAGE C VOLATILE;

CREATE FUNCTION pgmq.detach_archive(queue_name text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pgmq.validate_queue_name(queue_name);
    RAISE WARNING 'detach_archive(queue_name) is deprecated and is a no-op: archive tables are not extension members';
END
$$;

CREATE FUNCTION pgmq.list_queues() RETURNS SETOF pgmq.queue_record
    LANGUAGE sql STABLE AS $$
    SELECT queue_name, is_partitioned, is_unlogged, created_at FROM pgmq.meta ORDER BY queue_name
$$;

CREATE FUNCTION pgmq.metrics(queue_name text) RETURNS pgmq.metrics_result
    AS 'MODULE_PATHNAME', 'pgmq_metrics' LANGUAGE C VOLATILE;

CREATE FUNCTION pgmq.metrics_all() RETURNS SETOF pgmq.metrics_result
    LANGUAGE sql VOLATILE AS $$
    SELECT m.* FROM pgmq.meta AS q, LATERAL pgmq.metrics(q.queue_name) AS m ORDER BY q.queue_name
$$;

------------------------------------------------------------------------------
-- Sending
------------------------------------------------------------------------------

CREATE FUNCTION pgmq.send(queue_name text, msg jsonb) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send' LANGUAGE C VOLATILE ROWS 1;
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_headers' LANGUAGE C VOLATILE ROWS 1;
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, delay integer) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_delay' LANGUAGE C VOLATILE ROWS 1;
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, delay timestamp with time zone) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_at' LANGUAGE C VOLATILE ROWS 1;
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb, delay integer) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_headers_delay' LANGUAGE C VOLATILE ROWS 1;
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb, delay timestamp with time zone)
    RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_headers_at' LANGUAGE C VOLATILE ROWS 1;

CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[]) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_batch' LANGUAGE C VOLATILE;
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[]) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_headers' LANGUAGE C VOLATILE;
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], delay integer) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_delay' LANGUAGE C VOLATILE;
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], delay timestamp with time zone)
    RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_at' LANGUAGE C VOLATILE;
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[], delay integer)
    RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_headers_delay' LANGUAGE C VOLATILE;
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[], delay timestamp with time zone)
    RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_headers_at' LANGUAGE C VOLATILE;

------------------------------------------------------------------------------
-- Reading and acknowledging
------------------------------------------------------------------------------

CREATE FUNCTION pgmq.read(queue_name text, vt integer, qty integer, conditional jsonb DEFAULT '{}')
    RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_read' LANGUAGE C VOLATILE;

CREATE FUNCTION pgmq.read_with_poll(
    queue_name text,
    vt integer,
    qty integer,
    max_poll_seconds integer DEFAULT 5,
    poll_interval_ms integer DEFAULT 100,
    conditional jsonb DEFAULT '{}'
) RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_read_with_poll' LANGUAGE C VOLATILE;

CREATE FUNCTION pgmq.pop(queue_name text, qty integer DEFAULT 1) RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_pop' LANGUAGE C VOLATILE;

CREATE FUNCTION pgmq.delete(queue_name text, msg_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgmq_delete' LANGUAGE C VOLATILE;
CREATE FUNCTION pgmq.delete(queue_name text, msg_ids bigint[]) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_delete_batch' LANGUAGE C VOLATILE;

CREATE FUNCTION pgmq.archive(queue_name text, msg_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgmq_archive' LANGUAGE C VOLATILE;
CREATE FUNCTION pgmq.archive(queue_name text, msg_ids bigint[]) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_archive_batch' LANGUAGE C VOLATILE;

CREATE FUNCTION pgmq.set_vt(queue_name text, msg_id bigint, vt integer) RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_set_vt' LANGUAGE C VOLATILE;
CREATE FUNCTION pgmq.set_vt(queue_name text, msg_id bigint, vt timestamp with time zone)
    RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_set_vt_at' LANGUAGE C VOLATILE;
CREATE FUNCTION pgmq.set_vt(queue_name text, msg_ids bigint[], vt integer) RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_set_vt_batch' LANGUAGE C VOLATILE;
CREATE FUNCTION pgmq.set_vt(queue_name text, msg_ids bigint[], vt timestamp with time zone)
    RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_set_vt_batch_at' LANGUAGE C VOLATILE;
-- Not in PGMQ: the overload that set_vt($1, $2, $3) with untyped parameters resolves to,
-- so that drivers sending unknown-typed parameters (pgmq-js) work. See README.
CREATE FUNCTION pgmq.set_vt(queue_name text, msg_id text, vt text) RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_set_vt_text' LANGUAGE C VOLATILE;

------------------------------------------------------------------------------
-- Insert notifications (LISTEN "pgmq.q_<name>.INSERT"), delivered at commit
------------------------------------------------------------------------------

CREATE FUNCTION pgmq.notify_queue_listeners() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    -- Notify at most once per throttle interval; the row lock orders concurrent senders.
    UPDATE pgmq.notify_insert_throttle AS t
       SET last_notified_at = clock_timestamp()
     WHERE t.queue_name = TG_ARGV[0]
       AND (t.throttle_interval_ms = 0
            OR clock_timestamp() - t.last_notified_at >= t.throttle_interval_ms * interval '1 millisecond');
    IF FOUND THEN
        PERFORM pg_catalog.pg_notify('pgmq.' || TG_TABLE_NAME || '.INSERT', NULL);
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION pgmq.disable_notify_insert(queue_name text) RETURNS void
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    qtable text := pgmq.format_table_name(disable_notify_insert.queue_name, 'q');
BEGIN
    IF to_regclass(format('pgmq.%I', qtable)) IS NOT NULL THEN
        EXECUTE format('DROP TRIGGER IF EXISTS trigger_notify_queue_insert_listeners ON pgmq.%I', qtable);
    END IF;
    DELETE FROM pgmq.notify_insert_throttle AS t WHERE t.queue_name = substr(qtable, 3);
END
$$;

CREATE FUNCTION pgmq.enable_notify_insert(queue_name text, throttle_interval_ms integer DEFAULT 250)
    RETURNS void LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    qtable text := pgmq.format_table_name(enable_notify_insert.queue_name, 'q');
    qname text := substr(qtable, 3);
BEGIN
    IF enable_notify_insert.throttle_interval_ms IS NULL THEN
        RAISE EXCEPTION 'throttle_interval_ms must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF enable_notify_insert.throttle_interval_ms < 0 THEN
        RAISE EXCEPTION 'throttle_interval_ms must be non-negative, got %', enable_notify_insert.throttle_interval_ms
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF to_regclass(format('pgmq.%I', qtable)) IS NULL THEN
        RAISE EXCEPTION 'queue "%" does not exist', qname USING ERRCODE = 'undefined_table';
    END IF;
    PERFORM pgmq.disable_notify_insert(qname);
    INSERT INTO pgmq.notify_insert_throttle (queue_name, throttle_interval_ms)
        VALUES (qname, enable_notify_insert.throttle_interval_ms);
    EXECUTE format('CREATE CONSTRAINT TRIGGER trigger_notify_queue_insert_listeners AFTER INSERT ON pgmq.%I '
                   'DEFERRABLE FOR EACH ROW EXECUTE PROCEDURE pgmq.notify_queue_listeners(%L)', qtable, qname);
END
$$;

CREATE FUNCTION pgmq.update_notify_insert(queue_name text, throttle_interval_ms integer)
    RETURNS void LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    qtable text := pgmq.format_table_name(update_notify_insert.queue_name, 'q');
    qname text := substr(qtable, 3);
BEGIN
    IF update_notify_insert.throttle_interval_ms IS NULL THEN
        RAISE EXCEPTION 'throttle_interval_ms must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF update_notify_insert.throttle_interval_ms < 0 THEN
        RAISE EXCEPTION 'throttle_interval_ms must be non-negative, got: %', update_notify_insert.throttle_interval_ms
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF to_regclass(format('pgmq.%I', qtable)) IS NULL THEN
        RAISE EXCEPTION 'queue "%" does not exist', qname USING ERRCODE = 'undefined_table';
    END IF;
    UPDATE pgmq.notify_insert_throttle AS t
       SET throttle_interval_ms = update_notify_insert.throttle_interval_ms,
           last_notified_at = to_timestamp(0)
     WHERE t.queue_name = qname;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'queue "%" does not have notify_insert enabled', qname
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Enable it first with pgmq.enable_notify_insert().';
    END IF;
END
$$;

CREATE FUNCTION pgmq.list_notify_insert_throttles()
    RETURNS TABLE (queue_name text, throttle_interval_ms integer, last_notified_at timestamp with time zone)
    LANGUAGE sql STABLE AS $$
    SELECT t.queue_name, t.throttle_interval_ms, t.last_notified_at
      FROM pgmq.notify_insert_throttle AS t ORDER BY t.queue_name
$$;

------------------------------------------------------------------------------
-- Internal
------------------------------------------------------------------------------

-- Makes core C++ code throw the named exception kind; tests the error boundary.
CREATE FUNCTION pgmq._boundary_selftest(kind text) RETURNS integer
    AS 'MODULE_PATHNAME', 'pgmq_boundary_selftest' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION pgmq._boundary_selftest(text) FROM PUBLIC;
