/*
 * pgmq.cpp: the module's entry point: PG_MODULE_MAGIC and _PG_init.
 */
#include "guc.hpp"
#include "pg/counters.hpp"
#include "pg/policy_cache.hpp"
#include "pg/topics.hpp"
#include "pg/readhint.hpp"
#include "pg/wakeup.hpp"
#include "worker/status.hpp"
#include "worker/worker.hpp"

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
}

namespace {

shmem_request_hook_type prev_shmem_request_hook = nullptr;
shmem_startup_hook_type prev_shmem_startup_hook = nullptr;

void
ShmemRequest() {
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(pgmq::pg::WakeupShmemSize());
	RequestAddinShmemSpace(pgmq::worker::StatusShmemSize());
	RequestAddinShmemSpace(pgmq::pg::ReadHintShmemSize());
	pgmq::pg::CountersShmemRequest();
}

void
ShmemStartup() {
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	/* One process at a time creates or attaches to the shared structures. */
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pgmq::pg::WakeupShmemInit();
	pgmq::worker::StatusShmemInit();
	pgmq::pg::ReadHintShmemInit();
	pgmq::pg::CountersShmemInit();
	LWLockRelease(AddinShmemInitLock);
}

} // namespace

/*
 * _PG_init defines the GUCs and cache callbacks and, when preloaded, claims
 * shared memory and registers the background worker's launcher.
 */
extern "C" void
_PG_init(void) {
	pgmq::DefineGucs();
	/* Before the read hint's: transaction callbacks run last registered first, the hint's before the wake-ups. */
	pgmq::pg::WakeupRegisterCallbacks();
	pgmq::pg::PolicyRegisterCallbacks();
	pgmq::pg::TopicsRegisterCallbacks();
	pgmq::pg::ReadHintRegisterCallbacks();
	pgmq::pg::CountersRegisterCallbacks();
	if (!process_shared_preload_libraries_in_progress)
		return;
	if (!IsBinaryUpgrade) {
		pgmq::worker::RegisterLauncher();
		pgmq::worker::InstallUtilityHook();
	}
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = ShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = ShmemStartup;
}
