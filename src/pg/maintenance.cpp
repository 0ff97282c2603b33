/*
 * maintenance.cpp: the batches that enforce queue policies (their statements are in plans.cpp).
 */
#include "pg/maintenance.hpp"
#include "pg/partitions.hpp"
#include "pg/counters.hpp"
#include "pg/plans.hpp"

#include "boundary.hpp"
#include "pg/wakeup.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
}

namespace pgmq::pg {

namespace {

/*
 * LockCandidates runs a candidate statement of the queue, with its limit ($2, values[1]) set to
 * what is left of the batch, and appends the rows it locked to messages[*count..limit), in batch_cxt.
 */
void
LockCandidates(const Queue *queue, Statement statement, Datum *values, MemoryContext batch_cxt,
			   core::MessageState *messages, int *count, int limit) {
	values[1] = Int32GetDatum(limit - *count);
	ExecuteStatement(queue, statement, values, nullptr, false);
	MemoryContextSwitchTo(batch_cxt);
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

/* MoveGroup moves (or deletes) the messages of one destination; returns how many rows moved. */
/* NoteMovedOut reports the n rows of SPI_tuptable (msg_id, old vt) taken out of the queue to metrics. */
void
NoteMovedOut(Oid relid, uint64 n) {
	TimestampTz clock = GetCurrentTimestamp();
	CountersNoteRows(relid, -static_cast<int64>(n));
	for (uint64 i = 0; i < n; i++) {
		bool isnull;
		Datum vt = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
		if (!isnull)
			CountersNoteVt(relid, DatumGetTimestampTz(vt), -1, clock);
	}
}

uint64
MoveGroup(const QueuePolicy *policy, const core::MessageState *messages, int count, bool retention, TimestampTz now) {
	if (count == 0)
		return 0;
	Datum *ids = static_cast<Datum *>(palloc(sizeof(Datum) * count));
	Datum *reasons = static_cast<Datum *>(palloc(sizeof(Datum) * count));
	Datum *dues = static_cast<Datum *>(palloc(sizeof(Datum) * count));
	/* Moving a FIFO group's head out frees the group's next message: wake the queue's watchers. */
	NoteTouch(policy->queue.queue_relid);
	for (int i = 0; i < count; i++) {
		ids[i] = Int64GetDatum(messages[i].msg_id);
		reasons[i] = CStringGetTextDatum(core::ReasonName(messages[i].reason));
		dues[i] = TimestampTzGetDatum(messages[i].due_at);
	}
	Datum id_array = PointerGetDatum(construct_array(ids, count, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	const Queue *source = &policy->queue;
	Oid relid = source->queue_relid;
	if (retention && policy->retention_delete) {
		Datum values[1] = {id_array};
		CountersExpectOwnStatement(relid);
		uint64 n = ExecuteStatement(source, Statement::kDeleteBatch, values, nullptr, false);
		CountersEndOwnStatement();
		NoteMovedOut(relid, n);
		return n;
	}
	Datum values[5] = {
		id_array, PointerGetDatum(construct_array(reasons, count, TEXTOID, -1, false, TYPALIGN_INT)),
		PointerGetDatum(construct_array(dues, count, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
		TimestampTzGetDatum(now), CStringGetTextDatum(source->name.text)};
	if (!retention && policy->has_invalid_queue) {
		Oid destination = policy->invalid_queue.queue_relid;
		SPIPlanPtr plan = PreparedPlan(source, Statement::kMoveToQueue, &policy->invalid_queue);
		CountersExpectOwnStatement(relid, destination);
		uint64 n = ExecuteInsertPlan(policy->invalid_queue.queue_table, plan, values, nullptr, count);
		CountersEndOwnStatement();
		/* The rows were locked as candidates: all of them moved, with the vts they had then. */
		TimestampTz clock = GetCurrentTimestamp();
		if (n == static_cast<uint64>(count)) {
			CountersNoteRows(relid, -static_cast<int64>(n));
			for (int i = 0; i < count; i++)
				CountersNoteVt(relid, messages[i].vt, -1, clock);
		} else
			CountersForget(relid);
		CountersNoteRows(destination, static_cast<int64>(n));
		CountersNoteVt(destination, now, static_cast<int64>(n), clock);
		NoteSend(destination);
		return n;
	}
	SPIPlanPtr plan = PreparedPlan(source, Statement::kMoveToArchive);
	CountersExpectOwnStatement(relid);
	uint64 n = ExecuteInsertPlan(source->archive_table, plan, values, nullptr, 0);
	CountersEndOwnStatement();
	NoteMovedOut(relid, n);
	return n;
}

} // namespace

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

/* ExtensionOwner returns the owner of extension pgmq, who owns its tables (queue_policy and the stats). */
Oid
ExtensionOwner() {
	Oid extension = get_extension_oid("pgmq", false);
	HeapTuple tuple = SearchSysCache1(EXTENSIONOID, ObjectIdGetDatum(extension));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "pgmq: cache lookup failed for extension %u", extension);
	Oid owner = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple))->extowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * SwitchIdentity makes role the current user in a security-restricted operation and opens a GUC
 * nest level with search_path pinned to pg_catalog, pg_temp, as REFRESH MATERIALIZED VIEW and index
 * builds do: what code run as role sets (set_config(..., false) included) is undone by RestoreIdentity,
 * and neither the caller's nor role's settings change how pgmq's statements resolve names. On an error
 * the (sub)transaction abort restores both the user and the settings.
 */
void
SwitchIdentity(Oid role, SavedIdentity *saved) {
	GetUserIdAndSecContext(&saved->user, &saved->sec_context);
	SetUserIdAndSecContext(role, saved->sec_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	saved->guc_nest_level = NewGUCNestLevel();
	/* Ignored (and not needed) in the worker, whose search_path is the same at a higher priority. */
	(void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
							false);
}

/* RestoreIdentity undoes SwitchIdentity: every setting changed since, then the user. */
void
RestoreIdentity(const SavedIdentity *saved) {
	AtEOXact_GUC(false, saved->guc_nest_level);
	SetUserIdAndSecContext(saved->user, saved->sec_context);
}

int
PolicyQueueNames(MemoryContext cxt, char ***names) {
	SavedIdentity identity;
	SwitchIdentity(ExtensionOwner(), &identity);
	uint64 n = ExecuteStatement(nullptr, Statement::kPolicyQueues, nullptr, nullptr, true);
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
LoadQueuePolicy(const char *queue_name, QueuePolicy *policy, bool wait) {
	memset(policy, 0, sizeof(*policy));
	QueueFromText(cstring_to_text(queue_name), &policy->queue);
	/* Another role's queue is skipped before it is locked, as LOCK TABLE checks privileges first. */
	if (!LookupQueue(&policy->queue, true) || !has_privs_of_role(GetUserId(), QueueOwner(policy->queue.queue_relid)))
		return false;
	/*
	 * Checked as the candidate query (SELECT ... FOR UPDATE) checks it, then locked as the moves will lock it
	 * anyway; a queue dropped meanwhile is skipped.
	 */
	QueueAccess source_access = kReadAccess;
	source_access.skip_locked = !wait;
	if (!LookupQueue(&policy->queue, true, source_access))
		return false;
	/* Checked again under the lock, which ALTER TABLE ... OWNER TO waits for. */
	policy->owner = QueueOwner(policy->queue.queue_relid);
	if (!OidIsValid(policy->owner) || !has_privs_of_role(GetUserId(), policy->owner))
		return false;
	policy->extension_owner = ExtensionOwner();
	SavedIdentity identity;
	SwitchIdentity(policy->extension_owner, &identity);
	Datum values[1] = {CStringGetTextDatum(policy->queue.name.text)};
	if (ExecuteStatement(nullptr, Statement::kLoadPolicy, values, nullptr, true) == 0) {
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
	policy->dedup_seconds = DatumGetInt32(SPI_getbinval(row, desc, 6, &isnull));
	SPI_freetuptable(SPI_tuptable);
	RestoreIdentity(&identity);
	if (invalid != nullptr) {
		policy->has_invalid_queue = true;
		QueueFromText(cstring_to_text(invalid), &policy->invalid_queue);
		QueueAccess invalid_access = kSendAccess;
		invalid_access.skip_locked = !wait;
		if (!LookupQueue(&policy->invalid_queue, !wait, invalid_access))
			return false;
	}
	return true;
}

namespace {

/*
 * LockOverdueCandidates locks up to batch_size candidate rows of the policy's queue into messages,
 * oldest limits first (each query only fills what is left of the batch); returns how many.
 */
int
LockOverdueCandidates(const QueuePolicy *policy, TimestampTz now, MemoryContext batch_cxt, core::MessageState *messages,
					  int batch_size) {
	const core::PolicyLimits *limits = &policy->limits;
	int count = 0;
	if (limits->deadline_seconds > 0 && count < batch_size) {
		Datum values[2] = {TimestampTzGetDatum(now - static_cast<int64>(limits->deadline_seconds) * USECS_PER_SEC)};
		LockCandidates(&policy->queue, Statement::kCandidateDeadline, values, batch_cxt, messages, &count, batch_size);
	}
	if (limits->max_deliveries > 0 && count < batch_size) {
		Datum values[3] = {TimestampTzGetDatum(now), 0, Int32GetDatum(limits->max_deliveries)};
		LockCandidates(&policy->queue, Statement::kCandidateMaxDeliveries, values, batch_cxt, messages, &count,
					   batch_size);
	}
	if (limits->retention_seconds > 0 && count < batch_size) {
		Datum values[2] = {TimestampTzGetDatum(now - static_cast<int64>(limits->retention_seconds) * USECS_PER_SEC)};
		LockCandidates(&policy->queue, Statement::kCandidateRetention, values, batch_cxt, messages, &count, batch_size);
	}
	return count;
}

/*
 * SplitByDestination copies the overdue ones of messages[0..count) to to_invalid (deadline, max_deliveries:
 * the invalid queue or archive) or to_retention, counting each reason in *batch.
 */
void
SplitByDestination(const core::MessageState *messages, int count, core::MessageState *to_invalid, int *n_invalid,
				   core::MessageState *to_retention, int *n_retention, MoveCounts *batch) {
	for (int i = 0; i < count; i++) {
		switch (messages[i].reason) {
		case core::OverdueReason::kDeadline:
			batch->deadline++;
			to_invalid[(*n_invalid)++] = messages[i];
			break;
		case core::OverdueReason::kMaxDeliveries:
			batch->max_deliveries++;
			to_invalid[(*n_invalid)++] = messages[i];
			break;
		case core::OverdueReason::kRetention:
			batch->retention++;
			to_retention[(*n_retention)++] = messages[i];
			break;
		case core::OverdueReason::kNone:
			break;
		}
	}
}

} // namespace

void
MaintainBatch(const QueuePolicy *policy, TimestampTz now, int batch_size, MoveCounts *counts) {
	SavedIdentity identity;
	SwitchIdentity(policy->owner, &identity);
	const core::PolicyLimits *limits = &policy->limits;
	MemoryContext batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "pgmq batch", ALLOCSET_DEFAULT_SIZES);
	MemoryContext saved = MemoryContextSwitchTo(batch_cxt);
	core::MessageState *messages =
		static_cast<core::MessageState *>(palloc(sizeof(core::MessageState) * static_cast<Size>(batch_size)));

	/* 1. Lock candidates. */
	int count = LockOverdueCandidates(policy, now, batch_cxt, messages, batch_size);
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
	MoveCounts batch = {0, 0, 0, 0, 0};
	SplitByDestination(messages, distinct, to_invalid, &n_invalid, to_retention, &n_retention, &batch);
	uint64 moved = MoveGroup(policy, to_invalid, n_invalid, false, now);
	MemoryContextSwitchTo(batch_cxt);
	moved += MoveGroup(policy, to_retention, n_retention, true, now);
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
		SwitchIdentity(policy->extension_owner, &identity);
		Datum values[5] = {CStringGetTextDatum(policy->queue.name.text), Int64GetDatum(batch.deadline),
						   Int64GetDatum(batch.max_deliveries), Int64GetDatum(batch.retention),
						   TimestampTzGetDatum(now)};
		ExecuteStatement(nullptr, Statement::kPolicyStats, values, nullptr, false);
		RestoreIdentity(&identity);
	}
	counts->deadline += batch.deadline;
	counts->max_deliveries += batch.max_deliveries;
	counts->retention += batch.retention;
	/* Deduplication ids sent before the window: forgotten, as pgmq's bookkeeping. */
	if (policy->dedup_seconds > 0) {
		SwitchIdentity(policy->extension_owner, &identity);
		Datum values[3] = {CStringGetTextDatum(policy->queue.name.text),
						   TimestampTzGetDatum(now - static_cast<int64>(policy->dedup_seconds) * USECS_PER_SEC),
						   Int32GetDatum(batch_size)};
		counts->forgotten +=
			static_cast<int64>(ExecuteStatement(nullptr, Statement::kDedupForgetExpired, values, nullptr, false));
		RestoreIdentity(&identity);
	}
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
