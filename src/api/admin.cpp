/*
 * admin.cpp: creating, dropping, purging and measuring queues.
 *
 * DDL here is built from validated, quote_identifier()-quoted names and runs
 * once per call of create/drop; it is not on the message path. Creating and
 * dropping a queue take PGMQ's advisory lock (pgmq.acquire_queue_lock), so
 * concurrent calls for one queue serialise; only a role that may administer
 * the queue gets that lock.
 */
#include "boundary.hpp"
#include "compat.hpp"
#include "guc.hpp"
#include "pg/counters.hpp"
#include "pg/dedup.hpp"
#include "pg/metrics_path.hpp"
#include "pg/plans.hpp"
#include "pg/readhint.hpp"

#include <cmath>

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/inval.h"
#include "utils/formatting.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
}

namespace pgmq::api {

namespace {

/*
 * LockQueueName takes the transaction-level advisory lock PGMQ uses for a queue name, once the
 * caller may administer the queue (CheckQueueAdmin, 42501): otherwise anyone could hold it and
 * stall the owner's create and drop. Fills queue_relid as it is once the lock is held.
 */
void
LockQueueName(pg::Queue *queue) {
	pg::CheckQueueAdmin(queue);
	char key[NAMEDATALEN + 16];
	snprintf(key, sizeof(key), "pgmq.queue_%s", queue->name.text);
	Datum hash = DirectFunctionCall1Coll(hashtext, DEFAULT_COLLATION_OID, PointerGetDatum(cstring_to_text(key)));
	DirectFunctionCall1(pg_advisory_xact_lock_int8, Int64GetDatum(static_cast<int64>(DatumGetInt32(hash))));
	/* Whoever held the lock may have just created or dropped the queue: see its catalog changes, check again. */
	AcceptInvalidationMessages();
	pg::CheckQueueAdmin(queue);
}

/* ExecuteWithName runs statement (on pgmq's own tables) with $1 = the queue name, $2 = extra if any. */
uint64
ExecuteWithName(pg::Statement statement, const pg::Queue *queue, Datum extra) {
	Datum values[2] = {PointerGetDatum(cstring_to_text(queue->name.text)), extra};
	return pg::ExecuteStatement(nullptr, statement, values, nullptr, false);
}

/* MetaRowExists says whether pgmq.meta has a row for the queue. */
bool
MetaRowExists(const pg::Queue *queue) {
	return ExecuteWithName(pg::Statement::kMetaExists, queue, 0) > 0;
}

/*
 * KeepMsgIdSequenceLogged makes the msg_id identity sequence of an unlogged queue
 * table (quoted name q) a logged sequence. PostgreSQL 15 makes the identity sequence of an
 * unlogged table unlogged too, so crash recovery would reset it to 1 together with the
 * emptied table: new messages would get msg_ids that the logged archive (a primary key) or
 * a consumer still holds, archiving them would fail and a stale delete would hit the wrong
 * message. A logged sequence keeps counting up through a crash.
 */
void
KeepMsgIdSequenceLogged(const char *q) {
	StringInfoData sql;
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT pg_catalog.pg_get_serial_sequence(%s, 'msg_id')",
					 quote_literal_cstr(psprintf("pgmq.%s", q)));
	pg::ExecuteSql(sql.data, false);
	char *sequence = SPI_processed == 1 ? SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : nullptr;
	if (sequence == nullptr)
		elog(ERROR, "pgmq: no msg_id sequence for pgmq.%s", q);
	resetStringInfo(&sql);
	appendStringInfo(&sql, "ALTER SEQUENCE %s SET LOGGED", sequence);
	pg::ExecuteSql(sql.data, false);
}

/* CreateQueue creates the queue's tables, indexes and meta row unless they all exist. */
Datum
CreateQueue(FunctionCallInfo fcinfo, bool unlogged) {
	pg::Queue queue;
	pg::QueueFromArg(fcinfo, 0, &queue);
	LockQueueName(&queue);
	pg::ConnectSpi();
	bool queue_exists = pg::LookupQueue(&queue, true);
	bool archive_exists = OidIsValid(get_relname_relid(queue.archive_table, pg::PgmqNamespace()));
	if (queue_exists && archive_exists && MetaRowExists(&queue)) {
		pg::FinishSpi();
		ereport(NOTICE, (errmsg("queue \"%s\" already exists, skipping", queue.name.text)));
		PG_RETURN_VOID();
	}

	const char *q = quote_identifier(queue.queue_table);
	const char *a = quote_identifier(queue.archive_table);
	char archived_index[NAMEDATALEN];
	snprintf(archived_index, sizeof(archived_index), "archived_at_idx_%s", queue.name.text);

	StringInfoData sql;
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE %sTABLE IF NOT EXISTS pgmq.%s ("
					 "msg_id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY, "
					 "read_ct integer NOT NULL DEFAULT 0, "
					 "enqueued_at timestamp with time zone NOT NULL DEFAULT now(), "
					 "last_read_at timestamp with time zone, "
					 "vt timestamp with time zone NOT NULL, "
					 "message jsonb, "
					 "headers jsonb)",
					 unlogged ? "UNLOGGED " : "", q);
	/*
	 * Free room on each page for the new versions a read makes: a read of many
	 * rows on packed pages cannot update them in place (HOT), and every new
	 * version then also needs a primary key entry (bench row ra100_4).
	 */
	if (guc_queue_fillfactor < 100)
		appendStringInfo(&sql, " WITH (fillfactor = %d)", guc_queue_fillfactor);
	appendStringInfoString(&sql, "; ");
	appendStringInfo(&sql,
					 "CREATE TABLE IF NOT EXISTS pgmq.%s ("
					 "msg_id bigint PRIMARY KEY, "
					 "read_ct integer NOT NULL DEFAULT 0, "
					 "enqueued_at timestamp with time zone NOT NULL DEFAULT now(), "
					 "last_read_at timestamp with time zone, "
					 "archived_at timestamp with time zone NOT NULL DEFAULT now(), "
					 "vt timestamp with time zone NOT NULL, "
					 "message jsonb, "
					 "headers jsonb); ",
					 a);
	/*
	 * No index on vt (PGMQ has one): reads scan msg_id order from the read hint
	 * and never use it, and without it a read's update of vt, read_ct and
	 * last_read_at is a HOT update: no index entries, less dead data.
	 */
	appendStringInfo(&sql, "CREATE INDEX IF NOT EXISTS %s ON pgmq.%s (archived_at); ", quote_identifier(archived_index),
					 a);
	/*
	 * Keeps the read hint right under plain-SQL changes (api/hint_trigger.cpp). It goes with the
	 * extension: a plain DROP EXTENSION pgmq drops it (it calls an extension function) and leaves
	 * the queue tables, as PGMQ's DROP EXTENSION does, instead of failing with 2BP01.
	 */
	appendStringInfo(
		&sql,
		"CREATE OR REPLACE TRIGGER pgmq_read_hint_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgmq.%s "
		"FOR EACH STATEMENT EXECUTE FUNCTION pgmq._read_hint_guard(); "
		"ALTER TRIGGER pgmq_read_hint_guard ON pgmq.%s DEPENDS ON EXTENSION pgmq; ",
		q, q);
	pg::ExecuteSql(sql.data, false);
	if (unlogged)
		KeepMsgIdSequenceLogged(q);
	/* meta keeps the name as given (as PGMQ does); its queue_key is the normalised name. */
	Datum meta_values[2] = {PointerGetDatum(PG_GETARG_TEXT_PP(0)), BoolGetDatum(unlogged)};
	pg::ExecuteStatement(nullptr, pg::Statement::kMetaInsert, meta_values, nullptr, false);
	/* A new table may reuse the OID of a dropped one: start without a read hint or counters. */
	if (pg::LookupQueue(&queue, true)) {
		pg::ReadHintForget(queue.queue_relid);
		pg::CountersForget(queue.queue_relid);
	}
	pg::FinishSpi();
	PG_RETURN_VOID();
}

/* RefuseDropOfInvalidQueue raises 2BP01 when another queue's policy sends overdue messages to queue. */
void
RefuseDropOfInvalidQueue(const pg::Queue *queue) {
	if (ExecuteWithName(pg::Statement::kInvalidQueueFor, queue, 0) == 0)
		return;
	char *user = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	ereport(ERROR,
			(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
			 errmsg("cannot drop queue \"%s\" because it is the invalid queue of queue \"%s\"", queue->name.text, user),
			 errhint("Change or clear that policy first, e.g. pgmq.clear_policy('%s').", user)));
}

/* DropQueue drops the queue's tables and meta row; false (with a notice) when there is no such queue. */
bool
DropQueue(FunctionCallInfo fcinfo) {
	pg::Queue queue;
	pg::QueueFromArg(fcinfo, 0, &queue);
	LockQueueName(&queue);
	pg::ConnectSpi();
	bool queue_exists = pg::LookupQueue(&queue, true);
	bool meta_exists = MetaRowExists(&queue);
	if (!queue_exists && !meta_exists) {
		pg::FinishSpi();
		ereport(NOTICE, (errmsg("queue \"%s\" does not exist", queue.name.text)));
		return false;
	}
	RefuseDropOfInvalidQueue(&queue);
	StringInfoData sql;
	initStringInfo(&sql);
	appendStringInfo(&sql, "DROP TABLE IF EXISTS pgmq.%s, pgmq.%s", quote_identifier(queue.queue_table),
					 quote_identifier(queue.archive_table));
	pg::ExecuteSql(sql.data, false);
	ExecuteWithName(pg::Statement::kMetaDelete, &queue, 0);
	pg::ForgetDedupIds(&queue);
	pg::FinishSpi();
	pg::ForgetQueuePlans(&queue);
	if (queue_exists) {
		pg::ReadHintForget(queue.queue_relid);
		pg::CountersForget(queue.queue_relid);
	}
	return true;
}

/*
 * AgeSeconds is extract(epoch from now - t)::int, rounded as PostgreSQL's numeric-to-int
 * cast rounds, with its errors: 22008 for an infinite t, 22003 for an age beyond an integer
 * (enqueued_at is a plain column: SQL can store any timestamp there).
 */
int32
AgeSeconds(TimestampTz now, TimestampTz t) {
	int64 micros;
	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE), errmsg("cannot subtract infinite timestamps")));
	if (pg_sub_s64_overflow(now, t, &micros))
		ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("integer out of range")));
	double seconds = std::round(static_cast<double>(micros) / USECS_PER_SEC);
	if (seconds < PG_INT32_MIN || seconds > PG_INT32_MAX)
		ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("integer out of range")));
	return static_cast<int32>(seconds);
}

} // namespace

PGMQ_FUNCTION(pgmq_create) {
	return CreateQueue(fcinfo, false);
}

PGMQ_FUNCTION(pgmq_create_unlogged) {
	return CreateQueue(fcinfo, true);
}

PGMQ_FUNCTION(pgmq_drop_queue) {
	PG_RETURN_BOOL(DropQueue(fcinfo));
}

/*
 * pgmq_drop_queue_partitioned implements the deprecated drop_queue(queue_name,
 * partitioned): it returns true even for a missing queue, as PGMQ's does.
 */
PGMQ_FUNCTION(pgmq_drop_queue_partitioned) {
	ereport(WARNING, (errmsg("drop_queue(queue_name, partitioned) is deprecated and will be removed; use "
							 "drop_queue(queue_name) instead")));
	(void)DropQueue(fcinfo);
	PG_RETURN_BOOL(true);
}

/* pgmq_purge_queue deletes every message of the queue (not the archive) and returns how many there were. */
PGMQ_FUNCTION(pgmq_purge_queue) {
	pg::Queue queue;
	pg::ResolveQueueArg(fcinfo, 0, &queue, pg::kPurgeAccess);
	const char *q = quote_identifier(queue.queue_table);
	pg::ConnectSpi();
	StringInfoData sql;
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT count(*) FROM pgmq.%s", q);
	pg::ExecuteSql(sql.data, false);
	bool isnull;
	int64 count = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	resetStringInfo(&sql);
	appendStringInfo(&sql, "TRUNCATE pgmq.%s", q);
	pg::ExecuteSql(sql.data, false);
	/* A purged queue starts afresh: a message sent again after the purge is not a duplicate. */
	pg::ForgetDedupIds(&queue);
	pg::FinishSpi();
	PG_RETURN_INT64(count);
}

/* pgmq_metrics implements metrics(queue_name) with PGMQ's columns (pg/metrics_path.hpp). */
PGMQ_FUNCTION(pgmq_metrics) {
	pg::Queue queue;
	pg::ResolveQueueArg(fcinfo, 0, &queue, pg::kMetricsAccess);
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "pgmq: metrics must return a composite type");
	pg::QueueStats stats;
	pg::QueueMetrics(&queue, GetCurrentTransactionStartTimestamp(), &stats);
	TimestampTz now = stats.now;

	Datum values[8];
	bool nulls[8] = {false, false, !stats.has_newest, !stats.has_oldest, false, false, false, true};
	values[0] = PointerGetDatum(PG_GETARG_TEXT_PP(0)); /* the name as given, as PGMQ's metrics returns it */
	values[1] = Int64GetDatum(stats.length);
	values[2] = stats.has_newest ? Int32GetDatum(AgeSeconds(now, stats.newest)) : (Datum)0;
	values[3] = stats.has_oldest ? Int32GetDatum(AgeSeconds(now, stats.oldest)) : (Datum)0;
	values[4] = Int64GetDatum(stats.total);
	values[5] = TimestampTzGetDatum(now);
	values[6] = Int64GetDatum(stats.visible);
	values[7] = (Datum)0;
	/*
	 * PGMQ's default_partition_length: NULL for a plain queue, else the estimated rows of the default
	 * partitions q_<name>_default and a_<name>_default (pgmq makes none: a partition is created for
	 * each row instead, pg/partitions.hpp; 0 unless someone attached one).
	 */
	if (get_rel_relkind(queue.queue_relid) == RELKIND_PARTITIONED_TABLE) {
		pg::ConnectSpi();
		StringInfoData sql;
		initStringInfo(&sql);
		appendStringInfo(&sql,
						 "SELECT COALESCE(pg_catalog.sum(GREATEST(c.reltuples, 0)), 0)::bigint FROM "
						 "pg_catalog.pg_class AS c WHERE c.relnamespace OPERATOR(pg_catalog.=) %u "
						 "AND c.relname OPERATOR(pg_catalog.=) ANY (ARRAY[%s, %s]::name[])",
						 pg::PgmqNamespace(), quote_literal_cstr(psprintf("%s_default", queue.queue_table)),
						 quote_literal_cstr(psprintf("%s_default", queue.archive_table)));
		pg::ExecuteSql(sql.data, true);
		bool isnull_default;
		values[7] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull_default);
		nulls[7] = false;
		pg::FinishSpi();
	}
	/* SPI memory is gone now, but every by-reference value above was built outside it. */
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/*
 * pgmq_metrics_counter implements _metrics_counter(queue_name): the queue's shared counts
 * (pg/counters.hpp, with this transaction's changes) as metrics would use them now, NULLs
 * while metrics would scan; it never rebuilds them.
 */
PGMQ_FUNCTION(pgmq_metrics_counter) {
	pg::Queue queue;
	pg::ResolveQueueArg(fcinfo, 0, &queue, pg::kMetricsAccess);
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "pgmq: _metrics_counter must return a composite type");
	pg::CountedQueue counted;
	Datum values[2] = {0, 0};
	bool nulls[2] = {true, true};
	if (pg::CountersRead(queue.queue_relid, GetCurrentTransactionStartTimestamp(), &counted)) {
		values[0] = Int64GetDatum(counted.length);
		nulls[0] = false;
		values[1] = Int64GetDatum(counted.visible);
		nulls[1] = !counted.has_visible;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/*
 * pgmq_acquire_queue_lock implements acquire_queue_lock(queue_name): PGMQ's advisory lock for the name,
 * held until the end of the transaction, for the queue's owner (or, for a missing queue, a role that may
 * create it) only.
 */
/*
 * pgmq_create_fifo_index implements create_fifo_index(queue_name): the btree
 * index q_<name>_group_idx on (FIFO group, msg_id) through which grouped
 * reads take a group's messages (pg/read_path.hpp). Idempotent.
 */
PGMQ_FUNCTION(pgmq_create_fifo_index) {
	pg::Queue queue;
	pg::ResolveQueueArg(fcinfo, 0, &queue, pg::kIndexAccess);
	char index[NAMEDATALEN];
	snprintf(index, sizeof(index), "%s_group_idx", queue.queue_table);
	StringInfoData sql;
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE INDEX IF NOT EXISTS %s ON pgmq.%s "
					 "((COALESCE(headers ->> 'x-pgmq-group', '_default_fifo_group')), msg_id)",
					 quote_identifier(index), quote_identifier(queue.queue_table));
	pg::ConnectSpi();
	pg::ExecuteSql(sql.data, false);
	pg::FinishSpi();
	PG_RETURN_VOID();
}

PGMQ_FUNCTION(pgmq_acquire_queue_lock) {
	pg::Queue queue;
	pg::QueueFromArg(fcinfo, 0, &queue);
	LockQueueName(&queue);
	PG_RETURN_VOID();
}

/* pgmq_validate_queue_name raises an error unless queue_name is a valid queue name. */
PGMQ_FUNCTION(pgmq_validate_queue_name) {
	pg::Queue queue;
	pg::QueueFromArg(fcinfo, 0, &queue);
	PG_RETURN_VOID();
}

/* pgmq_format_table_name returns <prefix>_<normalised name>, e.g. format_table_name('Jobs', 'q') = 'q_jobs'. */
PGMQ_FUNCTION(pgmq_format_table_name) {
	pg::Queue queue;
	pg::QueueFromArg(fcinfo, 0, &queue);
	pg::ArgNotNull(fcinfo, 1, "prefix");
	char *prefix = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char *lower = asc_tolower(prefix, strlen(prefix));
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%s_%s", lower, queue.name.text)));
}

} // namespace pgmq::api
