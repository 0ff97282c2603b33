/*
 * counters.hpp: per-queue message counts and future visibility times in
 * shared memory, so that metrics() knows queue_length and
 * queue_visible_length without scanning the queue table.
 *
 * Shell code. With pgmq preloaded, shared memory holds pgmq.metrics_counters
 * slots (hashed by database and queue OID; a queue whose slot another queue
 * holds has no counter until a rebuild takes the slot) and one shared hash
 * of at most pgmq.metrics_vt_entries (slot, vt) -> signed count entries, all
 * under one LWLock. A valid slot holds the queue's count of committed
 * messages and, for every vt after the slot's horizon, how many committed
 * messages have that vt: the multiset of future vts, so
 *
 *   queue_visible_length = queue_length - (entries with vt > now).
 *
 * Rows with a vt at or before the horizon may lack their entry (a send
 * without delay, a read's rows before it took them): every path raises the
 * horizon to such a vt instead of recording it, and entries at or before it
 * are ignored and dropped lazily. metrics uses its transaction's start as
 * now unless the horizon has passed it; then the current time (README).
 *
 * Who keeps it: the message paths report the rows they insert or delete
 * (CountersNoteRows) and each vt a row gets or leaves (CountersNoteVt:
 * +1 at the new vt, -1 at the old one) or the horizon (CountersNoteHorizon);
 * the changes are kept per (sub)transaction level in the backend and
 * applied under the lock when the transaction commits, after it became
 * visible and before its locks are released; those of an aborted
 * (sub)transaction are dropped. Two commits that touch one row may apply in
 * either order; the signed counts then cancel out.
 *
 * Rebuild: a slot becomes valid only through a rebuild (CountersRebuild):
 * under the lock it takes a snapshot, publishes its xids and resets the slot;
 * from then on committing transactions that the snapshot does not see add
 * their changes, those it sees skip them; one scan of the table in that
 * snapshot (count(*) grouped by the vts after now) is then added. No writer
 * waits for it. One rebuild runs at a time in the whole server.
 *
 * What invalidates it: server start (shared memory is fresh, also after a
 * crash), any INSERT, UPDATE, DELETE or TRUNCATE on the queue table that is
 * not one of the counted statements of the message paths (plain SQL,
 * redrive, purge_queue, a nack to an invalid queue: seen through the
 * statement trigger every queue table has, api/hint_trigger.cpp) both at
 * once and when its transaction commits, a PREPARE TRANSACTION with
 * changes, create_queue and drop_queue, a dropped partition, a change of the
 * table's pg_class row (DDL, a dropped table whose OID was reused), more
 * distinct queues in one transaction than the backend can track. A full vt
 * hash (or more vt changes in one transaction than the backend tracks) only
 * makes the queue's vts unknown: queue_length stays O(1), the visible length
 * comes from the next rebuild's scan.
 */
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

namespace pgmq::pg {

/* CountersShmemRequest asks for the counters' shared memory and lock; call from shmem_request_hook. */
void CountersShmemRequest();

/* CountersShmemInit attaches to (or creates) the counters; call from shmem_startup_hook, holding AddinShmemInitLock. */
void CountersShmemInit();

/* CountersRegisterCallbacks installs the (sub)transaction callbacks. */
void CountersRegisterCallbacks();

/* CountersNoteRows records that this transaction inserted (delta > 0) or deleted (delta < 0) rows of the queue. */
void CountersNoteRows(Oid queue_relid, int64 delta);

/*
 * CountersNoteVt records that delta rows of the queue got (delta > 0) or left
 * (delta < 0) the visibility time vt; one at or before now (the path's
 * clock) raises the horizon to vt instead.
 */
void CountersNoteVt(Oid queue_relid, TimestampTz vt, int64 delta, TimestampTz now);

/* CountersNoteHorizon records that rows with a vt at or before horizon changed unreported (a read's rows). */
void CountersNoteHorizon(Oid queue_relid, TimestampTz horizon);

/*
 * CountersExpectOwnStatement is called just before a message path runs its
 * counted statement on the queue (and other_relid, a second queue it writes
 * to, e.g. a policy's move into the invalid queue), CountersEndOwnStatement
 * just after: the statement trigger that the statement fires once per table
 * does not invalidate the counter (the path reports the rows itself).
 */
void CountersExpectOwnStatement(Oid queue_relid, Oid other_relid = InvalidOid);
void CountersEndOwnStatement();

/*
 * CountersNoteForeignChange is called by the statement trigger: the counter is invalid unless the path
 * expected it. Returns whether the statement is a message path's own (CountersExpectOwnStatement).
 */
bool CountersNoteForeignChange(Oid queue_relid);

/* CountersForget invalidates the queue's counter now and when this transaction commits (create, drop, partitions). */
void CountersForget(Oid queue_relid);

/* What the counters say of a queue at a time. */
struct CountedQueue {
	TimestampTz now; /* the time the visible length is of */
	int64 length;
	int64 visible;
	bool has_visible; /* false: the vts are unknown, count the visible length */
};

/*
 * CountersRead fills *counted from the queue's valid slot for the time now
 * and returns true; false when the slot is not valid or this transaction
 * changed the queue (its own changes are in a scan, not in the slot). When
 * the horizon has passed now, it uses the current time instead and sets
 * counted->now to it.
 */
bool CountersRead(Oid queue_relid, TimestampTz now, CountedQueue *counted);

/*
 * CountersRebuild counts the queue (one scan) and makes its slot valid, when
 * it can do so exactly: preloaded, not in recovery, not SERIALIZABLE, this
 * transaction has not written to the table, the statement trigger fires, no
 * prepared transaction holds a lock on it and no other rebuild runs. Then it
 * fills *counted as CountersRead and returns true; else false.
 */
bool CountersRebuild(const char *queue_table, Oid queue_relid, TimestampTz now, CountedQueue *counted);

} // namespace pgmq::pg
