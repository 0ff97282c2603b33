/*
 * status.hpp: per-database worker slots in shared memory.
 *
 * Shell code. One slot per database that has (had) a pgmq worker: the
 * worker's pid while it runs, when it last finished a pass, counters, and a
 * pause count set while DROP DATABASE (or another command that needs the
 * database to itself) runs, so the launcher does not start a worker there.
 * Kept in shared memory, not in a table, so an idle worker writes no WAL.
 * Each slot also carries what the database's last worker found (pgmq or no
 * pgmq) and a request from the launcher to leave; beside the slots, the
 * launcher's latch and the databases where CREATE EXTENSION pgmq committed,
 * so a backend can wake the launcher. Exists only when pgmq is in
 * shared_preload_libraries.
 */
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

namespace pgmq::worker {

/* WorkerProbe is what a database's last worker found out about the extension. */
enum class WorkerProbe { kNone, kFound, kMissing };

/* WorkerSlotInfo is a copy of one slot. */
struct WorkerSlotInfo {
	Oid database;
	int pid; /* 0 when no worker runs */
	TimestampTz last_run_at;
	int64 passes;
	int64 moved;
};

/* StatusShmemSize is the shared memory the slots need. */
Size StatusShmemSize();

/* StatusShmemInit attaches to (or creates) the slots; call from shmem_startup_hook, holding AddinShmemInitLock. */
void StatusShmemInit();

/* WorkerAttach claims the slot of database for this process; false if it is paused or no slot is free. */
bool WorkerAttach(Oid database);

/* WorkerRecordPass notes a finished pass of this process's worker. */
void WorkerRecordPass(TimestampTz finished_at, int64 moved);

/* WorkerRecordProbe notes whether this process's worker found pgmq installed in its database. */
void WorkerRecordProbe(bool found);

/* WorkerProbeResult says what the last worker of database found; consume clears a kMissing report. */
WorkerProbe WorkerProbeResult(Oid database, bool consume);

/* WorkerAskToLeave asks the database's worker to exit after its current pass, and wakes it. */
void WorkerAskToLeave(Oid database);

/* WorkerLeaveRequested says whether the launcher asked this process's worker to leave. */
bool WorkerLeaveRequested();

/* LauncherAttach records the launcher's latch so that RequestProbe can wake it; cleared at exit. */
void LauncherAttach();

/* RequestProbe asks the launcher to look at database again now (CREATE EXTENSION pgmq committed there). */
void RequestProbe(Oid database);

/* TakeProbeRequests moves the pending requests into out (room for max) and returns how many; *all if some were lost. */
int TakeProbeRequests(Oid *out, int max, bool *all);

/* kMaxProbeRequests is how many requests wait for the launcher before they collapse into "look at all". */
constexpr int kMaxProbeRequests = 32;

/* DatabasePaused says whether a command that needs the database to itself is running. */
bool DatabasePaused(Oid database);

/* PauseDatabase stops the database's worker (SIGTERM) and keeps the launcher away until ResumeDatabase. */
void PauseDatabase(Oid database);

/* ResumeDatabase undoes one PauseDatabase of this backend; pauses still held are released when it exits. */
void ResumeDatabase(Oid database);

/* StatusSnapshot copies up to max slots in use into out and returns how many. */
int StatusSnapshot(WorkerSlotInfo *out, int max);

/* StatusSlotCount is the number of slots. */
int StatusSlotCount();

} // namespace pgmq::worker
