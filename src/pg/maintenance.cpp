/*
 * maintenance.cpp: statements and batches that enforce queue policies.
 */
#include "pg/maintenance.hpp"
#include "pg/plans.hpp"

#include "boundary.hpp"
#include "pg/policy.hpp"
#include "pg/wakeup.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
}

namespace pgmq::pg {

namespace {

enum class MaintStatement {
	kPolicyQueues,           /* -> queue_name of every policy with a limit */
	kLoadPolicy,             /* $1 queue_name -> invalid_queue, limits, retention_action = 'delete' */
	kStats,                  /* $1 queue_name, $2..$4 counts, $5 moved_at: add to pgmq.queue_policy_stats */
	kCandidateDeadline,      /* $1 now - deadline, $2 limit */
	kCandidateMaxDeliveries, /* $1 now, $2 limit, $3 max_deliveries */
	kCandidateRetention,     /* $1 now - retention, $2 limit */
	kMoveToQueue,            /* $1 ids, $2 reasons, $3 due_at, $4 now, $5 source queue name */
	kMoveToArchive,          /* as kMoveToQueue, into the source queue's archive */
	kCount
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

/* The headers merged with what happened; headers that are not an object are kept under x-pgmq-headers. */
#define PGMQ_MOVED_HEADERS                                                                                             \
	"CASE WHEN jsonb_typeof(headers) = 'object' THEN headers WHEN headers IS NULL THEN '{}'::jsonb "                   \
	"ELSE pg_catalog.jsonb_build_object('x-pgmq-headers', headers) END || "                                            \
	"pg_catalog.jsonb_build_object('x-pgmq-invalid', "                                                                 \
	"pg_catalog.jsonb_build_object('reason', reason, 'queue', $5::text, 'msg_id', msg_id, 'due_at', due_at, "          \
	"'moved_at', $4))"

struct MaintStatementInfo {
	const char *text; /* %1$s = quoted source queue table, %2$s = quoted destination table */
	int nargs;
	Oid argtypes[5];
};

const MaintStatementInfo kMaintStatements[] = {
	/* kPolicyQueues */
	{"SELECT queue_name::text FROM pgmq.queue_policy WHERE max_deliveries IS NOT NULL OR deadline_seconds IS NOT "
	 "NULL OR retention_seconds IS NOT NULL ORDER BY queue_name",
	 0,
	 {}},
	/* kLoadPolicy */
	{"SELECT invalid_queue::text, coalesce(max_deliveries, 0), coalesce(deadline_seconds, 0), "
	 "coalesce(retention_seconds, 0), retention_action = 'delete' FROM pgmq.queue_policy WHERE queue_name = $1",
	 1,
	 {TEXTOID}},
	/* kStats */
	{"INSERT INTO pgmq.queue_policy_stats AS s (queue_name, moved_deadline, moved_max_deliveries, "
	 "removed_retention, last_moved_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (queue_name) DO UPDATE SET "
	 "moved_deadline = s.moved_deadline + EXCLUDED.moved_deadline, "
	 "moved_max_deliveries = s.moved_max_deliveries + EXCLUDED.moved_max_deliveries, "
	 "removed_retention = s.removed_retention + EXCLUDED.removed_retention, last_moved_at = EXCLUDED.last_moved_at",
	 5,
	 {TEXTOID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID}},
	/* kCandidateDeadline: enqueued_at <= first visible time, so the first test can use an index. */
	{PGMQ_CANDIDATE("enqueued_at <= $1 AND GREATEST(enqueued_at, COALESCE(first_visible_at, "
					"CASE WHEN read_ct = 0 THEN vt ELSE enqueued_at END)) <= $1"),
	 2,
	 {TIMESTAMPTZOID, INT4OID}},
	/* kCandidateMaxDeliveries */
	{PGMQ_CANDIDATE("vt <= $1 AND read_ct >= $3"), 3, {TIMESTAMPTZOID, INT4OID, INT4OID}},
	/* kCandidateRetention */
	{PGMQ_CANDIDATE("enqueued_at <= $1"), 2, {TIMESTAMPTZOID, INT4OID}},
	/* kMoveToQueue: a new msg_id in the invalid queue, visible at once; the old one is in the headers. */
	{PGMQ_MOVED_ROWS "INSERT INTO pgmq.%2$s (read_ct, enqueued_at, last_read_at, vt, message, headers) "
					 "SELECT read_ct, enqueued_at, last_read_at, $4, message, " PGMQ_MOVED_HEADERS
					 " FROM moved ORDER BY msg_id RETURNING msg_id",
	 5,
	 {INT8ARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZOID, TEXTOID}},
	/* kMoveToArchive */
	{PGMQ_MOVED_ROWS "INSERT INTO pgmq.%2$s (msg_id, read_ct, enqueued_at, last_read_at, archived_at, vt, message, "
					 "headers) SELECT msg_id, read_ct, enqueued_at, last_read_at, $4, vt, message, " PGMQ_MOVED_HEADERS
					 " FROM moved RETURNING msg_id",
	 5,
	 {INT8ARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZOID, TEXTOID}},
};

static_assert(sizeof(kMaintStatements) / sizeof(kMaintStatements[0]) == static_cast<size_t>(MaintStatement::kCount),
			  "one text per statement");

struct MaintPlanKey {
	char source[NAMEDATALEN];      /* source queue table, "" for statements on pgmq's own tables */
	char destination[NAMEDATALEN]; /* destination table, "" when none */
	int statement;
};

struct MaintPlanEntry {
	MaintPlanKey key; /* must be first */
	SPIPlanPtr plan;
};

HTAB *maint_plans = nullptr;
uint64 maint_plans_generation = 0;

/*
 * ForgetMaintPlans frees every kept plan and its entry (the policies changed):
 * entries of dropped queues and old destinations do not pile up.
 */
void
ForgetMaintPlans() {
	HASH_SEQ_STATUS status;
	hash_seq_init(&status, maint_plans);
	MaintPlanEntry *entry;
	while ((entry = static_cast<MaintPlanEntry *>(hash_seq_search(&status))) != nullptr) {
		SPIPlanPtr plan = entry->plan;
		hash_search(maint_plans, &entry->key, HASH_REMOVE, nullptr);
		if (plan != nullptr)
			SPI_freeplan(plan);
	}
}

/* MaintPlanUnsafe returns the kept plan of statement for (source, destination) tables. */
SPIPlanPtr
MaintPlanUnsafe(MaintStatement statement, const char *source, const char *destination) {
	if (maint_plans == nullptr) {
		HASHCTL ctl;
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(MaintPlanKey);
		ctl.entrysize = sizeof(MaintPlanEntry);
		ctl.hcxt = TopMemoryContext;
		maint_plans = hash_create("pgmq maintenance plans", 32, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		maint_plans_generation = PolicyGeneration();
	} else if (maint_plans_generation != PolicyGeneration()) {
		ForgetMaintPlans();
		maint_plans_generation = PolicyGeneration();
	}
	MaintPlanKey key;
	memset(&key, 0, sizeof(key));
	strlcpy(key.source, source, sizeof(key.source));
	strlcpy(key.destination, destination, sizeof(key.destination));
	key.statement = static_cast<int>(statement);
	bool found;
	MaintPlanEntry *entry = static_cast<MaintPlanEntry *>(hash_search(maint_plans, &key, HASH_ENTER, &found));
	if (found && entry->plan != nullptr)
		return entry->plan;
	entry->plan = nullptr;

	const MaintStatementInfo *info = &kMaintStatements[static_cast<int>(statement)];
	StringInfoData sql;
	initStringInfo(&sql);
	appendStringInfo(&sql, info->text, source[0] ? quote_identifier(source) : "",
					 destination[0] ? quote_identifier(destination) : "");
	SPIPlanPtr plan = KeepPlanUnsafe(sql.data, info->nargs, info->argtypes, false);
	pfree(sql.data);
	entry->plan = plan;
	return plan;
}

/* RunUnsafe executes a kept plan without NULL parameters; returns SPI_processed. */
uint64
RunUnsafe(SPIPlanPtr plan, Datum *values, bool read_only) {
	return ExecutePlanUnsafe(plan, values, nullptr, read_only);
}

/* CollectCandidatesUnsafe appends the rows of the last SPI result to messages[*count..limit). */
void
CollectCandidatesUnsafe(core::MessageState *messages, int *count, int limit) {
	for (uint64 i = 0; i < SPI_processed && *count < limit; i++) {
		HeapTuple row = SPI_tuptable->vals[i];
		TupleDesc desc = SPI_tuptable->tupdesc;
		bool isnull;
		core::MessageState *m = &messages[(*count)++];
		m->msg_id = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
		m->read_ct = DatumGetInt32(SPI_getbinval(row, desc, 2, &isnull));
		m->enqueued_at = DatumGetTimestampTz(SPI_getbinval(row, desc, 3, &isnull));
		m->vt = DatumGetTimestampTz(SPI_getbinval(row, desc, 4, &isnull));
		Datum first = SPI_getbinval(row, desc, 5, &isnull);
		m->has_first_visible = !isnull;
		m->first_visible_at = isnull ? 0 : DatumGetTimestampTz(first);
		m->reason = core::OverdueReason::kNone;
		m->due_at = 0;
	}
	SPI_freetuptable(SPI_tuptable);
}

/* MoveGroupUnsafe moves (or deletes) the messages of one destination; returns how many rows moved. */
uint64
MoveGroupUnsafe(const QueuePolicy *policy, const core::MessageState *messages, int count, bool retention,
				TimestampTz now) {
	if (count == 0)
		return 0;
	Datum *ids = static_cast<Datum *>(palloc(sizeof(Datum) * count));
	Datum *reasons = static_cast<Datum *>(palloc(sizeof(Datum) * count));
	Datum *dues = static_cast<Datum *>(palloc(sizeof(Datum) * count));
	for (int i = 0; i < count; i++) {
		ids[i] = Int64GetDatum(messages[i].msg_id);
		reasons[i] = CStringGetTextDatum(core::ReasonName(messages[i].reason));
		dues[i] = TimestampTzGetDatum(messages[i].due_at);
	}
	Datum id_array = PointerGetDatum(construct_array(ids, count, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	const Queue *source = &policy->queue;
	if (retention && policy->retention_delete) {
		Datum values[1] = {id_array};
		return RunUnsafe(PreparedPlanUnsafe(source, Statement::kDeleteBatch), values, false);
	}
	Datum values[5] = {
		id_array, PointerGetDatum(construct_array(reasons, count, TEXTOID, -1, false, TYPALIGN_INT)),
		PointerGetDatum(construct_array(dues, count, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
		TimestampTzGetDatum(now), CStringGetTextDatum(source->name.text)};
	if (!retention && policy->has_invalid_queue) {
		uint64 n = RunUnsafe(
			MaintPlanUnsafe(MaintStatement::kMoveToQueue, source->queue_table, policy->invalid_queue.queue_table),
			values, false);
		NoteSend(policy->invalid_queue.queue_relid);
		return n;
	}
	return RunUnsafe(MaintPlanUnsafe(MaintStatement::kMoveToArchive, source->queue_table, source->archive_table),
					 values, false);
}

/* QueueOwner returns the owner of the queue table, InvalidOid when it is gone. */
Oid
QueueOwner(Oid relid) {
	HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		return InvalidOid;
	Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/* ExtensionOwnerUnsafe returns the owner of extension pgmq, who owns its tables (queue_policy and the stats). */
Oid
ExtensionOwnerUnsafe() {
	Oid extension = get_extension_oid("pgmq", false);
	HeapTuple tuple = SearchSysCache1(EXTENSIONOID, ObjectIdGetDatum(extension));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "pgmq: cache lookup failed for extension %u", extension);
	Oid owner = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple))->extowner;
	ReleaseSysCache(tuple);
	return owner;
}

/* SavedIdentity is what SwitchIdentityUnsafe changed, for RestoreIdentity: plain data. */
struct SavedIdentity {
	Oid user;
	int sec_context;
	int guc_nest_level;
};

/*
 * SwitchIdentityUnsafe makes role the current user in a security-restricted operation and opens a GUC
 * nest level with search_path pinned to pg_catalog, pg_temp, as REFRESH MATERIALIZED VIEW and index
 * builds do: what code run as role sets (set_config(..., false) included) is undone by RestoreIdentity,
 * and neither the caller's nor role's settings change how pgmq's statements resolve names. On an error
 * the (sub)transaction abort restores both the user and the settings.
 */
void
SwitchIdentityUnsafe(Oid role, SavedIdentity *saved) {
	GetUserIdAndSecContext(&saved->user, &saved->sec_context);
	SetUserIdAndSecContext(role, saved->sec_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	saved->guc_nest_level = NewGUCNestLevel();
	/* Ignored (and not needed) in the worker, whose search_path is the same at a higher priority. */
	(void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
							false);
}

/* RestoreIdentity undoes SwitchIdentityUnsafe: every setting changed since, then the user. */
void
RestoreIdentity(const SavedIdentity *saved) {
	AtEOXact_GUC(false, saved->guc_nest_level);
	SetUserIdAndSecContext(saved->user, saved->sec_context);
}

} // namespace

int
PolicyQueueNamesUnsafe(MemoryContext cxt, char ***names) {
	SavedIdentity identity;
	SwitchIdentityUnsafe(ExtensionOwnerUnsafe(), &identity);
	uint64 n = RunUnsafe(MaintPlanUnsafe(MaintStatement::kPolicyQueues, "", ""), nullptr, true);
	char **out = static_cast<char **>(MemoryContextAlloc(cxt, sizeof(char *) * (n + 1)));
	for (uint64 i = 0; i < n; i++) {
		char *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		out[i] = MemoryContextStrdup(cxt, name);
	}
	SPI_freetuptable(SPI_tuptable);
	RestoreIdentity(&identity);
	*names = out;
	return static_cast<int>(n);
}

bool
LoadQueuePolicyUnsafe(const char *queue_name, QueuePolicy *policy, bool wait) {
	memset(policy, 0, sizeof(*policy));
	QueueFromTextUnsafe(cstring_to_text(queue_name), &policy->queue);
	/* Another role's queue is skipped before it is locked, as LOCK TABLE checks privileges first. */
	if (!LookupQueueUnsafe(&policy->queue, true) ||
		!has_privs_of_role(GetUserId(), QueueOwner(policy->queue.queue_relid)))
		return false;
	/*
	 * Checked as the candidate query (SELECT ... FOR UPDATE) checks it, then locked as the moves will lock it
	 * anyway; a queue dropped meanwhile is skipped.
	 */
	QueueAccess source_access = kReadAccess;
	source_access.skip_locked = !wait;
	if (!LookupQueueUnsafe(&policy->queue, true, source_access))
		return false;
	/* Checked again under the lock, which ALTER TABLE ... OWNER TO waits for. */
	policy->owner = QueueOwner(policy->queue.queue_relid);
	if (!OidIsValid(policy->owner) || !has_privs_of_role(GetUserId(), policy->owner))
		return false;
	policy->extension_owner = ExtensionOwnerUnsafe();
	SavedIdentity identity;
	SwitchIdentityUnsafe(policy->extension_owner, &identity);
	Datum values[1] = {CStringGetTextDatum(policy->queue.name.text)};
	if (RunUnsafe(MaintPlanUnsafe(MaintStatement::kLoadPolicy, "", ""), values, true) == 0) {
		SPI_freetuptable(SPI_tuptable);
		RestoreIdentity(&identity);
		return false;
	}
	HeapTuple row = SPI_tuptable->vals[0];
	TupleDesc desc = SPI_tuptable->tupdesc;
	bool isnull;
	char *invalid = SPI_getvalue(row, desc, 1);
	policy->limits.max_deliveries = DatumGetInt32(SPI_getbinval(row, desc, 2, &isnull));
	policy->limits.deadline_seconds = DatumGetInt32(SPI_getbinval(row, desc, 3, &isnull));
	policy->limits.retention_seconds = DatumGetInt32(SPI_getbinval(row, desc, 4, &isnull));
	policy->retention_delete = DatumGetBool(SPI_getbinval(row, desc, 5, &isnull));
	SPI_freetuptable(SPI_tuptable);
	RestoreIdentity(&identity);
	if (invalid != nullptr) {
		policy->has_invalid_queue = true;
		QueueFromTextUnsafe(cstring_to_text(invalid), &policy->invalid_queue);
		QueueAccess invalid_access = kSendAccess;
		invalid_access.skip_locked = !wait;
		if (!LookupQueueUnsafe(&policy->invalid_queue, !wait, invalid_access))
			return false;
	}
	return true;
}

void
MaintainBatchUnsafe(const QueuePolicy *policy, TimestampTz now, int batch_size, MoveCounts *counts) {
	SavedIdentity identity;
	SwitchIdentityUnsafe(policy->owner, &identity);
	const core::PolicyLimits *limits = &policy->limits;
	const char *table = policy->queue.queue_table;
	MemoryContext batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "pgmq batch", ALLOCSET_DEFAULT_SIZES);
	MemoryContext saved = MemoryContextSwitchTo(batch_cxt);
	core::MessageState *messages =
		static_cast<core::MessageState *>(palloc(sizeof(core::MessageState) * static_cast<Size>(batch_size)));
	int count = 0;

	/* 1. Lock candidates, oldest limits first; each query only fills what is left of the batch. */
	if (limits->deadline_seconds > 0 && count < batch_size) {
		Datum values[2] = {TimestampTzGetDatum(now - static_cast<int64>(limits->deadline_seconds) * USECS_PER_SEC),
						   Int32GetDatum(batch_size - count)};
		RunUnsafe(MaintPlanUnsafe(MaintStatement::kCandidateDeadline, table, ""), values, false);
		MemoryContextSwitchTo(batch_cxt);
		CollectCandidatesUnsafe(messages, &count, batch_size);
	}
	if (limits->max_deliveries > 0 && count < batch_size) {
		Datum values[3] = {TimestampTzGetDatum(now), Int32GetDatum(batch_size - count),
						   Int32GetDatum(limits->max_deliveries)};
		RunUnsafe(MaintPlanUnsafe(MaintStatement::kCandidateMaxDeliveries, table, ""), values, false);
		MemoryContextSwitchTo(batch_cxt);
		CollectCandidatesUnsafe(messages, &count, batch_size);
	}
	if (limits->retention_seconds > 0 && count < batch_size) {
		Datum values[2] = {TimestampTzGetDatum(now - static_cast<int64>(limits->retention_seconds) * USECS_PER_SEC),
						   Int32GetDatum(batch_size - count)};
		RunUnsafe(MaintPlanUnsafe(MaintStatement::kCandidateRetention, table, ""), values, false);
		MemoryContextSwitchTo(batch_cxt);
		CollectCandidatesUnsafe(messages, &count, batch_size);
	}
	counts->candidates += count;

	/* 2. Decide, per locked row, whether and why it is overdue. */
	int distinct = static_cast<int>(
		CallCpp(core::ClassifyMessages, limits, static_cast<int64_t>(now), messages, static_cast<size_t>(count)));

	/* 3. Split by destination (retention, or the invalid queue / archive) and move. */
	core::MessageState *to_invalid =
		static_cast<core::MessageState *>(palloc(sizeof(core::MessageState) * (distinct + 1)));
	core::MessageState *to_retention =
		static_cast<core::MessageState *>(palloc(sizeof(core::MessageState) * (distinct + 1)));
	int n_invalid = 0, n_retention = 0;
	MoveCounts batch = {0, 0, 0, 0};
	for (int i = 0; i < distinct; i++) {
		switch (messages[i].reason) {
		case core::OverdueReason::kDeadline:
			batch.deadline++;
			to_invalid[n_invalid++] = messages[i];
			break;
		case core::OverdueReason::kMaxDeliveries:
			batch.max_deliveries++;
			to_invalid[n_invalid++] = messages[i];
			break;
		case core::OverdueReason::kRetention:
			batch.retention++;
			to_retention[n_retention++] = messages[i];
			break;
		case core::OverdueReason::kNone:
			break;
		}
	}
	uint64 moved = MoveGroupUnsafe(policy, to_invalid, n_invalid, false, now);
	MemoryContextSwitchTo(batch_cxt);
	moved += MoveGroupUnsafe(policy, to_retention, n_retention, true, now);
	MemoryContextSwitchTo(batch_cxt);
	/* Every row was locked by this transaction, so each one moved unless a user's trigger or rule skipped it. */
	if (moved != static_cast<uint64>(n_invalid + n_retention))
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("moved only %llu of %d overdue messages of queue \"%s\"",
						static_cast<unsigned long long>(moved), n_invalid + n_retention, policy->queue.name.text),
				 errdetail("A trigger or rule on the queue, its archive or its invalid queue skipped rows; "
						   "nothing of this batch was moved.")));
	RestoreIdentity(&identity);
	/* pgmq's own bookkeeping, as the owner of its table: a queue owner needs no privilege on it. */
	if (moved > 0) {
		SwitchIdentityUnsafe(policy->extension_owner, &identity);
		Datum values[5] = {CStringGetTextDatum(policy->queue.name.text), Int64GetDatum(batch.deadline),
						   Int64GetDatum(batch.max_deliveries), Int64GetDatum(batch.retention),
						   TimestampTzGetDatum(now)};
		RunUnsafe(MaintPlanUnsafe(MaintStatement::kStats, "", ""), values, false);
		RestoreIdentity(&identity);
	}
	counts->deadline += batch.deadline;
	counts->max_deliveries += batch.max_deliveries;
	counts->retention += batch.retention;
	MemoryContextSwitchTo(saved);
	MemoryContextDelete(batch_cxt);
}

const char *
DestinationName(const QueuePolicy *policy, core::OverdueReason reason) {
	if (reason == core::OverdueReason::kRetention)
		return policy->retention_delete ? "delete" : "archive";
	return policy->has_invalid_queue ? policy->invalid_queue.name.text : "archive";
}

} // namespace pgmq::pg
