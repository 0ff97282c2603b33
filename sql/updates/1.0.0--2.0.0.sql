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
