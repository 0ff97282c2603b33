/*
 * plans.cpp: statement texts, the per-backend cache of prepared plans and the SPI helpers.
 */
#include "pg/plans.hpp"

#include "guc.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "lib/ilist.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
}

namespace pgmq::pg {

namespace {

#define PGMQ_MESSAGE_COLUMNS "msg_id, read_ct, enqueued_at, last_read_at, vt, message, headers"
#define PGMQ_M_COLUMNS "m.msg_id, m.read_ct, m.enqueued_at, m.last_read_at, m.vt, m.message, m.headers"

/* A message's FIFO group, as PGMQ computes it; the expression of the index create_fifo_index makes. */
#define PGMQ_GROUP_KEY "COALESCE(headers ->> 'x-pgmq-group', '_default_fifo_group')"

/*
 * The oldest visible messages from msg_id start on, locked; shared by read and
 * pop. %1$s is the queue table, start the parameter holding the read hint.
 */
#define PGMQ_VISIBLE_HEAD(start, extra)                                                                                \
	"msg_id = ANY (ARRAY(SELECT msg_id FROM pgmq.%1$s WHERE msg_id >= " start " AND vt <= $2" extra                    \
	" ORDER BY msg_id LIMIT $1 FOR UPDATE SKIP LOCKED))"

/* A priority queue's read order: the key of the index set_policy(priorities => true) makes (pg/priority.hpp). */
#define PGMQ_PRIORITY_ORDER "pgmq._priority(headers) DESC, msg_id"

/* The visible messages in priority order, locked; shared by read and pop of a priority queue. */
#define PGMQ_PRIORITY_HEAD(extra)                                                                                      \
	"msg_id = ANY (ARRAY(SELECT msg_id FROM pgmq.%1$s WHERE vt <= $2" extra " ORDER BY " PGMQ_PRIORITY_ORDER           \
	" LIMIT $1 FOR UPDATE SKIP LOCKED))"

/* StatementTables says which tables a statement names. */
enum class StatementTables {
	kQueue,            /* %1$s = quoted queue table, %2$s = quoted archive table */
	kQueueDestination, /* %1$s = quoted queue table, %2$s = quoted queue table of the destination */
	kPgmq,             /* only pgmq's own tables: no queue, one entry for all */
};

struct StatementInfo {
	const char *text;
	int nargs;
	Oid argtypes[7];
	StatementTables tables;
	bool generic;  /* kept with the generic plan: planned once, never again per call */
	bool per_call; /* planned for each call, never kept (see PreparedPlan) */
};

#define PGMQ_CANDIDATE(where)                                                                                          \
	"SELECT msg_id, read_ct, enqueued_at, vt, first_visible_at FROM pgmq.%1$s WHERE " where                            \
	" LIMIT $2 FOR UPDATE SKIP LOCKED"

/* The moved rows, with their reason and due time, taken out of the source queue. */
#define PGMQ_MOVED_ROWS                                                                                                \
	"WITH r AS (SELECT * FROM ROWS FROM (pg_catalog.unnest($1::bigint[]), pg_catalog.unnest($2::text[]), "             \
	"pg_catalog.unnest($3::timestamptz[])) AS r(id, reason, due_at)), "                                                \
	"moved AS (DELETE FROM pgmq.%1$s AS q USING r WHERE q.msg_id = r.id RETURNING q.msg_id, q.read_ct, "               \
	"q.enqueued_at, q.last_read_at, q.vt, q.message, q.headers, r.reason, r.due_at) "

/* The headers as a JSON object; headers that are not an object are kept under x-pgmq-headers. */
#define PGMQ_OBJECT_HEADERS                                                                                            \
	"CASE WHEN pg_catalog.jsonb_typeof(headers) = 'object' THEN headers WHEN headers IS NULL THEN '{}'::jsonb "        \
	"ELSE pg_catalog.jsonb_build_object('x-pgmq-headers', headers) END"

/*
 * A nack's delay in seconds: $3, else the backoff $4 * 2^(read_ct - 1) capped at $5 (NULL: about 68 years),
 * times a uniform random factor with $6 (full jitter); no backoff ($4 NULL): 0.
 */
#define PGMQ_NACK_DELAY                                                                                                \
	"COALESCE($3::float8, CASE WHEN $4 IS NULL THEN 0::float8 ELSE LEAST(COALESCE($5, 2147483647)::float8, "           \
	"$4::float8 * pg_catalog.power(2::float8, LEAST(GREATEST(read_ct - 1, 0), 62)::float8)) * "                        \
	"CASE WHEN $6 THEN pg_catalog.random() ELSE 1::float8 END END)"

/* The headers merged with what happened; headers that are not an object are kept under x-pgmq-headers. */
#define PGMQ_MOVED_HEADERS                                                                                             \
	"CASE WHEN jsonb_typeof(headers) = 'object' THEN headers WHEN headers IS NULL THEN '{}'::jsonb "                   \
	"ELSE pg_catalog.jsonb_build_object('x-pgmq-headers', headers) END || "                                            \
	"pg_catalog.jsonb_build_object('x-pgmq-invalid', "                                                                 \
	"pg_catalog.jsonb_build_object('reason', reason, 'queue', $5::text, 'msg_id', msg_id, 'due_at', due_at, "          \
	"'moved_at', $4))"

const StatementInfo kStatements[] = {
	/* kSend */
	{"INSERT INTO pgmq.%1$s (vt, message, headers) VALUES ($1, $2, $3) RETURNING msg_id",
	 3,
	 {TIMESTAMPTZOID, JSONBOID, JSONBOID},
	 StatementTables::kQueue,
	 true},
	/* kSendBatch */
	{"INSERT INTO pgmq.%1$s (vt, message, headers) SELECT $1, m, h FROM ROWS FROM (pg_catalog.unnest($2), "
	 "pg_catalog.unnest($3)) AS u(m, h) RETURNING msg_id",
	 3,
	 {TIMESTAMPTZOID, JSONBARRAYOID, JSONBARRAYOID},
	 StatementTables::kQueue,
	 true},
	/* kRead */
	{"UPDATE pgmq.%1$s SET vt = $3, read_ct = read_ct + 1, last_read_at = $2 WHERE " PGMQ_VISIBLE_HEAD(
		 "$4", "") " RETURNING " PGMQ_MESSAGE_COLUMNS,
	 4,
	 {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID},
	 StatementTables::kQueue,
	 true},
	/* kReadWhere */
	{"UPDATE pgmq.%1$s SET vt = $3, read_ct = read_ct + 1, last_read_at = $2 WHERE " PGMQ_VISIBLE_HEAD(
		 "$5", " AND message @> $4") " RETURNING " PGMQ_MESSAGE_COLUMNS,
	 5,
	 {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, JSONBOID, INT8OID},
	 StatementTables::kQueue,
	 true},
	/* kPop */
	{"DELETE FROM pgmq.%1$s WHERE " PGMQ_VISIBLE_HEAD("$3", "") " RETURNING " PGMQ_MESSAGE_COLUMNS,
	 3,
	 {INT4OID, TIMESTAMPTZOID, INT8OID},
	 StatementTables::kQueue,
	 true},
	/* kSetVt: also the vt each row had (after the message columns), for metrics (pg/counters.hpp) */
	{"UPDATE pgmq.%1$s AS m SET vt = $2 FROM (SELECT msg_id, vt FROM pgmq.%1$s WHERE msg_id = $1 FOR UPDATE) AS o "
	 "WHERE m.msg_id = o.msg_id RETURNING " PGMQ_M_COLUMNS ", o.vt",
	 2,
	 {INT8OID, TIMESTAMPTZOID},
	 StatementTables::kQueue,
	 true},
	/* kSetVtBatch */
	{"UPDATE pgmq.%1$s AS m SET vt = $2 FROM (SELECT msg_id, vt FROM pgmq.%1$s WHERE msg_id = ANY ($1) FOR UPDATE) "
	 "AS o WHERE m.msg_id = o.msg_id RETURNING " PGMQ_M_COLUMNS ", o.vt",
	 2,
	 {INT8ARRAYOID, TIMESTAMPTZOID},
	 StatementTables::kQueue,
	 true},
	/* kDelete */
	{"DELETE FROM pgmq.%1$s WHERE msg_id = $1 RETURNING msg_id, vt", 1, {INT8OID}, StatementTables::kQueue, true},
	/* kDeleteBatch */
	{"DELETE FROM pgmq.%1$s WHERE msg_id = ANY ($1) RETURNING msg_id, vt",
	 1,
	 {INT8ARRAYOID},
	 StatementTables::kQueue,
	 true},
	/* kArchive */
	{"WITH moved AS (DELETE FROM pgmq.%1$s WHERE msg_id = $1 RETURNING " PGMQ_MESSAGE_COLUMNS
	 ") INSERT INTO pgmq.%2$s (" PGMQ_MESSAGE_COLUMNS ") SELECT " PGMQ_MESSAGE_COLUMNS
	 " FROM moved RETURNING msg_id, vt",
	 1,
	 {INT8OID},
	 StatementTables::kQueue,
	 true},
	/* kArchiveBatch */
	{"WITH moved AS (DELETE FROM pgmq.%1$s WHERE msg_id = ANY ($1) RETURNING " PGMQ_MESSAGE_COLUMNS
	 ") INSERT INTO pgmq.%2$s (" PGMQ_MESSAGE_COLUMNS ") SELECT " PGMQ_MESSAGE_COLUMNS
	 " FROM moved RETURNING msg_id, vt",
	 1,
	 {INT8ARRAYOID},
	 StatementTables::kQueue,
	 true},
	/* kNack: only messages in flight (read, vt ahead); the error, if any, in x-pgmq-last-error; the old vt too. */
	{"UPDATE pgmq.%1$s AS m SET vt = $2 + pg_catalog.make_interval(secs => " PGMQ_NACK_DELAY "), headers = CASE WHEN "
	 "$7 IS NULL THEN headers ELSE (" PGMQ_OBJECT_HEADERS ") || pg_catalog.jsonb_build_object('x-pgmq-last-error', $7) "
	 "END FROM (SELECT msg_id, vt FROM pgmq.%1$s WHERE msg_id = ANY ($1) AND read_ct > 0 AND vt > $2 FOR UPDATE) AS o "
	 "WHERE m.msg_id = o.msg_id RETURNING m.msg_id, m.vt, o.vt",
	 7,
	 {INT8ARRAYOID, TIMESTAMPTZOID, INT4OID, INT4OID, INT4OID, BOOLOID, JSONBOID},
	 StatementTables::kQueue,
	 true},
	/* kArchiveResult: archive with the result in x-pgmq-result. */
	{"WITH moved AS (DELETE FROM pgmq.%1$s WHERE msg_id = $1 RETURNING " PGMQ_MESSAGE_COLUMNS
	 ") INSERT INTO pgmq.%2$s (" PGMQ_MESSAGE_COLUMNS ") SELECT msg_id, read_ct, enqueued_at, last_read_at, vt, "
	 "message, (" PGMQ_OBJECT_HEADERS ") || pg_catalog.jsonb_build_object('x-pgmq-result', $2) FROM moved "
	 "RETURNING msg_id, vt",
	 2,
	 {INT8OID, JSONBOID},
	 StatementTables::kQueue,
	 true},
	/* kStatus: by primary key in the queue table, else in the archive; in the order of $1. */
	{"SELECT i.id, CASE WHEN q.msg_id IS NOT NULL THEN CASE WHEN q.vt <= $2 THEN 'queued' WHEN q.read_ct = 0 THEN "
	 "'delayed' ELSE 'in_flight' END WHEN a.msg_id IS NOT NULL THEN 'archived' END, COALESCE(q.read_ct, a.read_ct), "
	 "COALESCE(q.enqueued_at, a.enqueued_at), CASE WHEN q.msg_id IS NOT NULL THEN q.vt ELSE a.vt END, "
	 "COALESCE(q.last_read_at, a.last_read_at), a.headers -> 'x-pgmq-result', "
	 "COALESCE(q.headers, a.headers) -> 'x-pgmq-last-error', NULL::text, a.headers -> 'x-pgmq-invalid' ->> 'reason' "
	 "FROM ROWS FROM (pg_catalog.unnest($1::bigint[])) WITH ORDINALITY AS i(id, n) LEFT JOIN pgmq.%1$s AS q ON "
	 "q.msg_id = i.id LEFT JOIN pgmq.%2$s AS a ON q.msg_id IS NULL AND a.msg_id = i.id ORDER BY i.n",
	 2,
	 {INT8ARRAYOID, TIMESTAMPTZOID},
	 StatementTables::kQueue,
	 true},
	/* kStatusInvalid: through the invalid queue's index on x-pgmq-invalid's msg_id and queue (set_policy's). */
	{"SELECT i.id, v.read_ct, v.enqueued_at, v.vt, v.last_read_at, v.headers -> 'x-pgmq-last-error', "
	 "v.headers -> 'x-pgmq-invalid' ->> 'reason' FROM pg_catalog.unnest($1::bigint[]) AS i(id) CROSS JOIN LATERAL "
	 "(SELECT * FROM pgmq.%2$s AS v WHERE (v.headers -> 'x-pgmq-invalid') ->> 'msg_id' = i.id::text AND "
	 "(v.headers -> 'x-pgmq-invalid') ->> 'queue' = $2 ORDER BY v.msg_id DESC LIMIT 1) AS v "
	 "ORDER BY i.id /* messages moved out of pgmq.%1$s */",
	 2,
	 {INT8ARRAYOID, TEXTOID},
	 StatementTables::kQueueDestination},
	/* kMetrics */
	{"SELECT count(*), count(*) FILTER (WHERE vt <= $1), "
	 "(SELECT enqueued_at FROM pgmq.%1$s ORDER BY msg_id DESC LIMIT 1), "
	 "(SELECT enqueued_at FROM pgmq.%1$s ORDER BY msg_id LIMIT 1), "
	 "pg_catalog.pg_sequence_last_value(pg_catalog.pg_get_serial_sequence($2::regclass::text, 'msg_id')::regclass) "
	 "FROM pgmq.%1$s",
	 2,
	 {TIMESTAMPTZOID, OIDOID},
	 StatementTables::kQueue,
	 false,
	 true},
	/* kMetricsEnds: the ages from the ends of the primary key (the lengths come from pg/counters.hpp) */
	{"SELECT (SELECT enqueued_at FROM pgmq.%1$s ORDER BY msg_id DESC LIMIT 1), "
	 "(SELECT enqueued_at FROM pgmq.%1$s ORDER BY msg_id LIMIT 1), "
	 "pg_catalog.pg_sequence_last_value(pg_catalog.pg_get_serial_sequence($2::regclass::text, 'msg_id')::regclass) "
	 "WHERE $1 IS NOT NULL",
	 2,
	 {TIMESTAMPTZOID, OIDOID},
	 StatementTables::kQueue,
	 false,
	 true},
	/* kDeleteIds ... kArchiveResultIds: as kDelete ... kArchiveResult for a role that may not read vt. */
	{"DELETE FROM pgmq.%1$s WHERE msg_id = $1 RETURNING msg_id", 1, {INT8OID}, StatementTables::kQueue, true},
	{"DELETE FROM pgmq.%1$s WHERE msg_id = ANY ($1) RETURNING msg_id",
	 1,
	 {INT8ARRAYOID},
	 StatementTables::kQueue,
	 true},
	{"WITH moved AS (DELETE FROM pgmq.%1$s WHERE msg_id = $1 RETURNING " PGMQ_MESSAGE_COLUMNS
	 ") INSERT INTO pgmq.%2$s (" PGMQ_MESSAGE_COLUMNS ") SELECT " PGMQ_MESSAGE_COLUMNS " FROM moved RETURNING msg_id",
	 1,
	 {INT8OID},
	 StatementTables::kQueue,
	 true},
	{"WITH moved AS (DELETE FROM pgmq.%1$s WHERE msg_id = ANY ($1) RETURNING " PGMQ_MESSAGE_COLUMNS
	 ") INSERT INTO pgmq.%2$s (" PGMQ_MESSAGE_COLUMNS ") SELECT " PGMQ_MESSAGE_COLUMNS " FROM moved RETURNING msg_id",
	 1,
	 {INT8ARRAYOID},
	 StatementTables::kQueue,
	 true},
	{"WITH moved AS (DELETE FROM pgmq.%1$s WHERE msg_id = $1 RETURNING " PGMQ_MESSAGE_COLUMNS
	 ") INSERT INTO pgmq.%2$s (" PGMQ_MESSAGE_COLUMNS ") SELECT msg_id, read_ct, enqueued_at, last_read_at, vt, "
	 "message, (" PGMQ_OBJECT_HEADERS ") || pg_catalog.jsonb_build_object('x-pgmq-result', $2) FROM moved "
	 "RETURNING msg_id",
	 2,
	 {INT8OID, JSONBOID},
	 StatementTables::kQueue,
	 true},
	/* kNextVt: a poll's wait after an empty read through a statement (pg/read_path.cpp); no vt index, a scan. */
	{"SELECT pg_catalog.min(vt) FILTER (WHERE vt > $1), COALESCE(pg_catalog.bool_or(vt <= $1 AND read_ct < $2), "
	 "false) FROM pgmq.%1$s",
	 2,
	 {TIMESTAMPTZOID, INT4OID},
	 StatementTables::kQueue,
	 true},
	/* kReadPolicy */
	{"UPDATE pgmq.%1$s SET vt = $3, read_ct = read_ct + 1, last_read_at = $2, first_visible_at = "
	 "COALESCE(first_visible_at, vt) WHERE " PGMQ_VISIBLE_HEAD("$5",
															   " AND read_ct < $4") " RETURNING " PGMQ_MESSAGE_COLUMNS,
	 5,
	 {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, INT8OID},
	 StatementTables::kQueue,
	 true},
	/* kReadWherePolicy */
	{"UPDATE pgmq.%1$s SET vt = $3, read_ct = read_ct + 1, last_read_at = $2, first_visible_at = "
	 "COALESCE(first_visible_at, vt) WHERE " PGMQ_VISIBLE_HEAD(
		 "$6", " AND read_ct < $4 AND message @> $5") " RETURNING " PGMQ_MESSAGE_COLUMNS,
	 6,
	 {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, JSONBOID, INT8OID},
	 StatementTables::kQueue,
	 true},
	/* kPopPolicy */
	{"DELETE FROM pgmq.%1$s WHERE " PGMQ_VISIBLE_HEAD("$4", " AND read_ct < $3") " RETURNING " PGMQ_MESSAGE_COLUMNS,
	 4,
	 {INT4OID, TIMESTAMPTZOID, INT4OID, INT8OID},
	 StatementTables::kQueue,
	 true},
	/* kReadPriority: the visible messages in the priority index's order (set_policy), returned in that order. */
	{"WITH u AS (UPDATE pgmq.%1$s SET vt = $3, read_ct = read_ct + 1, last_read_at = $2, first_visible_at = "
	 "COALESCE(first_visible_at, vt) WHERE " PGMQ_PRIORITY_HEAD(
		 " AND read_ct < $4") " RETURNING " PGMQ_MESSAGE_COLUMNS ") SELECT " PGMQ_MESSAGE_COLUMNS
							  " FROM u ORDER BY " PGMQ_PRIORITY_ORDER,
	 4,
	 {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID},
	 StatementTables::kQueue,
	 true},
	/* kReadWherePriority */
	{"WITH u AS (UPDATE pgmq.%1$s SET vt = $3, read_ct = read_ct + 1, last_read_at = $2, first_visible_at = "
	 "COALESCE(first_visible_at, vt) WHERE " PGMQ_PRIORITY_HEAD(
		 " AND read_ct < $4 AND message @> $5") " RETURNING " PGMQ_MESSAGE_COLUMNS ") SELECT " PGMQ_MESSAGE_COLUMNS
												" FROM u ORDER BY " PGMQ_PRIORITY_ORDER,
	 5,
	 {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, JSONBOID},
	 StatementTables::kQueue,
	 true},
	/* kPopPriority */
	{"WITH d AS (DELETE FROM pgmq.%1$s WHERE " PGMQ_PRIORITY_HEAD(
		 " AND read_ct < $3") " RETURNING " PGMQ_MESSAGE_COLUMNS ") SELECT " PGMQ_MESSAGE_COLUMNS
							  " FROM d ORDER BY " PGMQ_PRIORITY_ORDER,
	 3,
	 {INT4OID, TIMESTAMPTZOID, INT4OID},
	 StatementTables::kQueue,
	 true},
	/* kGroupScan: every row in msg_id order, so the first row of a group met is its head. */
	{"SELECT msg_id, " PGMQ_GROUP_KEY ", vt <= $1 AND read_ct < $4 FROM pgmq.%1$s WHERE msg_id > $2 ORDER BY msg_id "
	 "LIMIT $3",
	 4,
	 {TIMESTAMPTZOID, INT8OID, INT4OID, INT4OID},
	 StatementTables::kQueue,
	 true},
	/* kGroupHeads: a skip scan of the group index, one descent per group, then the heads in msg_id order. */
	{"WITH RECURSIVE g(k, head) AS ((SELECT " PGMQ_GROUP_KEY ", msg_id FROM pgmq.%1$s ORDER BY " PGMQ_GROUP_KEY
	 ", msg_id LIMIT 1) UNION ALL SELECT n.k, n.head FROM g CROSS JOIN LATERAL (SELECT " PGMQ_GROUP_KEY
	 " AS k, msg_id AS head FROM pgmq.%1$s WHERE " PGMQ_GROUP_KEY " > g.k ORDER BY " PGMQ_GROUP_KEY
	 ", msg_id LIMIT 1) AS n) SELECT q.msg_id, g.k, q.vt <= $1 AND q.read_ct < $3 FROM g JOIN pgmq.%1$s AS q ON "
	 "q.msg_id = g.head WHERE g.head > $2 ORDER BY g.head",
	 3,
	 {TIMESTAMPTZOID, INT8OID, INT4OID},
	 StatementTables::kQueue,
	 true},
	/* kGroupLockHead: the lock re-checks the newest row version (a reader that just committed hid it). */
	{"SELECT msg_id FROM pgmq.%1$s WHERE msg_id = $1 AND vt <= $2 AND read_ct < $3 FOR UPDATE SKIP LOCKED",
	 3,
	 {INT8OID, TIMESTAMPTZOID, INT4OID},
	 StatementTables::kQueue,
	 true},
	/*
	 * kGroupRun: the group's next messages after its head, each with whether it is taken: locked (SKIP
	 * LOCKED, re-checked) up to the first that is in flight; the caller takes them up to the first not taken.
	 */
	{"WITH c AS (SELECT msg_id, vt <= $3 AND read_ct < $5 AS ok FROM pgmq.%1$s WHERE " PGMQ_GROUP_KEY
	 " = $1 AND msg_id > $2 ORDER BY " PGMQ_GROUP_KEY ", msg_id LIMIT $4), "
	 "l AS (SELECT q.msg_id FROM pgmq.%1$s AS q WHERE q.msg_id IN (SELECT c.msg_id FROM c WHERE c.ok AND c.msg_id < "
	 "COALESCE((SELECT pg_catalog.min(c2.msg_id) FROM c AS c2 WHERE NOT c2.ok), 9223372036854775807)) "
	 "AND q.vt <= $3 AND q.read_ct < $5 FOR UPDATE OF q SKIP LOCKED) "
	 "SELECT c.msg_id, l.msg_id IS NOT NULL FROM c LEFT JOIN l ON l.msg_id = c.msg_id ORDER BY c.msg_id",
	 5,
	 {TEXTOID, INT8OID, TIMESTAMPTZOID, INT4OID, INT4OID},
	 StatementTables::kQueue,
	 true},
	/* kGroupTake */
	{"WITH u AS (UPDATE pgmq.%1$s AS m SET vt = $3, read_ct = m.read_ct + 1, last_read_at = $2 FROM "
	 "pg_catalog.unnest($1::bigint[]) WITH ORDINALITY AS s(id, ord) WHERE m.msg_id = s.id RETURNING " PGMQ_M_COLUMNS
	 ", s.ord) SELECT " PGMQ_MESSAGE_COLUMNS " FROM u ORDER BY ord",
	 3,
	 {INT8ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID},
	 StatementTables::kQueue,
	 true},
	/* kGroupTakePolicy */
	{"WITH u AS (UPDATE pgmq.%1$s AS m SET vt = $3, read_ct = m.read_ct + 1, last_read_at = $2, first_visible_at = "
	 "COALESCE(m.first_visible_at, m.vt) FROM pg_catalog.unnest($1::bigint[]) WITH ORDINALITY AS s(id, ord) WHERE "
	 "m.msg_id = s.id RETURNING " PGMQ_M_COLUMNS ", s.ord) SELECT " PGMQ_MESSAGE_COLUMNS " FROM u ORDER BY ord",
	 3,
	 {INT8ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID},
	 StatementTables::kQueue,
	 true},
	/* kCandidateDeadline: enqueued_at <= first visible time, so the first test can use an index. */
	{PGMQ_CANDIDATE("enqueued_at <= $1 AND GREATEST(enqueued_at, COALESCE(first_visible_at, "
					"CASE WHEN read_ct = 0 THEN vt ELSE enqueued_at END)) <= $1"),
	 2,
	 {TIMESTAMPTZOID, INT4OID},
	 StatementTables::kQueue},
	/* kCandidateMaxDeliveries */
	{PGMQ_CANDIDATE("vt <= $1 AND read_ct >= $3"), 3, {TIMESTAMPTZOID, INT4OID, INT4OID}, StatementTables::kQueue},
	/* kCandidateRetention */
	{PGMQ_CANDIDATE("enqueued_at <= $1"), 2, {TIMESTAMPTZOID, INT4OID}, StatementTables::kQueue},
	/* kMoveToQueue: a new msg_id in the invalid queue, visible at once; the old one is in the headers. */
	{PGMQ_MOVED_ROWS "INSERT INTO pgmq.%2$s (read_ct, enqueued_at, last_read_at, vt, message, headers) "
					 "SELECT read_ct, enqueued_at, last_read_at, $4, message, " PGMQ_MOVED_HEADERS
					 " FROM moved ORDER BY msg_id RETURNING msg_id",
	 5,
	 {INT8ARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZOID, TEXTOID},
	 StatementTables::kQueueDestination},
	/* kMoveToArchive */
	{PGMQ_MOVED_ROWS "INSERT INTO pgmq.%2$s (msg_id, read_ct, enqueued_at, last_read_at, archived_at, vt, message, "
					 "headers) SELECT msg_id, read_ct, enqueued_at, last_read_at, $4, vt, message, " PGMQ_MOVED_HEADERS
					 " FROM moved RETURNING msg_id, vt",
	 5,
	 {INT8ARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZOID, TEXTOID},
	 StatementTables::kQueue},
	/*
	 * kPolicyQueues, kLoadPolicy: dedup_seconds (new in 2.0.0) is read from the row as jsonb, so that a
	 * server running this library on a schema not yet updated (ALTER EXTENSION pgmq UPDATE) still
	 * enforces the policies it has.
	 */
	{"SELECT queue_name::text FROM pgmq.queue_policy AS p WHERE max_deliveries IS NOT NULL OR deadline_seconds IS "
	 "NOT NULL OR retention_seconds IS NOT NULL OR (pg_catalog.to_jsonb(p) -> 'dedup_seconds') <> 'null' "
	 "ORDER BY queue_name",
	 0,
	 {},
	 StatementTables::kPgmq},
	{"SELECT invalid_queue::text, coalesce(max_deliveries, 0), coalesce(deadline_seconds, 0), "
	 "coalesce(retention_seconds, 0), retention_action = 'delete', "
	 "coalesce((pg_catalog.to_jsonb(p) ->> 'dedup_seconds')::int4, 0) FROM pgmq.queue_policy AS p "
	 "WHERE queue_name = $1",
	 1,
	 {TEXTOID},
	 StatementTables::kPgmq},
	/* kPolicyStats */
	{"INSERT INTO pgmq.queue_policy_stats AS s (queue_name, moved_deadline, moved_max_deliveries, "
	 "removed_retention, last_moved_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (queue_name) DO UPDATE SET "
	 "moved_deadline = s.moved_deadline + EXCLUDED.moved_deadline, "
	 "moved_max_deliveries = s.moved_max_deliveries + EXCLUDED.moved_max_deliveries, "
	 "removed_retention = s.removed_retention + EXCLUDED.removed_retention, last_moved_at = EXCLUDED.last_moved_at",
	 5,
	 {TEXTOID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID},
	 StatementTables::kPgmq},
	/* kMetaExists */
	{"SELECT 1 FROM pgmq.meta WHERE queue_key = $1", 1, {TEXTOID}, StatementTables::kPgmq, false, true},
	/* kMetaInsert */
	{"INSERT INTO pgmq.meta (queue_name, is_partitioned, is_unlogged) VALUES ($1, false, $2) "
	 "ON CONFLICT DO NOTHING",
	 2,
	 {TEXTOID, BOOLOID},
	 StatementTables::kPgmq,
	 false,
	 true},
	/* kMetaDelete */
	{"DELETE FROM pgmq.meta WHERE queue_key = $1", 1, {TEXTOID}, StatementTables::kPgmq, false, true},
	/* kInvalidQueueFor */
	{"SELECT queue_name::text FROM pgmq.queue_policy WHERE invalid_queue = $1 AND queue_name <> $1 "
	 "ORDER BY queue_name LIMIT 1",
	 1,
	 {TEXTOID},
	 StatementTables::kPgmq,
	 false,
	 true},
	/* kSendWithIds: the msg_ids were taken from the identity sequence before (send_path.cpp). */
	{"INSERT INTO pgmq.%1$s (msg_id, vt, message, headers) OVERRIDING SYSTEM VALUE SELECT i, $1, m, h FROM ROWS FROM "
	 "(pg_catalog.unnest($4), pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(i, m, h) RETURNING msg_id",
	 4,
	 {TIMESTAMPTZOID, JSONBARRAYOID, JSONBARRAYOID, INT8ARRAYOID},
	 StatementTables::kQueue,
	 true},
	/*
	 * kDedupClaim: each id gets the proposed msg_id unless it was sent within the window, then it keeps the
	 * first's; a concurrent sender of the same id waits here for this transaction's end. Ids in sorted order.
	 */
	{"INSERT INTO pgmq.dedup AS d (queue_name, dedup_id, msg_id, sent_at) SELECT $1, u.id, u.msg_id, $4 FROM ROWS "
	 "FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(id, msg_id) ON CONFLICT (queue_name, dedup_id) DO "
	 "UPDATE SET msg_id = CASE WHEN d.sent_at > $5 THEN d.msg_id ELSE EXCLUDED.msg_id END, "
	 "sent_at = CASE WHEN d.sent_at > $5 THEN d.sent_at ELSE EXCLUDED.sent_at END RETURNING d.dedup_id, d.msg_id",
	 5,
	 {TEXTOID, TEXTARRAYOID, INT8ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID},
	 StatementTables::kPgmq,
	 true},
	/* kDedupForgetExpired: ids a sender holds (replacing an expired one) are skipped. */
	{"DELETE FROM pgmq.dedup WHERE queue_name = $1 AND dedup_id = ANY (ARRAY(SELECT e.dedup_id FROM pgmq.dedup AS e "
	 "WHERE e.queue_name = $1 AND e.sent_at <= $2 ORDER BY e.sent_at LIMIT $3 FOR UPDATE SKIP LOCKED))",
	 3,
	 {TEXTOID, TIMESTAMPTZOID, INT4OID},
	 StatementTables::kPgmq},
	/* kDedupForgetQueue: drop_queue and purge_queue, planned per call as the pgmq.meta statements. */
	{"DELETE FROM pgmq.dedup WHERE queue_name = $1", 1, {TEXTOID}, StatementTables::kPgmq, false, true},
};

static_assert(sizeof(kStatements) / sizeof(kStatements[0]) == static_cast<size_t>(Statement::kCount),
			  "one text per statement");

/* QueuePlans is one queue's kept plans (or, under "$", those on pgmq's own tables), a hash table entry. */
struct QueuePlans {
	char queue[core::kMaxQueueNameLength + 1]; /* key (zero-padded), must be first */
	Oid queue_relid;                           /* the queue table the plans were made for */
	Oid destination_relid;                     /* the queue table the kQueueDestination plans move into */
	dlist_node lru;                            /* in lru_list, most recently used first; not for "$" */
	SPIPlanPtr plans[static_cast<int>(Statement::kCount)];
};

HTAB *plan_cache = nullptr;       /* QueuePlans by queue name, in TopMemoryContext */
QueuePlans *pgmq_plans = nullptr; /* the entry "$": never evicted, not counted as a queue */
dlist_head lru_list = DLIST_STATIC_INIT(lru_list);
int executing = 0; /* plans running now in ExecutePlan, in this backend */

/* PlanCache returns the hash table of kept plans, creating it on first use. */
HTAB *
PlanCache() {
	if (plan_cache == nullptr) {
		HASHCTL ctl;
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(QueuePlans::queue);
		ctl.entrysize = sizeof(QueuePlans);
		ctl.hcxt = TopMemoryContext;
		plan_cache = hash_create("pgmq plans", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	return plan_cache;
}

/* FreePlans frees the kept plans of entry that name tables (their memory contexts go with them). */
void
FreePlans(QueuePlans *entry, StatementTables tables) {
	for (int statement = 0; statement < static_cast<int>(Statement::kCount); statement++) {
		if (kStatements[statement].tables != tables || entry->plans[statement] == nullptr)
			continue;
		SPI_freeplan(entry->plans[statement]);
		entry->plans[statement] = nullptr;
	}
}

/* FreeQueuePlans frees every kept plan of a queue's entry. */
void
FreeQueuePlans(QueuePlans *entry) {
	FreePlans(entry, StatementTables::kQueue);
	FreePlans(entry, StatementTables::kQueueDestination);
}

/* RemoveEntry frees a queue entry's plans and drops it from the cache. */
void
RemoveEntry(QueuePlans *entry) {
	FreeQueuePlans(entry);
	dlist_delete(&entry->lru);
	hash_search(plan_cache, entry->queue, HASH_REMOVE, nullptr);
}

/*
 * TrimPlanCache evicts the least recently used queues' plans, keeping keep,
 * until at most pgmq.plan_cache_queues queues have plans. Not while a kept
 * plan runs: it may be one of them (a trigger on a queue table that calls
 * pgmq for other queues); the next call after it trims.
 */
void
TrimPlanCache(QueuePlans *keep) {
	while (executing == 0 &&
		   hash_get_num_entries(plan_cache) - (pgmq_plans != nullptr ? 1 : 0) > guc_plan_cache_queues &&
		   !dlist_is_empty(&lru_list)) {
		/* dlist_tail_element does not compile as C++ (__builtin_types_compatible_p). */
		QueuePlans *victim = static_cast<QueuePlans *>(dlist_tail_element_off(&lru_list, offsetof(QueuePlans, lru)));
		if (victim == keep)
			break;
		RemoveEntry(victim);
	}
}

/*
 * QueueKey fills key (zero-padded) with the queue's name, "$" for no queue: no queue name contains
 * a "$", while "" is a valid one (queue "" must not share the entry of pgmq's own tables).
 */
void
QueueKey(const Queue *queue, char *key) {
	memset(key, 0, sizeof(QueuePlans::queue));
	if (queue != nullptr)
		memcpy(key, queue->name.text, queue->name.length);
	else
		key[0] = '$';
}

/*
 * QueueEntry returns the entry of queue's kept plans (nullptr: pgmq's own tables'), now the most
 * recently used, with every plan made for another queue table of that name freed; trims the cache.
 */
QueuePlans *
QueueEntry(const Queue *queue) {
	if (queue == nullptr && pgmq_plans != nullptr)
		return pgmq_plans;
	char key[sizeof(QueuePlans::queue)];
	QueueKey(queue, key);
	bool found;
	QueuePlans *entry = static_cast<QueuePlans *>(hash_search(PlanCache(), key, HASH_ENTER, &found));
	if (!found) {
		memset(entry->plans, 0, sizeof(entry->plans));
		entry->queue_relid = queue != nullptr ? queue->queue_relid : InvalidOid;
		entry->destination_relid = InvalidOid;
		if (queue == nullptr) {
			pgmq_plans = entry;
			return entry;
		}
		dlist_push_head(&lru_list, &entry->lru);
	} else if (dlist_head_node(&lru_list) != &entry->lru)
		dlist_move_head(&lru_list, &entry->lru);
	if (entry->queue_relid != queue->queue_relid) {
		/*
		 * Made for a dropped table of the same name (another session dropped
		 * the queue): none of them runs, a running plan would hold a lock on it.
		 */
		FreeQueuePlans(entry);
		entry->queue_relid = queue->queue_relid;
	}
	TrimPlanCache(entry);
	return entry;
}

} // namespace

SPIPlanPtr
KeepPlan(const char *sql, int nargs, const Oid *argtypes, bool generic) {
	SPIPlanPtr plan =
		SPI_prepare_cursor(sql, nargs, const_cast<Oid *>(argtypes), generic ? CURSOR_OPT_GENERIC_PLAN : 0);
	if (plan == nullptr)
		elog(ERROR, "pgmq: SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "pgmq: SPI_keepplan failed");
	return plan;
}

SPIPlanPtr
PreparedPlan(const Queue *queue, Statement statement, const Queue *destination) {
	const StatementInfo *info = &kStatements[static_cast<int>(statement)];
	Assert((info->tables == StatementTables::kPgmq) == (queue == nullptr));
	Assert((info->tables == StatementTables::kQueueDestination) == (destination != nullptr));
	QueuePlans *entry = nullptr;
	if (!info->per_call) {
		entry = QueueEntry(queue);
		if (destination != nullptr && entry->destination_relid != destination->queue_relid) {
			if (executing > 0) {
				/* One of them may be running (a trigger reached pgmq again): plan this call only. */
				entry = nullptr;
			} else {
				/* Made for another destination (the policy changed, or the queue was re-created). */
				FreePlans(entry, StatementTables::kQueueDestination);
				entry->destination_relid = destination->queue_relid;
			}
		}
		if (entry != nullptr && entry->plans[static_cast<int>(statement)] != nullptr)
			return entry->plans[static_cast<int>(statement)];
	}

	StringInfoData sql;
	initStringInfo(&sql);
	switch (info->tables) {
	case StatementTables::kQueue:
		appendStringInfo(&sql, info->text, quote_identifier(queue->queue_table),
						 quote_identifier(queue->archive_table));
		break;
	case StatementTables::kQueueDestination:
		appendStringInfo(&sql, info->text, quote_identifier(queue->queue_table),
						 quote_identifier(destination->queue_table));
		break;
	case StatementTables::kPgmq:
		appendStringInfoString(&sql, info->text);
		break;
	}
	SPIPlanPtr plan;
	if (entry == nullptr) {
		/* Planned with this call's values; the plan is SPI's and goes at SPI_finish. */
		plan = SPI_prepare(sql.data, info->nargs, const_cast<Oid *>(info->argtypes));
		if (plan == nullptr)
			elog(ERROR, "pgmq: SPI_prepare failed for \"%s\": %s", sql.data, SPI_result_code_string(SPI_result));
	} else {
		plan = KeepPlan(sql.data, info->nargs, info->argtypes, info->generic);
		entry->plans[static_cast<int>(statement)] = plan;
	}
	pfree(sql.data);
	return plan;
}

void
ForgetQueuePlans(const Queue *queue) {
	if (plan_cache == nullptr)
		return;
	char key[sizeof(QueuePlans::queue)];
	QueueKey(queue, key);
	QueuePlans *entry = static_cast<QueuePlans *>(hash_search(plan_cache, key, HASH_FIND, nullptr));
	if (entry != nullptr && entry != pgmq_plans)
		RemoveEntry(entry);
}

uint64
ExecutePlan(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only) {
	int rc;
	/* While it runs no kept plan is freed (TrimPlanCache): it may reach pgmq again, through a trigger. */
	executing++;
	PG_TRY();
	{ rc = SPI_execute_plan(plan, values, nulls, read_only, 0); }
	PG_FINALLY();
	{ executing--; }
	PG_END_TRY();
	if (rc < 0)
		elog(ERROR, "pgmq: SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

uint64
ExecuteStatement(const Queue *queue, Statement statement, Datum *values, const char *nulls, bool read_only) {
	return ExecutePlan(PreparedPlan(queue, statement), values, nulls, read_only);
}

uint64
ExecuteSql(const char *sql, bool read_only) {
	int rc = SPI_execute(sql, read_only, 0);
	if (rc < 0)
		elog(ERROR, "pgmq: SPI_execute failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

Datum
IdArray(const int64 *ids, int count) {
	Datum *elements = static_cast<Datum *>(palloc(sizeof(Datum) * Max(count, 1)));
	for (int i = 0; i < count; i++)
		elements[i] = Int64GetDatum(ids[i]);
	return PointerGetDatum(construct_array(elements, count, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

void
ConnectSpi() {
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pgmq: SPI_connect failed");
}

void
FinishSpi() {
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "pgmq: SPI_finish failed");
}

} // namespace pgmq::pg
