/*
 * launcher.cpp: the launcher that starts one worker per database with pgmq, and the
 * utility hook that keeps workers out of the way of DROP DATABASE and has
 * CREATE EXTENSION pgmq wake the launcher.
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
#include "lib/stringinfo.h"
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

/* What the launcher knows about pgmq in a database, from the reports of the workers it started there. */
enum class Known { kUnknown, kHasPgmq, kNoPgmq };

/* DatabaseState is the launcher's memory of one database. */
struct DatabaseState {
	Oid database;
	char name[NAMEDATALEN];
	BackgroundWorkerHandle *handle; /* in TopMemoryContext; NULL when none is registered */
	Known known;
	int listed_at;             /* position in this pass's pg_database scan; -1 when not listed */
	bool left_out;             /* needed a worker and found no process slot in this pass */
	TimestampTz waiting_since; /* without a worker since then (kNoPgmq: the next probe) */
	TimestampTz started_at;    /* when handle was registered */
	TimestampTz poked_at;      /* when a CREATE EXTENSION pgmq there was last reported (0: never) */
	long backoff_ms;           /* kNoPgmq: the wait before the next probe, doubled each time */
};

constexpr long kProbeBackoffMinMs = 60 * 1000;      /* first probe again of a database without pgmq */
constexpr long kProbeBackoffMaxMs = 60 * 60 * 1000; /* the longest wait between two probes */
constexpr int kTurnIntervals = 10; /* short of slots, a worker keeps its slot this many launcher intervals */
constexpr int kMaxNamesLogged = 10;

DatabaseState *states = nullptr; /* in TopMemoryContext */
int state_count = 0;
int state_capacity = 0;
Oid asked_to_leave = InvalidOid; /* the worker handing its slot on, until it has stopped */
bool shortage_reported = false;

/* ListDatabases returns the databases a worker may connect to, palloc'd in cxt. */
int
ListDatabases(MemoryContext cxt, DatabaseEntry **out) {
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

/* FindState returns the launcher's state of database, added as kUnknown (waiting since now) when new. */
DatabaseState *
FindState(Oid database, TimestampTz now) {
	for (int i = 0; i < state_count; i++) {
		if (states[i].database == database)
			return &states[i];
	}
	if (state_count == state_capacity) {
		state_capacity = state_capacity == 0 ? 16 : state_capacity * 2;
		states = static_cast<DatabaseState *>(
			states == nullptr ? MemoryContextAlloc(TopMemoryContext, sizeof(DatabaseState) * state_capacity)
							  : repalloc(states, sizeof(DatabaseState) * state_capacity));
	}
	DatabaseState *state = &states[state_count++];
	memset(state, 0, sizeof(*state));
	state->database = database;
	state->known = Known::kUnknown;
	state->waiting_since = now;
	return state;
}

/* ApplyProbeRequests makes the databases where CREATE EXTENSION pgmq committed due for a worker now. */
void
ApplyProbeRequests(TimestampTz now) {
	Oid requests[kMaxProbeRequests];
	bool all;
	int n = TakeProbeRequests(requests, kMaxProbeRequests, &all);
	for (int i = 0; i < state_count; i++) {
		DatabaseState *state = &states[i];
		bool requested = all;
		for (int j = 0; j < n && !requested; j++)
			requested = requests[j] == state->database;
		if (!requested)
			continue;
		state->poked_at = now;
		if (state->known == Known::kNoPgmq) {
			state->known = Known::kUnknown;
			state->backoff_ms = 0;
			state->waiting_since = now;
		}
	}
}

/* ReapWorker learns what the database's worker found and forgets its handle once it has stopped. */
void
ReapWorker(DatabaseState *state, TimestampTz now) {
	if (state->handle == nullptr)
		return;
	pid_t pid;
	if (GetBackgroundWorkerPid(state->handle, &pid) != BGWH_STOPPED) {
		if (WorkerProbeResult(state->database, false) == WorkerProbe::kFound) {
			state->known = Known::kHasPgmq;
			state->backoff_ms = 0;
		}
		return;
	}
	pfree(state->handle);
	state->handle = nullptr;
	if (asked_to_leave == state->database)
		asked_to_leave = InvalidOid;
	WorkerProbe probe = WorkerProbeResult(state->database, true);
	/* A worker started before CREATE EXTENSION pgmq committed there may have looked too early. */
	if (probe == WorkerProbe::kMissing && state->poked_at < state->started_at) {
		state->known = Known::kNoPgmq;
		state->backoff_ms =
			state->backoff_ms == 0 ? kProbeBackoffMinMs : Min(state->backoff_ms * 2, kProbeBackoffMaxMs);
		state->waiting_since = TimestampTzPlusMilliseconds(now, state->backoff_ms);
		return;
	}
	if (probe == WorkerProbe::kFound) {
		state->known = Known::kHasPgmq;
		state->backoff_ms = 0;
	} else if (probe == WorkerProbe::kMissing) {
		state->known = Known::kUnknown;
	}
	state->waiting_since = now;
}

/* StartWorker registers a dynamic worker for the database; false when no process slot is free. */
bool
StartWorker(DatabaseState *state, TimestampTz now) {
	BackgroundWorker worker;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART; /* the launcher starts it again */
	strlcpy(worker.bgw_library_name, "pgmq", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "pgmq_worker_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "pgmq worker %s", state->name);
	strlcpy(worker.bgw_type, "pgmq worker", BGW_MAXLEN);
	worker.bgw_main_arg = ObjectIdGetDatum(state->database);
	worker.bgw_notify_pid = 0;
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	BackgroundWorkerHandle *handle;
	bool ok = RegisterDynamicBackgroundWorker(&worker, &handle);
	MemoryContextSwitchTo(old);
	if (ok) {
		state->handle = handle;
		state->started_at = now;
	}
	return ok;
}

/*
 * CompareCandidates orders the databases to start a worker for: those that may have pgmq before
 * the probes of those that had none, then the longest waiting first, then in pg_database order.
 */
int
CompareCandidates(const void *a, const void *b) {
	const DatabaseState *x = *static_cast<DatabaseState *const *>(a);
	const DatabaseState *y = *static_cast<DatabaseState *const *>(b);
	bool x_probe = x->known == Known::kNoPgmq;
	bool y_probe = y->known == Known::kNoPgmq;
	if (x_probe != y_probe)
		return x_probe ? 1 : -1;
	if (x->waiting_since != y->waiting_since)
		return x->waiting_since < y->waiting_since ? -1 : 1;
	return x->listed_at - y->listed_at;
}

/* ReportShortage says once which databases got no worker, and what to raise. */
void
ReportShortage(int left_out) {
	StringInfoData names;
	initStringInfo(&names);
	int shown = 0;
	for (int i = 0; i < state_count; i++) {
		if (!states[i].left_out || shown == kMaxNamesLogged)
			continue;
		appendStringInfo(&names, "%s\"%s\"", shown == 0 ? "" : ", ", states[i].name);
		shown++;
	}
	if (left_out > shown)
		appendStringInfo(&names, " and %d more", left_out - shown);
	ereport(WARNING,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg_plural("pgmq launcher could not start a worker for database %s",
						   "pgmq launcher could not start a worker for databases %s", left_out, names.data),
			 errdetail("No background worker process slot was free. Queue policies in a database are enforced "
					   "only while it has a worker; the databases take turns in the slots there are."),
			 errhint("Raise max_worker_processes (now %d): the pgmq launcher and every database's worker take one "
					 "slot each, as do parallel workers and other extensions' workers.",
					 max_worker_processes)));
}

/* HandOnSlot asks the worker that has run longest to leave, once it has had its turn, for one left out. */
void
HandOnSlot(TimestampTz now) {
	if (OidIsValid(asked_to_leave))
		return;
	long turn_ms = static_cast<long>(kTurnIntervals) * guc_launcher_interval_ms;
	DatabaseState *oldest = nullptr;
	for (int i = 0; i < state_count; i++) {
		DatabaseState *state = &states[i];
		if (state->handle == nullptr || state->known != Known::kHasPgmq ||
			!TimestampDifferenceExceeds(state->started_at, now, turn_ms))
			continue;
		if (oldest == nullptr || state->started_at < oldest->started_at)
			oldest = state;
	}
	if (oldest == nullptr)
		return;
	asked_to_leave = oldest->database;
	WorkerAskToLeave(oldest->database);
}

/* ForgetDroppedDatabases drops the state of databases no longer listed and without a worker. */
void
ForgetDroppedDatabases() {
	int kept = 0;
	for (int i = 0; i < state_count; i++) {
		if (states[i].listed_at < 0 && states[i].handle == nullptr)
			continue;
		states[kept++] = states[i];
	}
	state_count = kept;
}

/*
 * LaunchWorkers starts a worker for every database that needs one, as far as process slots
 * allow. A database whose worker found no pgmq gets none until CREATE EXTENSION pgmq commits
 * there, or for a probe after a back-off that doubles from a minute to an hour. Short of slots,
 * the longest waiting database goes first, the running worker that has had its turn hands its
 * slot on, and the shortage is reported once (and its end once).
 */
void
LaunchWorkers(MemoryContext scratch) {
	DatabaseEntry *dbs;
	int n = ListDatabases(scratch, &dbs);
	TimestampTz now = GetCurrentTimestamp();
	for (int i = 0; i < state_count; i++)
		states[i].listed_at = -1;
	for (int i = 0; i < n; i++) {
		DatabaseState *state = FindState(dbs[i].database, now);
		strlcpy(state->name, dbs[i].name, NAMEDATALEN);
		state->listed_at = i;
	}
	ApplyProbeRequests(now);

	DatabaseState **candidates = static_cast<DatabaseState **>(palloc(sizeof(DatabaseState *) * Max(state_count, 1)));
	int candidate_count = 0;
	for (int i = 0; i < state_count; i++) {
		DatabaseState *state = &states[i];
		state->left_out = false;
		ReapWorker(state, now);
		if (state->listed_at < 0 || state->handle != nullptr || DatabasePaused(state->database))
			continue;
		if (state->known == Known::kNoPgmq && now < state->waiting_since)
			continue;
		candidates[candidate_count++] = state;
	}
	qsort(candidates, candidate_count, sizeof(DatabaseState *), CompareCandidates);

	int left_out = 0;
	for (int i = 0; i < candidate_count; i++) {
		CHECK_FOR_INTERRUPTS();
		if (StartWorker(candidates[i], now) || candidates[i]->known == Known::kNoPgmq)
			continue;
		candidates[i]->left_out = true;
		left_out++;
	}

	/* Workers that have not yet said whether pgmq is there soon leave or settle: judge the slots after. */
	bool probing = false;
	for (int i = 0; i < state_count; i++)
		probing = probing || (states[i].handle != nullptr && states[i].known != Known::kHasPgmq);
	if (left_out > 0 && !probing) {
		if (!shortage_reported)
			ReportShortage(left_out);
		shortage_reported = true;
		HandOnSlot(now);
	} else if (left_out == 0 && shortage_reported) {
		ereport(LOG, (errmsg("pgmq launcher has a worker running again for every database that needs one")));
		shortage_reported = false;
	}
	ForgetDroppedDatabases();
}

bool probe_at_commit = false; /* this transaction ran CREATE EXTENSION pgmq */
bool probe_callback_registered = false;

/* ProbeXactCallback wakes the launcher for this database when a transaction that created pgmq commits. */
void
ProbeXactCallback(XactEvent event, void *) {
	if (!probe_at_commit)
		return;
	switch (event) {
	case XACT_EVENT_COMMIT:
		probe_at_commit = false;
		RequestProbe(MyDatabaseId);
		break;
	case XACT_EVENT_ABORT:
	case XACT_EVENT_PARALLEL_ABORT:
	case XACT_EVENT_PREPARE: /* COMMIT PREPARED may run anywhere: the launcher's back-off probe finds it */
		probe_at_commit = false;
		break;
	default:
		break;
	}
}

/* ProbeAtCommit arranges for ProbeXactCallback to wake the launcher at this transaction's commit. */
void
ProbeAtCommit() {
	if (!probe_callback_registered) {
		RegisterXactCallback(ProbeXactCallback, nullptr);
		probe_callback_registered = true;
	}
	probe_at_commit = true;
}

ProcessUtility_hook_type prev_process_utility = nullptr;

/*
 * DatabaseNeededAlone returns the database a utility statement needs without other sessions (or, for
 * pgmq's own DROP and UPDATE, without its worker), or NULL.
 */
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
	case T_DropStmt: {
		/* DROP EXTENSION pgmq: the worker's locks on pgmq's tables, taken in another order, could deadlock with it. */
		DropStmt *stmt = reinterpret_cast<DropStmt *>(parsetree);
		if (stmt->removeType != OBJECT_EXTENSION)
			return nullptr;
		foreach (cell, stmt->objects) {
			if (strcmp(strVal(lfirst(cell)), "pgmq") == 0)
				return get_database_name(MyDatabaseId);
		}
		return nullptr;
	}
	case T_AlterExtensionStmt:
		/* ALTER EXTENSION pgmq UPDATE rewrites pgmq's tables and functions: the same. */
		return strcmp(reinterpret_cast<AlterExtensionStmt *>(parsetree)->extname, "pgmq") == 0
				   ? get_database_name(MyDatabaseId)
				   : nullptr;
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

/*
 * PgmqProcessUtility stops the worker of a database that a statement needs to itself, for the
 * statement's run, and has CREATE EXTENSION pgmq wake the launcher when it commits.
 */
void
PgmqProcessUtility(PlannedStmt *pstmt, const char *query_string, bool read_only_tree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *query_env, DestReceiver *dest, QueryCompletion *qc) {
	Node *stmt = pstmt->utilityStmt;
	bool creates_pgmq =
		IsA(stmt, CreateExtensionStmt) && strcmp(reinterpret_cast<CreateExtensionStmt *>(stmt)->extname, "pgmq") == 0;
	const char *dbname = DatabaseNeededAlone(stmt);
	Oid database = dbname != nullptr ? get_database_oid(dbname, true) : InvalidOid;
	if (!OidIsValid(database)) {
		CallProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
		if (creates_pgmq)
			ProbeAtCommit(); /* the launcher skips databases where its worker found no pgmq */
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
	pgmq::worker::LauncherAttach();
	MemoryContext scratch = AllocSetContextCreate(TopMemoryContext, "pgmq launcher scratch", ALLOCSET_DEFAULT_SIZES);
	for (;;) {
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending) {
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (pgmq::guc_worker_enabled && !RecoveryInProgress()) {
			MemoryContext old = MemoryContextSwitchTo(scratch);
			pgmq::worker::LaunchWorkers(scratch);
			MemoryContextSwitchTo(old);
			MemoryContextReset(scratch);
		}
		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, pgmq::guc_launcher_interval_ms,
						PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
