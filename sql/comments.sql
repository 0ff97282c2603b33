-- comments: every function of schema pgmq has a COMMENT (what \df+ and obj_description show),
-- one sentence ending in a period. Internal functions (names starting with _) are commented in
-- sql/pgmq.sql too but not required here.
SELECT p.oid::regprocedure AS uncommented
  FROM pg_proc AS p
 WHERE p.pronamespace = 'pgmq'::regnamespace
   AND p.proname NOT LIKE '\_%'
   AND coalesce(obj_description(p.oid, 'pg_proc'), '') !~ '^[A-Z].*\.$'
 ORDER BY 1::text;
-- The check above is not vacuous: the comments are there.
SELECT count(*) > 0 AS has_comments
  FROM pg_description AS d JOIN pg_proc AS p ON p.oid = d.objoid AND d.classoid = 'pg_proc'::regclass
 WHERE p.pronamespace = 'pgmq'::regnamespace;
