/*
 * readhint.hpp: per-queue hint of where visible messages may start.
 *
 * Shell code. A read takes the oldest visible messages in msg_id order; when
 * the head of a queue is invisible (read by slow consumers, delayed) or dead
 * (deleted, not yet vacuumed), every read walks it. With pgmq preloaded,
 * shared memory holds, per queue (1024 slots, queue OID mod 1024), a hint:
 * a msg_id `low` and a time `valid_until` such that no row with msg_id < low
 * is visible before valid_until. Reads scan from low. Below low a row is
 * deleted or invisible by vt; when valid_until passes (some vt may have),
 * reads scan from the hint's floor instead of the queue's start: the
 * smallest msg_id a scan from the floor (or the start) passed for its vt or
 * took, all rows below it deleted, so it holds until a reset. That keeps the
 * walk after valid_until to the rows of about one vt even when a held
 * snapshot keeps every deleted row from VACUUM.
 *
 * Who moves it: the read path (read_path.cpp). A direct read (direct.hpp)
 * finds, in its own scan, the first row it could not take although visible
 * by vt (held by another transaction, or not matching its conditional); every row before it was invisible by vt
 * (valid_until = the smallest such vt), deleted by a committed transaction,
 * or taken by the read itself. A read through the prepared statement cannot
 * tell, so when its first message lies far above the hint (or it found
 * nothing) it probes: it walks the rows from the hint upwards with a fresh
 * READ COMMITTED snapshot and no locks, past rows invisible by vt or deleted,
 * up to the first row whose vt has passed (held by another reader or not);
 * one backend probes a queue at a time. A send in progress may own a msg_id
 * below rows the scan saw committed: every send announces, before it takes
 * msg_ids, a lower bound of them (the highest msg_id sent so far + 1, as
 * msg_id sequences rise), and a stored low never exceeds the smallest bound
 * of the sends in progress at the read's ticket, nor the bound sends that
 * announce later get. So reads store hints while sends are always in flight
 * (producers that never pause); a hint is refused only if it was reset
 * meanwhile, if a send's ids fell below its bound (a sequence with CACHE > 1,
 * or restarted), or while a send without a bound runs (plain SQL INSERT,
 * more than 4 queues sent to in one transaction, the first send to a queue
 * since startup): those are counted and end as every send once did.
 * pgmq._read_hint(regclass) shows a queue's hint.
 *
 * What resets it: commit of set_vt (a vt moved earlier), abort of a
 * (sub)transaction that read from the queue (its updated rows revert to their
 * old vt, which the probe may have skipped as its own uncommitted update),
 * drop_queue, a PREPARE TRANSACTION that read from the
 * queue (a ROLLBACK PREPARED is not seen by this code), and a PREPARE
 * TRANSACTION that sent to the queue (disables the hint of its slot until
 * restart: the send's commit is not seen by this code). Changes made with
 * plain SQL are seen through the statement trigger every queue table has
 * (api/hint_trigger.cpp): an INSERT
 * announces itself like a send and (explicit msg_ids may lie below the hint)
 * resets the hint at commit; an UPDATE or TRUNCATE (RESTART IDENTITY starts
 * msg_ids over) resets it at commit.
 * Probes run only in READ COMMITTED transactions.
 *
 * The send and read paths (send_path.cpp, read_path.cpp) follow this protocol
 * through readhint_protocol.hpp; other code needs only what is declared here.
 *
 * Shared memory used: 1024 * sizeof(HintSlot) (64 bytes each, 64 kB), and
 * 4 send bounds of 16 bytes per backend (MaxBackends).
 */
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

namespace pgmq::pg {

/* ReadHintShmemSize is the shared memory the hint table needs. */
Size ReadHintShmemSize();

/* ReadHintShmemInit attaches to (or creates) the hint table; call from shmem_startup_hook, holding AddinShmemInitLock.
 */
void ReadHintShmemInit();

/* ReadHintRegisterCallbacks installs the (sub)transaction callbacks. */
void ReadHintRegisterCallbacks();

/* ReadHintNoteVtChange is called by set_vt: the hint is reset when the transaction commits. */
void ReadHintNoteVtChange(Oid queue_relid);

/*
 * ReadHintNoteInsert is called before an INSERT statement into the queue not
 * made by a direct send: announced like a send, and (unless it is pgmq's own
 * send through SQL, whose msg_ids come from the sequence) the hint is reset at
 * commit, as the rows may carry msg_ids below it.
 */
void ReadHintNoteInsert(Oid queue_relid);

/*
 * ReadHintPeek says whether the queue has a hint now, and if so its floor,
 * low and valid_until (for tests and diagnostics: pgmq._read_hint).
 */
bool ReadHintPeek(Oid queue_relid, int64 *floor, int64 *low, TimestampTz *valid_until);

/* ReadHintForget resets the queue's hint (drop_queue; purge_queue's TRUNCATE resets it through the trigger). */
void ReadHintForget(Oid queue_relid);

} // namespace pgmq::pg
