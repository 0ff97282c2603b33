/*
 * launcher.cpp: the launcher that starts one worker per database, and the
 * utility hook that keeps workers out of the way of DROP DATABASE.
 */
#include "worker/worker.hpp"

#include "guc.hpp"
#include "worker/status.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

namespace pgmq::worker {

namespace {

struct DatabaseEntry {
	Oid database;
	char name[NAMEDATALEN];
};

struct LaunchedWorker {
	Oid database;
	BackgroundWorkerHandle *handle;
};

LaunchedWorker *launched = nullptr; /* in TopMemoryContext */
int launched_count = 0;
int launched_capacity = 0;
TimestampTz last_no_slot_warning = 0;

/* ListDatabasesUnsafe returns the databases a worker may connect to, palloc'd in cxt. */
int
ListDatabasesUnsafe(MemoryContext cxt, DatabaseEntry **out) {
	int count = 0;
	int capacity = 16;
	DatabaseEntry *entries = static_cast<DatabaseEntry *>(MemoryContextAlloc(cxt, sizeof(DatabaseEntry) * capacity));
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	(void)GetTransactionSnapshot();
	Relation rel = table_open(DatabaseRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
	HeapTuple tuple;
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
		Form_pg_database db = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple));
		if (!db->datallowconn || db->datistemplate || database_is_invalid_form(db))
			continue;
		if (count == capacity) {
			capacity *= 2;
			entries = static_cast<DatabaseEntry *>(repalloc(entries, sizeof(DatabaseEntry) * capacity));
		}
		entries[count].database = db->oid;
		strlcpy(entries[count].name, NameStr(db->datname), NAMEDATALEN);
		count++;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	*out = entries;
	return count;
}

/* WorkerRunning says whether the launcher's last worker for database is still registered or running. */
bool
WorkerRunning(Oid database) {
	for (int i = 0; i < launched_count; i++) {
		if (launched[i].database != database)
			continue;
		pid_t pid;
		return GetBackgroundWorkerPid(launched[i].handle, &pid) != BGWH_STOPPED;
	}
	return false;
}

/* RememberWorker stores the handle of database's new worker. */
void
RememberWorker(Oid database, BackgroundWorkerHandle *handle) {
	for (int i = 0; i < launched_count; i++) {
		if (launched[i].database == database) {
			pfree(launched[i].handle);
			launched[i].handle = handle;
			return;
		}
	}
	if (launched_count == launched_capacity) {
		launched_capacity = launched_capacity == 0 ? 16 : launched_capacity * 2;
		launched = static_cast<LaunchedWorker *>(
			launched == nullptr ? MemoryContextAlloc(TopMemoryContext, sizeof(LaunchedWorker) * launched_capacity)
								: repalloc(launched, sizeof(LaunchedWorker) * launched_capacity));
	}
	launched[launched_count].database = database;
	launched[launched_count].handle = handle;
	launched_count++;
}

/* StartWorker registers a dynamic worker for the database; false when no slot is free. */
bool
StartWorker(const DatabaseEntry *db) {
	BackgroundWorker worker;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART; /* the launcher starts it again */
	strlcpy(worker.bgw_library_name, "pgmq", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "pgmq_worker_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "pgmq worker %s", db->name);
	strlcpy(worker.bgw_type, "pgmq worker", BGW_MAXLEN);
	worker.bgw_main_arg = ObjectIdGetDatum(db->database);
	worker.bgw_notify_pid = 0;
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	BackgroundWorkerHandle *handle;
	bool ok = RegisterDynamicBackgroundWorker(&worker, &handle);
	MemoryContextSwitchTo(old);
	if (ok)
		RememberWorker(db->database, handle);
	return ok;
}

/* LaunchWorkersUnsafe starts a worker for every database that needs one. */
void
LaunchWorkersUnsafe(MemoryContext scratch) {
	DatabaseEntry *dbs;
	int n = ListDatabasesUnsafe(scratch, &dbs);
	for (int i = 0; i < n; i++) {
		CHECK_FOR_INTERRUPTS();
		if (DatabasePaused(dbs[i].database) || WorkerRunning(dbs[i].database))
			continue;
		if (!StartWorker(&dbs[i])) {
			TimestampTz now = GetCurrentTimestamp();
			if (TimestampDifferenceExceeds(last_no_slot_warning, now, 60 * 1000)) {
				last_no_slot_warning = now;
				ereport(WARNING, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
								  errmsg("pgmq launcher could not start a worker for database \"%s\"", dbs[i].name),
								  errhint("Raise max_worker_processes.")));
			}
			break;
		}
	}
}

ProcessUtility_hook_type prev_process_utility = nullptr;

/* DatabaseNeededAlone returns the database a utility statement needs without other sessions, or NULL. */
const char *
DatabaseNeededAlone(Node *parsetree) {
	ListCell *cell;
	switch (nodeTag(parsetree)) {
	case T_DropdbStmt:
		return reinterpret_cast<DropdbStmt *>(parsetree)->dbname;
	case T_RenameStmt: {
		RenameStmt *stmt = reinterpret_cast<RenameStmt *>(parsetree);
		return stmt->renameType == OBJECT_DATABASE ? stmt->subname : nullptr;
	}
	case T_CreatedbStmt:
		foreach (cell, reinterpret_cast<CreatedbStmt *>(parsetree)->options) {
			DefElem *option = static_cast<DefElem *>(lfirst(cell));
			if (strcmp(option->defname, "template") == 0 && option->arg != nullptr)
				return defGetString(option);
		}
		return nullptr;
	case T_AlterDatabaseStmt:
		foreach (cell, reinterpret_cast<AlterDatabaseStmt *>(parsetree)->options) {
			DefElem *option = static_cast<DefElem *>(lfirst(cell));
			if (strcmp(option->defname, "tablespace") == 0)
				return reinterpret_cast<AlterDatabaseStmt *>(parsetree)->dbname;
		}
		return nullptr;
	default:
		return nullptr;
	}
}

/* CallProcessUtility runs the previous hook or the standard implementation. */
void
CallProcessUtility(PlannedStmt *pstmt, const char *query_string, bool read_only_tree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *query_env, DestReceiver *dest, QueryCompletion *qc) {
	if (prev_process_utility != nullptr)
		prev_process_utility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
	else
		standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
}

/* PgmqProcessUtility stops the worker of a database that a statement needs to itself, for the statement's run. */
void
PgmqProcessUtility(PlannedStmt *pstmt, const char *query_string, bool read_only_tree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *query_env, DestReceiver *dest, QueryCompletion *qc) {
	const char *dbname = DatabaseNeededAlone(pstmt->utilityStmt);
	Oid database = dbname != nullptr ? get_database_oid(dbname, true) : InvalidOid;
	if (!OidIsValid(database)) {
		CallProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
		return;
	}
	PauseDatabase(database);
	PG_TRY();
	{ CallProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc); }
	PG_FINALLY();
	{ ResumeDatabase(database); }
	PG_END_TRY();
}

} // namespace

void
RegisterLauncher() {
	BackgroundWorker worker;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	strlcpy(worker.bgw_library_name, "pgmq", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "pgmq_launcher_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "pgmq launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "pgmq launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

void
InstallUtilityHook() {
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = PgmqProcessUtility;
}

} // namespace pgmq::worker

/* pgmq_launcher_main is the launcher's entry point. */
extern "C" void
pgmq_launcher_main(Datum) {
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
	pgstat_report_appname("pgmq launcher");
	MemoryContext scratch = AllocSetContextCreate(TopMemoryContext, "pgmq launcher scratch", ALLOCSET_DEFAULT_SIZES);
	for (;;) {
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending) {
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (pgmq::guc_worker_enabled && !RecoveryInProgress()) {
			MemoryContext old = MemoryContextSwitchTo(scratch);
			pgmq::worker::LaunchWorkersUnsafe(scratch);
			MemoryContextSwitchTo(old);
			MemoryContextReset(scratch);
		}
		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, pgmq::guc_launcher_interval_ms,
						PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
