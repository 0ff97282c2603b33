/*
 * counters.cpp: per-queue message counts and future vts in shared memory (see counters.hpp).
 */
#include "pg/counters.hpp"

#include "guc.hpp"
#include "pg/plans.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_class.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "lib/ilist.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
}

namespace pgmq::pg {

namespace {

constexpr const char *kTranche = "pgmq metrics";

enum SlotState : uint8 {
	kInvalid = 0,
	kRebuilding, /* the rebuild's scan runs: commits it does not see add their changes */
	kValid,
};

struct CounterSlot {
	Oid database;
	Oid relid;
	TransactionId class_xmin; /* xmin of the table's pg_class row when rebuilt: a reused OID differs */
	uint8 state;
	bool vts_known;      /* entries holds every committed row's vt after horizon */
	uint32 generation;   /* bumped by each invalidation and rebuild: a rebuild finishes only in its own */
	int64 count;         /* committed rows */
	TimestampTz horizon; /* rows with a vt at or before it may have no entry */
	dlist_head entries;  /* VtEntry of this slot, in the shared hash */
};

struct VtKey {
	int32 slot;
	int32 padding; /* always 0: the key is hashed as bytes */
	TimestampTz vt;
};

struct VtEntry {
	VtKey key;
	int64 count;
	dlist_node node;
};

/* The shared header: the lock and the snapshot of the one rebuild running (its xids). */
struct CountersShared {
	bool rebuild_busy;
	int rebuild_slot;
	TransactionId rebuild_xmin;
	TransactionId rebuild_xmax;
	int rebuild_xcnt;
	int rebuild_xip_size;
	TransactionId rebuild_xip[FLEXIBLE_ARRAY_MEMBER];
};

/* In shared memory, or NULL when not preloaded (or pgmq.metrics_counters = 0). */
CountersShared *shared = nullptr;
CounterSlot *slots = nullptr;
HTAB *vt_hash = nullptr; /* NULL with pgmq.metrics_vt_entries = 0: visible lengths are always counted */
LWLock *counters_lock = nullptr;
int slot_count = 0;

/* One transaction's reported changes: per queue and (sub)transaction nesting level. */
struct PendingQueue {
	Oid relid;
	int level;
	int64 delta;
	TimestampTz horizon;
	bool lost;     /* changed unreported: invalidate at commit */
	bool vts_lost; /* more vt changes than pending_vts holds */
};
struct PendingVt {
	Oid relid;
	int level;
	TimestampTz vt;
	int64 delta;
};
constexpr int kMaxPending = 64;
constexpr int kFirstPendingVts = 256;
constexpr int kMaxPendingVts = 65536; /* a transaction that changes more vts gives its queues' vts up */
constexpr int kMergeWindow = 8;       /* a change merges with one of the last few of its vt (batches share one) */
PendingQueue pending[kMaxPending];
int pending_count = 0;
PendingVt *pending_vts = nullptr; /* in TopMemoryContext, pending_vt_size entries */
int pending_vt_size = 0;
int pending_vt_count = 0;
bool lost_all = false; /* more queues than pending holds: invalidate every slot of the database at commit */
TransactionId pending_xid = InvalidTransactionId;
int rebuild_level = 0; /* > 0: this backend runs the rebuild, at that nesting level */

/* The tables of the counted statement running now (CountersExpectOwnStatement); each fires the trigger once. */
Oid own_statement_relids[2] = {InvalidOid, InvalidOid};

void
ClearOwnStatement() {
	own_statement_relids[0] = InvalidOid;
	own_statement_relids[1] = InvalidOid;
}

int
SlotIndex(Oid relid) {
	uint32 hash = hash_combine(murmurhash32(MyDatabaseId), murmurhash32(relid));
	return static_cast<int>(hash % static_cast<uint32>(slot_count));
}

/* Holds says whether slot belongs to the queue relid of this database. */
bool
Holds(const CounterSlot *slot, Oid relid) {
	return slot->database == MyDatabaseId && slot->relid == relid;
}

/* EntryOf is the VtEntry of a node of a slot's entries (dlist_container does not compile as C++). */
VtEntry *
EntryOf(dlist_node *node) {
	return reinterpret_cast<VtEntry *>(reinterpret_cast<char *>(node) - offsetof(VtEntry, node));
}

/* ClearEntries frees the slot's vt entries (lock held). */
void
ClearEntries(CounterSlot *slot) {
	dlist_node *head = &slot->entries.head;
	for (dlist_node *cur = head->next, *next; cur != head; cur = next) {
		next = cur->next;
		VtEntry *entry = EntryOf(cur);
		dlist_delete(&entry->node);
		hash_search(vt_hash, &entry->key, HASH_REMOVE, nullptr);
	}
}

/* InvalidateSlot makes the slot invalid and ends a rebuild of it (lock held). */
void
InvalidateSlot(CounterSlot *slot) {
	slot->state = kInvalid;
	slot->generation++;
	ClearEntries(slot);
}

/* ForgetVts gives up the slot's vts; its count stays (lock held). */
void
ForgetVts(CounterSlot *slot) {
	slot->vts_known = false;
	ClearEntries(slot);
}

/* AddVt adds delta rows at vt to the slot (lock held); a full hash forgets the slot's vts. */
void
AddVt(int index, TimestampTz vt, int64 delta) {
	CounterSlot *slot = &slots[index];
	VtKey key;
	key.slot = index;
	key.padding = 0;
	key.vt = vt;
	bool found;
	VtEntry *entry = static_cast<VtEntry *>(hash_search(vt_hash, &key, HASH_ENTER_NULL, &found));
	if (entry == nullptr) {
		ForgetVts(slot);
		return;
	}
	if (!found) {
		entry->count = 0;
		dlist_push_tail(&slot->entries, &entry->node);
	}
	entry->count += delta;
	if (entry->count == 0) {
		dlist_delete(&entry->node);
		hash_search(vt_hash, &key, HASH_REMOVE, nullptr);
	}
}

/* SeenByRebuild says whether the running rebuild's snapshot sees the committed transaction xid (lock held). */
bool
SeenByRebuild(TransactionId xid) {
	if (!TransactionIdIsValid(xid) || TransactionIdPrecedes(xid, shared->rebuild_xmin))
		return true;
	if (!TransactionIdPrecedes(xid, shared->rebuild_xmax))
		return false;
	for (int i = 0; i < shared->rebuild_xcnt; i++)
		if (TransactionIdEquals(shared->rebuild_xip[i], xid))
			return false;
	return true;
}

/* Counting says whether a commit of xid adds its changes to the slot (lock held). */
bool
Counting(const CounterSlot *slot, TransactionId xid) {
	if (slot->state == kValid)
		return true;
	return slot->state == kRebuilding && !SeenByRebuild(xid);
}

/* InvalidateNow invalidates the queue's slot if it holds the queue. Never raises. */
void
InvalidateNow(Oid relid) {
	if (slots == nullptr)
		return;
	CounterSlot *slot = &slots[SlotIndex(relid)];
	LWLockAcquire(counters_lock, LW_EXCLUSIVE);
	if (Holds(slot, relid))
		InvalidateSlot(slot);
	LWLockRelease(counters_lock);
}

/* InvalidateDatabase invalidates every slot of this database. Never raises. */
void
InvalidateDatabase() {
	LWLockAcquire(counters_lock, LW_EXCLUSIVE);
	for (int i = 0; i < slot_count; i++)
		if (slots[i].database == MyDatabaseId && slots[i].state != kInvalid)
			InvalidateSlot(&slots[i]);
	LWLockRelease(counters_lock);
}

/* Apply adds the committed transaction's changes to the slots that count them (at commit: never raises). */
void
Apply(TransactionId xid) {
	if (lost_all)
		InvalidateDatabase();
	LWLockAcquire(counters_lock, LW_EXCLUSIVE);
	for (int i = 0; i < pending_count; i++) {
		const PendingQueue *p = &pending[i];
		CounterSlot *slot = &slots[SlotIndex(p->relid)];
		if (!Holds(slot, p->relid))
			continue;
		if (p->lost) {
			InvalidateSlot(slot);
			continue;
		}
		if (!Counting(slot, xid))
			continue;
		slot->count += p->delta;
		slot->horizon = Max(slot->horizon, p->horizon);
		if (p->vts_lost)
			ForgetVts(slot);
	}
	for (int i = 0; i < pending_vt_count; i++) {
		const PendingVt *v = &pending_vts[i];
		int index = SlotIndex(v->relid);
		CounterSlot *slot = &slots[index];
		if (!Holds(slot, v->relid) || !Counting(slot, xid) || !slot->vts_known || v->vt <= slot->horizon)
			continue;
		AddVt(index, v->vt, v->delta);
	}
	LWLockRelease(counters_lock);
}

/* ReleaseRebuild ends this backend's rebuild that did not finish (an error): its slot is invalid. */
void
ReleaseRebuild() {
	if (rebuild_level == 0 || shared == nullptr)
		return;
	rebuild_level = 0;
	LWLockAcquire(counters_lock, LW_EXCLUSIVE);
	CounterSlot *slot = &slots[shared->rebuild_slot];
	if (slot->state == kRebuilding)
		InvalidateSlot(slot);
	shared->rebuild_busy = false;
	LWLockRelease(counters_lock);
}

void
ResetPending() {
	pending_count = 0;
	pending_vt_count = 0;
	/* A large transaction's array goes with it (pfree cannot fail here); the next one starts small. */
	if (pending_vt_size > kFirstPendingVts) {
		pfree(pending_vts);
		pending_vts = nullptr;
		pending_vt_size = 0;
	}
	lost_all = false;
	pending_xid = InvalidTransactionId;
}

void
OnXactEvent(XactEvent event, void *) {
	ClearOwnStatement();
	switch (event) {
	case XACT_EVENT_COMMIT:
	case XACT_EVENT_PARALLEL_COMMIT:
		/* Runs after the commit became visible, before the transaction's locks go. */
		if (slots != nullptr && (pending_count > 0 || lost_all)) {
			TransactionId xid = GetTopTransactionIdIfAny();
			Apply(TransactionIdIsValid(xid) ? xid : pending_xid);
		}
		ResetPending();
		break;
	case XACT_EVENT_PREPARE:
		/* The rows come or go at COMMIT PREPARED, which this code does not see: rebuild after it. */
		if (lost_all)
			InvalidateDatabase();
		for (int i = 0; i < pending_count; i++)
			InvalidateNow(pending[i].relid);
		ResetPending();
		break;
	case XACT_EVENT_ABORT:
	case XACT_EVENT_PARALLEL_ABORT:
		ReleaseRebuild();
		ResetPending();
		break;
	default:
		break;
	}
}

/* OnSubXactEvent drops the changes of an aborted subtransaction and hands those of a committed one to its parent. */
void
OnSubXactEvent(SubXactEvent event, SubTransactionId, SubTransactionId, void *) {
	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	/* A statement that failed leaves its expectation; one that runs in a subtransaction keeps it. */
	if (event == SUBXACT_EVENT_ABORT_SUB)
		ClearOwnStatement();
	int level = GetCurrentTransactionNestLevel();
	bool abort = event == SUBXACT_EVENT_ABORT_SUB;
	if (abort && rebuild_level >= level)
		ReleaseRebuild();
	int kept = 0;
	for (int i = 0; i < pending_count; i++) {
		PendingQueue entry = pending[i];
		if (entry.level >= level) {
			/* An aborted subtransaction's changes are gone, not the fact that plain SQL ran (counters.hpp). */
			if (abort && !entry.lost)
				continue;
			if (abort) {
				entry.delta = 0;
				entry.vts_lost = false;
			}
			entry.level = level - 1;
			bool merged = false;
			for (int j = 0; j < kept; j++) {
				PendingQueue *into = &pending[j];
				if (into->relid == entry.relid && into->level == entry.level) {
					into->delta += entry.delta;
					into->horizon = Max(into->horizon, entry.horizon);
					into->lost |= entry.lost;
					into->vts_lost |= entry.vts_lost;
					merged = true;
					break;
				}
			}
			if (merged)
				continue;
		}
		pending[kept++] = entry;
	}
	pending_count = kept;
	kept = 0;
	for (int i = 0; i < pending_vt_count; i++) {
		PendingVt entry = pending_vts[i];
		if (entry.level >= level) {
			if (abort)
				continue;
			entry.level = level - 1;
		}
		pending_vts[kept++] = entry;
	}
	pending_vt_count = kept;
}

/* PendingFor is this (sub)transaction's entry of the queue, NULL (the counter given up) when there is no room. */
PendingQueue *
PendingFor(Oid relid) {
	int level = GetCurrentTransactionNestLevel();
	for (int i = 0; i < pending_count; i++)
		if (pending[i].relid == relid && pending[i].level == level)
			return &pending[i];
	if (pending_count == kMaxPending) {
		/* Too many to track: give the counters of this database up, now and at commit. */
		lost_all = true;
		InvalidateNow(relid);
		return nullptr;
	}
	PendingQueue *p = &pending[pending_count++];
	p->relid = relid;
	p->level = level;
	p->delta = 0;
	p->horizon = DT_NOBEGIN;
	p->lost = false;
	p->vts_lost = false;
	return p;
}

void
RememberXid() {
	if (!TransactionIdIsValid(pending_xid))
		pending_xid = GetTopTransactionIdIfAny();
}

/* ClassXmin is the xmin of the table's pg_class row (InvalidTransactionId when it is gone). */
TransactionId
ClassXmin(Oid relid) {
	HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		return InvalidTransactionId;
	TransactionId xmin = HeapTupleHeaderGetXmin(tuple->t_data);
	ReleaseSysCache(tuple);
	return xmin;
}

/*
 * SeesPlainSql says whether the queue table has the statement trigger that reports plain-SQL
 * INSERT, UPDATE, DELETE and TRUNCATE (api/hint_trigger.cpp), enabled for this session.
 * The caller holds a lock on the table.
 */
bool
SeesPlainSql(Oid relid) {
	Relation rel = RelationIdGetRelation(relid);
	if (!RelationIsValid(rel))
		return false;
	bool sees = false;
	for (int i = 0; rel->trigdesc != nullptr && i < rel->trigdesc->numtriggers; i++) {
		const Trigger *trigger = &rel->trigdesc->triggers[i];
		if (strcmp(trigger->tgname, "pgmq_read_hint_guard") != 0)
			continue;
		bool replica = SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA;
		bool fires = trigger->tgenabled == TRIGGER_FIRES_ALWAYS ||
					 (trigger->tgenabled == TRIGGER_FIRES_ON_ORIGIN && !replica) ||
					 (trigger->tgenabled == TRIGGER_FIRES_ON_REPLICA && replica);
		sees = fires && TRIGGER_FOR_ROW(trigger->tgtype) == 0 && TRIGGER_FOR_INSERT(trigger->tgtype) &&
			   TRIGGER_FOR_UPDATE(trigger->tgtype) && TRIGGER_FOR_DELETE(trigger->tgtype) &&
			   TRIGGER_FOR_TRUNCATE(trigger->tgtype);
	}
	RelationClose(rel);
	return sees;
}

/* MayHaveWritten says whether this transaction holds a lock on the table that writing takes (ROW EXCLUSIVE or more). */
bool
MayHaveWritten(Oid relid) {
	LOCKTAG tag;
	SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
	for (LOCKMODE mode = RowExclusiveLock; mode <= AccessExclusiveLock; mode++)
		if (mode != ShareLock && LockHeldByMe(&tag, mode))
			return true;
	return false;
}

/* PreparedWriter says whether a prepared transaction holds a lock on the table that writing takes. */
bool
PreparedWriter(Oid relid) {
	if (max_prepared_xacts == 0)
		return false;
	LOCKTAG tag;
	SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
	for (VirtualTransactionId *v = GetLockConflicts(&tag, ShareLock, nullptr); VirtualTransactionIdIsValid(*v); v++) {
		bool have_more = false;
		if (TransactionIdIsValid(TwoPhaseGetXidByVirtualXID(*v, &have_more)) || have_more)
			return true;
	}
	return false;
}

/* HasPending says whether this transaction reported changes to the queue (or changed it unreported). */
bool
HasPending(Oid relid) {
	for (int i = 0; i < pending_count; i++)
		if (pending[i].relid == relid)
			return true;
	return false;
}

/*
 * ReadSlot fills *counted from the valid slot (lock held exclusively): the
 * count, and the entries after now. It raises the horizon to now and drops
 * the entries at or before it.
 */
void
ReadSlot(CounterSlot *slot, TimestampTz now, CountedQueue *counted) {
	/* A row that changed after the transaction's start may have left no entry for that time: use the clock. */
	if (now < slot->horizon)
		now = Max(GetCurrentTimestamp(), slot->horizon);
	slot->horizon = now;
	int64 invisible = 0;
	dlist_node *head = &slot->entries.head;
	for (dlist_node *cur = head->next, *next; cur != head; cur = next) {
		next = cur->next;
		VtEntry *entry = EntryOf(cur);
		if (entry->key.vt > now) {
			invisible += entry->count;
			continue;
		}
		dlist_delete(&entry->node);
		hash_search(vt_hash, &entry->key, HASH_REMOVE, nullptr);
	}
	counted->now = now;
	counted->length = slot->count;
	counted->has_visible = slot->vts_known;
	counted->visible = Max(static_cast<int64>(0), Min(counted->length, counted->length - invisible));
}

} // namespace

void
CountersShmemRequest() {
	if (guc_metrics_counters <= 0)
		return;
	Size size = add_size(offsetof(CountersShared, rebuild_xip),
						 mul_size(sizeof(TransactionId), static_cast<Size>(MaxBackends + max_prepared_xacts)));
	size = add_size(size, mul_size(static_cast<Size>(guc_metrics_counters), sizeof(CounterSlot)));
	if (guc_metrics_vt_entries > 0)
		size = add_size(size, hash_estimate_size(guc_metrics_vt_entries, sizeof(VtEntry)));
	RequestAddinShmemSpace(size);
	RequestNamedLWLockTranche(kTranche, 1);
}

void
CountersShmemInit() {
	if (guc_metrics_counters <= 0)
		return;
	int xip_size = MaxBackends + max_prepared_xacts;
	bool found;
	shared = static_cast<CountersShared *>(ShmemInitStruct(
		"pgmq metrics header", offsetof(CountersShared, rebuild_xip) + sizeof(TransactionId) * xip_size, &found));
	if (!found) {
		shared->rebuild_busy = false;
		shared->rebuild_slot = 0;
		shared->rebuild_xcnt = 0;
		shared->rebuild_xip_size = xip_size;
	}
	slot_count = guc_metrics_counters;
	slots = static_cast<CounterSlot *>(
		ShmemInitStruct("pgmq metrics slots", sizeof(CounterSlot) * static_cast<Size>(slot_count), &found));
	if (!found) {
		for (int i = 0; i < slot_count; i++) {
			CounterSlot *slot = &slots[i];
			slot->database = InvalidOid;
			slot->relid = InvalidOid;
			slot->class_xmin = InvalidTransactionId;
			slot->state = kInvalid;
			slot->vts_known = false;
			slot->generation = 0;
			slot->count = 0;
			slot->horizon = DT_NOBEGIN;
			dlist_init(&slot->entries);
		}
	}
	if (guc_metrics_vt_entries > 0) {
		HASHCTL info;
		info.keysize = sizeof(VtKey);
		info.entrysize = sizeof(VtEntry);
		vt_hash = ShmemInitHash("pgmq metrics vts", guc_metrics_vt_entries, guc_metrics_vt_entries, &info,
								HASH_ELEM | HASH_BLOBS);
	}
	counters_lock = &GetNamedLWLockTranche(kTranche)->lock;
}

void
CountersRegisterCallbacks() {
	RegisterXactCallback(OnXactEvent, nullptr);
	RegisterSubXactCallback(OnSubXactEvent, nullptr);
}

void
CountersNoteRows(Oid queue_relid, int64 delta) {
	if (slots == nullptr || delta == 0)
		return;
	PendingQueue *p = PendingFor(queue_relid);
	if (p != nullptr)
		p->delta += delta;
	RememberXid();
}

void
CountersNoteVt(Oid queue_relid, TimestampTz vt, int64 delta, TimestampTz now) {
	if (slots == nullptr || delta == 0)
		return;
	PendingQueue *p = PendingFor(queue_relid);
	if (p == nullptr)
		return;
	if (vt <= now) {
		p->horizon = Max(p->horizon, vt);
		return;
	}
	int level = p->level;
	for (int i = pending_vt_count - 1; i >= 0 && i >= pending_vt_count - kMergeWindow; i--) {
		PendingVt *v = &pending_vts[i];
		if (v->relid == queue_relid && v->level == level && v->vt == vt) {
			v->delta += delta;
			return;
		}
	}
	if (pending_vt_count == pending_vt_size) {
		if (pending_vt_size == kMaxPendingVts) {
			p->vts_lost = true;
			return;
		}
		/* Grown here, where an error may still be raised; commit only reads it. */
		int size = pending_vt_size == 0 ? kFirstPendingVts : pending_vt_size * 2;
		size_t bytes = sizeof(PendingVt) * static_cast<size_t>(size);
		pending_vts = static_cast<PendingVt *>(pending_vts == nullptr ? MemoryContextAlloc(TopMemoryContext, bytes)
																	  : repalloc(pending_vts, bytes));
		pending_vt_size = size;
	}
	pending_vts[pending_vt_count++] = {queue_relid, level, vt, delta};
}

void
CountersNoteHorizon(Oid queue_relid, TimestampTz horizon) {
	if (slots == nullptr)
		return;
	PendingQueue *p = PendingFor(queue_relid);
	if (p != nullptr)
		p->horizon = Max(p->horizon, horizon);
}

void
CountersExpectOwnStatement(Oid queue_relid, Oid other_relid) {
	own_statement_relids[0] = queue_relid;
	own_statement_relids[1] = other_relid;
}

void
CountersEndOwnStatement() {
	ClearOwnStatement();
}

bool
CountersNoteForeignChange(Oid queue_relid) {
	for (Oid &own : own_statement_relids) {
		if (OidIsValid(own) && own == queue_relid) {
			/* The path's own statement fires the trigger once per table; any further statement is someone else's. */
			own = InvalidOid;
			return true;
		}
	}
	CountersForget(queue_relid);
	return false;
}

void
CountersForget(Oid queue_relid) {
	if (slots == nullptr)
		return;
	InvalidateNow(queue_relid);
	/* Again at commit: a rebuild that started meanwhile must not count without these changes. */
	PendingQueue *p = PendingFor(queue_relid);
	if (p != nullptr)
		p->lost = true;
}

bool
CountersRead(Oid queue_relid, TimestampTz now, CountedQueue *counted) {
	/* A transaction that changed the queue sees its own changes in the scan, as PGMQ's count(*). */
	if (slots == nullptr || RecoveryInProgress() || HasPending(queue_relid) || !SeesPlainSql(queue_relid))
		return false;
	TransactionId xmin = ClassXmin(queue_relid);
	CounterSlot *slot = &slots[SlotIndex(queue_relid)];
	LWLockAcquire(counters_lock, LW_EXCLUSIVE);
	bool valid = slot->state == kValid && Holds(slot, queue_relid) && TransactionIdEquals(slot->class_xmin, xmin);
	if (valid)
		ReadSlot(slot, now, counted);
	LWLockRelease(counters_lock);
	return valid;
}

bool
CountersRebuild(const char *queue_table, Oid queue_relid, TimestampTz now, CountedQueue *counted) {
	/* SERIALIZABLE: a scan outside the transaction's snapshot would confuse its conflict checks. */
	if (slots == nullptr || RecoveryInProgress() || IsolationIsSerializable())
		return false;
	/* Rows this transaction wrote may still go away (or, written by plain SQL, are not reported). */
	if (MayHaveWritten(queue_relid) || HasPending(queue_relid) || !SeesPlainSql(queue_relid))
		return false;
	TransactionId class_xmin = ClassXmin(queue_relid);
	int index = SlotIndex(queue_relid);
	CounterSlot *slot = &slots[index];
	/* Rows with a vt at or before the metrics' time need no entry for it. */
	TimestampTz scan_now = now;

	LWLockAcquire(counters_lock, LW_EXCLUSIVE);
	if (shared->rebuild_busy) {
		LWLockRelease(counters_lock);
		return false;
	}
	/* Taken under the lock: a commit applied before is in it, one applied after asks SeenByRebuild. */
	Snapshot snapshot = GetLatestSnapshot();
	if (snapshot->xcnt > static_cast<uint32>(shared->rebuild_xip_size)) {
		LWLockRelease(counters_lock);
		return false;
	}
	shared->rebuild_xmin = snapshot->xmin;
	shared->rebuild_xmax = snapshot->xmax;
	shared->rebuild_xcnt = static_cast<int>(snapshot->xcnt);
	memcpy(shared->rebuild_xip, snapshot->xip, sizeof(TransactionId) * snapshot->xcnt);
	shared->rebuild_busy = true;
	shared->rebuild_slot = index;
	if (slot->state != kInvalid || !Holds(slot, queue_relid))
		InvalidateSlot(slot);
	slot->database = MyDatabaseId;
	slot->relid = queue_relid;
	slot->class_xmin = class_xmin;
	slot->state = kRebuilding;
	slot->vts_known = vt_hash != nullptr;
	slot->generation++;
	slot->count = 0;
	slot->horizon = scan_now;
	uint32 generation = slot->generation;
	rebuild_level = GetCurrentTransactionNestLevel();
	LWLockRelease(counters_lock);
	snapshot = RegisterSnapshot(snapshot);

	/* A prepared transaction's rows come at COMMIT PREPARED, unreported: no count while one may have written. */
	bool ok = !PreparedWriter(queue_relid);
	int64 total = 0;
	uint64 nvts = 0;
	bool connected = false;
	if (ok) {
		/* One scan: the row count (first row), then the number of rows at each vt after scan_now, at most cap + 1. */
		int64 cap = vt_hash != nullptr ? guc_metrics_vt_entries : 0;
		StringInfoData sql;
		initStringInfo(&sql);
		appendStringInfo(&sql,
						 "WITH g AS (SELECT CASE WHEN vt > $1 THEN vt END AS v, pg_catalog.count(*) AS n FROM "
						 "pgmq.%s GROUP BY 1) SELECT NULL::timestamptz, pg_catalog.sum(n)::bigint FROM g "
						 "UNION ALL (SELECT v, n FROM g WHERE v IS NOT NULL LIMIT $2)",
						 quote_identifier(queue_table));
		Oid types[2] = {TIMESTAMPTZOID, INT8OID};
		Datum values[2] = {TimestampTzGetDatum(scan_now), Int64GetDatum(cap + 1)};
		ConnectSpi();
		connected = true;
		SPIPlanPtr plan = SPI_prepare(sql.data, 2, types);
		if (plan == nullptr)
			elog(ERROR, "pgmq: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		int rc = SPI_execute_snapshot(plan, values, nullptr, snapshot, InvalidSnapshot, true, false, 0);
		if (rc != SPI_OK_SELECT || SPI_processed < 1)
			elog(ERROR, "pgmq: counting %s failed: %s", queue_table, SPI_result_code_string(rc));
		bool isnull;
		Datum first = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		total = isnull ? 0 : DatumGetInt64(first);
		nvts = SPI_processed - 1;
	}

	LWLockAcquire(counters_lock, LW_EXCLUSIVE);
	ok = ok && slot->generation == generation && slot->state == kRebuilding && Holds(slot, queue_relid);
	if (ok) {
		slot->count += total;
		if (nvts > static_cast<uint64>(guc_metrics_vt_entries))
			ForgetVts(slot);
		for (uint64 i = 0; slot->vts_known && i < nvts; i++) {
			HeapTuple row = SPI_tuptable->vals[i + 1];
			bool isnull;
			TimestampTz vt = DatumGetTimestampTz(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull));
			int64 n = DatumGetInt64(SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull));
			if (vt > slot->horizon)
				AddVt(index, vt, n);
		}
		slot->state = kValid;
		ReadSlot(slot, now, counted);
	} else if (slot->generation == generation && slot->state == kRebuilding)
		InvalidateSlot(slot);
	shared->rebuild_busy = false;
	rebuild_level = 0;
	LWLockRelease(counters_lock);
	if (connected)
		FinishSpi();
	UnregisterSnapshot(snapshot);
	return ok;
}

} // namespace pgmq::pg
