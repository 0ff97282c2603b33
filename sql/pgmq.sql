-- pgmq: install script (the single source; the Makefile copies it to pgmq--<version>.sql).
-- Objects, names, argument names, defaults and result types follow PGMQ 1.13 so that
-- PGMQ clients work unchanged; the message path is implemented in C++ (MODULE_PATHNAME).
--
-- Every SQL and PL/pgSQL function runs with SET search_path = pg_catalog, pg_temp and names
-- pgmq's objects with their schema: a function or operator someone created in a schema on the
-- caller's path (format(text, text), integer * interval, ...) matches better than a built-in
-- and would otherwise run as the caller. This script qualifies the built-ins that its tables'
-- defaults and constraints call, because it runs with search_path = pgmq, pg_temp.

\echo Use "CREATE EXTENSION pgmq" to load this file. \quit

-- Nobody but the role running this script may create objects in schema pgmq: they would be
-- found by this script (its search_path is pgmq, pg_temp) and by the calls of pgmq's functions
-- to each other. CREATE EXTENSION creates the schema so; one that existed before is checked.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace AS n
                WHERE n.nspname OPERATOR(pg_catalog.=) 'pgmq'
                  AND (n.nspowner OPERATOR(pg_catalog.<>) (SELECT r.oid FROM pg_catalog.pg_roles AS r
                                                           WHERE r.rolname OPERATOR(pg_catalog.=) current_user)
                       OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(n.nspacl) AS a
                                   WHERE a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
                                     AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner))) THEN
        RAISE EXCEPTION 'schema "pgmq" must be owned by the role creating the extension, and only it may create objects there'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Drop the existing schema pgmq, or create the extension as its owner after revoking CREATE on it from other roles.';
    END IF;
END
$$;

------------------------------------------------------------------------------
-- Tables and types
------------------------------------------------------------------------------

-- One row per queue. queue_name is the name as first given to create (as PGMQ keeps it); queue_key
-- is its ASCII lower-case form, the queue's identity: 'Foo' and 'foo' are one queue (tables q_foo and
-- a_foo), and pgmq's other tables name queues by queue_key.
CREATE TABLE pgmq.meta (
    queue_name varchar NOT NULL UNIQUE,
    is_partitioned boolean NOT NULL,
    is_unlogged boolean NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT pg_catalog.now(),
    queue_key varchar NOT NULL GENERATED ALWAYS AS (pg_catalog.lower(queue_name::text COLLATE "C")) STORED
        CONSTRAINT meta_queue_key_key UNIQUE
);
SELECT pg_catalog.pg_extension_config_dump('pgmq.meta', '');

-- Logged, unlike PGMQ's: an unlogged table is emptied by crash recovery and on a promoted standby
-- while the queue's notify trigger stays, so notifications would stop and the setting vanish.
CREATE TABLE pgmq.notify_insert_throttle (
    queue_name varchar NOT NULL UNIQUE
        CONSTRAINT notify_insert_throttle_meta_queue_name_fk
        REFERENCES pgmq.meta (queue_key) ON DELETE CASCADE,
    throttle_interval_ms integer NOT NULL DEFAULT 0,
    last_notified_at timestamp with time zone NOT NULL DEFAULT pg_catalog.to_timestamp(0)
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
COMMENT ON FUNCTION pgmq.validate_queue_name(text) IS 'Raises P0001 unless the name is a valid queue name (at most 47 printable ASCII characters, none of $ ; -- ''); with pgmq.strict_input, 22023 unless it has 1 to 47 characters from A-Z a-z 0-9 _ -.';

CREATE FUNCTION pgmq.format_table_name(queue_name text, prefix text) RETURNS text
    AS 'MODULE_PATHNAME', 'pgmq_format_table_name' LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION pgmq.format_table_name(text,text) IS 'The table name <prefix>_<queue_name> of a queue, lower-cased; prefix q is the queue table, a its archive.';

-- pg_advisory_xact_lock(hashtext('pgmq.queue_<name>')), as create and drop_queue take it; only for the
-- queue's owner, or for a missing queue a role with CREATE on schema pgmq (42501 otherwise).
CREATE FUNCTION pgmq.acquire_queue_lock(queue_name text) RETURNS void
    AS 'MODULE_PATHNAME', 'pgmq_acquire_queue_lock' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.acquire_queue_lock(text) IS 'Takes the transaction-level advisory lock that create and drop_queue take for this queue (queue owner only).';

-- The statement trigger on every queue table that keeps the read hint right (see README).
CREATE FUNCTION pgmq._read_hint_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'pgmq_read_hint_guard' LANGUAGE C;
COMMENT ON FUNCTION pgmq._read_hint_guard() IS 'Internal: statement trigger on every queue table that keeps the shared-memory read hint right after plain SQL changes.';
CREATE FUNCTION pgmq._read_hint(queue regclass, OUT low bigint, OUT valid_until timestamp with time zone,
                                OUT floor bigint)
    AS 'MODULE_PATHNAME', 'pgmq__read_hint' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION pgmq._read_hint(regclass) IS 'Internal: the shared-memory read hint of a queue table (no visible message below low before valid_until, none below floor until a reset), NULLs when it has none; for tests and diagnostics.';

CREATE FUNCTION pgmq."create"(queue_name text) RETURNS void
    AS 'MODULE_PATHNAME', 'pgmq_create' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq."create"(text) IS 'Creates a queue: table pgmq.q_<name> and archive pgmq.a_<name>; a notice if it exists.';

CREATE FUNCTION pgmq.create_non_partitioned(queue_name text) RETURNS void
    AS 'MODULE_PATHNAME', 'pgmq_create' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.create_non_partitioned(text) IS 'Creates a queue, as pgmq.create does.';

CREATE FUNCTION pgmq.create_unlogged(queue_name text) RETURNS void
    AS 'MODULE_PATHNAME', 'pgmq_create_unlogged' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.create_unlogged(text) IS 'Creates a queue whose table is UNLOGGED (faster, emptied by a crash; its msg_id sequence stays logged).';

-- Partitioned queues (PGMQ's create_partitioned, without pg_partman). One row per partitioned
-- queue or archive table; pgmq's worker (or pgmq.run_maintenance) creates its partitions premake
-- ahead and drops those wholly older than the retention; a send or archive whose row has no
-- partition yet creates it on demand. See README, "Partitioned queues".
CREATE TABLE pgmq.partition_config (
    table_name varchar PRIMARY KEY,
    queue_name varchar NOT NULL
        REFERENCES pgmq.meta (queue_key) ON DELETE CASCADE,
    control text NOT NULL CHECK (control IN ('msg_id', 'enqueued_at', 'archived_at')),
    partition_interval text NOT NULL,
    retention_interval text,
    premake integer NOT NULL CHECK (premake >= 1)
);
SELECT pg_catalog.pg_extension_config_dump('pgmq.partition_config', '');

-- _partition_step parses a partition or retention interval as create_partitioned takes it: an
-- integer (a number of msg_ids) or an interval (a span of time; PGMQ's pg_partman 4 names hourly,
-- daily, weekly, monthly, quarterly and yearly also work).
CREATE FUNCTION pgmq._partition_step(value text, what text, OUT ids bigint, OUT span interval)
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    months integer;
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', what USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF value ~ '^\s*[+-]?[0-9]+\s*$' THEN
        BEGIN
            ids := value::bigint;
        EXCEPTION WHEN numeric_value_out_of_range THEN
            RAISE EXCEPTION '% is out of range: %', what, value USING ERRCODE = 'invalid_parameter_value';
        END;
        IF ids < 1 THEN
            RAISE EXCEPTION '% must be greater than zero, got %', what, value USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RETURN;
    END IF;
    span := CASE lower(btrim(value))
                WHEN 'hourly' THEN interval '1 hour' WHEN 'daily' THEN interval '1 day'
                WHEN 'weekly' THEN interval '1 week' WHEN 'monthly' THEN interval '1 month'
                WHEN 'quarterly' THEN interval '3 months' WHEN 'yearly' THEN interval '1 year' END;
    IF span IS NULL THEN
        BEGIN
            span := value::interval;
        EXCEPTION WHEN OTHERS THEN
            RAISE EXCEPTION '% must be a number of messages or an interval, got %', what, quote_literal(value)
                USING ERRCODE = 'invalid_parameter_value';
        END;
    END IF;
    months := extract(year FROM span)::integer * 12 + extract(month FROM span)::integer;
    IF span <= interval '0' OR (months <> 0 AND span <> make_interval(months => months))
       OR (months = 0 AND extract(epoch FROM span) <= 0) THEN
        RAISE EXCEPTION '% must be a positive interval of months, or of days and smaller units, got %', what,
            quote_literal(value) USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;
COMMENT ON FUNCTION pgmq._partition_step(text,text) IS 'Internal: a partition or retention interval as a number of msg_ids or a span of time; raises 22023 otherwise.';

-- _partition_start is the start of the partition of range step holding value: msg_ids in ranges
-- [k * ids, (k + 1) * ids), times in bins of span from 2000-01-01 00:00 UTC (whole months in UTC).
CREATE FUNCTION pgmq._partition_start(value text, ids bigint, span interval) RETURNS text
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v bigint;
    t timestamp;
    months integer;
    k bigint;
BEGIN
    IF ids IS NOT NULL THEN
        v := value::bigint;
        RETURN (v - (((v % ids) + ids) % ids))::text;
    END IF;
    months := extract(year FROM span)::integer * 12 + extract(month FROM span)::integer;
    IF months = 0 THEN
        RETURN date_bin(span, value::timestamptz, timestamptz '2000-01-01 00:00:00+00')::text;
    END IF;
    t := value::timestamptz AT TIME ZONE 'UTC';
    k := (extract(year FROM t)::integer - 2000) * 12 + extract(month FROM t)::integer - 1;
    k := k - (((k % months) + months) % months);
    RETURN ((timestamp '2000-01-01 00:00:00' + make_interval(months => k::integer)) AT TIME ZONE 'UTC')::text;
END
$$;
COMMENT ON FUNCTION pgmq._partition_start(text,bigint,interval) IS 'Internal: the lower bound of the partition that holds a msg_id or time.';

-- _partition_next is the bound step after start (times computed in UTC).
CREATE FUNCTION pgmq._partition_next(start text, ids bigint, span interval) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN ids IS NOT NULL THEN (start::bigint + ids)::text
                ELSE (((start::timestamptz AT TIME ZONE 'UTC') + span) AT TIME ZONE 'UTC')::text END
$$;
COMMENT ON FUNCTION pgmq._partition_next(text,bigint,interval) IS 'Internal: the upper bound of the partition that starts at start.';

-- The partitions of a partitioned table with their bounds as text (NULL: unbounded, or the default partition).
CREATE FUNCTION pgmq._partitions(parent regclass)
    RETURNS TABLE (partition regclass, lower_bound text, upper_bound text, is_default boolean)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.oid::regclass,
           CASE WHEN b[1] IN ('MINVALUE', 'MAXVALUE') THEN NULL ELSE btrim(b[1], '''') END,
           CASE WHEN b[2] IN ('MINVALUE', 'MAXVALUE') THEN NULL ELSE btrim(b[2], '''') END,
           pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'
      FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
      LEFT JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), '^FOR VALUES FROM \((.*)\) TO \((.*)\)$') AS b ON true
     WHERE i.inhparent = parent
       AND pg_get_expr(c.relpartbound, c.oid) IS NOT NULL  -- NULL: dropped meanwhile
     ORDER BY pg_catalog.length(b[1]), b[1]  -- numbers and times alike in order (bounds are never negative)
$$;
COMMENT ON FUNCTION pgmq._partitions(regclass) IS 'Internal: the partitions of a partitioned table and their range bounds.';

-- _maintain_partitions is one maintenance step of one partitioned queue or archive table, run as
-- its owner (by the worker, run_maintenance, or a send or archive whose row found no partition):
-- it creates the partition of the current msg_id (the sequence's next value) or time, those of
-- the next extra msg_ids (a batch about to be sent) and premake more after them, the partition of
-- failing_value if given (and up to 7 after it), and with drop_old drops the partitions
-- whose whole range lies more than the retention before the current msg_id or time. A partition is
-- made as a table of its own and then attached (SHARE UPDATE EXCLUSIVE on the parent: sends and
-- reads go on); a drop needs ACCESS EXCLUSIVE on the parent, taken without waiting when nowait.
CREATE FUNCTION pgmq._maintain_partitions(
    parent regclass, queue_name text, control text, partition_interval text, retention_interval text,
    premake integer, extra bigint, failing_value text, drop_old boolean, nowait boolean
) RETURNS TABLE (action text, partition_name text, messages bigint)
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    step record;
    keep record;
    seq text;
    point text;
    horizon text;
    start text;
    bound text;
    wanted text[] := ARRAY[]::text[];
    name text;
    suffix text;
    p record;
    n bigint;
    is_queue boolean := control <> 'archived_at' AND (SELECT c.relname FROM pg_class AS c WHERE c.oid = parent) LIKE 'q\_%';
    locked boolean;
BEGIN
    step := pgmq._partition_step(partition_interval, 'partition_interval');
    IF control = 'msg_id' THEN
        seq := pg_get_serial_sequence(format('pgmq.%I', 'q_' || queue_name), 'msg_id');
        IF seq IS NULL THEN
            point := '1';
        ELSE
            EXECUTE format('SELECT CASE WHEN s.is_called THEN s.last_value OPERATOR(pg_catalog.+) 1 ELSE s.last_value END::text FROM %s AS s', seq)
                INTO point;
        END IF;
    ELSE
        point := now()::text;
    END IF;
    -- Drops first: the lock they need is the stronger one.
    IF drop_old AND retention_interval IS NOT NULL THEN
        keep := pgmq._partition_step(retention_interval, 'retention_interval');
        IF step.ids IS NOT NULL THEN
            horizon := (point::bigint - keep.ids)::text;
        ELSE
            horizon := (now() - keep.span)::text;
        END IF;
        locked := false;
        FOR p IN SELECT * FROM pgmq._partitions(parent) AS x
                  WHERE x.upper_bound IS NOT NULL
                    AND CASE WHEN step.ids IS NOT NULL THEN x.upper_bound::bigint <= horizon::bigint
                             ELSE x.upper_bound::timestamptz <= horizon::timestamptz END LOOP
            IF NOT locked THEN
                IF nowait THEN
                    BEGIN
                        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE NOWAIT', parent);
                    EXCEPTION WHEN lock_not_available THEN
                        EXIT;  -- busy: the next pass drops them
                    END;
                ELSE
                    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', parent);
                END IF;
                locked := true;
            END IF;
            EXECUTE format('SELECT pg_catalog.count(*) FROM %s', p.partition) INTO n;
            name := p.partition::text;
            EXECUTE format('DROP TABLE %s', p.partition);
            action := 'dropped'; partition_name := name; messages := n;
            RETURN NEXT;
        END LOOP;
    END IF;
    -- The partitions wanted: the current one, premake after it, and the one of the failing row.
    start := pgmq._partition_start(point, step.ids, step.span);
    IF step.ids IS NOT NULL AND extra > 0 THEN
        -- The partitions of a batch about to be sent, then premake after the last one.
        WHILE start::bigint + step.ids <= point::bigint + extra LOOP
            wanted := wanted || start;
            start := pgmq._partition_next(start, step.ids, step.span);
        END LOOP;
    END IF;
    FOR i IN 0 .. premake LOOP
        wanted := wanted || start;
        start := pgmq._partition_next(start, step.ids, step.span);
    END LOOP;
    IF failing_value IS NOT NULL THEN
        -- The failing row's partition and, as a statement's rows (an archive of many) usually
        -- follow it, up to 7 more towards the current one.
        start := pgmq._partition_start(failing_value, step.ids, step.span);
        FOR i IN 0 .. 7 LOOP
            wanted := wanted || start;
            start := pgmq._partition_next(start, step.ids, step.span);
            EXIT WHEN CASE WHEN step.ids IS NOT NULL THEN start::bigint > point::bigint
                           ELSE start::timestamptz > point::timestamptz END;
        END LOOP;
    END IF;
    FOREACH start IN ARRAY wanted LOOP
        bound := pgmq._partition_next(start, step.ids, step.span);
        CONTINUE WHEN EXISTS (
            SELECT 1 FROM pgmq._partitions(parent) AS x
             WHERE x.is_default IS NOT TRUE
               AND CASE WHEN step.ids IS NOT NULL
                        THEN (x.lower_bound IS NULL OR x.lower_bound::bigint < bound::bigint)
                         AND (x.upper_bound IS NULL OR x.upper_bound::bigint > start::bigint)
                        ELSE (x.lower_bound IS NULL OR x.lower_bound::timestamptz < bound::timestamptz)
                         AND (x.upper_bound IS NULL OR x.upper_bound::timestamptz > start::timestamptz) END);
        suffix := '_p' || CASE WHEN step.ids IS NOT NULL THEN start
                               ELSE to_char(start::timestamptz AT TIME ZONE 'UTC', 'YYYYMMDD"_"HH24MISS') END;
        name := left((SELECT c.relname FROM pg_class AS c WHERE c.oid = parent), 63 - length(suffix)) || suffix;
        IF to_regclass(format('pgmq.%I', name)) IS NOT NULL THEN
            -- Attached since this transaction's snapshot was taken (REPEATABLE READ): nothing to do.
            CONTINUE WHEN pg_partition_root(to_regclass(format('pgmq.%I', name))) = parent;
            RAISE EXCEPTION 'cannot create partition "%" of %: a relation of that name exists', name, parent
                USING ERRCODE = 'duplicate_table';
        END IF;
        EXECUTE format('CREATE TABLE pgmq.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)%s', name, parent,
                       CASE WHEN is_queue THEN format(' WITH (fillfactor = %s)',
                            coalesce(current_setting('pgmq.queue_fillfactor', true), '100')) ELSE '' END);
        IF step.ids IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %s ATTACH PARTITION pgmq.%I FOR VALUES FROM (%s) TO (%s)',
                           parent, name, start, bound);
        ELSE
            EXECUTE format('ALTER TABLE %s ATTACH PARTITION pgmq.%I FOR VALUES FROM (%L) TO (%L)',
                           parent, name, start, bound);
        END IF;
        action := 'created'; partition_name := format('pgmq.%I', name); messages := 0;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION pgmq._maintain_partitions(regclass,text,text,text,text,integer,bigint,text,boolean,boolean) IS 'Internal: creates a partitioned queue''s or archive''s partitions ahead (and one for a failing row) and drops those past the retention.';

CREATE FUNCTION pgmq._partition_control(partition_interval text, archive boolean) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN (pgmq._partition_step(partition_interval, 'partition_interval')).ids IS NOT NULL THEN 'msg_id'
                WHEN archive THEN 'archived_at' ELSE 'enqueued_at' END
$$;
COMMENT ON FUNCTION pgmq._partition_control(text,boolean) IS 'Internal: the partition column for an interval: msg_id for a number, else enqueued_at (archived_at in an archive).';

-- _check_partition_args checks create_partitioned's and convert_archive_partitioned's arguments.
CREATE FUNCTION pgmq._check_partition_args(partition_interval text, retention_interval text, premake integer)
    RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    step record := pgmq._partition_step(partition_interval, 'partition_interval');
    keep record;
BEGIN
    IF premake IS NULL THEN
        RAISE EXCEPTION 'premake must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF premake < 1 THEN
        RAISE EXCEPTION 'premake must be at least 1, got %', premake;
    END IF;
    IF premake > 1000 THEN
        RAISE EXCEPTION 'premake must be at most 1000, got %', premake USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF retention_interval IS NOT NULL THEN
        keep := pgmq._partition_step(retention_interval, 'retention_interval');
        IF (step.ids IS NULL) <> (keep.ids IS NULL) THEN
            RAISE EXCEPTION 'retention_interval % must be of the kind of partition_interval %',
                quote_literal(retention_interval), quote_literal(partition_interval)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Both are numbers of messages (msg_id ranges) or both are intervals of time.';
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION pgmq._check_partition_args(text,text,integer) IS 'Internal: raises unless the partition interval, retention interval and premake are valid together.';

CREATE FUNCTION pgmq.create_partitioned(
    queue_name text,
    partition_interval text DEFAULT '10000',
    retention_interval text DEFAULT '100000',
    premake integer DEFAULT 4
) RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    qname text;
    qtable text;
    atable text;
    control text;
    acontrol text;
    kind "char";
BEGIN
    qtable := pgmq.format_table_name(queue_name, 'q');  -- checks the name (P0001, 22004)
    qname := substr(qtable, 3);
    atable := 'a_' || qname;
    PERFORM pgmq._check_partition_args(partition_interval, retention_interval, premake);
    control := pgmq._partition_control(partition_interval, false);
    acontrol := pgmq._partition_control(partition_interval, true);
    PERFORM pgmq.acquire_queue_lock(qname);
    SELECT c.relkind INTO kind FROM pg_class AS c
     WHERE c.relnamespace = 'pgmq'::regnamespace AND c.relname = qtable;
    IF kind = 'p' AND EXISTS (SELECT 1 FROM pgmq.meta AS m WHERE m.queue_key = qname) THEN
        RAISE NOTICE 'queue "%" already exists, skipping', qname;
        RETURN;
    ELSIF kind IS NOT NULL OR to_regclass(format('pgmq.%I', atable)) IS NOT NULL THEN
        RAISE EXCEPTION 'queue "%" already exists and is not partitioned', qname
            USING ERRCODE = 'duplicate_table',
                  HINT = 'Drop it first, or partition only its archive with pgmq.convert_archive_partitioned.';
    END IF;
    -- PGMQ 1.13's shapes: no primary key, msg_id BY DEFAULT, partitioned by msg_id or enqueued_at.
    EXECUTE format(
        'CREATE TABLE pgmq.%I (msg_id bigint GENERATED BY DEFAULT AS IDENTITY, '
        'read_ct integer NOT NULL DEFAULT 0, enqueued_at timestamp with time zone NOT NULL DEFAULT pg_catalog.now(), '
        'last_read_at timestamp with time zone, vt timestamp with time zone NOT NULL, message jsonb, headers jsonb) '
        'PARTITION BY RANGE (%I)', qtable, control);
    EXECUTE format('CREATE INDEX %I ON pgmq.%I (%I)', qtable || '_part_idx', qtable, control);
    IF control <> 'msg_id' THEN
        -- Reads, deletes and archives find messages by msg_id (not in PGMQ).
        EXECUTE format('CREATE INDEX %I ON pgmq.%I (msg_id)', qtable || '_msg_id_idx', qtable);
    END IF;
    EXECUTE format(
        'CREATE TABLE pgmq.%I (msg_id bigint NOT NULL, read_ct integer NOT NULL DEFAULT 0, '
        'enqueued_at timestamp with time zone NOT NULL DEFAULT pg_catalog.now(), last_read_at timestamp with time zone, '
        'archived_at timestamp with time zone NOT NULL DEFAULT pg_catalog.now(), vt timestamp with time zone NOT NULL, '
        'message jsonb, headers jsonb) PARTITION BY RANGE (%I)', atable, acontrol);
    EXECUTE format('CREATE INDEX %I ON pgmq.%I (archived_at)', 'archived_at_idx_' || qname, atable);
    EXECUTE format('CREATE TRIGGER pgmq_read_hint_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgmq.%I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION pgmq._read_hint_guard()', qtable);
    EXECUTE format('ALTER TRIGGER pgmq_read_hint_guard ON pgmq.%I DEPENDS ON EXTENSION pgmq', qtable);
    -- The name as given (its case kept, as create does); queue_key is the lower-case identity.
    INSERT INTO pgmq.meta (queue_name, is_partitioned, is_unlogged) VALUES (queue_name, true, false)
        ON CONFLICT DO NOTHING;
    UPDATE pgmq.meta AS m SET is_partitioned = true, is_unlogged = false WHERE m.queue_key = qname;
    INSERT INTO pgmq.partition_config AS c (table_name, queue_name, control, partition_interval, retention_interval, premake)
        VALUES (qtable, qname, control, partition_interval, retention_interval, premake),
               (atable, qname, acontrol, partition_interval, retention_interval, premake)
        ON CONFLICT ON CONSTRAINT partition_config_pkey DO UPDATE
        SET queue_name = EXCLUDED.queue_name, control = EXCLUDED.control,
            partition_interval = EXCLUDED.partition_interval, retention_interval = EXCLUDED.retention_interval,
            premake = EXCLUDED.premake;
    PERFORM pgmq._maintain_partitions(format('pgmq.%I', qtable)::regclass, qname, control, partition_interval,
                                      retention_interval, premake, 0, NULL, false, false);
    PERFORM pgmq._maintain_partitions(format('pgmq.%I', atable)::regclass, qname, acontrol, partition_interval,
                                      retention_interval, premake, 0, NULL, false, false);
END
$$;
COMMENT ON FUNCTION pgmq.create_partitioned(text,text,text,integer) IS 'Creates a partitioned queue: a number partition_interval partitions by msg_id ranges, an interval by enqueued_at (the archive by archived_at); premake partitions are made ahead and those past retention_interval dropped.';

CREATE FUNCTION pgmq.convert_archive_partitioned(
    table_name text,
    partition_interval text DEFAULT '10000',
    retention_interval text DEFAULT '100000',
    leading_partition integer DEFAULT 10
) RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    qname text;
    atable text;
    old_table text;
    old_index text;
    index text;
    acontrol text;
    kind "char";
BEGIN
    atable := pgmq.format_table_name(table_name, 'a');  -- checks the name (P0001, 22004)
    qname := substr(atable, 3);
    old_table := atable || '_old';
    index := 'archived_at_idx_' || qname;
    old_index := index || '_old';
    PERFORM pgmq._check_partition_args(partition_interval, retention_interval, 1);
    acontrol := pgmq._partition_control(partition_interval, true);
    PERFORM pgmq._require_queue_owner(qname);
    PERFORM pgmq.acquire_queue_lock(qname);
    SELECT c.relkind INTO kind FROM pg_class AS c
     WHERE c.relnamespace = 'pgmq'::regnamespace AND c.relname = atable;
    IF kind = 'p' THEN
        RAISE NOTICE 'table "%" is already partitioned', atable;
        RETURN;
    ELSIF kind IS DISTINCT FROM 'r' THEN
        RAISE NOTICE 'table "%" does not exist', atable;
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pgmq.meta AS m WHERE m.queue_key = qname) THEN
        RAISE EXCEPTION 'queue "%" does not exist', qname USING ERRCODE = 'undefined_table';
    END IF;
    -- As PGMQ: the old archive is kept, renamed, with its rows; the new one starts empty.
    EXECUTE format('ALTER TABLE pgmq.%I RENAME TO %I', atable, old_table);
    -- Its primary key too, so that a queue of this name can be made again later.
    IF to_regclass(format('pgmq.%I', atable || '_pkey')) IS NOT NULL
       AND EXISTS (SELECT 1 FROM pg_constraint AS k
                    WHERE k.conrelid = format('pgmq.%I', old_table)::regclass AND k.conname = atable || '_pkey') THEN
        EXECUTE format('ALTER TABLE pgmq.%I RENAME CONSTRAINT %I TO %I', old_table, atable || '_pkey', old_table || '_pkey');
    END IF;
    IF to_regclass(format('pgmq.%I', index)) IS NOT NULL THEN
        EXECUTE format('ALTER INDEX pgmq.%I RENAME TO %I', index, old_index);
    END IF;
    EXECUTE format(
        'CREATE TABLE pgmq.%I (msg_id bigint NOT NULL, read_ct integer NOT NULL DEFAULT 0, '
        'enqueued_at timestamp with time zone NOT NULL DEFAULT pg_catalog.now(), last_read_at timestamp with time zone, '
        'archived_at timestamp with time zone NOT NULL DEFAULT pg_catalog.now(), vt timestamp with time zone NOT NULL, '
        'message jsonb, headers jsonb) PARTITION BY RANGE (%I)', atable, acontrol);
    EXECUTE format('CREATE INDEX %I ON pgmq.%I (archived_at)', index, atable);
    INSERT INTO pgmq.partition_config AS c (table_name, queue_name, control, partition_interval, retention_interval, premake)
        VALUES (atable, qname, acontrol, partition_interval, retention_interval, 4)
        ON CONFLICT ON CONSTRAINT partition_config_pkey DO UPDATE
        SET queue_name = EXCLUDED.queue_name, control = EXCLUDED.control,
            partition_interval = EXCLUDED.partition_interval, retention_interval = EXCLUDED.retention_interval,
            premake = EXCLUDED.premake;
    PERFORM pgmq._maintain_partitions(format('pgmq.%I', atable)::regclass, qname, acontrol, partition_interval,
                                      retention_interval, 4, 0, NULL, false, false);
END
$$;
COMMENT ON FUNCTION pgmq.convert_archive_partitioned(text,text,text,integer) IS 'Replaces a queue''s archive by a partitioned one (the old table is kept as a_<name>_old, with its rows); leading_partition is ignored, as in PGMQ.';

CREATE FUNCTION pgmq.drop_queue(queue_name text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgmq_drop_queue' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.drop_queue(text) IS 'Drops a queue, its archive, policy, deduplication ids and metadata; false and a notice if it does not exist.';

CREATE FUNCTION pgmq.drop_queue(queue_name text, partitioned boolean) RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgmq_drop_queue_partitioned' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.drop_queue(text,boolean) IS 'Deprecated form of drop_queue(queue_name): warns, drops the queue and returns true.';

CREATE FUNCTION pgmq.purge_queue(queue_name text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'pgmq_purge_queue' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.purge_queue(text) IS 'Deletes every message of a queue (not of its archive), forgets its deduplication ids and returns how many.';

CREATE FUNCTION pgmq.detach_archive(queue_name text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pgmq.validate_queue_name(queue_name);
    RAISE WARNING 'detach_archive(queue_name) is deprecated and is a no-op: archive tables are not extension members';
END
$$;
COMMENT ON FUNCTION pgmq.detach_archive(text) IS 'Deprecated no-op: warns (archive tables are not extension members).';

CREATE FUNCTION pgmq.list_queues() RETURNS SETOF pgmq.queue_record
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT queue_name, is_partitioned, is_unlogged, created_at FROM pgmq.meta ORDER BY queue_key
$$;
COMMENT ON FUNCTION pgmq.list_queues() IS 'One row per queue, by name.';

CREATE FUNCTION pgmq.metrics(queue_name text) RETURNS pgmq.metrics_result
    AS 'MODULE_PATHNAME', 'pgmq_metrics' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.metrics(text) IS 'A queue''s length, visible length, newest and oldest message ages and total messages sent.';

CREATE FUNCTION pgmq._metrics_counter(queue_name text, OUT queue_length bigint, OUT queue_visible_length bigint)
    RETURNS record AS 'MODULE_PATHNAME', 'pgmq_metrics_counter' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq._metrics_counter(text) IS 'Internal: the queue''s lengths as the counters in shared memory keep them for metrics (with this transaction''s own changes), NULL while metrics would scan the table.';
REVOKE ALL ON FUNCTION pgmq._metrics_counter(text) FROM PUBLIC;

CREATE FUNCTION pgmq.metrics_all() RETURNS SETOF pgmq.metrics_result
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT m.* FROM pgmq.meta AS q, LATERAL pgmq.metrics(q.queue_name::text) AS m ORDER BY q.queue_key
$$;
COMMENT ON FUNCTION pgmq.metrics_all() IS 'The metrics of every queue, by name.';

------------------------------------------------------------------------------
-- Sending
------------------------------------------------------------------------------

CREATE FUNCTION pgmq.send(queue_name text, msg jsonb) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send' LANGUAGE C VOLATILE ROWS 1;
COMMENT ON FUNCTION pgmq.send(text,jsonb) IS 'Sends a message; returns its msg_id.';
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_headers' LANGUAGE C VOLATILE ROWS 1;
COMMENT ON FUNCTION pgmq.send(text,jsonb,jsonb) IS 'Sends a message with headers; returns its msg_id.';
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, delay integer) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_delay' LANGUAGE C VOLATILE ROWS 1;
COMMENT ON FUNCTION pgmq.send(text,jsonb,integer) IS 'Sends a message that becomes visible after delay seconds; returns its msg_id.';
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, delay timestamp with time zone) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_at' LANGUAGE C VOLATILE ROWS 1;
COMMENT ON FUNCTION pgmq.send(text,jsonb,timestamp with time zone) IS 'Sends a message that becomes visible at the given time; returns its msg_id.';
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb, delay integer) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_headers_delay' LANGUAGE C VOLATILE ROWS 1;
COMMENT ON FUNCTION pgmq.send(text,jsonb,jsonb,integer) IS 'Sends a message with headers, visible after delay seconds; returns its msg_id.';
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb, delay timestamp with time zone)
    RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_headers_at' LANGUAGE C VOLATILE ROWS 1;
COMMENT ON FUNCTION pgmq.send(text,jsonb,jsonb,timestamp with time zone) IS 'Sends a message with headers, visible at the given time; returns its msg_id.';

CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[]) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_batch' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.send_batch(text,jsonb[]) IS 'Sends many messages; returns their msg_ids in array order.';
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[]) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_headers' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.send_batch(text,jsonb[],jsonb[]) IS 'Sends many messages with one headers value each; returns their msg_ids in array order.';
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], delay integer) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_delay' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.send_batch(text,jsonb[],integer) IS 'Sends many messages visible after delay seconds; returns their msg_ids in array order.';
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], delay timestamp with time zone)
    RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_at' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.send_batch(text,jsonb[],timestamp with time zone) IS 'Sends many messages visible at the given time; returns their msg_ids in array order.';
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[], delay integer)
    RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_headers_delay' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.send_batch(text,jsonb[],jsonb[],integer) IS 'Sends many messages with headers, visible after delay seconds; returns their msg_ids in array order.';
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[], delay timestamp with time zone)
    RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_headers_at' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.send_batch(text,jsonb[],jsonb[],timestamp with time zone) IS 'Sends many messages with headers, visible at the given time; returns their msg_ids in array order.';

------------------------------------------------------------------------------
-- Topic routing (PGMQ 1.11+): bind queues to patterns, send by routing key. Routing
-- runs in C++ over a per-backend cache of the bindings (see README, "Topics").
------------------------------------------------------------------------------

-- PGMQ's layout (pattern, queue_name, bound_at, compiled_regex), then filter (not in PGMQ).
-- compiled_regex is PGMQ's regex of the pattern, kept for clients that read it; routing does
-- not use it (see README on how "#" differs).
CREATE TABLE pgmq.topic_bindings (
    pattern text NOT NULL,
    queue_name text NOT NULL
        CONSTRAINT topic_bindings_meta_queue_name_fk
        REFERENCES pgmq.meta (queue_key) ON DELETE CASCADE,
    bound_at timestamp with time zone NOT NULL DEFAULT pg_catalog.now(),
    compiled_regex text GENERATED ALWAYS AS (
        '^' || pg_catalog.replace(pg_catalog.replace(
                   pg_catalog.regexp_replace(pattern, '([.+?{}()|\[\]\\^$])', '\\\1', 'g'),
                   '*', '[^.]+'), '#', '.*') || '$'
    ) STORED,
    filter jsonb,
    CONSTRAINT topic_bindings_unique_pattern_queue UNIQUE (pattern, queue_name)
);
CREATE INDEX idx_topic_bindings_covering ON pgmq.topic_bindings (pattern) INCLUDE (queue_name, compiled_regex);
SELECT pg_catalog.pg_extension_config_dump('pgmq.topic_bindings', '');

-- Tells every backend's topic cache that bindings changed (as _policy_changed does for policies).
CREATE FUNCTION pgmq._topic_bindings_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'pgmq_topic_bindings_changed' LANGUAGE C;
REVOKE ALL ON FUNCTION pgmq._topic_bindings_changed() FROM PUBLIC;
CREATE TRIGGER topic_bindings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgmq.topic_bindings
    FOR EACH STATEMENT EXECUTE FUNCTION pgmq._topic_bindings_changed();
COMMENT ON FUNCTION pgmq._topic_bindings_changed() IS
    'Statement trigger on pgmq.topic_bindings: invalidates every backend''s cache of topic bindings.';

CREATE FUNCTION pgmq.validate_routing_key(routing_key text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgmq_validate_routing_key' LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION pgmq.validate_routing_key(text) IS
    'Returns true for a valid routing key (1 to 255 characters of [A-Za-z0-9._-], no leading, trailing or double dot); raises P0001 otherwise.';

CREATE FUNCTION pgmq.validate_topic_pattern(pattern text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgmq_validate_topic_pattern' LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION pgmq.validate_topic_pattern(text) IS
    'Returns true for a valid topic pattern (a routing key that may use * for one segment and # for zero or more; no **, ##, *# or #*); raises P0001 otherwise.';

-- _topic_queue checks bind_topic's arguments and returns the queue's name as stored.
CREATE FUNCTION pgmq._topic_queue(pattern text, queue_name text) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    qname text;
BEGIN
    PERFORM pgmq.validate_topic_pattern(_topic_queue.pattern);
    IF _topic_queue.queue_name IS NULL OR _topic_queue.queue_name = '' THEN
        RAISE EXCEPTION 'queue_name cannot be NULL or empty';
    END IF;
    qname := substr(pgmq.format_table_name(_topic_queue.queue_name, 'q'), 3);
    IF NOT EXISTS (SELECT 1 FROM pgmq.meta AS m WHERE m.queue_key = qname) THEN
        RAISE EXCEPTION 'queue "%" does not exist', qname
            USING HINT = 'Create the queue first using pgmq.create().';
    END IF;
    RETURN qname;
END
$$;
COMMENT ON FUNCTION pgmq._topic_queue(text, text) IS
    'Checks a pattern and a queue name for bind_topic (P0001 as in PGMQ) and returns the queue name as stored.';

-- _validate_topic_filter raises 22023 unless filter is NULL or {"header": [value, ...], ...}.
CREATE FUNCTION pgmq._validate_topic_filter(filter jsonb) RETURNS void
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad text;
BEGIN
    IF filter IS NULL THEN
        RETURN;
    END IF;
    IF jsonb_typeof(filter) <> 'object' THEN
        RAISE EXCEPTION 'filter must be a JSON object mapping header names to arrays of accepted values, got %',
            jsonb_typeof(filter)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example {"event_name": ["created", "updated"], "region": ["eu"]}.';
    END IF;
    SELECT f.key INTO bad FROM jsonb_each(filter) AS f
     WHERE jsonb_typeof(f.value) <> 'array' OR jsonb_array_length(f.value) = 0
        OR EXISTS (SELECT 1 FROM jsonb_array_elements(f.value) AS e(v) WHERE jsonb_typeof(e.v) IN ('object', 'array'))
     ORDER BY f.key LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'filter value for header "%" must be a non-empty array of strings, numbers, booleans or nulls', bad
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;
COMMENT ON FUNCTION pgmq._validate_topic_filter(jsonb) IS
    'Raises 22023 unless a topic binding filter is NULL or an object of non-empty arrays of scalar header values.';

CREATE FUNCTION pgmq.bind_topic(pattern text, queue_name text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO pgmq.topic_bindings (pattern, queue_name)
        VALUES (bind_topic.pattern, pgmq._topic_queue(bind_topic.pattern, bind_topic.queue_name))
        ON CONFLICT ON CONSTRAINT topic_bindings_unique_pattern_queue DO NOTHING;
END
$$;
COMMENT ON FUNCTION pgmq.bind_topic(text, text) IS
    'Routes messages whose routing key matches pattern to the queue; binding again is a no-op.';

-- Not in PGMQ: a binding with a filter on the message headers; binding again replaces the filter.
CREATE FUNCTION pgmq.bind_topic(pattern text, queue_name text, filter jsonb) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pgmq._validate_topic_filter(bind_topic.filter);
    INSERT INTO pgmq.topic_bindings AS b (pattern, queue_name, filter)
        VALUES (bind_topic.pattern, pgmq._topic_queue(bind_topic.pattern, bind_topic.queue_name), bind_topic.filter)
        ON CONFLICT ON CONSTRAINT topic_bindings_unique_pattern_queue DO UPDATE SET filter = EXCLUDED.filter;
END
$$;
COMMENT ON FUNCTION pgmq.bind_topic(text, text, jsonb) IS
    'Like bind_topic(pattern, queue_name), delivering only messages whose headers hold, for every key of filter, one of its listed values (NULL: no filter); binding again replaces the filter.';

CREATE FUNCTION pgmq.unbind_topic(pattern text, queue_name text) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF unbind_topic.pattern IS NULL OR unbind_topic.pattern = '' THEN
        RAISE EXCEPTION 'pattern cannot be NULL or empty';
    END IF;
    IF unbind_topic.queue_name IS NULL OR unbind_topic.queue_name = '' THEN
        RAISE EXCEPTION 'queue_name cannot be NULL or empty';
    END IF;
    DELETE FROM pgmq.topic_bindings AS b
     WHERE b.pattern = unbind_topic.pattern AND b.queue_name = lower(unbind_topic.queue_name);
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION pgmq.unbind_topic(text, text) IS
    'Removes the binding of pattern to the queue; returns whether there was one.';

CREATE FUNCTION pgmq._test_routing(routing_key text)
    RETURNS TABLE (pattern text, queue_name text, compiled_regex text)
    AS 'MODULE_PATHNAME', 'pgmq__test_routing' LANGUAGE C STABLE;
COMMENT ON FUNCTION pgmq._test_routing(text) IS
    'The bindings whose pattern matches routing_key, unordered, through the router send_topic uses (behind test_routing).';

CREATE FUNCTION pgmq.test_routing(routing_key text)
    RETURNS TABLE (pattern text, queue_name text, compiled_regex text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT r.pattern, r.queue_name, r.compiled_regex FROM pgmq._test_routing(routing_key) AS r
     ORDER BY r.pattern, r.queue_name
$$;
COMMENT ON FUNCTION pgmq.test_routing(text) IS
    'Dry run: the bindings a message with this routing key would match, by pattern (filters not applied).';

CREATE FUNCTION pgmq.list_topic_bindings()
    RETURNS TABLE (pattern text, queue_name text, bound_at timestamp with time zone, compiled_regex text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT b.pattern, b.queue_name, b.bound_at, b.compiled_regex FROM pgmq.topic_bindings AS b
     ORDER BY b.bound_at DESC, b.pattern, b.queue_name
$$;
COMMENT ON FUNCTION pgmq.list_topic_bindings() IS
    'Every topic binding, newest first.';

CREATE FUNCTION pgmq.list_topic_bindings(queue_name text)
    RETURNS TABLE (pattern text, queue_name text, bound_at timestamp with time zone, compiled_regex text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT b.pattern, b.queue_name, b.bound_at, b.compiled_regex FROM pgmq.topic_bindings AS b
     WHERE b.queue_name = lower($1)
     ORDER BY b.bound_at DESC, b.pattern
$$;
COMMENT ON FUNCTION pgmq.list_topic_bindings(text) IS
    'The topic bindings of one queue, newest first.';

CREATE FUNCTION pgmq.send_topic(routing_key text, msg jsonb) RETURNS integer
    AS 'MODULE_PATHNAME', 'pgmq_send_topic' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.send_topic(text, jsonb) IS
    'Sends msg to every queue with a binding matching routing_key, in one transaction; returns how many queues.';
CREATE FUNCTION pgmq.send_topic(routing_key text, msg jsonb, delay integer) RETURNS integer
    AS 'MODULE_PATHNAME', 'pgmq_send_topic_delay' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.send_topic(text, jsonb, integer) IS
    'Like send_topic(routing_key, msg), visible after delay seconds.';
CREATE FUNCTION pgmq.send_topic(routing_key text, msg jsonb, headers jsonb, delay integer) RETURNS integer
    AS 'MODULE_PATHNAME', 'pgmq_send_topic_headers_delay' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.send_topic(text, jsonb, jsonb, integer) IS
    'Like send_topic(routing_key, msg), with headers (matched against binding filters), visible after delay seconds.';

CREATE FUNCTION pgmq.send_batch_topic(routing_key text, msgs jsonb[])
    RETURNS TABLE (queue_name text, msg_id bigint)
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_topic' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.send_batch_topic(text, jsonb[]) IS
    'Sends the messages to every queue with a binding matching routing_key; returns (queue_name, msg_id) per message stored.';
CREATE FUNCTION pgmq.send_batch_topic(routing_key text, msgs jsonb[], headers jsonb[])
    RETURNS TABLE (queue_name text, msg_id bigint)
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_topic_headers' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.send_batch_topic(text, jsonb[], jsonb[]) IS
    'Like send_batch_topic(routing_key, msgs), with one headers object per message (matched against binding filters).';
CREATE FUNCTION pgmq.send_batch_topic(routing_key text, msgs jsonb[], delay integer)
    RETURNS TABLE (queue_name text, msg_id bigint)
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_topic_delay' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.send_batch_topic(text, jsonb[], integer) IS
    'Like send_batch_topic(routing_key, msgs), visible after delay seconds.';
CREATE FUNCTION pgmq.send_batch_topic(routing_key text, msgs jsonb[], delay timestamp with time zone)
    RETURNS TABLE (queue_name text, msg_id bigint)
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_topic_at' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.send_batch_topic(text, jsonb[], timestamp with time zone) IS
    'Like send_batch_topic(routing_key, msgs), visible at delay.';
CREATE FUNCTION pgmq.send_batch_topic(routing_key text, msgs jsonb[], headers jsonb[], delay integer)
    RETURNS TABLE (queue_name text, msg_id bigint)
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_topic_headers_delay' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.send_batch_topic(text, jsonb[], jsonb[], integer) IS
    'Like send_batch_topic(routing_key, msgs), with headers, visible after delay seconds.';
CREATE FUNCTION pgmq.send_batch_topic(routing_key text, msgs jsonb[], headers jsonb[],
                                      delay timestamp with time zone)
    RETURNS TABLE (queue_name text, msg_id bigint)
    AS 'MODULE_PATHNAME', 'pgmq_send_batch_topic_headers_at' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.send_batch_topic(text, jsonb[], jsonb[], timestamp with time zone) IS
    'Like send_batch_topic(routing_key, msgs), with headers, visible at delay.';

------------------------------------------------------------------------------
-- Reading and acknowledging
------------------------------------------------------------------------------

CREATE FUNCTION pgmq.read(queue_name text, vt integer, qty integer, conditional jsonb DEFAULT '{}')
    RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_read' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.read(text,integer,integer,jsonb) IS 'Takes up to qty of the oldest visible messages (those containing conditional) and hides them for vt seconds.';

CREATE FUNCTION pgmq.read_with_poll(
    queue_name text,
    vt integer,
    qty integer,
    max_poll_seconds integer DEFAULT 5,
    poll_interval_ms integer DEFAULT 100,
    conditional jsonb DEFAULT '{}'
) RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_read_with_poll' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.read_with_poll(text,integer,integer,integer,integer,jsonb) IS 'Like read, waiting up to max_poll_seconds for a message to become visible.';

------------------------------------------------------------------------------
-- FIFO groups: messages of one x-pgmq-group header value are handed out in
-- msg_id order, one reader of a group at a time (see README)
------------------------------------------------------------------------------

CREATE FUNCTION pgmq.read_grouped(queue_name text, vt integer, qty integer)
    RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_read_grouped' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.read_grouped(text,integer,integer) IS 'Takes up to qty messages of FIFO groups with nothing in flight, filling the batch from the oldest group first, and hides them for vt seconds.';
CREATE FUNCTION pgmq.read_grouped_with_poll(
    queue_name text,
    vt integer,
    qty integer,
    max_poll_seconds integer DEFAULT 5,
    poll_interval_ms integer DEFAULT 100
) RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_read_grouped_with_poll' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.read_grouped_with_poll(text,integer,integer,integer,integer) IS 'Like read_grouped, waiting up to max_poll_seconds for a message.';
CREATE FUNCTION pgmq.read_grouped_rr(queue_name text, vt integer, qty integer)
    RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_read_grouped_rr' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.read_grouped_rr(text,integer,integer) IS 'Takes up to qty messages round-robin over FIFO groups with nothing in flight (every head, then every second message, ...), in that order.';
CREATE FUNCTION pgmq.read_grouped_rr_with_poll(
    queue_name text,
    vt integer,
    qty integer,
    max_poll_seconds integer DEFAULT 5,
    poll_interval_ms integer DEFAULT 100
) RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_read_grouped_rr_with_poll' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.read_grouped_rr_with_poll(text,integer,integer,integer,integer) IS 'Like read_grouped_rr, waiting up to max_poll_seconds for a message.';
CREATE FUNCTION pgmq.read_grouped_head(queue_name text, vt integer, qty integer)
    RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_read_grouped_head' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.read_grouped_head(text,integer,integer) IS 'Takes the head (oldest message) of up to qty FIFO groups with nothing in flight, oldest first.';
CREATE FUNCTION pgmq.read_grouped_head_with_poll(
    queue_name text,
    vt integer,
    qty integer,
    max_poll_seconds integer DEFAULT 5,
    poll_interval_ms integer DEFAULT 100
) RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_read_grouped_head_with_poll' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.read_grouped_head_with_poll(text,integer,integer,integer,integer) IS 'Like read_grouped_head, waiting up to max_poll_seconds for a message.';
CREATE FUNCTION pgmq.create_fifo_index(queue_name text) RETURNS void
    AS 'MODULE_PATHNAME', 'pgmq_create_fifo_index' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.create_fifo_index(text) IS 'Creates the index q_<name>_group_idx on (FIFO group, msg_id) that makes grouped reads fast (queue owner only; idempotent).';
CREATE FUNCTION pgmq.create_fifo_indexes_all() RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    q record;
BEGIN
    FOR q IN SELECT queue_name FROM pgmq.meta ORDER BY queue_name LOOP
        PERFORM pgmq.create_fifo_index(q.queue_name::text);
    END LOOP;
END
$$;
COMMENT ON FUNCTION pgmq.create_fifo_indexes_all() IS 'Runs create_fifo_index for every queue.';

CREATE FUNCTION pgmq.pop(queue_name text, qty integer DEFAULT 1) RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_pop' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.pop(text,integer) IS 'Reads and deletes up to qty of the oldest visible messages at once.';

CREATE FUNCTION pgmq.delete(queue_name text, msg_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgmq_delete' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.delete(text,bigint) IS 'Deletes (acknowledges) a message; false if it did not exist.';
CREATE FUNCTION pgmq.delete(queue_name text, msg_ids bigint[]) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_delete_batch' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.delete(text,bigint[]) IS 'Deletes (acknowledges) messages; returns the msg_ids that existed.';

CREATE FUNCTION pgmq.archive(queue_name text, msg_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgmq_archive' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.archive(text,bigint) IS 'Moves a message to the queue''s archive a_<name>; false if it did not exist.';
CREATE FUNCTION pgmq.archive(queue_name text, msg_ids bigint[]) RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_archive_batch' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.archive(text,bigint[]) IS 'Moves messages to the queue''s archive a_<name>; returns the msg_ids that existed.';
CREATE FUNCTION pgmq.archive(queue_name text, msg_id bigint, result jsonb) RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgmq_archive_result' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.archive(text,bigint,jsonb) IS 'Moves a message to the archive with result in its headers (x-pgmq-result); false if it did not exist.';

-- Not in PGMQ: where messages are now, by primary key (and the invalid queue's index, see set_policy).
CREATE FUNCTION pgmq.status(queue_name text, msg_ids bigint[])
    RETURNS TABLE (msg_id bigint, state text, read_ct integer, enqueued_at timestamp with time zone,
                   vt timestamp with time zone, last_read_at timestamp with time zone, result jsonb,
                   last_error jsonb, invalid_queue text, reason text)
    AS 'MODULE_PATHNAME', 'pgmq_status' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.status(text,bigint[]) IS 'One row per msg_id, in their order: queued, delayed, in_flight, archived, invalid or unknown, with its counters, result, last error and invalid queue.';
CREATE FUNCTION pgmq.status(
    queue_name text, msg_id bigint, OUT state text, OUT read_ct integer, OUT enqueued_at timestamp with time zone,
    OUT vt timestamp with time zone, OUT last_read_at timestamp with time zone, OUT result jsonb,
    OUT last_error jsonb, OUT invalid_queue text, OUT reason text
) RETURNS record LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    IF msg_id IS NULL THEN
        RAISE EXCEPTION 'msg_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT s.state, s.read_ct, s.enqueued_at, s.vt, s.last_read_at, s.result, s.last_error, s.invalid_queue,
           s.reason
      INTO state, read_ct, enqueued_at, vt, last_read_at, result, last_error, invalid_queue, reason
      FROM pgmq.status(queue_name, ARRAY[msg_id]) AS s;
END
$$;
COMMENT ON FUNCTION pgmq.status(text,bigint) IS 'Where a message is now: queued, delayed, in_flight, archived, invalid or unknown, with its counters, result, last error and invalid queue.';

-- Not in PGMQ: a consumer gives back messages it holds (read, vt ahead), after a delay or the queue's backoff.
CREATE FUNCTION pgmq.nack(queue_name text, msg_id bigint, delay_seconds integer DEFAULT NULL, error jsonb DEFAULT NULL)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgmq_nack' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.nack(text,bigint,integer,jsonb) IS 'Releases a message in flight: visible again after delay_seconds (NULL: the backoff policy), error kept in x-pgmq-last-error; false if it was not in flight.';
CREATE FUNCTION pgmq.nack(queue_name text, msg_ids bigint[], delay_seconds integer DEFAULT NULL, error jsonb DEFAULT NULL)
    RETURNS SETOF bigint
    AS 'MODULE_PATHNAME', 'pgmq_nack_batch' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.nack(text,bigint[],integer,jsonb) IS 'Releases messages in flight, as nack(queue_name, msg_id, ...) does; returns the msg_ids released.';

CREATE FUNCTION pgmq.set_vt(queue_name text, msg_id bigint, vt integer) RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_set_vt' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.set_vt(text,bigint,integer) IS 'Makes a message visible again vt seconds from now; returns it.';
CREATE FUNCTION pgmq.set_vt(queue_name text, msg_id bigint, vt timestamp with time zone)
    RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_set_vt_at' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.set_vt(text,bigint,timestamp with time zone) IS 'Makes a message visible again at the given time; returns it.';
CREATE FUNCTION pgmq.set_vt(queue_name text, msg_ids bigint[], vt integer) RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_set_vt_batch' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.set_vt(text,bigint[],integer) IS 'Makes messages visible again vt seconds from now; returns them.';
CREATE FUNCTION pgmq.set_vt(queue_name text, msg_ids bigint[], vt timestamp with time zone)
    RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_set_vt_batch_at' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.set_vt(text,bigint[],timestamp with time zone) IS 'Makes messages visible again at the given time; returns them.';
-- Not in PGMQ: the overload that set_vt($1, $2, $3) with untyped parameters resolves to,
-- so that drivers sending unknown-typed parameters (pgmq-js) work. See README.
CREATE FUNCTION pgmq.set_vt(queue_name text, msg_id text, vt text) RETURNS SETOF pgmq.message_record
    AS 'MODULE_PATHNAME', 'pgmq_set_vt_text' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.set_vt(text,text,text) IS 'The set_vt overload for untyped parameters (as pgmq-js sends them): msg_id a bigint or bigint[] literal, vt seconds or a timestamptz.';

------------------------------------------------------------------------------
-- Insert notifications (LISTEN "pgmq.q_<name>.INSERT"), delivered at commit
------------------------------------------------------------------------------

-- Runs as the extension's owner (SECURITY DEFINER), so that a producer needs no privilege on
-- pgmq.notify_insert_throttle; it acts only for the queue table it fires on, whose triggers only
-- that queue's owner (or a role the owner granted TRIGGER) can create.
CREATE FUNCTION pgmq.notify_queue_listeners() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    interval_ms integer;
BEGIN
    -- TG_ARGV[0]: the queue_key; TG_ARGV[1] (since 2.0.0): the name in meta, which names the channel
    -- (as PGMQ 1.13.1 does: "pgmq.q_MyQueue.INSERT"). Triggers made before have only the key.
    -- On a partitioned queue the trigger fires on its partitions (a clone on each): their root is the queue table.
    IF TG_NARGS NOT IN (1, 2) OR TG_TABLE_SCHEMA <> 'pgmq'
       OR (TG_TABLE_NAME::text <> 'q_' || TG_ARGV[0]
           AND pg_catalog.pg_partition_root(TG_RELID) IS DISTINCT FROM pg_catalog.to_regclass(pg_catalog.format('pgmq.%I', 'q_' || TG_ARGV[0])))
       OR lower(TG_ARGV[TG_NARGS - 1] COLLATE "C") <> TG_ARGV[0] THEN
        RAISE EXCEPTION 'pgmq.notify_queue_listeners() fires only on the queue table named by its argument'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT t.throttle_interval_ms INTO interval_ms
      FROM pgmq.notify_insert_throttle AS t WHERE t.queue_name = TG_ARGV[0];
    -- No throttle (interval 0, or the row is missing): notify, and lock nothing, so
    -- concurrent senders to the queue never wait for each other.
    IF NOT FOUND OR interval_ms = 0 THEN
        PERFORM pg_catalog.pg_notify('pgmq.q_' || TG_ARGV[TG_NARGS - 1] || '.INSERT', NULL);
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
        PERFORM pg_catalog.pg_notify('pgmq.q_' || TG_ARGV[TG_NARGS - 1] || '.INSERT', NULL);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgmq.notify_queue_listeners() IS 'Trigger of enable_notify_insert: NOTIFY "pgmq.q_<name as in meta>.INSERT" at commit of a send, throttled.';

-- _queue_table returns the queue's table, or NULL when there is none. Unlike to_regclass it never
-- returns another kind of relation: q_<name> may be another queue's index or sequence (queue
-- "x_pkey" and the primary key q_x_pkey of queue "x").
CREATE FUNCTION pgmq._queue_table(queue_name text) RETURNS regclass
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.oid::regclass FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
     WHERE n.nspname = 'pgmq' AND c.relname = 'q_' || queue_name AND c.relkind IN ('r', 'p')
$$;
COMMENT ON FUNCTION pgmq._queue_table(text) IS 'Internal: the queue''s table, or NULL when there is none.';

-- _require_queue_owner raises 42501 unless the caller has the privileges of the owner of the
-- queue's table, which DROP TRIGGER, CREATE TRIGGER and ALTER TABLE require. It reads pg_class
-- and locks nothing: those statements queue for a lock on the table before PostgreSQL checks
-- ownership, so a caller without it would wait behind every open send and make every later
-- send wait behind it. A queue whose table is missing passes; the caller reports it.
CREATE FUNCTION pgmq._require_queue_owner(queue_name text) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_class AS c
                WHERE c.oid = pgmq._queue_table(queue_name)
                  AND NOT pg_has_role(current_user, c.relowner, 'USAGE')) THEN
        RAISE EXCEPTION 'must be owner of queue "%"', queue_name USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$;
COMMENT ON FUNCTION pgmq._require_queue_owner(text) IS 'Internal: raises 42501 unless the caller has the privileges of the queue table''s owner.';

CREATE FUNCTION pgmq._input_errcode(strict_code text) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN coalesce(current_setting('pgmq.strict_input', true), 'off') IN ('on', 'true', '1', 'yes')
                THEN strict_code ELSE 'P0001' END
$$;
COMMENT ON FUNCTION pgmq._input_errcode(text) IS 'Internal: the SQLSTATE of an input error PGMQ raises with RAISE EXCEPTION: P0001, or strict_code with pgmq.strict_input on.';

CREATE FUNCTION pgmq.disable_notify_insert(queue_name text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    qtable text := pgmq.format_table_name(disable_notify_insert.queue_name, 'q');
BEGIN
    PERFORM pgmq._require_queue_owner(substr(qtable, 3));
    IF pgmq._queue_table(substr(qtable, 3)) IS NOT NULL THEN
        EXECUTE format('DROP TRIGGER IF EXISTS trigger_notify_queue_insert_listeners ON pgmq.%I', qtable);
    END IF;
    DELETE FROM pgmq.notify_insert_throttle AS t WHERE t.queue_name = substr(qtable, 3);
END
$$;
COMMENT ON FUNCTION pgmq.disable_notify_insert(text) IS 'Stops the insert notifications of a queue.';

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
            USING ERRCODE = pgmq._input_errcode('22023');
    END IF;
    IF pgmq._queue_table(substr(qtable, 3)) IS NULL THEN
        RAISE EXCEPTION 'queue "%" does not exist', qname USING ERRCODE = pgmq._input_errcode('42P01');
    END IF;
    PERFORM pgmq._require_queue_owner(qname);
    PERFORM pgmq.disable_notify_insert(qname);
    INSERT INTO pgmq.notify_insert_throttle (queue_name, throttle_interval_ms)
        VALUES (qname, enable_notify_insert.throttle_interval_ms);
    EXECUTE format('CREATE CONSTRAINT TRIGGER trigger_notify_queue_insert_listeners AFTER INSERT ON pgmq.%I '
                   'DEFERRABLE FOR EACH ROW EXECUTE PROCEDURE pgmq.notify_queue_listeners(%L, %L)', qtable, qname,
                   coalesce((SELECT m.queue_name::text FROM pgmq.meta AS m WHERE m.queue_key = qname), qname));
END
$$;
COMMENT ON FUNCTION pgmq.enable_notify_insert(text,integer) IS 'Sends NOTIFY "pgmq.q_<name>.INSERT" at commit of a send to the queue, at most once per throttle_interval_ms.';

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
            USING ERRCODE = pgmq._input_errcode('22023');
    END IF;
    IF pgmq._queue_table(substr(qtable, 3)) IS NULL THEN
        RAISE EXCEPTION 'queue "%" does not exist', qname USING ERRCODE = pgmq._input_errcode('42P01');
    END IF;
    -- The throttle belongs to the queue's trigger: only who may change the trigger changes it.
    PERFORM pgmq._require_queue_owner(qname);
    UPDATE pgmq.notify_insert_throttle AS t
       SET throttle_interval_ms = update_notify_insert.throttle_interval_ms,
           last_notified_at = to_timestamp(0)
     WHERE t.queue_name = qname;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'queue "%" does not have notify_insert enabled', qname
            USING ERRCODE = pgmq._input_errcode('55000'),
                  HINT = 'Enable it first with pgmq.enable_notify_insert().';
    END IF;
END
$$;
COMMENT ON FUNCTION pgmq.update_notify_insert(text,integer) IS 'Changes the throttle interval of a queue''s insert notifications.';

CREATE FUNCTION pgmq.list_notify_insert_throttles()
    RETURNS TABLE (queue_name text, throttle_interval_ms integer, last_notified_at timestamp with time zone)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT t.queue_name, t.throttle_interval_ms, t.last_notified_at
      FROM pgmq.notify_insert_throttle AS t ORDER BY t.queue_name
$$;
COMMENT ON FUNCTION pgmq.list_notify_insert_throttles() IS 'The queues with insert notifications and their throttle intervals.';

------------------------------------------------------------------------------
-- Policies: invalid (dead-letter) queues, deadlines, max deliveries, retention.
-- Not in PGMQ. Enforced by the background worker (shared_preload_libraries) or by
-- pgmq.run_maintenance(); max_deliveries is also enforced by every read. See README.
------------------------------------------------------------------------------

-- One row per queue that has a policy. NULL limits mean "no limit". invalid_queue has no
-- ON DELETE action: drop_queue refuses to drop a queue that is some queue's invalid queue.
CREATE TABLE pgmq.queue_policy (
    queue_name varchar PRIMARY KEY
        REFERENCES pgmq.meta (queue_key) ON DELETE CASCADE,
    invalid_queue varchar
        REFERENCES pgmq.meta (queue_key),
    max_deliveries integer CHECK (max_deliveries > 0),
    deadline_seconds integer CHECK (deadline_seconds > 0),
    retention_seconds integer CHECK (retention_seconds > 0),
    retention_action text NOT NULL DEFAULT 'archive' CHECK (retention_action IN ('archive', 'delete')),
    updated_at timestamp with time zone NOT NULL DEFAULT pg_catalog.now(),
    CHECK (invalid_queue::text IS DISTINCT FROM queue_name::text),
    backoff_base_seconds integer CHECK (backoff_base_seconds > 0),
    backoff_max_seconds integer CHECK (backoff_max_seconds > 0),
    backoff_jitter boolean NOT NULL DEFAULT false,
    dedup_seconds integer CHECK (dedup_seconds > 0),
    priorities boolean NOT NULL DEFAULT false
);
SELECT pg_catalog.pg_extension_config_dump('pgmq.queue_policy', '');

-- Deduplication (set_policy(..., dedup_seconds => N)): the x-pgmq-dedup-id header of each message sent
-- to such a queue, with the msg_id it got, for N seconds after sent_at. The primary key makes concurrent
-- senders of one id exact (the second waits for the first to commit or roll back). Only the send path
-- (as the extension's owner, after checking the caller's INSERT privilege on the queue), the worker and
-- pgmq's queue administration touch it; no other role has a privilege on it.
CREATE TABLE pgmq.dedup (
    queue_name varchar NOT NULL,
    dedup_id text COLLATE "C" NOT NULL,
    msg_id bigint NOT NULL,
    sent_at timestamp with time zone NOT NULL,
    PRIMARY KEY (queue_name, dedup_id)
);
CREATE INDEX dedup_sent_at_idx ON pgmq.dedup (queue_name, sent_at);

-- A message's priority on a queue with set_policy(priorities => true): its header x-pgmq-priority,
-- the key of the queue's index priority_idx_<name>. Sends refuse a header that is not an integer;
-- here such a header, a missing one or NULL headers count as 0, so no row makes the index fail.
CREATE FUNCTION pgmq._priority(headers jsonb) RETURNS integer
    AS 'MODULE_PATHNAME', 'pgmq_priority' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgmq._priority(jsonb) IS 'Internal: the priority of a message with these headers (x-pgmq-priority, else 0), the key of priority queues'' index.';

-- Counters of what policies did, per queue, updated in the same transaction as the moves.
CREATE TABLE pgmq.queue_policy_stats (
    queue_name varchar PRIMARY KEY
        REFERENCES pgmq.meta (queue_key) ON DELETE CASCADE,
    moved_deadline bigint NOT NULL DEFAULT 0,
    moved_max_deliveries bigint NOT NULL DEFAULT 0,
    removed_retention bigint NOT NULL DEFAULT 0,
    last_moved_at timestamp with time zone
);

-- Tells every backend's policy cache (read path) that policies changed.
CREATE FUNCTION pgmq._policy_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'pgmq_policy_changed' LANGUAGE C;
COMMENT ON FUNCTION pgmq._policy_changed() IS 'Internal: trigger on pgmq.queue_policy that invalidates every backend''s policy cache.';
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
    IF pgmq._queue_table(qname) IS NULL
       OR NOT EXISTS (SELECT 1 FROM pgmq.meta AS m WHERE m.queue_key = qname) THEN
        RAISE EXCEPTION 'queue "%" does not exist', qname USING ERRCODE = 'undefined_table';
    END IF;
    RETURN qname;
END
$$;
COMMENT ON FUNCTION pgmq._existing_queue(text) IS 'Internal: the normalized name of an existing queue; raises 42P01 if it does not exist.';

-- Forgets a queue's deduplication ids, for its owner (set_policy and clear_policy need no privilege on pgmq.dedup).
CREATE FUNCTION pgmq._forget_dedup_ids(queue_name text) RETURNS void
    AS 'MODULE_PATHNAME', 'pgmq_forget_dedup_ids' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq._forget_dedup_ids(text) IS 'Internal: forgets every deduplication id of a queue; for its owner.';

CREATE FUNCTION pgmq.set_policy(
    queue_name text,
    invalid_queue text DEFAULT NULL,
    max_deliveries integer DEFAULT NULL,
    deadline_seconds integer DEFAULT NULL,
    retention_seconds integer DEFAULT NULL,
    retention_action text DEFAULT 'archive',
    backoff_base_seconds integer DEFAULT NULL,
    backoff_max_seconds integer DEFAULT NULL,
    backoff_jitter boolean DEFAULT false,
    dedup_seconds integer DEFAULT NULL,
    priorities boolean DEFAULT NULL
) RETURNS pgmq.queue_policy LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    qname text;
    iname text;
    walk text;
    path text;
    by_priority boolean;
    result pgmq.queue_policy;
BEGIN
    qname := pgmq._existing_queue(queue_name);
    -- Before any lock: the policy alters the queue's table and the worker acts as its owner.
    PERFORM pgmq._require_queue_owner(qname);
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
    IF backoff_base_seconds IS NOT NULL AND backoff_base_seconds < 1 THEN
        RAISE EXCEPTION 'backoff_base_seconds must be greater than zero, got %', backoff_base_seconds
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF backoff_max_seconds IS NOT NULL AND backoff_max_seconds < 1 THEN
        RAISE EXCEPTION 'backoff_max_seconds must be greater than zero, got %', backoff_max_seconds
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF backoff_jitter IS NULL THEN
        RAISE EXCEPTION 'backoff_jitter must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF dedup_seconds IS NOT NULL AND dedup_seconds < 1 THEN
        RAISE EXCEPTION 'dedup_seconds must be greater than zero, got %', dedup_seconds
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF backoff_base_seconds IS NULL AND (backoff_max_seconds IS NOT NULL OR backoff_jitter) THEN
        RAISE EXCEPTION 'backoff_max_seconds and backoff_jitter need backoff_base_seconds'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF invalid_queue IS NOT NULL THEN
        iname := pgmq._existing_queue(invalid_queue);
        IF iname = qname THEN
            RAISE EXCEPTION 'queue "%" cannot be its own invalid queue', qname
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        -- The worker inserts the moved messages into the invalid queue as the owner of this
        -- queue: a caller who may not insert there may not send messages there this way either.
        IF NOT has_table_privilege(format('pgmq.%I', 'q_' || iname)::regclass, 'INSERT') THEN
            RAISE EXCEPTION 'permission denied for invalid queue "%"', iname
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = 'Setting an invalid queue requires INSERT on its table.';
        END IF;
    END IF;
    -- Policies change one at a time, so two concurrent calls cannot build a cycle together.
    LOCK TABLE pgmq.queue_policy IN SHARE ROW EXCLUSIVE MODE;
    IF iname IS NOT NULL THEN
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
    -- status() finds the messages moved to the invalid queue through this index (its owner may build it).
    IF iname IS NOT NULL AND to_regclass(format('pgmq.%I', 'invalid_msg_idx_' || iname)) IS NULL THEN
        IF pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class AS c
                         WHERE c.oid = format('pgmq.%I', 'q_' || iname)::regclass), 'USAGE') THEN
            EXECUTE format('CREATE INDEX %I ON pgmq.%I (((headers -> %L) ->> %L), ((headers -> %L) ->> %L))',
                           'invalid_msg_idx_' || iname, 'q_' || iname,
                           'x-pgmq-invalid', 'msg_id', 'x-pgmq-invalid', 'queue');
        ELSE
            RAISE NOTICE 'invalid queue "%" has no index of moved messages: status() scans it', iname
                USING HINT = 'Its owner creates the index by setting this policy again.';
        END IF;
    END IF;
    -- Reads of a priority queue walk this index: highest x-pgmq-priority first, then msg_id.
    -- NULL keeps the queue's current setting (none: off).
    SELECT p.priorities INTO by_priority FROM pgmq.queue_policy AS p WHERE p.queue_name = qname;
    by_priority := coalesce(priorities, by_priority, false);
    IF by_priority AND to_regclass(format('pgmq.%I', 'priority_idx_' || qname)) IS NULL THEN
        EXECUTE format('CREATE INDEX %I ON pgmq.%I (pgmq._priority(headers) DESC, msg_id)',
                       'priority_idx_' || qname, 'q_' || qname);
        -- It goes with the extension (as the read hint trigger): a plain DROP EXTENSION leaves the queue.
        EXECUTE format('ALTER INDEX pgmq.%I DEPENDS ON EXTENSION pgmq', 'priority_idx_' || qname);
    ELSIF NOT by_priority AND to_regclass(format('pgmq.%I', 'priority_idx_' || qname)) IS NOT NULL THEN
        EXECUTE format('DROP INDEX pgmq.%I', 'priority_idx_' || qname);
    END IF;
    -- Deadline and retention candidates are found through enqueued_at.
    IF (deadline_seconds IS NOT NULL OR retention_seconds IS NOT NULL)
       AND to_regclass(format('pgmq.%I', 'enqueued_at_idx_' || qname)) IS NULL THEN
        EXECUTE format('CREATE INDEX %I ON pgmq.%I (enqueued_at)',
                       'enqueued_at_idx_' || qname, 'q_' || qname);
    END IF;
    INSERT INTO pgmq.queue_policy AS p (queue_name, invalid_queue, max_deliveries, deadline_seconds,
                                        retention_seconds, retention_action, updated_at,
                                        backoff_base_seconds, backoff_max_seconds, backoff_jitter, dedup_seconds,
                                        priorities)
        VALUES (qname, iname, max_deliveries, deadline_seconds, retention_seconds, retention_action, now(),
                backoff_base_seconds, backoff_max_seconds, backoff_jitter, dedup_seconds, by_priority)
        ON CONFLICT ON CONSTRAINT queue_policy_pkey DO UPDATE
        SET invalid_queue = EXCLUDED.invalid_queue, max_deliveries = EXCLUDED.max_deliveries,
            deadline_seconds = EXCLUDED.deadline_seconds, retention_seconds = EXCLUDED.retention_seconds,
            retention_action = EXCLUDED.retention_action, updated_at = EXCLUDED.updated_at,
            backoff_base_seconds = EXCLUDED.backoff_base_seconds,
            backoff_max_seconds = EXCLUDED.backoff_max_seconds, backoff_jitter = EXCLUDED.backoff_jitter,
            dedup_seconds = EXCLUDED.dedup_seconds, priorities = EXCLUDED.priorities
        RETURNING p.* INTO result;
    -- Without deduplication the queue's remembered ids go (sends no longer consult them).
    IF dedup_seconds IS NULL THEN
        PERFORM pgmq._forget_dedup_ids(qname);
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION pgmq.set_policy(text,text,integer,integer,integer,text,integer,integer,boolean,integer,boolean) IS 'Sets (replaces) a queue''s policy: invalid queue, max deliveries, deadline, retention, nack backoff, deduplication and priority reads (NULL priorities: unchanged).';

CREATE FUNCTION pgmq.clear_policy(queue_name text) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    qname text := pgmq._existing_queue(queue_name);
BEGIN
    PERFORM pgmq._require_queue_owner(qname);
    LOCK TABLE pgmq.queue_policy IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM pgmq.queue_policy AS p WHERE p.queue_name = qname;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM pgmq._forget_dedup_ids(qname);
    -- Reads are FIFO again: the priority index only slowed sends down.
    IF to_regclass(format('pgmq.%I', 'priority_idx_' || qname)) IS NOT NULL THEN
        EXECUTE format('DROP INDEX pgmq.%I', 'priority_idx_' || qname);
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION pgmq.clear_policy(text) IS 'Removes a queue''s policy; false if it had none.';

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
        result.backoff_jitter := false;
        result.priorities := false;
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION pgmq.policy(text) IS 'A queue''s policy; NULL limits when it has none.';

CREATE VIEW pgmq.policies AS
    SELECT queue_name, invalid_queue, max_deliveries, deadline_seconds, retention_seconds, retention_action,
           updated_at, backoff_base_seconds, backoff_max_seconds, backoff_jitter, dedup_seconds, priorities
      FROM pgmq.queue_policy ORDER BY queue_name;

-- Whether some queue's policy names this queue as its invalid queue, from the read path's policy cache
-- (callers need no privilege on pgmq.queue_policy).
CREATE FUNCTION pgmq._is_invalid_queue(queue_name text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgmq_is_invalid_queue' LANGUAGE C STABLE;
COMMENT ON FUNCTION pgmq._is_invalid_queue(text) IS 'Internal: whether some queue''s policy names this queue as its invalid queue.';

-- Moves messages of an invalid queue back, oldest first, in the caller's transaction.
CREATE FUNCTION pgmq.redrive(invalid_queue text, target_queue text DEFAULT NULL, max_messages integer DEFAULT NULL)
    RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    iname text;
    tname text;
    target text;
    ids bigint[];
    all_ids bigint[];
    all_targets text[];
    moved_now bigint;
    total bigint := 0;
    redriven_at timestamp with time zone := pg_catalog.clock_timestamp();
BEGIN
    -- As _existing_queue, without reading pgmq.meta (redrive is for the invalid queue's consumers too).
    IF invalid_queue IS NULL THEN
        RAISE EXCEPTION 'invalid_queue must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    iname := substr(pgmq.format_table_name(invalid_queue, 'q'), 3);
    IF pgmq._queue_table(iname) IS NULL THEN
        RAISE EXCEPTION 'queue "%" does not exist', iname USING ERRCODE = 'undefined_table';
    END IF;
    IF max_messages IS NOT NULL AND max_messages < 1 THEN
        RAISE EXCEPTION 'max_messages must be greater than zero, got %', max_messages
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF target_queue IS NOT NULL THEN
        tname := substr(pgmq.format_table_name(target_queue, 'q'), 3);
        IF pgmq._queue_table(tname) IS NULL THEN
            RAISE EXCEPTION 'queue "%" does not exist', tname USING ERRCODE = 'undefined_table';
        END IF;
        IF tname = iname THEN
            RAISE EXCEPTION 'cannot redrive queue "%" into itself', iname USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    IF NOT pgmq._is_invalid_queue(iname) THEN
        RAISE EXCEPTION 'queue "%" is not the invalid queue of any queue', iname
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'redrive moves messages out of a queue named by some queue''s set_policy(invalid_queue => ...).';
    END IF;
    -- Privileges before any lock: the messages leave the invalid queue and enter their targets.
    IF NOT pg_catalog.has_table_privilege(pg_catalog.format('pgmq.%I', 'q_' || iname)::regclass, 'SELECT, DELETE') THEN
        RAISE EXCEPTION 'permission denied for invalid queue "%"', iname
            USING ERRCODE = 'insufficient_privilege', DETAIL = 'redrive needs SELECT and DELETE on its table.';
    END IF;
    IF tname IS NOT NULL AND NOT pg_catalog.has_table_privilege(pg_catalog.format('pgmq.%I', 'q_' || tname)::regclass, 'INSERT') THEN
        RAISE EXCEPTION 'permission denied for queue "%"', tname
            USING ERRCODE = 'insufficient_privilege', DETAIL = 'redrive needs INSERT on the target queue''s table.';
    END IF;
    -- The batch: the oldest messages whose target exists (without target_queue: the queue each came from).
    -- Not locked: the DELETE below moves those still there (a concurrent redrive or consumer may take some).
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.array_agg(b.msg_id ORDER BY b.msg_id), pg_catalog.array_agg(b.target ORDER BY b.msg_id) '
        'FROM (SELECT v.msg_id, COALESCE($1, (v.headers OPERATOR(pg_catalog.->) %1$L) OPERATOR(pg_catalog.->>) %2$L) AS target '
        'FROM pgmq.%3$I AS v WHERE pgmq._queue_table(COALESCE($1, (v.headers OPERATOR(pg_catalog.->) %1$L) '
        'OPERATOR(pg_catalog.->>) %2$L)) IS NOT NULL ORDER BY v.msg_id LIMIT $2) AS b',
        'x-pgmq-invalid', 'queue', 'q_' || iname) INTO all_ids, all_targets USING tname, max_messages;
    FOR target IN SELECT DISTINCT u.t FROM pg_catalog.unnest(all_targets) AS u(t) ORDER BY 1 LOOP
        IF NOT pg_catalog.has_table_privilege(pg_catalog.format('pgmq.%I', 'q_' || target)::regclass, 'INSERT') THEN
            RAISE EXCEPTION 'permission denied for queue "%"', target
                USING ERRCODE = 'insufficient_privilege', DETAIL = 'redrive needs INSERT on the target queue''s table.';
        END IF;
        ids := ARRAY(SELECT u.i FROM ROWS FROM (pg_catalog.unnest(all_ids), pg_catalog.unnest(all_targets)) AS u(i, t) WHERE u.t = target ORDER BY u.i);
        -- Back into the queue it came from it gets its msg_id again; elsewhere a new one.
        EXECUTE pg_catalog.format(
            'WITH moved AS (DELETE FROM pgmq.%1$I AS v WHERE v.msg_id OPERATOR(pg_catalog.=) ANY ($1) RETURNING v.*), '
            'h AS (SELECT m.*, CASE WHEN pg_catalog.jsonb_typeof(m.headers) OPERATOR(pg_catalog.=) %3$L THEN m.headers '
            'WHEN m.headers IS NULL THEN %4$L::jsonb ELSE pg_catalog.jsonb_build_object(%5$L, m.headers) END AS obj, '
            'CASE WHEN (m.headers OPERATOR(pg_catalog.->) %6$L) OPERATOR(pg_catalog.->>) %7$L OPERATOR(pg_catalog.=) $2 '
            'THEN ((m.headers OPERATOR(pg_catalog.->) %6$L) OPERATOR(pg_catalog.->>) %8$L)::bigint END AS origin_id FROM moved AS m), '
            'back AS (INSERT INTO pgmq.%2$I (msg_id, read_ct, enqueued_at, vt, message, headers) OVERRIDING SYSTEM VALUE '
            'SELECT h.origin_id, 0, $3, $3, h.message, %9$s FROM h WHERE h.origin_id IS NOT NULL ORDER BY h.msg_id RETURNING 1), '
            'elsewhere AS (INSERT INTO pgmq.%2$I (read_ct, enqueued_at, vt, message, headers) '
            'SELECT 0, $3, $3, h.message, %9$s FROM h WHERE h.origin_id IS NULL ORDER BY h.msg_id RETURNING 1) '
            'SELECT (SELECT pg_catalog.count(*) FROM back) OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM elsewhere)',
            'q_' || iname, 'q_' || target, 'object', '{}', 'x-pgmq-headers', 'x-pgmq-invalid', 'queue', 'msg_id',
            pg_catalog.format(
                '(h.obj OPERATOR(pg_catalog.-) %1$L) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(%2$L, '
                'COALESCE(h.obj OPERATOR(pg_catalog.->) %2$L, %3$L::jsonb) OPERATOR(pg_catalog.||) '
                'pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(%4$L, %5$L, %6$L, h.msg_id, %7$L, $3, '
                '%8$L, h.enqueued_at, %9$L, h.read_ct, %10$L, h.obj OPERATOR(pg_catalog.->) %1$L)))',
                'x-pgmq-invalid', 'x-pgmq-redriven', '[]', 'from', iname, 'msg_id', 'at', 'enqueued_at', 'read_ct',
                'invalid'))
            INTO moved_now USING ids, target, redriven_at;
        total := total + moved_now;
    END LOOP;
    RETURN total;
END
$$;
COMMENT ON FUNCTION pgmq.redrive(text,text,integer) IS 'Moves up to max_messages messages of an invalid queue, oldest first, back to the queue each came from (or to target_queue), visible at once with read_ct 0; returns how many.';

-- Per database: the background worker's process and when it last finished a pass (shared memory).
CREATE FUNCTION pgmq.worker_status(
    OUT database name, OUT pid integer, OUT last_run_at timestamp with time zone, OUT passes bigint,
    OUT moved bigint
) RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'pgmq_worker_status' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.worker_status() IS 'Per database: the background worker''s pid, last pass, passes and messages moved.';

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
COMMENT ON FUNCTION pgmq.policy_metrics() IS 'Per queue with a policy or a history: what the policy moved or removed, and when.';

-- One maintenance pass in the current database, in the caller's transaction (one
-- subtransaction per queue): what the worker does every pgmq.worker_interval_ms.
CREATE FUNCTION pgmq.run_maintenance(
    OUT queue_name text, OUT reason text, OUT destination text, OUT messages bigint
) RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'pgmq_run_maintenance' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq.run_maintenance() IS 'One policy pass by hand in the current database and transaction, over the queues whose owner''s privileges the caller has.';

------------------------------------------------------------------------------
-- Internal
------------------------------------------------------------------------------

-- Makes core C++ code throw the named exception kind; tests the error boundary.
CREATE FUNCTION pgmq._boundary_selftest(kind text) RETURNS integer
    AS 'MODULE_PATHNAME', 'pgmq_boundary_selftest' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgmq._boundary_selftest(text) IS 'Internal: makes core C++ code throw the named exception kind (tests the error boundary).';
REVOKE ALL ON FUNCTION pgmq._boundary_selftest(text) FROM PUBLIC;
