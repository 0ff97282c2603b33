-- pgmq: install script (the single source; the Makefile copies it to pgmq--<version>.sql).
-- Objects, names, argument names, defaults and result types follow PGMQ 1.13 so that
-- PGMQ clients work unchanged; the message path is implemented in C++ (MODULE_PATHNAME).

\echo Use "CREATE EXTENSION pgmq" to load this file. \quit

-- Release 1.0.0 as shipped, but for one security fix made after the release: every SQL and
-- PL/pgSQL function pins search_path (pg_catalog, pg_temp), so that CREATE EXTENSION pgmq
-- VERSION '1.0.0' cannot install functions a better-matching object in public could hijack.

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
    LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.pg_advisory_xact_lock(
        pg_catalog.hashtext('pgmq.queue_' || substr(pgmq.format_table_name(queue_name, 'q'), 3)))
$$;

-- The statement trigger on every queue table that keeps the read hint right (see README).
CREATE FUNCTION pgmq._read_hint_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'pgmq_read_hint_guard' LANGUAGE C;

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
) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pgmq.validate_queue_name(queue_name);
    RAISE WARNING 'detach_archive(queue_name) is deprecated and is a no-op: archive tables are not extension members';
END
$$;

CREATE FUNCTION pgmq.list_queues() RETURNS SETOF pgmq.queue_record
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT queue_name, is_partitioned, is_unlogged, created_at FROM pgmq.meta ORDER BY queue_name
$$;

CREATE FUNCTION pgmq.metrics(queue_name text) RETURNS pgmq.metrics_result
    AS 'MODULE_PATHNAME', 'pgmq_metrics' LANGUAGE C VOLATILE;

CREATE FUNCTION pgmq.metrics_all() RETURNS SETOF pgmq.metrics_result
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
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
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    interval_ms integer;
BEGIN
    SELECT t.throttle_interval_ms INTO interval_ms
      FROM pgmq.notify_insert_throttle AS t WHERE t.queue_name = TG_ARGV[0];
    -- No throttle (interval 0, or the row is missing): notify, and lock nothing, so
    -- concurrent senders to the queue never wait for each other.
    IF NOT FOUND OR interval_ms = 0 THEN
        PERFORM pg_catalog.pg_notify('pgmq.' || TG_TABLE_NAME || '.INSERT', NULL);
        RETURN NEW;
    END IF;
    -- Throttled: at most one notification per interval. A sender that finds the row locked
    -- by another sender skips it: that sender's transaction is the one notifying.
    UPDATE pgmq.notify_insert_throttle AS t
       SET last_notified_at = clock_timestamp()
     WHERE t.queue_name = TG_ARGV[0]
       AND clock_timestamp() - t.last_notified_at >= t.throttle_interval_ms * interval '1 millisecond'
       AND t.ctid = (SELECT l.ctid FROM pgmq.notify_insert_throttle AS l
                      WHERE l.queue_name = TG_ARGV[0] FOR UPDATE SKIP LOCKED);
    IF FOUND THEN
        PERFORM pg_catalog.pg_notify('pgmq.' || TG_TABLE_NAME || '.INSERT', NULL);
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION pgmq.disable_notify_insert(queue_name text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT t.queue_name, t.throttle_interval_ms, t.last_notified_at
      FROM pgmq.notify_insert_throttle AS t ORDER BY t.queue_name
$$;

------------------------------------------------------------------------------
-- Policies: invalid (dead-letter) queues, deadlines, max deliveries, retention.
-- Not in PGMQ. Enforced by the background worker (shared_preload_libraries) or by
-- pgmq.run_maintenance(); max_deliveries is also enforced by every read. See README.
------------------------------------------------------------------------------

-- One row per queue that has a policy. NULL limits mean "no limit". invalid_queue has no
-- ON DELETE action: drop_queue refuses to drop a queue that is some queue's invalid queue.
CREATE TABLE pgmq.queue_policy (
    queue_name varchar PRIMARY KEY
        REFERENCES pgmq.meta (queue_name) ON DELETE CASCADE,
    invalid_queue varchar
        REFERENCES pgmq.meta (queue_name),
    max_deliveries integer CHECK (max_deliveries > 0),
    deadline_seconds integer CHECK (deadline_seconds > 0),
    retention_seconds integer CHECK (retention_seconds > 0),
    retention_action text NOT NULL DEFAULT 'archive' CHECK (retention_action IN ('archive', 'delete')),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    CHECK (invalid_queue IS DISTINCT FROM queue_name)
);
SELECT pg_catalog.pg_extension_config_dump('pgmq.queue_policy', '');

-- Counters of what policies did, per queue, updated in the same transaction as the moves.
CREATE TABLE pgmq.queue_policy_stats (
    queue_name varchar PRIMARY KEY
        REFERENCES pgmq.meta (queue_name) ON DELETE CASCADE,
    moved_deadline bigint NOT NULL DEFAULT 0,
    moved_max_deliveries bigint NOT NULL DEFAULT 0,
    removed_retention bigint NOT NULL DEFAULT 0,
    last_moved_at timestamp with time zone
);

-- Tells every backend's policy cache (read path) that policies changed.
CREATE FUNCTION pgmq._policy_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'pgmq_policy_changed' LANGUAGE C;
CREATE TRIGGER queue_policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgmq.queue_policy
    FOR EACH STATEMENT EXECUTE FUNCTION pgmq._policy_changed();
REVOKE ALL ON FUNCTION pgmq._policy_changed() FROM PUBLIC;

CREATE FUNCTION pgmq._existing_queue(queue_name text) RETURNS text
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    qname text;
BEGIN
    IF queue_name IS NULL THEN
        RAISE EXCEPTION 'queue_name must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    qname := substr(pgmq.format_table_name(queue_name, 'q'), 3);
    IF to_regclass(format('pgmq.%I', 'q_' || qname)) IS NULL
       OR NOT EXISTS (SELECT 1 FROM pgmq.meta AS m WHERE m.queue_name = qname) THEN
        RAISE EXCEPTION 'queue "%" does not exist', qname USING ERRCODE = 'undefined_table';
    END IF;
    RETURN qname;
END
$$;

CREATE FUNCTION pgmq.set_policy(
    queue_name text,
    invalid_queue text DEFAULT NULL,
    max_deliveries integer DEFAULT NULL,
    deadline_seconds integer DEFAULT NULL,
    retention_seconds integer DEFAULT NULL,
    retention_action text DEFAULT 'archive'
) RETURNS pgmq.queue_policy LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    qname text;
    iname text;
    walk text;
    path text;
    result pgmq.queue_policy;
BEGIN
    qname := pgmq._existing_queue(queue_name);
    IF max_deliveries IS NOT NULL AND max_deliveries < 1 THEN
        RAISE EXCEPTION 'max_deliveries must be greater than zero, got %', max_deliveries
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF deadline_seconds IS NOT NULL AND deadline_seconds < 1 THEN
        RAISE EXCEPTION 'deadline_seconds must be greater than zero, got %', deadline_seconds
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF retention_seconds IS NOT NULL AND retention_seconds < 1 THEN
        RAISE EXCEPTION 'retention_seconds must be greater than zero, got %', retention_seconds
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF retention_action IS NULL OR retention_action NOT IN ('archive', 'delete') THEN
        RAISE EXCEPTION 'retention_action must be ''archive'' or ''delete'', got %',
            coalesce(quote_literal(retention_action), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Policies change one at a time, so two concurrent calls cannot build a cycle together.
    LOCK TABLE pgmq.queue_policy IN SHARE ROW EXCLUSIVE MODE;
    IF invalid_queue IS NOT NULL THEN
        iname := pgmq._existing_queue(invalid_queue);
        IF iname = qname THEN
            RAISE EXCEPTION 'queue "%" cannot be its own invalid queue', qname
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        path := qname || ' -> ' || iname;
        walk := iname;
        LOOP
            SELECT p.invalid_queue INTO walk FROM pgmq.queue_policy AS p WHERE p.queue_name = walk;
            EXIT WHEN walk IS NULL;
            path := path || ' -> ' || walk;
            IF walk = qname THEN
                RAISE EXCEPTION 'invalid queues would form a cycle: %', path
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END LOOP;
    END IF;
    -- Reads of a queue with a policy remember when each message first became visible.
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute AS a
                    WHERE a.attrelid = format('pgmq.%I', 'q_' || qname)::regclass
                      AND a.attname = 'first_visible_at' AND NOT a.attisdropped) THEN
        EXECUTE format('ALTER TABLE pgmq.%I ADD COLUMN first_visible_at timestamp with time zone', 'q_' || qname);
    END IF;
    -- Deadline and retention candidates are found through enqueued_at.
    IF (deadline_seconds IS NOT NULL OR retention_seconds IS NOT NULL)
       AND to_regclass(format('pgmq.%I', 'enqueued_at_idx_' || qname)) IS NULL THEN
        EXECUTE format('CREATE INDEX %I ON pgmq.%I (enqueued_at)',
                       'enqueued_at_idx_' || qname, 'q_' || qname);
    END IF;
    INSERT INTO pgmq.queue_policy AS p (queue_name, invalid_queue, max_deliveries, deadline_seconds,
                                        retention_seconds, retention_action, updated_at)
        VALUES (qname, iname, max_deliveries, deadline_seconds, retention_seconds, retention_action, now())
        ON CONFLICT ON CONSTRAINT queue_policy_pkey DO UPDATE
        SET invalid_queue = EXCLUDED.invalid_queue, max_deliveries = EXCLUDED.max_deliveries,
            deadline_seconds = EXCLUDED.deadline_seconds, retention_seconds = EXCLUDED.retention_seconds,
            retention_action = EXCLUDED.retention_action, updated_at = EXCLUDED.updated_at
        RETURNING p.* INTO result;
    RETURN result;
END
$$;

CREATE FUNCTION pgmq.clear_policy(queue_name text) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    qname text := pgmq._existing_queue(queue_name);
BEGIN
    LOCK TABLE pgmq.queue_policy IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM pgmq.queue_policy AS p WHERE p.queue_name = qname;
    RETURN FOUND;
END
$$;

-- The queue's policy; a queue without one gets a row of NULL limits.
CREATE FUNCTION pgmq.policy(queue_name text) RETURNS pgmq.queue_policy
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    qname text := pgmq._existing_queue(queue_name);
    result pgmq.queue_policy;
BEGIN
    SELECT * INTO result FROM pgmq.queue_policy AS p WHERE p.queue_name = qname;
    IF NOT FOUND THEN
        result.queue_name := qname;
        result.retention_action := 'archive';
    END IF;
    RETURN result;
END
$$;

CREATE VIEW pgmq.policies AS
    SELECT queue_name, invalid_queue, max_deliveries, deadline_seconds, retention_seconds, retention_action,
           updated_at
      FROM pgmq.queue_policy ORDER BY queue_name;

-- Per database: the background worker's process and when it last finished a pass (shared memory).
CREATE FUNCTION pgmq.worker_status(
    OUT database name, OUT pid integer, OUT last_run_at timestamp with time zone, OUT passes bigint,
    OUT moved bigint
) RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'pgmq_worker_status' LANGUAGE C VOLATILE;

-- What policies did, per queue with a policy or a history; metrics() keeps PGMQ's columns.
CREATE FUNCTION pgmq.policy_metrics() RETURNS TABLE (
    queue_name text,
    invalid_queue text,
    moved_deadline bigint,
    moved_max_deliveries bigint,
    removed_retention bigint,
    total_moved bigint,
    last_moved_at timestamp with time zone,
    worker_last_run_at timestamp with time zone
) LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(p.queue_name, s.queue_name)::text, p.invalid_queue::text,
           coalesce(s.moved_deadline, 0), coalesce(s.moved_max_deliveries, 0), coalesce(s.removed_retention, 0),
           coalesce(s.moved_deadline + s.moved_max_deliveries + s.removed_retention, 0), s.last_moved_at,
           (SELECT w.last_run_at FROM pgmq.worker_status() AS w WHERE w.database = current_database())
      FROM pgmq.queue_policy AS p FULL JOIN pgmq.queue_policy_stats AS s ON s.queue_name = p.queue_name
     ORDER BY 1
$$;

-- One maintenance pass in the current database, in the caller's transaction (one
-- subtransaction per queue): what the worker does every pgmq.worker_interval_ms.
CREATE FUNCTION pgmq.run_maintenance(
    OUT queue_name text, OUT reason text, OUT destination text, OUT messages bigint
) RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'pgmq_run_maintenance' LANGUAGE C VOLATILE;

------------------------------------------------------------------------------
-- Internal
------------------------------------------------------------------------------

-- Makes core C++ code throw the named exception kind; tests the error boundary.
CREATE FUNCTION pgmq._boundary_selftest(kind text) RETURNS integer
    AS 'MODULE_PATHNAME', 'pgmq_boundary_selftest' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION pgmq._boundary_selftest(text) FROM PUBLIC;
