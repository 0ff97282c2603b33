/*
 * policy.cpp: pgmq.run_maintenance, pgmq.worker_status, pgmq._forget_dedup_ids, the trigger that
 * invalidates policy caches and pgmq._priority (the key of priority queues' index). The policy API
 * itself (set_policy, clear_policy, policy, policies, policy_metrics) is SQL in sql/pgmq.sql.
 */
#include "api/args.hpp"
#include "boundary.hpp"
#include "guc.hpp"
#include "pg/dedup.hpp"
#include "pg/maintenance.hpp"
#include "pg/partitions.hpp"
#include "pg/plans.hpp"
#include "pg/policy_cache.hpp"
#include "pg/priority.hpp"
#include "pg/results.hpp"
#include "worker/status.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "funcapi.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/tuplestore.h"
}

namespace pgmq::api {

namespace {

/* PutMoveRow appends (queue_name, reason, destination, messages) when messages > 0. */
void
PutMoveRow(FunctionCallInfo fcinfo, const pg::QueuePolicy *policy, core::OverdueReason reason, int64 messages) {
	if (messages == 0)
		return;
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	Datum values[4] = {CStringGetTextDatum(policy->queue.name.text), CStringGetTextDatum(core::ReasonName(reason)),
					   CStringGetTextDatum(pg::DestinationName(policy, reason)), Int64GetDatum(messages)};
	bool nulls[4] = {false, false, false, false};
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* EndSubTransaction commits the internal subtransaction of MaintainQueue or MaintainPartitionedTable. */
void
EndSubTransaction(MemoryContext call_cxt, ResourceOwner owner) {
	ReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(call_cxt);
	CurrentResourceOwner = owner;
}

/*
 * RollBackSubTransaction, in the PG_CATCH of such a subtransaction, rolls it
 * back and returns the error, for the caller to report as a WARNING and free;
 * a cancel is raised again.
 */
ErrorData *
RollBackSubTransaction(MemoryContext call_cxt, ResourceOwner owner) {
	MemoryContextSwitchTo(call_cxt);
	ErrorData *error = CopyErrorData();
	FlushErrorState();
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(call_cxt);
	CurrentResourceOwner = owner;
	if (error->sqlerrcode == ERRCODE_QUERY_CANCELED)
		ReThrowError(error);
	return error;
}

/*
 * MaintainQueue runs batches for one queue until one comes back short,
 * inside an internal subtransaction: an error is reported as a WARNING, the
 * queue's work is rolled back and the caller goes on with the next queue. A
 * cancel (pg_cancel_backend, statement_timeout) is not the queue's fault: it
 * is raised again and ends the whole call, as a cancel must.
 */
void
MaintainQueue(FunctionCallInfo fcinfo, const char *queue_name) {
	MemoryContext call_cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	/* Read after PG_END_TRY only when the subtransaction committed, i.e. when nothing longjmp'ed. */
	pg::QueuePolicy policy;
	pg::MoveCounts counts = {0, 0, 0, 0, 0};
	volatile bool committed = false;
	BeginInternalSubTransaction(nullptr);
	MemoryContextSwitchTo(call_cxt);
	PG_TRY();
	{
		if (pg::LoadQueuePolicy(queue_name, &policy, true)) {
			for (;;) {
				CHECK_FOR_INTERRUPTS();
				pg::MoveCounts batch = {0, 0, 0, 0, 0};
				pg::MaintainBatch(&policy, GetCurrentTimestamp(), guc_worker_batch_size, &batch);
				counts.deadline += batch.deadline;
				counts.max_deliveries += batch.max_deliveries;
				counts.retention += batch.retention;
				bool more = batch.candidates >= guc_worker_batch_size &&
							batch.deadline + batch.max_deliveries + batch.retention > 0;
				if (!more && batch.forgotten < guc_worker_batch_size)
					break;
			}
		}
		EndSubTransaction(call_cxt, owner);
		committed = true;
	}
	PG_CATCH();
	{
		ErrorData *error = RollBackSubTransaction(call_cxt, owner);
		ereport(WARNING, (errcode(error->sqlerrcode),
						  errmsg("pgmq could not enforce the policy of queue \"%s\": %s", queue_name, error->message)));
		FreeErrorData(error);
	}
	PG_END_TRY();
	/* Outside the handler: an error here must not roll back the subtransaction that is gone. */
	if (committed) {
		PutMoveRow(fcinfo, &policy, core::OverdueReason::kDeadline, counts.deadline);
		PutMoveRow(fcinfo, &policy, core::OverdueReason::kMaxDeliveries, counts.max_deliveries);
		PutMoveRow(fcinfo, &policy, core::OverdueReason::kRetention, counts.retention);
	}
}

/*
 * MaintainPartitionedTable runs the partition maintenance of one partitioned queue or archive table
 * (pg/partitions.hpp) in an internal subtransaction, as MaintainQueue runs a queue's policy, and
 * returns a row (queue_name, 'partition_created' or 'partition_dropped', the partition, the messages
 * dropped with it) per partition.
 */
void
MaintainPartitionedTable(FunctionCallInfo fcinfo, const char *table) {
	MemoryContext call_cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	pg::PartitionAction *actions = nullptr;
	char queue_name[NAMEDATALEN];
	volatile int n = 0;
	volatile bool committed = false;
	BeginInternalSubTransaction(nullptr);
	MemoryContextSwitchTo(call_cxt);
	PG_TRY();
	{
		n = pg::MaintainPartitions(table, true, call_cxt, &actions, queue_name);
		EndSubTransaction(call_cxt, owner);
		committed = true;
	}
	PG_CATCH();
	{
		ErrorData *error = RollBackSubTransaction(call_cxt, owner);
		ereport(WARNING, (errcode(error->sqlerrcode), errmsg("pgmq could not maintain the partitions of table "
															 "\"pgmq.%s\": %s",
															 table, error->message)));
		FreeErrorData(error);
	}
	PG_END_TRY();
	if (!committed)
		return;
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (int i = 0; i < n; i++) {
		Datum values[4] = {CStringGetTextDatum(queue_name),
						   CStringGetTextDatum(actions[i].dropped ? "partition_dropped" : "partition_created"),
						   CStringGetTextDatum(actions[i].partition), Int64GetDatum(actions[i].messages)};
		bool nulls[4] = {false, false, false, false};
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

} // namespace

/*
 * pgmq_run_maintenance implements run_maintenance(): one pass over the queues with a policy whose owner's
 * privileges the caller has (all of them for a superuser), with the worker's code (pg/maintenance.hpp).
 */
PGMQ_FUNCTION(pgmq_run_maintenance) {
	pg::BeginSetResult(fcinfo, false);
	MemoryContext call_cxt = CurrentMemoryContext;
	pg::ConnectSpi();
	char **names;
	int n = pg::PolicyQueueNames(call_cxt, &names);
	for (int i = 0; i < n; i++)
		MaintainQueue(fcinfo, names[i]);
	char **tables;
	n = pg::PartitionedTableNames(call_cxt, &tables);
	for (int i = 0; i < n; i++)
		MaintainPartitionedTable(fcinfo, tables[i]);
	pg::FinishSpi();
	return (Datum)0;
}

namespace {

/*
 * VisibleDatabase says whether the caller may see the worker row of an existing database: one it
 * may connect to, or any database for members of pg_read_all_stats (who see pg_stat_activity's details).
 */
bool
VisibleDatabase(Oid database, bool read_all_stats) {
	return read_all_stats || pg_database_aclcheck(database, GetUserId(), ACL_CONNECT) == ACLCHECK_OK;
}

} // namespace

/*
 * pgmq_worker_status implements worker_status(): one row per database a worker ran in, of the
 * databases the caller may connect to (every database for members of pg_read_all_stats).
 */
PGMQ_FUNCTION(pgmq_worker_status) {
	pg::BeginSetResult(fcinfo, false);
	int capacity = worker::StatusSlotCount();
	if (capacity == 0)
		return (Datum)0;
	worker::WorkerSlotInfo *slots =
		static_cast<worker::WorkerSlotInfo *>(palloc(sizeof(worker::WorkerSlotInfo) * capacity));
	int n = worker::StatusSnapshot(slots, capacity);
	bool read_all_stats = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (int i = 0; i < n; i++) {
		char *name = get_database_name(slots[i].database);
		if (name == nullptr || !VisibleDatabase(slots[i].database, read_all_stats))
			continue;
		NameData dbname;
		namestrcpy(&dbname, name);
		Datum values[5] = {NameGetDatum(&dbname), Int32GetDatum(slots[i].pid),
						   TimestampTzGetDatum(slots[i].last_run_at), Int64GetDatum(slots[i].passes),
						   Int64GetDatum(slots[i].moved)};
		bool nulls[5] = {false, slots[i].pid == 0, slots[i].last_run_at == 0, false, false};
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum)0;
}

/*
 * pgmq_forget_dedup_ids serves pgmq._forget_dedup_ids(queue_name): forgets the queue's deduplication ids,
 * for a caller with the privileges of the queue's owner, as pgmq's bookkeeping (no privilege on pgmq.dedup).
 */
PGMQ_FUNCTION(pgmq_forget_dedup_ids) {
	pg::Queue queue;
	pg::ResolveQueueArg(fcinfo, 0, &queue, pg::kAdminAccess);
	pg::ConnectSpi();
	pg::ForgetDedupIds(&queue);
	pg::FinishSpi();
	PG_RETURN_VOID();
}

/* pgmq_policy_changed is the statement trigger on pgmq.queue_policy: every backend drops its policy cache. */
/*
 * pgmq_is_invalid_queue serves pgmq._is_invalid_queue(queue_name): whether another queue's policy names
 * it as its invalid queue, from the policy cache (no privilege on pgmq.queue_policy needed, as for reads).
 */
PGMQ_FUNCTION(pgmq_is_invalid_queue) {
	pg::Queue queue;
	pg::QueueFromArg(fcinfo, 0, &queue);
	PG_RETURN_BOOL(pg::IsSomeInvalidQueue(&queue));
}

PGMQ_FUNCTION(pgmq_policy_changed) {
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("pgmq._policy_changed() must be called as a trigger")));
	TriggerData *trigger = reinterpret_cast<TriggerData *>(fcinfo->context);
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigger->tg_relation));
	return PointerGetDatum(nullptr);
}

/*
 * pgmq_priority serves pgmq._priority(headers), the expression of a priority queue's index: the
 * header x-pgmq-priority (pg/priority.hpp), 0 when headers are NULL or the header is missing or not
 * an integer. Never NULL and never an error, so no row can make the index fail.
 */
PGMQ_FUNCTION(pgmq_priority) {
	int32 priority;
	pg::HeaderPriority(PG_ARGISNULL(0) ? (Datum)0 : PG_GETARG_DATUM(0), &priority);
	PG_RETURN_INT32(priority);
}

} // namespace pgmq::api
