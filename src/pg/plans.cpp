/*
 * plans.cpp: statement texts and the per-backend cache of prepared plans.
 */
#include "pg/plans.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
}

namespace pgmq::pg {

namespace {

#define PGMQ_MESSAGE_COLUMNS "msg_id, read_ct, enqueued_at, last_read_at, vt, message, headers"

/*
 * The oldest visible messages from msg_id start on, locked; shared by read and
 * pop. %1$s is the queue table, start the parameter holding the read hint.
 */
#define PGMQ_VISIBLE_HEAD(start, extra)                                                                                \
	"msg_id = ANY (ARRAY(SELECT msg_id FROM pgmq.%1$s WHERE msg_id >= " start " AND vt <= $2" extra                  \
	" ORDER BY msg_id LIMIT $1 FOR UPDATE SKIP LOCKED))"

struct StatementInfo {
	const char *text; /* %1$s = quoted queue table, %2$s = quoted archive table */
	int nargs;
	Oid argtypes[6];
};

const StatementInfo kStatements[] = {
    /* kSend */
    {"INSERT INTO pgmq.%1$s (vt, message, headers) VALUES ($1, $2, $3) RETURNING msg_id",
     3,
     {TIMESTAMPTZOID, JSONBOID, JSONBOID}},
    /* kSendBatch */
    {"INSERT INTO pgmq.%1$s (vt, message, headers) SELECT $1, m, h FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(m, h) RETURNING msg_id",
     3,
     {TIMESTAMPTZOID, JSONBARRAYOID, JSONBARRAYOID}},
    /* kRead */
    {"UPDATE pgmq.%1$s SET vt = $3, read_ct = read_ct + 1, last_read_at = $2 WHERE " PGMQ_VISIBLE_HEAD(
         "$4", "") " RETURNING " PGMQ_MESSAGE_COLUMNS,
     4,
     {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID}},
    /* kReadWhere */
    {"UPDATE pgmq.%1$s SET vt = $3, read_ct = read_ct + 1, last_read_at = $2 WHERE " PGMQ_VISIBLE_HEAD(
         "$5", " AND message @> $4") " RETURNING " PGMQ_MESSAGE_COLUMNS,
     5,
     {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, JSONBOID, INT8OID}},
    /* kPop */
    {"DELETE FROM pgmq.%1$s WHERE " PGMQ_VISIBLE_HEAD("$3", "") " RETURNING " PGMQ_MESSAGE_COLUMNS,
     3,
     {INT4OID, TIMESTAMPTZOID, INT8OID}},
    /* kSetVt */
    {"UPDATE pgmq.%1$s SET vt = $2 WHERE msg_id = $1 RETURNING " PGMQ_MESSAGE_COLUMNS, 2, {INT8OID, TIMESTAMPTZOID}},
    /* kSetVtBatch */
    {"UPDATE pgmq.%1$s SET vt = $2 WHERE msg_id = ANY ($1) RETURNING " PGMQ_MESSAGE_COLUMNS,
     2,
     {INT8ARRAYOID, TIMESTAMPTZOID}},
    /* kDelete */
    {"DELETE FROM pgmq.%1$s WHERE msg_id = $1 RETURNING msg_id", 1, {INT8OID}},
    /* kDeleteBatch */
    {"DELETE FROM pgmq.%1$s WHERE msg_id = ANY ($1) RETURNING msg_id", 1, {INT8ARRAYOID}},
    /* kArchive */
    {"WITH moved AS (DELETE FROM pgmq.%1$s WHERE msg_id = $1 RETURNING " PGMQ_MESSAGE_COLUMNS
     ") INSERT INTO pgmq.%2$s (" PGMQ_MESSAGE_COLUMNS ") SELECT " PGMQ_MESSAGE_COLUMNS " FROM moved RETURNING msg_id",
     1,
     {INT8OID}},
    /* kArchiveBatch */
    {"WITH moved AS (DELETE FROM pgmq.%1$s WHERE msg_id = ANY ($1) RETURNING " PGMQ_MESSAGE_COLUMNS
     ") INSERT INTO pgmq.%2$s (" PGMQ_MESSAGE_COLUMNS ") SELECT " PGMQ_MESSAGE_COLUMNS " FROM moved RETURNING msg_id",
     1,
     {INT8ARRAYOID}},
    /* kMetrics */
    {"SELECT count(*), count(*) FILTER (WHERE vt <= $1), max(enqueued_at), min(enqueued_at), "
     "pg_catalog.pg_sequence_last_value(pg_catalog.pg_get_serial_sequence($2::regclass::text, 'msg_id')::regclass) "
     "FROM pgmq.%1$s",
     2,
     {TIMESTAMPTZOID, OIDOID}},
    /* kReadPolicy */
    {"UPDATE pgmq.%1$s SET vt = $3, read_ct = read_ct + 1, last_read_at = $2, first_visible_at = "
     "COALESCE(first_visible_at, vt) WHERE " PGMQ_VISIBLE_HEAD(
         "$5", " AND read_ct < $4") " RETURNING " PGMQ_MESSAGE_COLUMNS,
     5,
     {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, INT8OID}},
    /* kReadWherePolicy */
    {"UPDATE pgmq.%1$s SET vt = $3, read_ct = read_ct + 1, last_read_at = $2, first_visible_at = "
     "COALESCE(first_visible_at, vt) WHERE " PGMQ_VISIBLE_HEAD(
         "$6", " AND read_ct < $4 AND message @> $5") " RETURNING " PGMQ_MESSAGE_COLUMNS,
     6,
     {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, JSONBOID, INT8OID}},
    /* kPopPolicy */
    {"DELETE FROM pgmq.%1$s WHERE " PGMQ_VISIBLE_HEAD("$4", " AND read_ct < $3") " RETURNING " PGMQ_MESSAGE_COLUMNS,
     4,
     {INT4OID, TIMESTAMPTZOID, INT4OID, INT8OID}},
};

static_assert(sizeof(kStatements) / sizeof(kStatements[0]) == static_cast<size_t>(Statement::kCount),
              "one text per statement");

struct PlanKey {
	char queue[core::kMaxQueueNameLength + 1];
	int statement;
};

struct PlanEntry {
	PlanKey key; /* must be first */
	SPIPlanPtr plan;
	Oid queue_relid; /* the queue table the plan was made for */
};

HTAB *plan_cache = nullptr;
long entries_since_sweep = 0; /* entries added since SweepDeadPlans last ran */
long entries_after_sweep = 0; /* entries it left */
constexpr long kMinSweepInterval = 256;

HTAB *
PlanCacheUnsafe() {
	if (plan_cache == nullptr) {
		HASHCTL ctl;
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(PlanKey);
		ctl.entrysize = sizeof(PlanEntry);
		ctl.hcxt = TopMemoryContext;
		plan_cache = hash_create("pgmq plans", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	return plan_cache;
}

void
MakeKey(const Queue *queue, int statement, PlanKey *key) {
	memset(key, 0, sizeof(*key));
	memcpy(key->queue, queue->name.text, queue->name.length);
	key->statement = statement;
}

/*
 * SweepDeadPlans frees the plans of queue tables that no longer exist: queues dropped by other
 * sessions (drop_queue in this one forgets them at once), which would otherwise stay for the life
 * of the backend, e.g. one set per queue in a queue-per-job application on pooled connections. A
 * plan of a dropped table cannot be running. Called after max(256, entries it left last time) new
 * entries, so it costs O(1) per entry on average.
 */
void
SweepDeadPlans() {
	HASH_SEQ_STATUS status;
	hash_seq_init(&status, plan_cache);
	PlanEntry *entry;
	while ((entry = static_cast<PlanEntry *>(hash_seq_search(&status))) != nullptr) {
		if (!OidIsValid(entry->queue_relid) || SearchSysCacheExists1(RELOID, ObjectIdGetDatum(entry->queue_relid)))
			continue;
		SPIPlanPtr plan = entry->plan;
		hash_search(plan_cache, &entry->key, HASH_REMOVE, nullptr);
		if (plan != nullptr)
			SPI_freeplan(plan);
	}
	entries_since_sweep = 0;
	entries_after_sweep = hash_get_num_entries(plan_cache);
}

} // namespace

SPIPlanPtr
KeepPlanUnsafe(const char *sql, int nargs, const Oid *argtypes, bool generic) {
	SPIPlanPtr plan =
	    SPI_prepare_cursor(sql, nargs, const_cast<Oid *>(argtypes), generic ? CURSOR_OPT_GENERIC_PLAN : 0);
	if (plan == nullptr)
		elog(ERROR, "pgmq: SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "pgmq: SPI_keepplan failed");
	return plan;
}

SPIPlanPtr
PreparedPlanUnsafe(const Queue *queue, Statement statement) {
	PlanKey key;
	bool found;
	MakeKey(queue, static_cast<int>(statement), &key);
	PlanEntry *entry = static_cast<PlanEntry *>(hash_search(PlanCacheUnsafe(), &key, HASH_ENTER, &found));
	if (found && entry->plan != nullptr && entry->queue_relid == queue->queue_relid)
		return entry->plan;
	if (!found) {
		entry->plan = nullptr;
		entry->queue_relid = queue->queue_relid;
		/* Keeps this entry (its table exists: the caller holds a lock on it); entries never move. */
		if (++entries_since_sweep >= Max(kMinSweepInterval, entries_after_sweep))
			SweepDeadPlans();
	} else if (entry->plan != nullptr)
		SPI_freeplan(entry->plan); /* made for a dropped table of the same name */
	entry->plan = nullptr;
	entry->queue_relid = queue->queue_relid;

	const StatementInfo *info = &kStatements[static_cast<int>(statement)];
	StringInfoData sql;
	initStringInfo(&sql);
	appendStringInfo(&sql, info->text, quote_identifier(queue->queue_table), quote_identifier(queue->archive_table));
	/* Always the generic plan: planned once, never again per call (the read's is an index scan on msg_id). */
	SPIPlanPtr plan = KeepPlanUnsafe(sql.data, info->nargs, info->argtypes, true);
	pfree(sql.data);
	entry->plan = plan;
	return plan;
}

void
ForgetQueuePlans(const Queue *queue) {
	if (plan_cache == nullptr)
		return;
	for (int statement = 0; statement < static_cast<int>(Statement::kCount); statement++) {
		PlanKey key;
		MakeKey(queue, statement, &key);
		PlanEntry *entry = static_cast<PlanEntry *>(hash_search(plan_cache, &key, HASH_FIND, nullptr));
		if (entry == nullptr)
			continue;
		SPIPlanPtr plan = entry->plan;
		hash_search(plan_cache, &key, HASH_REMOVE, nullptr);
		if (plan != nullptr)
			SPI_freeplan(plan);
	}
}

uint64
ExecutePlanUnsafe(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only) {
	int rc = SPI_execute_plan(plan, values, nulls, read_only, 0);
	if (rc < 0)
		elog(ERROR, "pgmq: SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

void
ConnectSpiUnsafe() {
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pgmq: SPI_connect failed");
}

void
FinishSpiUnsafe() {
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "pgmq: SPI_finish failed");
}

} // namespace pgmq::pg
