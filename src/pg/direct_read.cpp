/*
 * direct_read.cpp: the direct read and the read hint's probe (see direct.hpp).
 */
#include "pg/direct.hpp"
#include "pg/direct_table.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/procarray.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

namespace pgmq::pg {

namespace {

/* SlotMsgId and SlotVt return the msg_id and vt of the row in slot. */
int64
SlotMsgId(TupleTableSlot *slot) {
	bool isnull;
	return DatumGetInt64(slot_getattr(slot, kQueueMsgId, &isnull));
}

TimestampTz
SlotVt(TupleTableSlot *slot) {
	bool isnull;
	return DatumGetTimestampTz(slot_getattr(slot, kQueueVt, &isnull));
}

/* BeginHeadScan starts a scan of the msg_id index from start on, in msg_id order. */
IndexScanDesc
BeginHeadScan(OpenQueue *q, Snapshot snapshot, int64 start) {
	ScanKeyData key;
	ScanKeyInit(&key, kPkeyMsgId, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(start));
	IndexScanDesc scan = index_beginscan(q->rel, q->pkey, snapshot, 1, 0);
	index_rescan(scan, &key, 1, nullptr, 0);
	return scan;
}

/* Matches says whether the message in slot is visible at now and contains conditional (if not 0). */
bool
Matches(TupleTableSlot *slot, TimestampTz now, Datum conditional) {
	bool isnull;
	Datum vt = slot_getattr(slot, kQueueVt, &isnull);
	if (isnull || DatumGetTimestampTz(vt) > now)
		return false;
	if (conditional == (Datum)0)
		return true;
	Datum message = slot_getattr(slot, kQueueMessage, &isnull);
	return !isnull && DatumGetBool(DirectFunctionCall2(jsonb_contains, message, conditional));
}

/* ReadScan is a direct read (or pop) in progress. */
struct ReadScan {
	bool pop; /* a pop: taking a row deletes it, instead of updating vt, read_ct and last_read_at */
	OpenQueue q;
	Snapshot snapshot;
	CommandId cid;
	IndexScanDesc scan;
	TupleTableSlot *slot;    /* the row version the index scan returned */
	TupleTableSlot *locked;  /* the version a tuple lock found */
	TupleTableSlot *updated; /* the version the read writes (a pop: the row it deleted) */
	ItemPointerData newer;   /* after TM_Updated: where the row's next version is */
};

/* BeginReadScan opens relid and starts the scan from start; false (nothing open) when the table does not qualify.
 */
bool
BeginReadScan(Oid relid, int64 start, bool pop, ReadScan *s) {
	s->pop = pop;
	/* FOR UPDATE needs UPDATE; a pop also DELETE (as the statements). */
	if (!OpenQueueRelation(relid, ACL_SELECT | ACL_UPDATE | (pop ? ACL_DELETE : 0), &s->q))
		return false;
	/* A new snapshot, as a statement would take (READ COMMITTED: sees what committed until now). */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	s->snapshot = GetActiveSnapshot();
	s->cid = GetCurrentCommandId(true);
	s->scan = BeginHeadScan(&s->q, s->snapshot, start);
	s->slot = table_slot_create(s->q.rel, nullptr);
	s->locked = table_slot_create(s->q.rel, nullptr);
	s->updated = MakeSingleTupleTableSlot(RelationGetDescr(s->q.rel), &TTSOpsVirtual);
	return true;
}

/* EndReadScan ends what BeginReadScan began, keeping the locks; later commands see the updates. */
void
EndReadScan(ReadScan *s) {
	index_endscan(s->scan);
	ExecDropSingleTupleTableSlot(s->updated);
	ExecDropSingleTupleTableSlot(s->locked);
	ExecDropSingleTupleTableSlot(s->slot);
	PopActiveSnapshot();
	CloseQueue(&s->q);
	CommandCounterIncrement();
}

/*
 * TryDelete deletes the row version in source (at its tts_tid) as a pop
 * does, its values copied into s->updated, without waiting (locked: as in
 * TryTake); the results are those of TryTake.
 */
TM_Result
TryDelete(ReadScan *s, TupleTableSlot *source, bool locked, TransactionId *holder) {
	TupleTableSlot *deleted = s->updated;
	slot_getallattrs(source);
	ExecClearTuple(deleted);
	for (int i = 0; i < kQueueNatts; i++) {
		deleted->tts_values[i] = source->tts_values[i];
		deleted->tts_isnull[i] = source->tts_isnull[i];
	}
	ExecStoreVirtualTuple(deleted);
	TM_FailureData tmfd;
	TM_Result result =
		table_tuple_delete(s->q.rel, &source->tts_tid, s->cid, s->snapshot, InvalidSnapshot, locked, &tmfd, false);
	*holder = result == TM_BeingModified ? tmfd.xmax : InvalidTransactionId;
	if (result == TM_Updated)
		s->newer = tmfd.ctid;
	return result;
}

/*
 * TryTake updates the row version in source (at its tts_tid) as a read
 * does (vt, read_ct, last_read_at) into s->updated (a pop: deletes it, see
 * TryDelete), without waiting: returns
 * TM_BeingModified when another transaction holds the row, TM_Updated or
 * TM_Deleted when it changed since the snapshot, TM_Ok when it is taken.
 * locked: this transaction holds the row's tuple lock (heap_update without
 * waiting would report our own lock as TM_BeingModified; with it, it does
 * not wait, as no other transaction can hold the row). *holder is the
 * transaction holding the row when the result is TM_BeingModified.
 */
TM_Result
TryTake(ReadScan *s, const DirectRead *read, TupleTableSlot *source, bool locked, TransactionId *holder) {
	if (s->pop)
		return TryDelete(s, source, locked, holder);
	TupleTableSlot *updated = s->updated;
	slot_getallattrs(source);
	ExecClearTuple(updated);
	for (int i = 0; i < kQueueNatts; i++) {
		updated->tts_values[i] = source->tts_values[i];
		updated->tts_isnull[i] = source->tts_isnull[i];
	}
	int read_ct = ColumnIndex(kQueueReadCt);
	updated->tts_values[read_ct] = Int32GetDatum(DatumGetInt32(source->tts_values[read_ct]) + 1);
	updated->tts_values[ColumnIndex(kQueueLastReadAt)] = TimestampTzGetDatum(read->now);
	updated->tts_isnull[ColumnIndex(kQueueLastReadAt)] = false;
	updated->tts_values[ColumnIndex(kQueueVt)] = TimestampTzGetDatum(read->new_vt);
	ExecStoreVirtualTuple(updated);
	TM_FailureData tmfd;
	LockTupleMode lock_mode;
	bool update_indexes;
	TM_Result result = table_tuple_update(s->q.rel, &source->tts_tid, updated, s->cid, s->snapshot, InvalidSnapshot,
										  locked, &tmfd, &lock_mode, &update_indexes);
	if (result == TM_Ok && update_indexes)
		InsertIndexEntries(&s->q, updated, true);
	*holder = result == TM_BeingModified ? tmfd.xmax : InvalidTransactionId;
	if (result == TM_Updated)
		s->newer = tmfd.ctid;
	return result;
}

/*
 * TryTakeRow tries to take the row in s->slot (TryTake). A row
 * held by our own row lock (FOR UPDATE earlier in this transaction) is ours
 * to take: locking it again never waits (holder may also be a MultiXactId
 * that merely looks like our xid: then the lock is refused).
 */
TM_Result
TryTakeRow(ReadScan *s, const DirectRead *read) {
	TransactionId holder;
	TM_Result result = TryTake(s, read, s->slot, false, &holder);
	if (result == TM_BeingModified && TransactionIdIsCurrentTransactionId(holder)) {
		TM_FailureData tmfd;
		if (table_tuple_lock(s->q.rel, &s->slot->tts_tid, s->snapshot, s->locked, s->cid, LockTupleExclusive,
							 LockWaitSkip, 0, &tmfd) == TM_Ok)
			result = TryTake(s, read, s->locked, true, &holder);
	}
	return result;
}

/*
 * HeldByOther glances at the header of the row in slot (pinned, read
 * without the buffer's content lock) and says whether another transaction
 * in progress updates, deletes or locks it: such a row is skipped without
 * the exclusive buffer lock an update attempt takes, which every consumer
 * would otherwise queue for on the head page. A header caught in change
 * may be misread: then a row is skipped as held, as SKIP LOCKED may, or
 * tried as before. Key-share locks (foreign keys) do not stop an update
 * of vt: left to heap_update.
 */
bool
HeldByOther(TupleTableSlot *slot) {
	Assert(TTS_IS_BUFFERTUPLE(slot));
	HeapTupleHeader header = reinterpret_cast<BufferHeapTupleTableSlot *>(slot)->base.tuple->t_data;
	uint16 mask = header->t_infomask;
	if ((mask & (HEAP_XMAX_INVALID | HEAP_XMAX_IS_MULTI)) != 0 || HEAP_XMAX_IS_KEYSHR_LOCKED(mask))
		return false;
	TransactionId xmax = HeapTupleHeaderGetRawXmax(header);
	return TransactionIdIsNormal(xmax) && !TransactionIdIsCurrentTransactionId(xmax) && TransactionIdIsInProgress(xmax);
}

/* RowFate is what became of a row the read looked at; all but kBlocked let the read hint move past it. */
enum class RowFate {
	kTaken,   /* updated (a pop: deleted) by this read, in s->updated */
	kHidden,  /* invisible by vt (until read->valid_until at the latest) */
	kGone,    /* deleted by a committed transaction */
	kBlocked, /* visible by vt but not taken: held by another transaction, or not matching */
};

/*
 * TakeNewestVersion handles a row that changed since the snapshot (READ
 * COMMITTED): it locks the newest version, unless another transaction holds
 * it, and takes it if that still matches, as EvalPlanQual would.
 */
RowFate
TakeNewestVersion(ReadScan *s, DirectRead *read) {
	/*
	 * Mostly another reader took the row and committed: its newest committed
	 * version (a new snapshot's) is hidden by vt. Seen so without a lock:
	 * locking it (as FOR UPDATE's recheck does) would hold it until this
	 * transaction ends, and make that reader's delete wait for us (with many
	 * consumers, a convoy). A change in progress can only make it visible
	 * earlier by set_vt or nack, whose commit resets the hint, or by an abort,
	 * which brings back this very version.
	 */
	ItemPointerData newest = s->newer;
	TableScanDesc chain = table_beginscan_tid(s->q.rel, GetLatestSnapshot());
	table_tuple_get_latest_tid(chain, &newest);
	table_endscan(chain);
	if (table_tuple_fetch_row_version(s->q.rel, &newest, SnapshotAny, s->locked) &&
		SlotMsgId(s->locked) == SlotMsgId(s->slot)) {
		TimestampTz newer_vt = SlotVt(s->locked);
		if (newer_vt > read->now) {
			read->valid_until = Min(read->valid_until, newer_vt);
			return RowFate::kHidden;
		}
	}
	TM_FailureData tmfd;
	TM_Result result = table_tuple_lock(s->q.rel, &s->slot->tts_tid, s->snapshot, s->locked, s->cid, LockTupleExclusive,
										LockWaitSkip, TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
	if (result == TM_Deleted)
		return RowFate::kGone;
	if (result == TM_WouldBlock || result == TM_SelfModified)
		return RowFate::kBlocked;
	if (result != TM_Ok)
		elog(ERROR, "pgmq: unexpected tuple lock result %d", static_cast<int>(result));
	if (Matches(s->locked, read->now, read->conditional)) {
		TransactionId holder;
		if (TryTake(s, read, s->locked, true, &holder) != TM_Ok)
			elog(ERROR, "pgmq: could not update a locked row");
		return RowFate::kTaken;
	}
	/* The newest version is not for us: hidden by a committed read, or not matching. */
	TimestampTz newest_vt = SlotVt(s->locked);
	if (newest_vt > read->now) {
		read->valid_until = Min(read->valid_until, newest_vt);
		return RowFate::kHidden;
	}
	return RowFate::kBlocked;
}

/*
 * TakeMatchingRow does FOR UPDATE SKIP LOCKED, in one step, for the row
 * in s->slot (visible by vt and matching): it updates the row unless another
 * transaction holds it; if it changed since the snapshot, REPEATABLE READ
 * gets a serialization failure and READ COMMITTED tries its newest version.
 */
RowFate
TakeMatchingRow(ReadScan *s, DirectRead *read) {
	if (HeldByOther(s->slot))
		return RowFate::kBlocked;
	TM_Result result = TryTakeRow(s, read);
	if ((result == TM_Updated || result == TM_Deleted) && IsolationUsesXactSnapshot())
		ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						errmsg("could not serialize access due to concurrent update")));
	switch (result) {
	case TM_Ok:
		return RowFate::kTaken;
	case TM_Deleted:
		return RowFate::kGone;
	case TM_Updated:
		return TakeNewestVersion(s, read);
	case TM_BeingModified:
	case TM_SelfModified:
		return RowFate::kBlocked;
	default:
		elog(ERROR, "pgmq: unexpected tuple update result %d", static_cast<int>(result));
	}
	return RowFate::kBlocked; /* not reached */
}

/* ExamineRow decides about the row in s->slot: passes it while its vt is ahead, else takes it if it matches. */
RowFate
ExamineRow(ReadScan *s, DirectRead *read) {
	TimestampTz vt = SlotVt(s->slot);
	if (vt > read->now) {
		read->valid_until = Min(read->valid_until, vt);
		return RowFate::kHidden;
	}
	if (!Matches(s->slot, read->now, read->conditional))
		return RowFate::kBlocked;
	return TakeMatchingRow(s, read);
}

/* RunScan is RunDirectRead, and with pop RunDirectPop. */
int64
RunScan(Oid relid, DirectRead *read, bool pop, Tuplestorestate *store, TupleDesc desc) {
	MemoryContext caller = MemoryContextSwitchTo(ScratchContext());
	ReadScan s;
	if (!BeginReadScan(relid, read->start, pop, &s)) {
		EndScratch(caller);
		return -1;
	}
	/*
	 * The scan also finds where visible messages now start (see readhint.hpp):
	 * up to the first row it could not take although visible by vt (held by
	 * another transaction, or not matching the conditional), every row was
	 * invisible by vt, not visible to the snapshot (deleted), or taken here.
	 * Rows the scan never reached (qty reached) may be visible: the hint stops
	 * after the last one taken.
	 */
	int64 count = 0;
	bool blocked = false;
	read->new_low = read->start;
	read->valid_until = DT_NOEND;
	read->first_timed = PG_INT64_MAX;
	while (count < read->qty && index_getnext_slot(s.scan, ForwardScanDirection, s.slot)) {
		int64 id = SlotMsgId(s.slot);
		RowFate fate = ExamineRow(&s, read);
		if (fate == RowFate::kTaken) {
			tuplestore_putvalues(store, desc, s.updated->tts_values, s.updated->tts_isnull);
			count++;
			/* Hidden until new_vt once this transaction commits (a reset if it aborts); a pop's row is gone. */
			if (!pop)
				read->valid_until = Min(read->valid_until, read->new_vt);
		}
		/* A row that may come back when its vt passes (a popped row is gone, or back with a reset at abort). */
		if (fate == RowFate::kHidden || (fate == RowFate::kTaken && !pop))
			read->first_timed = Min(read->first_timed, id);
		if (fate == RowFate::kBlocked)
			blocked = true;
		if (!blocked)
			read->new_low = id + 1;
	}
	read->blocked = blocked;
	EndReadScan(&s);
	EndScratch(caller);
	return count;
}

} // namespace

int64
RunDirectRead(Oid relid, DirectRead *read, Tuplestorestate *store, TupleDesc desc) {
	return RunScan(relid, read, false, store, desc);
}

int64
RunDirectPop(Oid relid, DirectRead *read, Tuplestorestate *store, TupleDesc desc) {
	return RunScan(relid, read, true, store, desc);
}

void
DirectProbe(Oid relid, int64 start, TimestampTz now, int64 *new_low, TimestampTz *valid_until, int64 *first_timed) {
	MemoryContext caller = MemoryContextSwitchTo(ScratchContext());
	Relation rel = table_open(relid, AccessShareLock);
	Oid pkey_oid = RelationGetPrimaryKeyIndex(rel);
	if (!OidIsValid(pkey_oid)) {
		table_close(rel, AccessShareLock);
		EndScratch(caller);
		return;
	}
	OpenQueue q;
	q.rel = rel;
	q.pkey = index_open(pkey_oid, AccessShareLock);
	/* A new snapshot that also sees this transaction's changes so far. */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	IndexScanDesc scan = BeginHeadScan(&q, GetActiveSnapshot(), start);
	TupleTableSlot *slot = table_slot_create(rel, nullptr);
	*new_low = start;
	*valid_until = DT_NOEND;
	*first_timed = PG_INT64_MAX;
	while (index_getnext_slot(scan, ForwardScanDirection, slot)) {
		int64 id = SlotMsgId(slot);
		TimestampTz vt = SlotVt(slot);
		if (vt <= now) {
			*new_low = id;
			break;
		}
		*valid_until = Min(*valid_until, vt);
		*first_timed = Min(*first_timed, id);
		*new_low = id + 1;
		CHECK_FOR_INTERRUPTS();
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	PopActiveSnapshot();
	index_close(q.pkey, AccessShareLock);
	table_close(rel, AccessShareLock);
	EndScratch(caller);
}

} // namespace pgmq::pg
