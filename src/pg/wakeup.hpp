/*
 * wakeup.hpp: waking long polls the moment a send commits.
 *
 * Shell code. With pgmq in shared_preload_libraries, shared memory holds a
 * fixed table of kWakeupSlots slots, each a commit counter and a condition
 * variable; a queue maps to slot (queue OID mod kWakeupSlots). A send marks
 * its queue's slot in a backend-local bitmap; when the transaction commits
 * (XACT_EVENT_COMMIT runs after the commit is visible to new snapshots) each
 * marked slot's counter is bumped and its waiters are woken. Waiters in
 * read_with_poll re-read on wake-up, and sleep no longer than until the
 * earliest future vt their empty read saw (read_path.cpp), nor than
 * poll_interval_ms.
 *
 * Other changes that can make a message visible before that vt wake the
 * slot too, but only when someone waits there (each slot counts its waiters,
 * and its watchers: waiters whose last read met rows visible by vt that it
 * could not take, held by a transaction in progress or behind a FIFO group's
 * head): at commit of a set_vt or nack (NoteVtChange; an earlier vt) when
 * the slot has waiters; at commit of any transaction that took, locked or
 * removed rows of the queue (NoteTouch) when it has watchers (a delete frees
 * a group's next message, a read's commit publishes a vt the watcher could
 * not see); at the abort of such a (sub)transaction when it has waiters (the
 * rows it took are visible again; the read hint may have let a poll pass
 * them). The read hint's callbacks, registered later, run first (PostgreSQL
 * calls the last registered first), so a woken poll reads with the hint
 * already reset. PREPARE TRANSACTION forgets the marks: COMMIT PREPARED
 * and ROLLBACK PREPARED wake nobody (poll_interval_ms covers them).
 *
 * Without the preload, read_with_poll sleeps until the earliest vt or
 * poll_interval_ms, whichever comes first, and sees no commits.
 * Shared memory used: kWakeupSlots * (16 + sizeof(ConditionVariable)) bytes.
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

/* NoteVtChange records that this transaction moved vts in the queue (set_vt, nack, an UPDATE). */
void NoteVtChange(Oid queue_relid);

/* NoteTouch records that this transaction took, locked or removed rows of the queue (read, pop, delete, archive). */
void NoteTouch(Oid queue_relid);

/* WakeupAvailable says whether the shared wakeup table exists (pgmq preloaded). */
bool WakeupAvailable();

/* WakeupPrepare starts listening on the queue's slot (counted as a waiter) and returns its counter. */
uint64 WakeupPrepare(Oid queue_relid);

/* WakeupCounter returns the queue slot's current commit counter. */
uint64 WakeupCounter(Oid queue_relid);

/* WakeupWait sleeps up to timeout_ms or until a send to the slot commits. */
void WakeupWait(Oid queue_relid, long timeout_ms);

/*
 * WakeupWatch counts this waiter as a watcher of the slot too (it met rows
 * it could not take) until WakeupFinish; the caller reads again before it
 * sleeps, as a change that ended just before may have woken nobody.
 */
void WakeupWatch(Oid queue_relid);

/* WakeupFinish stops listening (also done when the (sub)transaction aborts). */
void WakeupFinish();

} // namespace pgmq::pg
