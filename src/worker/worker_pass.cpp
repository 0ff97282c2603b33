/*
 * worker_pass.cpp: the per-database worker's main loop and maintenance pass.
 *
 * A pass lists the queues with a policy in one transaction, then for each
 * queue runs batches of pgmq.worker_batch_size, each in its own transaction
 * (SPI, snapshot, pgstat_report_activity), until a batch comes back short or
 * kMaxBatchesPerQueue batches ran. An error in one queue's batch is logged,
 * that transaction is rolled back and the pass goes on with the next queue.
 */
#include "worker/worker.hpp"

#include "guc.hpp"
#include "pg/maintenance.hpp"
#include "pg/partitions.hpp"
#include "pg/plans.hpp"
#include "worker/status.hpp"

extern "C" {
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

namespace pgmq::worker {

namespace {

constexpr int kMaxBatchesPerQueue = 100; /* then the next queue gets its turn; the rest waits a pass */
constexpr long kLogIntervalMs = 10000;   /* LOG at most this often; every pass at DEBUG1 */

pg::MoveCounts unlogged = {0, 0, 0, 0, 0};
char database_name[NAMEDATALEN]; /* read inside the first transaction, for log messages */
TimestampTz last_log_at = 0;

/* BeginWork starts a transaction with SPI and a snapshot, reporting activity. */
void
BeginWork(const char *activity) {
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgmq::pg::ConnectSpi();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

/* EndWork commits what BeginWork started. */
void
EndWork() {
	pgmq::pg::FinishSpi();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/* ExtensionReady says whether pgmq is installed (committed) in this database, with its policy table. */
bool
ExtensionReady() {
	if (!OidIsValid(get_extension_oid("pgmq", true)))
		return false;
	Oid ns = get_namespace_oid("pgmq", true);
	return OidIsValid(ns) && OidIsValid(get_relname_relid("queue_policy", ns));
}

/* AbortStep ends a step of the pass that raised: logs the error and rolls its transaction back. */
void
AbortStep(MemoryContext pass_cxt) {
	HOLD_INTERRUPTS();
	MemoryContextSwitchTo(pass_cxt);
	EmitErrorReport();
	AbortOutOfAnyTransaction();
	FlushErrorState();
	RESUME_INTERRUPTS();
}

/* QueueBatch runs one batch for a queue in its own transaction; returns whether more may be waiting. */
bool
QueueBatch(const char *queue_name, MemoryContext pass_cxt, pg::MoveCounts *totals) {
	volatile bool more = false;
	PG_TRY();
	{
		char activity[NAMEDATALEN + 64];
		snprintf(activity, sizeof(activity), "pgmq: enforcing the policy of queue %s", queue_name);
		BeginWork(activity);
		pg::QueuePolicy policy;
		if (pg::LoadQueuePolicy(queue_name, &policy, false)) {
			pg::MoveCounts counts = {0, 0, 0, 0, 0};
			pg::MaintainBatch(&policy, GetCurrentTimestamp(), guc_worker_batch_size, &counts);
			more = counts.candidates >= guc_worker_batch_size || counts.forgotten >= guc_worker_batch_size;
			EndWork();
			totals->deadline += counts.deadline;
			totals->max_deliveries += counts.max_deliveries;
			totals->retention += counts.retention;
		} else {
			EndWork();
		}
	}
	PG_CATCH();
	{
		AbortStep(pass_cxt);
		more = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(pass_cxt);
	return more;
}

/*
 * PartitionStep runs the partition maintenance of one partitioned table in its own transaction,
 * without waiting for its locks (pg/partitions.hpp); an error is logged and rolled back.
 */
void
PartitionStep(const char *table, MemoryContext pass_cxt) {
	PG_TRY();
	{
		char activity[NAMEDATALEN + 64];
		snprintf(activity, sizeof(activity), "pgmq: maintaining the partitions of %s", table);
		BeginWork(activity);
		pg::PartitionAction *actions;
		char queue_name[NAMEDATALEN];
		int n = pg::MaintainPartitions(table, false, CurrentMemoryContext, &actions, queue_name);
		for (int i = 0; i < n; i++)
			ereport(actions[i].dropped ? LOG : DEBUG1,
					(errmsg("pgmq worker %s partition %s of queue \"%s\"%s", actions[i].dropped ? "dropped" : "created",
							actions[i].partition, queue_name,
							actions[i].dropped ? psprintf(" with %lld messages (retention)",
														  static_cast<long long>(actions[i].messages))
											   : "")));
		EndWork();
	}
	PG_CATCH();
	{ AbortStep(pass_cxt); }
	PG_END_TRY();
	MemoryContextSwitchTo(pass_cxt);
}

/* LogMoves reports what was moved: DEBUG1 per pass, LOG summed over kLogIntervalMs. */
void
LogMoves(const pg::MoveCounts *pass) {
	int64 total = pass->deadline + pass->max_deliveries + pass->retention;
	if (total > 0)
		ereport(DEBUG1,
				(errmsg("pgmq worker moved %lld messages (deadline %lld, max_deliveries %lld, retention %lld)",
						static_cast<long long>(total), static_cast<long long>(pass->deadline),
						static_cast<long long>(pass->max_deliveries), static_cast<long long>(pass->retention))));
	unlogged.deadline += pass->deadline;
	unlogged.max_deliveries += pass->max_deliveries;
	unlogged.retention += pass->retention;
	TimestampTz now = GetCurrentTimestamp();
	int64 pending = unlogged.deadline + unlogged.max_deliveries + unlogged.retention;
	if (pending == 0 || !TimestampDifferenceExceeds(last_log_at, now, kLogIntervalMs))
		return;
	ereport(LOG, (errmsg("pgmq worker moved %lld overdue messages in database \"%s\" (deadline %lld, max_deliveries "
						 "%lld, retention %lld)",
						 static_cast<long long>(pending), database_name, static_cast<long long>(unlogged.deadline),
						 static_cast<long long>(unlogged.max_deliveries), static_cast<long long>(unlogged.retention))));
	unlogged = {0, 0, 0, 0, 0};
	last_log_at = now;
}

} // namespace

bool
RunPass(MemoryContext pass_cxt) {
	MemoryContextSwitchTo(pass_cxt);
	BeginWork("pgmq: listing queue policies");
	bool ready = ExtensionReady();
	if (database_name[0] == '\0') {
		char *name = get_database_name(MyDatabaseId);
		strlcpy(database_name, name != nullptr ? name : "?", sizeof(database_name));
	}
	char **names = nullptr;
	int n = ready ? pg::PolicyQueueNames(pass_cxt, &names) : 0;
	char **tables = nullptr;
	int n_tables = ready ? pg::PartitionedTableNames(pass_cxt, &tables) : 0;
	EndWork();
	MemoryContextSwitchTo(pass_cxt);
	WorkerRecordProbe(ready); /* the launcher starts no worker here for a while when it is missing */
	if (!ready)
		return false;

	pg::MoveCounts totals = {0, 0, 0, 0, 0};
	for (int i = 0; i < n; i++) {
		for (int batch = 0; batch < kMaxBatchesPerQueue; batch++) {
			CHECK_FOR_INTERRUPTS();
			if (!QueueBatch(names[i], pass_cxt, &totals))
				break;
		}
	}
	for (int i = 0; i < n_tables; i++) {
		CHECK_FOR_INTERRUPTS();
		PartitionStep(tables[i], pass_cxt);
	}
	WorkerRecordPass(GetCurrentTimestamp(), totals.deadline + totals.max_deliveries + totals.retention);
	LogMoves(&totals);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, nullptr);
	return true;
}

} // namespace pgmq::worker

/* pgmq_worker_main is the entry point of a database's worker; main_arg is the database OID. */
extern "C" void
pgmq_worker_main(Datum main_arg) {
	Oid database = DatumGetObjectId(main_arg);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* Paused by DROP DATABASE and the like, or another worker already runs here: leave quietly. */
	if (!pgmq::worker::WorkerAttach(database))
		proc_exit(0);
	BackgroundWorkerInitializeConnectionByOid(database, InvalidOid, 0);
	/* Names the worker's statements do not qualify resolve in pg_catalog only, never in a user's schema. */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	pgstat_report_appname("pgmq worker");
	MemoryContext pass_cxt = AllocSetContextCreate(TopMemoryContext, "pgmq worker pass", ALLOCSET_DEFAULT_SIZES);
	for (;;) {
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending) {
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		/* Off, paused, or the launcher hands this process slot to a database that waits for one. */
		if (!pgmq::guc_worker_enabled || pgmq::worker::DatabasePaused(database) || pgmq::worker::WorkerLeaveRequested())
			proc_exit(0);
		if (!RecoveryInProgress() && !pgmq::worker::RunPass(pass_cxt))
			proc_exit(0); /* no pgmq here (yet): the launcher looks again later */
		MemoryContextReset(pass_cxt);
		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, pgmq::guc_worker_interval_ms,
						PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
