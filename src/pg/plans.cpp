/*
 * plans.cpp: statement texts and the per-backend cache of prepared plans.
 */
#include "pg/plans.hpp"

#include "guc.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "lib/ilist.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
}

namespace pgmq::pg {

namespace {

#define PGMQ_MESSAGE_COLUMNS "msg_id, read_ct, enqueued_at, last_read_at, vt, message, headers"

/*
 * The oldest visible messages from msg_id start on, locked; shared by read and
 * pop. %1$s is the queue table, start the parameter holding the read hint.
 */
#define PGMQ_VISIBLE_HEAD(start, extra)                                                                                \
	"msg_id = ANY (ARRAY(SELECT msg_id FROM pgmq.%1$s WHERE msg_id >= " start " AND vt <= $2" extra                    \
	" ORDER BY msg_id LIMIT $1 FOR UPDATE SKIP LOCKED))"

struct StatementInfo {
	const char *text; /* %1$s = quoted queue table, %2$s = quoted archive table */
	int nargs;
	Oid argtypes[6];
	bool per_call; /* planned for each call, never kept (see PreparedPlanUnsafe) */
};

const StatementInfo kStatements[] = {
	/* kSend */
	{"INSERT INTO pgmq.%1$s (vt, message, headers) VALUES ($1, $2, $3) RETURNING msg_id",
	 3,
	 {TIMESTAMPTZOID, JSONBOID, JSONBOID}},
	/* kSendBatch */
	{"INSERT INTO pgmq.%1$s (vt, message, headers) SELECT $1, m, h FROM ROWS FROM (pg_catalog.unnest($2), "
	 "pg_catalog.unnest($3)) AS u(m, h) RETURNING msg_id",
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
	 {TIMESTAMPTZOID, OIDOID},
	 true},
	/* kReadPolicy */
	{"UPDATE pgmq.%1$s SET vt = $3, read_ct = read_ct + 1, last_read_at = $2, first_visible_at = "
	 "COALESCE(first_visible_at, vt) WHERE " PGMQ_VISIBLE_HEAD("$5",
															   " AND read_ct < $4") " RETURNING " PGMQ_MESSAGE_COLUMNS,
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

/* QueuePlans is one queue's kept plans, an entry of the hash table and of the LRU list. */
struct QueuePlans {
	char queue[core::kMaxQueueNameLength + 1]; /* key (zero-padded), must be first */
	Oid queue_relid;                           /* the queue table the plans were made for */
	dlist_node lru;                            /* in lru_list, most recently used first */
	SPIPlanPtr plans[static_cast<int>(Statement::kCount)];
};

HTAB *plan_cache = nullptr; /* QueuePlans by queue name, in TopMemoryContext */
dlist_head lru_list = DLIST_STATIC_INIT(lru_list);
int executing = 0; /* plans running now in ExecutePlanUnsafe, in this backend */

HTAB *
PlanCacheUnsafe() {
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

/* FreePlans frees the kept plans of entry (their memory contexts go with them). */
void
FreePlans(QueuePlans *entry) {
	for (int statement = 0; statement < static_cast<int>(Statement::kCount); statement++) {
		if (entry->plans[statement] != nullptr)
			SPI_freeplan(entry->plans[statement]);
		entry->plans[statement] = nullptr;
	}
}

/* RemoveEntry frees entry's plans and drops it from the cache. */
void
RemoveEntry(QueuePlans *entry) {
	FreePlans(entry);
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
	while (executing == 0 && hash_get_num_entries(plan_cache) > guc_plan_cache_queues && !dlist_is_empty(&lru_list)) {
		/* dlist_tail_element does not compile as C++ (__builtin_types_compatible_p). */
		QueuePlans *victim = static_cast<QueuePlans *>(dlist_tail_element_off(&lru_list, offsetof(QueuePlans, lru)));
		if (victim == keep)
			break;
		RemoveEntry(victim);
	}
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
	const StatementInfo *info = &kStatements[static_cast<int>(statement)];
	QueuePlans *entry = nullptr;
	if (!info->per_call) {
		char key[sizeof(QueuePlans::queue)];
		bool found;
		memset(key, 0, sizeof(key));
		memcpy(key, queue->name.text, queue->name.length);
		entry = static_cast<QueuePlans *>(hash_search(PlanCacheUnsafe(), key, HASH_ENTER, &found));
		if (!found) {
			memset(entry->plans, 0, sizeof(entry->plans));
			entry->queue_relid = queue->queue_relid;
			dlist_push_head(&lru_list, &entry->lru);
		} else if (dlist_head_node(&lru_list) != &entry->lru)
			dlist_move_head(&lru_list, &entry->lru);
		if (entry->queue_relid != queue->queue_relid) {
			/*
			 * Made for a dropped table of the same name (another session dropped
			 * the queue): none of them runs, a running plan would hold a lock on it.
			 */
			FreePlans(entry);
			entry->queue_relid = queue->queue_relid;
		}
		TrimPlanCache(entry);
		SPIPlanPtr plan = entry->plans[static_cast<int>(statement)];
		if (plan != nullptr)
			return plan;
	}

	StringInfoData sql;
	initStringInfo(&sql);
	appendStringInfo(&sql, info->text, quote_identifier(queue->queue_table), quote_identifier(queue->archive_table));
	SPIPlanPtr plan;
	if (entry == nullptr) {
		/* Planned with this call's values; the plan is SPI's and goes at SPI_finish. */
		plan = SPI_prepare(sql.data, info->nargs, const_cast<Oid *>(info->argtypes));
		if (plan == nullptr)
			elog(ERROR, "pgmq: SPI_prepare failed for \"%s\": %s", sql.data, SPI_result_code_string(SPI_result));
	} else {
		/* Always the generic plan: planned once, never again per call (the read's is an index scan on msg_id). */
		plan = KeepPlanUnsafe(sql.data, info->nargs, info->argtypes, true);
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
	memset(key, 0, sizeof(key));
	memcpy(key, queue->name.text, queue->name.length);
	QueuePlans *entry = static_cast<QueuePlans *>(hash_search(plan_cache, key, HASH_FIND, nullptr));
	if (entry != nullptr)
		RemoveEntry(entry);
}

uint64
ExecutePlanUnsafe(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only) {
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
