-- from_pgmq.sql: the in-place update from PGMQ (1.5.1 ... 1.13.1) to this pgmq, the single source of
-- every sql/pgmq--<pgmq version>--<our version>.sql. The Makefile replaces the line "-- @INSTALL@"
-- below with sql/pgmq.sql, so a converted database gets exactly the objects of a fresh install.
--
-- Steps (one transaction, as every extension update):
--   1. checks that change nothing: partitioned queues (pg_partman) and queue names this pgmq cannot
--      address refuse the update with an error and a hint;
--   2. locks meta and every queue and archive table (ACCESS EXCLUSIVE, in name order), takes the
--      queue tables out of the extension (PGMQ before 1.6 made them members), drops PGMQ's insert
--      notification triggers, functions and types, and moves PGMQ's meta, notify_insert_throttle and
--      topic_bindings aside into schema _pgmq_from_pgmq;
--   3. the install script (-- @INSTALL@);
--   4. copies meta (names as given, as PGMQ keeps them; 'Foo' and 'foo', two rows for one queue's
--      lower-case tables, become one row, the older), the throttle rows and the privileges on
--      both; puts PGMQ's topic_bindings back (its layout, its rows, names lower-cased, no longer an
--      extension member); brings each
--      queue to our layout (missing columns, no vt index, read hint trigger, logged msg_id sequence
--      of unlogged queues, notify trigger of ours where PGMQ had one) and drops _pgmq_from_pgmq.
-- Messages, msg_id sequences, archives, vt and read_ct are never touched: a message a consumer held
-- before the update stays hidden until its vt and is acknowledged by its msg_id afterwards.

\echo Use "ALTER EXTENSION pgmq UPDATE" to load this file. \quit

------------------------------------------------------------------------------
-- 1. Checks (nothing is changed before they pass)
------------------------------------------------------------------------------

-- As the install script's first check, before this script calls anything: the rest of it runs
-- with search_path = pgmq, pg_temp, so nobody but the updating role may create objects in pgmq.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace AS n
                WHERE n.nspname OPERATOR(pg_catalog.=) 'pgmq'
                  AND (n.nspowner OPERATOR(pg_catalog.<>) (SELECT r.oid FROM pg_catalog.pg_roles AS r
                                                           WHERE r.rolname OPERATOR(pg_catalog.=) current_user)
                       OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(n.nspacl) AS a
                                   WHERE a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
                                     AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner))) THEN
        RAISE EXCEPTION 'schema "pgmq" must be owned by the role updating the extension, and only it may create objects there'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Update as the owner of schema pgmq, after revoking CREATE on it from other roles.';
    END IF;
END
$$;

DO $$
DECLARE
    bad text;
BEGIN
    IF to_regclass('pgmq.meta') IS NULL THEN
        RAISE EXCEPTION 'cannot update: table pgmq.meta of PGMQ is missing' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = '_pgmq_from_pgmq') THEN
        RAISE EXCEPTION 'cannot update: schema _pgmq_from_pgmq exists'
            USING ERRCODE = 'duplicate_schema', HINT = 'The update uses that schema for a moment; drop or rename it.';
    END IF;
    SELECT string_agg(DISTINCT m.queue_name::text, ', ') INTO bad
      FROM pgmq.meta AS m
     WHERE m.is_partitioned
        OR EXISTS (SELECT 1 FROM pg_catalog.pg_class AS c
                    WHERE c.relnamespace = 'pgmq'::regnamespace AND c.relkind = 'p'
                      AND c.relname IN (lower('q_' || m.queue_name), lower('a_' || m.queue_name)));
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'cannot update PGMQ to this pgmq: partitioned queues (pg_partman): %', bad
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Queues partitioned by pg_partman are not converted (this pgmq partitions queues itself, without pg_partman). Nothing was changed.',
                  HINT = 'With PGMQ still installed, create a queue with pgmq.create(), move the messages there '
                         '(INSERT INTO pgmq.q_<new> (vt, read_ct, enqueued_at, message, headers) SELECT ... FROM pgmq.q_<old>), '
                         'drop the partitioned queue with pgmq.drop_queue(), and run ALTER EXTENSION pgmq UPDATE again; '
                         'then pgmq.create_partitioned() makes partitioned queues again.';
    END IF;
    SELECT string_agg(quote_literal(m.queue_name), ', ') INTO bad
      FROM pgmq.meta AS m
     WHERE m.queue_name !~ '^[A-Za-z0-9_-]{1,47}$';
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'cannot update PGMQ to this pgmq: queue names it cannot address: %', bad
            USING ERRCODE = 'invalid_name',
                  DETAIL = 'Queue names are 1 to 47 characters from A-Z a-z 0-9 _ -. Nothing was changed.',
                  HINT = 'With PGMQ still installed, move their messages to queues with such names and drop them '
                         'with pgmq.drop_queue(), then run ALTER EXTENSION pgmq UPDATE again.';
    END IF;
END
$$;

------------------------------------------------------------------------------
-- 2. Lock, detach and drop PGMQ's code, move its tables aside
------------------------------------------------------------------------------

CREATE SCHEMA _pgmq_from_pgmq;

-- One row per queue (lower-cased name) that has a queue table.
CREATE TABLE _pgmq_from_pgmq.queues (
    name text PRIMARY KEY,
    had_notify boolean NOT NULL
);

DO $$
DECLARE
    r record;
BEGIN
    LOCK TABLE pgmq.meta IN ACCESS EXCLUSIVE MODE;
    -- Every queue and archive table: sends, reads and acknowledgements wait for the update (and the
    -- update for the transactions that use them).
    FOR r IN SELECT c.oid::regclass AS rel
               FROM pg_catalog.pg_class AS c
              WHERE c.relnamespace = 'pgmq'::regnamespace AND c.relkind = 'r'
                AND c.relname IN (SELECT lower(p || '_' || m.queue_name) FROM pgmq.meta AS m, (VALUES ('q'), ('a')) AS v(p))
              ORDER BY c.relname LOOP
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', r.rel);
    END LOOP;

    INSERT INTO _pgmq_from_pgmq.queues (name, had_notify)
    SELECT DISTINCT lower(m.queue_name),
           EXISTS (SELECT 1 FROM pg_catalog.pg_trigger AS t
                    WHERE t.tgrelid = c.oid AND t.tgname = 'trigger_notify_queue_insert_listeners')
      FROM pgmq.meta AS m
      JOIN pg_catalog.pg_class AS c
        ON c.relnamespace = 'pgmq'::regnamespace AND c.relkind = 'r' AND c.relname = lower('q_' || m.queue_name);

    -- PGMQ before 1.6 made queue and archive tables and msg_id sequences extension members;
    -- ours are not (they survive DROP EXTENSION, pg_dump dumps them as tables).
    FOR r IN SELECT c.relkind, c.oid::regclass AS rel
               FROM pg_catalog.pg_depend AS d
               JOIN pg_catalog.pg_class AS c ON c.oid = d.objid
              WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'e'
                AND d.refclassid = 'pg_catalog.pg_extension'::regclass
                AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension AS e WHERE e.extname = 'pgmq')
                AND (c.relname LIKE 'q\_%' OR c.relname LIKE 'a\_%')
              ORDER BY c.relname LOOP
        EXECUTE format('ALTER EXTENSION pgmq DROP %s %s',
                       CASE r.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.rel);
    END LOOP;

    -- PGMQ's insert notification triggers call its trigger function; ours are made in step 4.
    FOR r IN SELECT t.tgname, t.tgrelid::regclass AS rel
               FROM pg_catalog.pg_trigger AS t
               JOIN pg_catalog.pg_class AS c ON c.oid = t.tgrelid
              WHERE c.relnamespace = 'pgmq'::regnamespace AND t.tgname = 'trigger_notify_queue_insert_listeners' LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.rel);
    END LOOP;

    -- Every function and type of PGMQ (all are members of the extension). Without CASCADE: an
    -- object of someone else's that uses one stops the update with PostgreSQL's message.
    FOR r IN SELECT p.oid::regprocedure AS fn
               FROM pg_catalog.pg_depend AS d
               JOIN pg_catalog.pg_proc AS p ON p.oid = d.objid
              WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.deptype = 'e'
                AND d.refclassid = 'pg_catalog.pg_extension'::regclass
                AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension AS e WHERE e.extname = 'pgmq') LOOP
        BEGIN
            EXECUTE format('DROP FUNCTION %s', r.fn);
        EXCEPTION WHEN dependent_objects_still_exist THEN
            RAISE EXCEPTION 'cannot update PGMQ to this pgmq: other objects use PGMQ''s function %', r.fn
                USING ERRCODE = 'dependent_objects_still_exist',
                      HINT = 'Drop them (views, functions, defaults), update, and create them again.';
        END;
    END LOOP;
    FOR r IN SELECT t.oid::regtype AS typ
               FROM pg_catalog.pg_depend AS d
               JOIN pg_catalog.pg_type AS t ON t.oid = d.objid
              WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.deptype = 'e'
                AND d.refclassid = 'pg_catalog.pg_extension'::regclass
                AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension AS e WHERE e.extname = 'pgmq') LOOP
        BEGIN
            EXECUTE format('DROP TYPE %s', r.typ);
        EXCEPTION WHEN dependent_objects_still_exist THEN
            RAISE EXCEPTION 'cannot update PGMQ to this pgmq: other objects use PGMQ''s type %', r.typ
                USING ERRCODE = 'dependent_objects_still_exist',
                      HINT = 'Drop them (views, functions, columns), update, and create them again.';
        END;
    END LOOP;

    ALTER TABLE pgmq.meta SET SCHEMA _pgmq_from_pgmq;
    IF to_regclass('pgmq.notify_insert_throttle') IS NOT NULL THEN
        ALTER TABLE pgmq.notify_insert_throttle SET SCHEMA _pgmq_from_pgmq;
    END IF;
    IF to_regclass('pgmq.topic_bindings') IS NOT NULL THEN
        ALTER TABLE pgmq.topic_bindings SET SCHEMA _pgmq_from_pgmq;
    END IF;
END
$$;

------------------------------------------------------------------------------
-- 3. The install script
------------------------------------------------------------------------------

-- @INSTALL@

------------------------------------------------------------------------------
-- 4. Data of PGMQ's tables, queue tables to our layout
------------------------------------------------------------------------------

DO $$
DECLARE
    r record;
    q record;
    tab text;
    cols text;
BEGIN
    -- meta: one row per queue, named as first created ('Foo' and 'foo', two rows of PGMQ's for one
    -- queue's tables, become the oldest row); is_unlogged as the queue table is.
    INSERT INTO pgmq.meta (queue_name, is_partitioned, is_unlogged, created_at)
    SELECT DISTINCT ON (lower(m.queue_name)) m.queue_name, false,
           coalesce((SELECT c.relpersistence = 'u' FROM pg_catalog.pg_class AS c
                      WHERE c.relnamespace = 'pgmq'::regnamespace AND c.relname = lower('q_' || m.queue_name)),
                    m.is_unlogged),
           m.created_at
      FROM _pgmq_from_pgmq.meta AS m
     ORDER BY lower(m.queue_name), m.created_at, m.queue_name;

    -- Throttle rows (PGMQ 1.8+); a queue with PGMQ 1.7's trigger and no row notified every insert.
    IF to_regclass('_pgmq_from_pgmq.notify_insert_throttle') IS NOT NULL THEN
        INSERT INTO pgmq.notify_insert_throttle (queue_name, throttle_interval_ms, last_notified_at)
        SELECT DISTINCT ON (lower(t.queue_name)) lower(t.queue_name), t.throttle_interval_ms, t.last_notified_at
          FROM _pgmq_from_pgmq.notify_insert_throttle AS t
         WHERE lower(t.queue_name) IN (SELECT m.queue_key FROM pgmq.meta AS m)
         ORDER BY lower(t.queue_name), t.queue_name;
    END IF;
    INSERT INTO pgmq.notify_insert_throttle (queue_name, throttle_interval_ms)
    SELECT name, 0 FROM _pgmq_from_pgmq.queues WHERE had_notify
    ON CONFLICT (queue_name) DO NOTHING;

    -- Privileges granted on PGMQ's meta and throttle table (to queue administrators, monitoring).
    FOR tab IN SELECT unnest(ARRAY['meta', 'notify_insert_throttle']) LOOP
        FOR r IN SELECT a.privilege_type, a.is_grantable,
                        CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.rolname) END AS grantee
                   FROM pg_catalog.pg_class AS c
                   CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) AS a
                   LEFT JOIN pg_catalog.pg_roles AS g ON g.oid = a.grantee
                  WHERE c.oid = to_regclass('_pgmq_from_pgmq.' || tab) AND a.grantee <> c.relowner LOOP
            EXECUTE format('GRANT %s ON pgmq.%I TO %s%s', r.privilege_type, tab, r.grantee,
                           CASE WHEN r.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
    END LOOP;

    -- topic_bindings (PGMQ 1.11+): PGMQ's rows go into the install script's topic_bindings (the
    -- columns both have: pattern, queue_name lower-cased, bound_at; compiled_regex is generated),
    -- duplicates and bindings of vanished queues dropped. (Were the install script ever to make no
    -- topic_bindings, PGMQ's table would come back as it was, as a table of its own.)
    IF to_regclass('_pgmq_from_pgmq.topic_bindings') IS NOT NULL THEN
        FOR r IN SELECT c.conname FROM pg_catalog.pg_constraint AS c
                  WHERE c.conrelid = '_pgmq_from_pgmq.topic_bindings'::regclass AND c.contype = 'f' LOOP
            EXECUTE format('ALTER TABLE _pgmq_from_pgmq.topic_bindings DROP CONSTRAINT %I', r.conname);
        END LOOP;
        DELETE FROM _pgmq_from_pgmq.topic_bindings AS b
         WHERE lower(b.queue_name) NOT IN (SELECT m.queue_key FROM pgmq.meta AS m)
            OR EXISTS (SELECT 1 FROM _pgmq_from_pgmq.topic_bindings AS o
                        WHERE o.pattern = b.pattern AND lower(o.queue_name) = lower(b.queue_name)
                          AND o.queue_name < b.queue_name);
        UPDATE _pgmq_from_pgmq.topic_bindings SET queue_name = lower(queue_name) WHERE queue_name <> lower(queue_name);
        IF to_regclass('pgmq.topic_bindings') IS NULL THEN
            ALTER TABLE _pgmq_from_pgmq.topic_bindings SET SCHEMA pgmq;
            ALTER TABLE pgmq.topic_bindings ADD CONSTRAINT topic_bindings_meta_queue_name_fk
                FOREIGN KEY (queue_name) REFERENCES pgmq.meta (queue_key) ON DELETE CASCADE;
            ALTER EXTENSION pgmq DROP TABLE pgmq.topic_bindings;
        ELSE
            SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
              FROM pg_catalog.pg_attribute AS a
             WHERE a.attrelid = 'pgmq.topic_bindings'::regclass AND a.attnum > 0 AND NOT a.attisdropped
               AND a.attgenerated = '' AND a.attidentity = ''
               AND a.attname IN (SELECT o.attname FROM pg_catalog.pg_attribute AS o
                                  WHERE o.attrelid = '_pgmq_from_pgmq.topic_bindings'::regclass
                                    AND o.attnum > 0 AND NOT o.attisdropped AND o.attgenerated = '');
            EXECUTE format('INSERT INTO pgmq.topic_bindings (%s) SELECT %s FROM _pgmq_from_pgmq.topic_bindings '
                           'ON CONFLICT DO NOTHING', cols, cols);
        END IF;
    END IF;

    FOR q IN SELECT name, had_notify, 'q_' || name AS qt, 'a_' || name AS at
               FROM _pgmq_from_pgmq.queues ORDER BY name LOOP
        -- Columns PGMQ added later: headers (1.5), last_read_at (1.10; appended to older tables,
        -- as PGMQ's own update does: such tables use pgmq's statements, not its direct path).
        EXECUTE format('ALTER TABLE pgmq.%I ADD COLUMN IF NOT EXISTS headers jsonb, '
                       'ADD COLUMN IF NOT EXISTS last_read_at timestamp with time zone', q.qt);
        -- (CREATE ... IF NOT EXISTS may not skip an object the extension does not own.)
        IF to_regclass(format('pgmq.%I', q.at)) IS NULL THEN
            EXECUTE format('CREATE TABLE pgmq.%I (msg_id bigint PRIMARY KEY, '
                           'read_ct integer NOT NULL DEFAULT 0, enqueued_at timestamp with time zone NOT NULL DEFAULT now(), '
                           'last_read_at timestamp with time zone, archived_at timestamp with time zone NOT NULL DEFAULT now(), '
                           'vt timestamp with time zone NOT NULL, message jsonb, headers jsonb)', q.at);
            EXECUTE format('ALTER EXTENSION pgmq DROP TABLE pgmq.%I', q.at);
        END IF;
        EXECUTE format('ALTER TABLE pgmq.%I ADD COLUMN IF NOT EXISTS headers jsonb, '
                       'ADD COLUMN IF NOT EXISTS last_read_at timestamp with time zone', q.at);
        -- No vt index (see README): reads do not use it and it keeps their updates from being HOT.
        EXECUTE format('DROP INDEX IF EXISTS pgmq.%I', q.qt || '_vt_idx');
        -- PGMQ named the archive index after the name as given ('archived_at_idx_Foo').
        FOR r IN SELECT i.indexrelid::regclass AS idx
                   FROM pg_catalog.pg_index AS i JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
                  WHERE i.indrelid = format('pgmq.%I', q.at)::regclass AND c.relname LIKE 'archived\_at\_idx\_%'
                    AND c.relname <> left('archived_at_idx_' || q.name, 63)
                    AND to_regclass(format('pgmq.%I', left('archived_at_idx_' || q.name, 63))) IS NULL LOOP
            EXECUTE format('ALTER INDEX %s RENAME TO %I', r.idx, left('archived_at_idx_' || q.name, 63));
        END LOOP;
        IF to_regclass(format('pgmq.%I', left('archived_at_idx_' || q.name, 63))) IS NULL THEN
            EXECUTE format('CREATE INDEX %I ON pgmq.%I (archived_at)', left('archived_at_idx_' || q.name, 63), q.at);
        END IF;
        EXECUTE format('CREATE OR REPLACE TRIGGER pgmq_read_hint_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgmq.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION pgmq._read_hint_guard()', q.qt);
        -- The trigger goes with the extension: DROP EXTENSION pgmq drops it and leaves the queue tables.
        EXECUTE format('ALTER TRIGGER pgmq_read_hint_guard ON pgmq.%I DEPENDS ON EXTENSION pgmq', q.qt);
        -- An unlogged queue keeps a logged msg_id sequence (see README, crash safety).
        IF (SELECT c.relpersistence FROM pg_catalog.pg_class AS c
             WHERE c.oid = format('pgmq.%I', q.qt)::regclass) = 'u' THEN
            EXECUTE format('ALTER SEQUENCE %s SET LOGGED', pg_catalog.pg_get_serial_sequence(format('pgmq.%I', q.qt), 'msg_id'));
        END IF;
        IF q.had_notify THEN
            EXECUTE format('CREATE CONSTRAINT TRIGGER trigger_notify_queue_insert_listeners AFTER INSERT ON pgmq.%I '
                           'DEFERRABLE FOR EACH ROW EXECUTE PROCEDURE pgmq.notify_queue_listeners(%L, %L)', q.qt, q.name,
                           (SELECT m.queue_name::text FROM pgmq.meta AS m WHERE m.queue_key = q.name));
        END IF;
    END LOOP;

    -- Out of the extension first: that also takes PGMQ's tables off its config-dump list (a
    -- dropped table would stay there by OID and pg_dump would fail).
    FOR r IN SELECT c.oid::regclass AS rel
               FROM pg_catalog.pg_depend AS d JOIN pg_catalog.pg_class AS c ON c.oid = d.objid
              WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'e'
                AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension AS e WHERE e.extname = 'pgmq')
                AND c.relnamespace = '_pgmq_from_pgmq'::regnamespace AND c.relkind = 'r' LOOP
        EXECUTE format('ALTER EXTENSION pgmq DROP TABLE %s', r.rel);
    END LOOP;
END
$$;

DROP SCHEMA _pgmq_from_pgmq CASCADE;
