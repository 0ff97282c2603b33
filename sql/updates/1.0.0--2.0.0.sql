-- pgmq 1.0.0 -> 2.0.0: what changed besides functions (the Makefile appends the replay of every
-- function of sql/pgmq.sql). See the Makefile for the scheme.

-- PGMQ had a version 1.0.0 too, with other objects: this script is for pgmq's 1.0.0, which had
-- the read hint trigger function and the policy table. PGMQ updates from 1.5.1 or later.
DO $$
BEGIN
    IF pg_catalog.to_regprocedure('pgmq._read_hint_guard()') IS NULL
       OR pg_catalog.to_regclass('pgmq.queue_policy') IS NULL THEN
        RAISE EXCEPTION 'this database has PGMQ 1.0.0, not pgmq 1.0.0: pgmq cannot update it'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'PGMQ installations migrate to pgmq from PGMQ 1.5.1 or later: update PGMQ to 1.5.1 or later with PGMQ''s own release, then run ALTER EXTENSION pgmq UPDATE.';
    END IF;
END
$$;

-- As in sql/pgmq.sql: nobody but the role running this script may create objects in schema
-- pgmq (new in 2.0.0; the script runs with search_path = pgmq, pg_temp).
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
                  HINT = 'Revoke CREATE on schema pgmq from other roles, and update the extension as the schema''s owner.';
    END IF;
END
$$;

-- Queue names keep their case (new in 2.0.0): meta.queue_name is the name as given to create,
-- queue_key its lower-case form (what 1.0.0 stored in queue_name), which pgmq's other tables now
-- reference. The constraints keep their names.
ALTER TABLE pgmq.meta
    ADD COLUMN queue_key varchar NOT NULL GENERATED ALWAYS AS (pg_catalog.lower(queue_name::text COLLATE "C")) STORED
        CONSTRAINT meta_queue_key_key UNIQUE;
ALTER TABLE pgmq.notify_insert_throttle
    DROP CONSTRAINT notify_insert_throttle_meta_queue_name_fk,
    ADD CONSTRAINT notify_insert_throttle_meta_queue_name_fk
        FOREIGN KEY (queue_name) REFERENCES pgmq.meta (queue_key) ON DELETE CASCADE;
ALTER TABLE pgmq.queue_policy
    DROP CONSTRAINT queue_policy_queue_name_fkey,
    DROP CONSTRAINT queue_policy_invalid_queue_fkey,
    ADD CONSTRAINT queue_policy_queue_name_fkey
        FOREIGN KEY (queue_name) REFERENCES pgmq.meta (queue_key) ON DELETE CASCADE,
    ADD CONSTRAINT queue_policy_invalid_queue_fkey
        FOREIGN KEY (invalid_queue) REFERENCES pgmq.meta (queue_key);
ALTER TABLE pgmq.queue_policy_stats
    DROP CONSTRAINT queue_policy_stats_queue_name_fkey,
    ADD CONSTRAINT queue_policy_stats_queue_name_fkey
        FOREIGN KEY (queue_name) REFERENCES pgmq.meta (queue_key) ON DELETE CASCADE;

-- Insert notifications name their channel after the name in meta (as PGMQ 1.13.1): each queue's
-- trigger gets it as a second argument (1.0.0's names are lower-case, so the channel stays).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT c.relname, m.queue_name
               FROM pg_catalog.pg_trigger AS g
               JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) g.tgrelid
               JOIN pgmq.meta AS m ON 'q_' OPERATOR(pg_catalog.||) m.queue_key OPERATOR(pg_catalog.=) c.relname
              WHERE c.relnamespace OPERATOR(pg_catalog.=) 'pgmq'::regnamespace
                AND g.tgname OPERATOR(pg_catalog.=) 'trigger_notify_queue_insert_listeners' LOOP
        EXECUTE pg_catalog.format('DROP TRIGGER trigger_notify_queue_insert_listeners ON pgmq.%I', t.relname);
        EXECUTE pg_catalog.format('CREATE CONSTRAINT TRIGGER trigger_notify_queue_insert_listeners AFTER INSERT ON pgmq.%I '
                                  'DEFERRABLE FOR EACH ROW EXECUTE PROCEDURE pgmq.notify_queue_listeners(%L, %L)',
                                  t.relname, pg_catalog.substr(t.relname, 3), t.queue_name);
    END LOOP;
END
$$;

-- Topics (new in 2.0.0): the bindings table, as in sql/pgmq.sql; its trigger function is created here
-- so that the trigger can be (the replay below defines it again, unchanged).
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
CREATE FUNCTION pgmq._topic_bindings_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'pgmq_topic_bindings_changed' LANGUAGE C;
CREATE TRIGGER topic_bindings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgmq.topic_bindings
    FOR EACH STATEMENT EXECUTE FUNCTION pgmq._topic_bindings_changed();

-- New in 2.0.0: each queue's read hint trigger goes with the extension, so a plain DROP EXTENSION
-- pgmq drops it and leaves the queue tables (as PGMQ's does) instead of failing with 2BP01; and it
-- also fires on DELETE, so a plain DELETE invalidates the queue's count for metrics (src/pg/counters.hpp).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT c.relname
               FROM pg_catalog.pg_trigger AS g JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) g.tgrelid
              WHERE c.relnamespace OPERATOR(pg_catalog.=) 'pgmq'::regnamespace
                AND g.tgname OPERATOR(pg_catalog.=) 'pgmq_read_hint_guard' LOOP
        EXECUTE pg_catalog.format('CREATE OR REPLACE TRIGGER pgmq_read_hint_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE '
                                  'ON pgmq.%I FOR EACH STATEMENT EXECUTE FUNCTION pgmq._read_hint_guard()', t.relname);
        EXECUTE pg_catalog.format('ALTER TRIGGER pgmq_read_hint_guard ON pgmq.%I DEPENDS ON EXTENSION pgmq', t.relname);
    END LOOP;
END
$$;

-- Nack backoff (new in 2.0.0): three columns of pgmq.queue_policy, shown by pgmq.policies; set_policy
-- takes three more arguments (the replay below creates it with them).
ALTER TABLE pgmq.queue_policy
    ADD COLUMN backoff_base_seconds integer CHECK (backoff_base_seconds > 0),
    ADD COLUMN backoff_max_seconds integer CHECK (backoff_max_seconds > 0),
    ADD COLUMN backoff_jitter boolean NOT NULL DEFAULT false;
DROP FUNCTION pgmq.set_policy(text, text, integer, integer, integer, text);
CREATE OR REPLACE VIEW pgmq.policies AS
    SELECT queue_name, invalid_queue, max_deliveries, deadline_seconds, retention_seconds, retention_action,
           updated_at, backoff_base_seconds, backoff_max_seconds, backoff_jitter
      FROM pgmq.queue_policy ORDER BY queue_name;

-- Deduplication (new in 2.0.0): a column of pgmq.queue_policy, shown by pgmq.policies, the table of
-- remembered ids; set_policy takes one more argument (the replay below creates it with it).
ALTER TABLE pgmq.queue_policy
    ADD COLUMN dedup_seconds integer CHECK (dedup_seconds > 0);
CREATE TABLE pgmq.dedup (
    queue_name varchar NOT NULL,
    dedup_id text COLLATE "C" NOT NULL,
    msg_id bigint NOT NULL,
    sent_at timestamp with time zone NOT NULL,
    PRIMARY KEY (queue_name, dedup_id)
);
CREATE INDEX dedup_sent_at_idx ON pgmq.dedup (queue_name, sent_at);
CREATE OR REPLACE VIEW pgmq.policies AS
    SELECT queue_name, invalid_queue, max_deliveries, deadline_seconds, retention_seconds, retention_action,
           updated_at, backoff_base_seconds, backoff_max_seconds, backoff_jitter, dedup_seconds
      FROM pgmq.queue_policy ORDER BY queue_name;

-- status() finds messages moved to an invalid queue through an index that set_policy creates on it.
DO $$
DECLARE
    iname text;
BEGIN
    FOR iname IN SELECT DISTINCT p.invalid_queue::text FROM pgmq.queue_policy AS p
                  WHERE p.invalid_queue IS NOT NULL
                    AND pg_catalog.to_regclass(pg_catalog.format('pgmq.%I', 'q_' OPERATOR(pg_catalog.||) p.invalid_queue)) IS NOT NULL
                    AND pg_catalog.to_regclass(pg_catalog.format('pgmq.%I', 'invalid_msg_idx_' OPERATOR(pg_catalog.||) p.invalid_queue)) IS NULL LOOP
        EXECUTE pg_catalog.format('CREATE INDEX %I ON pgmq.%I (((headers -> %L) ->> %L), ((headers -> %L) ->> %L))',
                                  'invalid_msg_idx_' OPERATOR(pg_catalog.||) iname, 'q_' OPERATOR(pg_catalog.||) iname,
                                  'x-pgmq-invalid', 'msg_id', 'x-pgmq-invalid', 'queue');
    END LOOP;
END
$$;

-- Priorities (new in 2.0.0): a column of pgmq.queue_policy, shown by pgmq.policies; set_policy takes
-- priorities => (the replay below creates it, and pgmq._priority, the key of the index it makes).
ALTER TABLE pgmq.queue_policy ADD COLUMN priorities boolean NOT NULL DEFAULT false;
CREATE OR REPLACE VIEW pgmq.policies AS
    SELECT queue_name, invalid_queue, max_deliveries, deadline_seconds, retention_seconds, retention_action,
           updated_at, backoff_base_seconds, backoff_max_seconds, backoff_jitter, dedup_seconds, priorities
      FROM pgmq.queue_policy ORDER BY queue_name;

-- Partitioned queues (new in 2.0.0; 1.0.0's create_partitioned raised feature_not_supported): the
-- table of their partitioning, as in sql/pgmq.sql.
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
