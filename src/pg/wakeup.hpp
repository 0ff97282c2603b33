/*
 * wakeup.hpp: waking long polls the moment a send commits.
 *
 * Shell code. With pgmq in shared_preload_libraries, shared memory holds a
 * fixed table of kWakeupSlots slots, each a commit counter and a condition
 * variable; a queue maps to slot (queue OID mod kWakeupSlots). A send marks
 * its queue's slot in a backend-local bitmap; when the transaction commits
 * (XACT_EVENT_COMMIT runs after the commit is visible to new snapshots) each
 * marked slot's counter is bumped and its waiters are woken. Waiters in
 * read_with_poll re-read on wake-up, and also every poll_interval_ms, which
 * covers messages that become visible when their vt passes. Without the
 * preload, read_with_poll sleeps poll_interval_ms between reads like PGMQ.
 * Shared memory used: kWakeupSlots * (8 + sizeof(ConditionVariable)) bytes.
 */
#pragma once

extern "C" {
#include "postgres.h"
}

namespace pgmq::pg {

constexpr int kWakeupSlots = 1024;

/* WakeupShmemSize is the shared memory the wakeup table needs. */
Size WakeupShmemSize();

/* WakeupShmemInit attaches to (or creates) the wakeup table; call from shmem_startup_hook, holding AddinShmemInitLock.
 */
void WakeupShmemInit();

/* WakeupRegisterCallbacks installs the transaction callback that signals at commit. */
void WakeupRegisterCallbacks();

/* NoteSend records that this transaction added messages to the queue. */
void NoteSend(Oid queue_relid);

/* WakeupAvailable says whether the shared wakeup table exists (pgmq preloaded). */
bool WakeupAvailable();

/* WakeupPrepare starts listening on the queue's slot and returns its counter. */
uint64 WakeupPrepare(Oid queue_relid);

/* WakeupCounter returns the queue slot's current commit counter. */
uint64 WakeupCounter(Oid queue_relid);

/* WakeupWait sleeps up to timeout_ms or until a send to the slot commits. */
void WakeupWait(Oid queue_relid, long timeout_ms);

/* WakeupFinish stops listening. */
void WakeupFinish();

} // namespace pgmq::pg
