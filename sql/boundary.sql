-- boundary: every kind of C++ exception thrown in core code becomes a PostgreSQL error
-- with the right SQLSTATE, and the session keeps working afterwards.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/regress/try.sql
SELECT kind, pg_temp.try(format('SELECT pgmq._boundary_selftest(%L)', kind))
  FROM unnest(ARRAY['invalid', 'null', 'oom', 'std', 'int']) AS kind;
-- no exception: the value comes back
SELECT pgmq._boundary_selftest('fine');
-- many round trips leave nothing behind
SELECT count(*) FROM generate_series(1, 1000) AS i
 WHERE pg_temp.try('SELECT pgmq._boundary_selftest(''std'')') LIKE 'XX000%';
SELECT pgmq._boundary_selftest(NULL);
SELECT 1 AS still_alive;
