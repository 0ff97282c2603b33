/*
 * status.cpp: the shared per-database worker slots.
 */
#include "worker/status.hpp"

#include <csignal>

extern "C" {
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "storage/spin.h"
}

namespace pgmq::worker {

namespace {

struct Slot {
	Oid database; /* InvalidOid = free */
	int pid;
	int pause_count;
	TimestampTz last_run_at;
	int64 passes;
	int64 moved;
	WorkerProbe probe;    /* what the last worker found; kMissing stays until the launcher consumes it */
	bool leave_requested; /* the launcher hands the worker's process slot to another database */
	Latch *latch;         /* the worker's, while pid is set */
};

struct StatusShared {
	slock_t mutex;
	Latch *launcher_latch; /* NULL while no launcher runs */
	bool probe_all;        /* probe_requests overflowed */
	int probe_count;
	Oid probe_requests[kMaxProbeRequests];
	int slot_count;
	Slot slots[FLEXIBLE_ARRAY_MEMBER];
};

StatusShared *shared = nullptr;
Slot *my_slot = nullptr; /* this worker's slot */

/*
 * The pauses this backend holds. A FATAL error (pg_terminate_backend while DROP DATABASE waits
 * for other sessions) skips the PG_FINALLY that resumes, so they are also released at exit.
 */
constexpr int kMaxHeldPauses = 16;
Oid held_pauses[kMaxHeldPauses];
int held_pause_count = 0;
bool release_at_exit_registered = false;

int
SlotCapacity() {
	return max_worker_processes + 8;
}

/* FindSlotLocked returns the slot of database, or (if create) a free one claimed for it; NULL if none. */
Slot *
FindSlotLocked(Oid database, bool create) {
	Slot *free_slot = nullptr;
	for (int i = 0; i < shared->slot_count; i++) {
		Slot *slot = &shared->slots[i];
		if (slot->database == database)
			return slot;
		if (free_slot == nullptr && slot->database == InvalidOid)
			free_slot = slot;
	}
	/*
	 * Reuse the slot of a database with no worker and no pause when the table is full, preferably
	 * one whose "no pgmq" report the launcher has read (else it only probes that database again).
	 */
	for (int pass = 0; free_slot == nullptr && create && pass < 2; pass++) {
		for (int i = 0; i < shared->slot_count; i++) {
			Slot *slot = &shared->slots[i];
			if (slot->pid == 0 && slot->pause_count == 0 && (pass == 1 || slot->probe != WorkerProbe::kMissing)) {
				free_slot = slot;
				break;
			}
		}
	}
	if (free_slot == nullptr || !create)
		return nullptr;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->database = database;
	return free_slot;
}

/* WorkerDetach clears this worker's pid at exit. */
void
WorkerDetach(int, Datum) {
	if (my_slot == nullptr)
		return;
	SpinLockAcquire(&shared->mutex);
	if (my_slot->pid == MyProcPid) {
		my_slot->pid = 0;
		my_slot->latch = nullptr;
	}
	SpinLockRelease(&shared->mutex);
	my_slot = nullptr;
}

/* LauncherDetach clears the launcher's latch at exit. */
void
LauncherDetach(int, Datum) {
	SpinLockAcquire(&shared->mutex);
	if (shared->launcher_latch == MyLatch)
		shared->launcher_latch = nullptr;
	SpinLockRelease(&shared->mutex);
}

/* ReleaseHeldPauses resumes every database this backend still pauses (before_shmem_exit). */
void
ReleaseHeldPauses(int, Datum) {
	while (held_pause_count > 0)
		ResumeDatabase(held_pauses[held_pause_count - 1]);
}

} // namespace

Size
StatusShmemSize() {
	return add_size(offsetof(StatusShared, slots), mul_size(sizeof(Slot), SlotCapacity()));
}

void
StatusShmemInit() {
	bool found;
	shared = static_cast<StatusShared *>(ShmemInitStruct("pgmq worker status", StatusShmemSize(), &found));
	if (!found) {
		memset(shared, 0, StatusShmemSize());
		SpinLockInit(&shared->mutex);
		shared->slot_count = SlotCapacity();
	}
}

bool
WorkerAttach(Oid database) {
	if (shared == nullptr)
		return false;
	bool ok = false;
	SpinLockAcquire(&shared->mutex);
	Slot *slot = FindSlotLocked(database, true);
	if (slot != nullptr && slot->pause_count == 0 && slot->pid == 0) {
		slot->pid = MyProcPid;
		slot->probe = WorkerProbe::kNone;
		slot->leave_requested = false;
		slot->latch = MyLatch;
		my_slot = slot;
		ok = true;
	}
	SpinLockRelease(&shared->mutex);
	if (ok)
		before_shmem_exit(WorkerDetach, (Datum)0);
	return ok;
}

void
WorkerRecordPass(TimestampTz finished_at, int64 moved) {
	if (my_slot == nullptr)
		return;
	SpinLockAcquire(&shared->mutex);
	my_slot->last_run_at = finished_at;
	my_slot->passes++;
	my_slot->moved += moved;
	SpinLockRelease(&shared->mutex);
}

void
WorkerRecordProbe(bool found) {
	if (my_slot == nullptr)
		return;
	SpinLockAcquire(&shared->mutex);
	my_slot->probe = found ? WorkerProbe::kFound : WorkerProbe::kMissing;
	SpinLockRelease(&shared->mutex);
}

WorkerProbe
WorkerProbeResult(Oid database, bool consume) {
	if (shared == nullptr)
		return WorkerProbe::kNone;
	SpinLockAcquire(&shared->mutex);
	Slot *slot = FindSlotLocked(database, false);
	WorkerProbe probe = slot != nullptr ? slot->probe : WorkerProbe::kNone;
	if (consume && probe == WorkerProbe::kMissing)
		slot->probe = WorkerProbe::kNone;
	SpinLockRelease(&shared->mutex);
	return probe;
}

void
WorkerAskToLeave(Oid database) {
	if (shared == nullptr)
		return;
	Latch *latch = nullptr;
	SpinLockAcquire(&shared->mutex);
	Slot *slot = FindSlotLocked(database, false);
	if (slot != nullptr && slot->pid != 0) {
		slot->leave_requested = true;
		latch = slot->latch;
	}
	SpinLockRelease(&shared->mutex);
	/* The process may have exited since; setting the latch of its PGPROC then only wakes whoever has it. */
	if (latch != nullptr)
		SetLatch(latch);
}

bool
WorkerLeaveRequested() {
	if (my_slot == nullptr)
		return false;
	SpinLockAcquire(&shared->mutex);
	bool leave = my_slot->leave_requested;
	SpinLockRelease(&shared->mutex);
	return leave;
}

void
LauncherAttach() {
	if (shared == nullptr)
		return;
	SpinLockAcquire(&shared->mutex);
	shared->launcher_latch = MyLatch;
	SpinLockRelease(&shared->mutex);
	before_shmem_exit(LauncherDetach, (Datum)0);
}

void
RequestProbe(Oid database) {
	if (shared == nullptr)
		return;
	SpinLockAcquire(&shared->mutex);
	bool known = false;
	for (int i = 0; i < shared->probe_count && !known; i++)
		known = shared->probe_requests[i] == database;
	if (!known && shared->probe_count < kMaxProbeRequests)
		shared->probe_requests[shared->probe_count++] = database;
	else if (!known)
		shared->probe_all = true;
	Latch *latch = shared->launcher_latch;
	SpinLockRelease(&shared->mutex);
	if (latch != nullptr)
		SetLatch(latch);
}

int
TakeProbeRequests(Oid *out, int max, bool *all) {
	*all = false;
	if (shared == nullptr)
		return 0;
	SpinLockAcquire(&shared->mutex);
	int n = Min(shared->probe_count, max);
	memcpy(out, shared->probe_requests, sizeof(Oid) * n);
	*all = shared->probe_all || n < shared->probe_count;
	shared->probe_count = 0;
	shared->probe_all = false;
	SpinLockRelease(&shared->mutex);
	return n;
}

bool
DatabasePaused(Oid database) {
	if (shared == nullptr)
		return false;
	SpinLockAcquire(&shared->mutex);
	Slot *slot = FindSlotLocked(database, false);
	bool paused = slot != nullptr && slot->pause_count > 0;
	SpinLockRelease(&shared->mutex);
	return paused;
}

void
PauseDatabase(Oid database) {
	if (shared == nullptr || held_pause_count == kMaxHeldPauses)
		return;
	if (!release_at_exit_registered) {
		before_shmem_exit(ReleaseHeldPauses, (Datum)0);
		release_at_exit_registered = true;
	}
	int pid = 0;
	SpinLockAcquire(&shared->mutex);
	Slot *slot = FindSlotLocked(database, true);
	if (slot != nullptr) {
		slot->pause_count++;
		pid = slot->pid;
		held_pauses[held_pause_count++] = database;
	}
	SpinLockRelease(&shared->mutex);
	if (pid != 0)
		kill(pid, SIGTERM);
}

void
ResumeDatabase(Oid database) {
	int held = held_pause_count - 1;
	while (held >= 0 && held_pauses[held] != database)
		held--;
	if (shared == nullptr || held < 0)
		return; /* not paused by this backend */
	held_pauses[held] = held_pauses[--held_pause_count];
	SpinLockAcquire(&shared->mutex);
	Slot *slot = FindSlotLocked(database, false);
	if (slot != nullptr && slot->pause_count > 0)
		slot->pause_count--;
	SpinLockRelease(&shared->mutex);
}

int
StatusSnapshot(WorkerSlotInfo *out, int max) {
	if (shared == nullptr)
		return 0;
	int n = 0;
	SpinLockAcquire(&shared->mutex);
	for (int i = 0; i < shared->slot_count && n < max; i++) {
		Slot *slot = &shared->slots[i];
		if (slot->database == InvalidOid || (slot->passes == 0 && slot->pid == 0))
			continue;
		out[n].database = slot->database;
		out[n].pid = slot->pid;
		out[n].last_run_at = slot->last_run_at;
		out[n].passes = slot->passes;
		out[n].moved = slot->moved;
		n++;
	}
	SpinLockRelease(&shared->mutex);
	return n;
}

int
StatusSlotCount() {
	return shared == nullptr ? 0 : shared->slot_count;
}

} // namespace pgmq::worker
