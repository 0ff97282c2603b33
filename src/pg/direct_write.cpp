/*
 * direct_write.cpp: the direct insert (send) and delete (delete, archive) (see direct.hpp).
 */
#include "pg/direct.hpp"
#include "pg/direct_table.hpp"

extern "C" {
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "commands/sequence.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

namespace pgmq::pg {

namespace {

/* kArchiveAttrOf is, for each queue column (by ColumnIndex), the archive column it is copied to. */
constexpr ArchiveAttr kArchiveAttrOf[kQueueNatts] = {kArchiveMsgId,      kArchiveReadCt, kArchiveEnqueuedAt,
													 kArchiveLastReadAt, kArchiveVt,     kArchiveMessage,
													 kArchiveHeaders};
static_assert(kArchiveAttrOf[ColumnIndex(kQueueVt)] == kArchiveVt &&
				  kArchiveAttrOf[ColumnIndex(kQueueHeaders)] == kArchiveHeaders,
			  "kArchiveAttrOf follows QueueAttr");

/* The identity sequence of msg_id per queue table; dropped on relcache invalidation. */
struct SequenceEntry {
	Oid relid;
	Oid seqid;
};
constexpr int kSequenceCacheSize = 64;
SequenceEntry sequence_cache[kSequenceCacheSize];
bool callback_registered = false;

/* InvalidateSequence forgets the cached sequence of relid (of every table when relid is invalid). */
void
InvalidateSequence(Datum, Oid relid) {
	for (int i = 0; i < kSequenceCacheSize; i++) {
		if (!OidIsValid(relid) || sequence_cache[i].relid == relid)
			sequence_cache[i].relid = InvalidOid;
	}
}

/* IdentitySequence returns the sequence behind msg_id of table relid. */
Oid
IdentitySequence(Oid relid) {
	if (!callback_registered) {
		CacheRegisterRelcacheCallback(InvalidateSequence, (Datum)0);
		callback_registered = true;
	}
	SequenceEntry *entry = &sequence_cache[relid % kSequenceCacheSize];
	if (entry->relid == relid)
		return entry->seqid;
	Oid seqid = getIdentitySequence(relid, kQueueMsgId, false);
	entry->relid = relid;
	entry->seqid = seqid;
	return seqid;
}

/* FillNewMessage stores in slot the row a send inserts: the columns' defaults, vt, message and header. */
void
FillNewMessage(TupleTableSlot *slot, int64 id, TimestampTz now, TimestampTz vt, Datum message, const Datum *header) {
	Datum *values = slot->tts_values;
	bool *nulls = slot->tts_isnull;
	for (int i = 0; i < kQueueNatts; i++)
		nulls[i] = false;
	values[ColumnIndex(kQueueMsgId)] = Int64GetDatum(id);
	values[ColumnIndex(kQueueReadCt)] = Int32GetDatum(0);
	values[ColumnIndex(kQueueEnqueuedAt)] = TimestampTzGetDatum(now);
	values[ColumnIndex(kQueueLastReadAt)] = (Datum)0;
	nulls[ColumnIndex(kQueueLastReadAt)] = true;
	values[ColumnIndex(kQueueVt)] = TimestampTzGetDatum(vt);
	/* (Datum)0: a NULL message or header (send_path.hpp). */
	values[ColumnIndex(kQueueMessage)] = message;
	nulls[ColumnIndex(kQueueMessage)] = message == (Datum)0;
	values[ColumnIndex(kQueueHeaders)] = header != nullptr ? *header : (Datum)0;
	nulls[ColumnIndex(kQueueHeaders)] = header == nullptr || *header == (Datum)0;
	ExecStoreVirtualTuple(slot);
}

/*
 * IdScan walks the primary key for the sorted msg_ids ids[0..count) (repeats allowed) in one forward scan,
 * as a merge: an id that is the next row's is found with no new descent from the root. A scan that meets
 * more than kMaxPassed rows that are not asked for (the ids are sparse there) starts again at the next id.
 */
struct IdScan {
	IndexScanDesc scan;
	int nkeys; /* 1 when all ids are one (msg_id = id), else 2 (msg_id >= next id and <= last id) */
	const int64 *ids;
	int count;
	int next;        /* ids[next] is the next id to find */
	bool positioned; /* the scan is on its way from some id at or below ids[next] */
};

/* kMaxPassed is how many rows not asked for an IdScan passes before it descends again. */
constexpr int kMaxPassed = 3;

/* FindNext leaves the row of the next id that has a visible row in slot and returns true; false at the end. */
bool
FindNext(IdScan *s, TupleTableSlot *slot) {
	int passed = 0;
	while (s->next < s->count) {
		if (!s->positioned) {
			/* Up to the last id: the scan reads no entries past it (one id: msg_id = id). */
			ScanKeyData keys[2];
			if (s->nkeys == 1)
				ScanKeyInit(&keys[0], kPkeyMsgId, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(s->ids[s->next]));
			else {
				ScanKeyInit(&keys[0], kPkeyMsgId, BTGreaterEqualStrategyNumber, F_INT8GE,
							Int64GetDatum(s->ids[s->next]));
				ScanKeyInit(&keys[1], kPkeyMsgId, BTLessEqualStrategyNumber, F_INT8LE,
							Int64GetDatum(s->ids[s->count - 1]));
			}
			index_rescan(s->scan, keys, s->nkeys, nullptr, 0);
			s->positioned = true;
			passed = 0;
		}
		if (!index_getnext_slot(s->scan, ForwardScanDirection, slot))
			return false; /* no row at or above ids[next]: the rest have none */
		bool isnull;
		int64 id = DatumGetInt64(slot_getattr(slot, kQueueMsgId, &isnull));
		/* The ids below this row have none. */
		while (s->next < s->count && s->ids[s->next] < id)
			s->next++;
		if (s->next == s->count)
			return false;
		if (s->ids[s->next] == id) {
			while (s->next < s->count && s->ids[s->next] == id)
				s->next++;
			return true;
		}
		if (++passed > kMaxPassed)
			s->positioned = false;
	}
	return false;
}

/*
 * Delete deletes the row in slot as DELETE ... WHERE msg_id = id would:
 * if another transaction changed it since the snapshot (a read), the newest
 * version is locked and deleted (READ COMMITTED) or the transaction gets a
 * serialization failure. Returns the slot holding the deleted version's
 * values, or NULL if the row was deleted by someone else meanwhile.
 */
TupleTableSlot *
Delete(OpenQueue *q, Snapshot snapshot, CommandId cid, TupleTableSlot *slot, TupleTableSlot *locked) {
	TM_FailureData tmfd;
	TM_Result result = table_tuple_delete(q->rel, &slot->tts_tid, cid, snapshot, InvalidSnapshot, true, &tmfd, false);
	if (result == TM_Ok)
		return slot;
	if (result == TM_SelfModified)
		return nullptr;
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE), errmsg("could not serialize access due to concurrent %s",
																	result == TM_Deleted ? "delete" : "update")));
	if (result == TM_Deleted)
		return nullptr;
	if (result != TM_Updated)
		elog(ERROR, "pgmq: unexpected tuple delete result %d", static_cast<int>(result));
	result = table_tuple_lock(q->rel, &slot->tts_tid, snapshot, locked, cid, LockTupleExclusive, LockWaitBlock,
							  TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
	if (result == TM_Deleted || result == TM_SelfModified)
		return nullptr;
	if (result != TM_Ok)
		elog(ERROR, "pgmq: unexpected tuple lock result %d", static_cast<int>(result));
	result = table_tuple_delete(q->rel, &locked->tts_tid, cid, snapshot, InvalidSnapshot, true, &tmfd, false);
	if (result != TM_Ok)
		elog(ERROR, "pgmq: unexpected tuple delete result %d", static_cast<int>(result));
	return locked;
}

/*
 * RowBuffer collects up to capacity new rows of one table for table_multi_insert (heap_multi_insert: one
 * heap WAL record and one buffer lookup per page instead of per row); FlushRows inserts them with their
 * index entries. The slots are made once and reused, over a copy of the table's descriptor that is not
 * reference-counted (a slot over the relation's own descriptor registers it with the resource owner, which
 * for a hundred slots costs more than the inserts save); they live in context slot_context. flush is the
 * context of one flush's allocations (toasted copies, index tuples), reset after it. A buffer of one row
 * (a single send or archive) makes neither: its one slot is the table's (table_slot_create), in the
 * caller's (scratch) context.
 */
struct RowBuffer {
	OpenQueue *table;
	TupleTableSlot **slots;
	int capacity;
	int n;
	CommandId cid;
	MemoryContext slot_context;
	MemoryContext flush;
};

/* kMaxBufferedRows is the most rows one table_multi_insert gets (COPY's MAX_BUFFERED_TUPLES). */
constexpr int kMaxBufferedRows = 1000;

/* BeginRows makes b for up to rows rows (at most kMaxBufferedRows at a time) of table t. */
void
BeginRows(RowBuffer *b, OpenQueue *t, int rows, CommandId cid) {
	b->table = t;
	b->capacity = Min(rows, kMaxBufferedRows);
	b->n = 0;
	b->cid = cid;
	b->slot_context = nullptr;
	b->flush = nullptr;
	if (b->capacity == 1) {
		b->slots = static_cast<TupleTableSlot **>(palloc(sizeof(TupleTableSlot *)));
		b->slots[0] = table_slot_create(t->rel, nullptr);
		return;
	}
	b->slot_context = AllocSetContextCreate(CurrentMemoryContext, "pgmq multi insert slots", ALLOCSET_DEFAULT_SIZES);
	b->flush = AllocSetContextCreate(CurrentMemoryContext, "pgmq multi insert", ALLOCSET_DEFAULT_SIZES);
	MemoryContext caller = MemoryContextSwitchTo(b->slot_context);
	TupleDesc desc = CreateTupleDescCopy(RelationGetDescr(t->rel));
	const TupleTableSlotOps *ops = table_slot_callbacks(t->rel);
	b->slots = static_cast<TupleTableSlot **>(palloc(sizeof(TupleTableSlot *) * b->capacity));
	for (int i = 0; i < b->capacity; i++)
		b->slots[i] = MakeTupleTableSlot(desc, ops);
	MemoryContextSwitchTo(caller);
}

/* NextRow returns the (cleared) slot for the next row; the caller stores it and calls AddRow. */
TupleTableSlot *
NextRow(RowBuffer *b) {
	TupleTableSlot *slot = b->slots[b->n];
	ExecClearTuple(slot);
	return slot;
}

/* FlushRows inserts the buffered rows in order, then their index entries, as that many single inserts would. */
void
FlushRows(RowBuffer *b) {
	if (b->n == 0)
		return;
	MemoryContext caller = b->flush != nullptr ? MemoryContextSwitchTo(b->flush) : CurrentMemoryContext;
	if (b->n == 1)
		table_tuple_insert(b->table->rel, b->slots[0], b->cid, 0, nullptr);
	else
		table_multi_insert(b->table->rel, b->slots, b->n, b->cid, 0, nullptr);
	for (int i = 0; i < b->n; i++)
		InsertIndexEntries(b->table, b->slots[i], false);
	if (b->flush != nullptr) {
		MemoryContextSwitchTo(caller);
		MemoryContextReset(b->flush);
	}
	b->n = 0;
}

/*
 * AddRow checks the row stored in the slot NextRow returned (NOT NULL constraints), materialises it (its values
 * may point into memory the caller reuses, e.g. a buffer page) and flushes when the buffer is full.
 */
void
AddRow(RowBuffer *b) {
	TupleTableSlot *slot = b->slots[b->n];
	CheckNotNull(b->table->rel, slot);
	ExecMaterializeSlot(slot);
	if (++b->n == b->capacity)
		FlushRows(b);
}

/* EndRows flushes what is left and frees the slots (cleared first: a slot may hold a buffer pin). */
void
EndRows(RowBuffer *b) {
	FlushRows(b);
	if (b->flush == nullptr) {
		ExecDropSingleTupleTableSlot(b->slots[0]);
		return;
	}
	for (int i = 0; i < b->capacity; i++)
		ExecClearTuple(b->slots[i]);
	MemoryContextDelete(b->flush);
	MemoryContextDelete(b->slot_context);
}

/* ArchiveRow buffers the deleted row for archive table a, with archived_at = now, as the archive statement. */
void
ArchiveRow(RowBuffer *a, TupleTableSlot *row, TimestampTz now) {
	slot_getallattrs(row);
	TupleTableSlot *archived = NextRow(a);
	for (int i = 0; i < kQueueNatts; i++) {
		int to = ColumnIndex(kArchiveAttrOf[i]);
		archived->tts_values[to] = row->tts_values[i];
		archived->tts_isnull[to] = row->tts_isnull[i];
	}
	archived->tts_values[ColumnIndex(kArchiveArchivedAt)] = TimestampTzGetDatum(now);
	archived->tts_isnull[ColumnIndex(kArchiveArchivedAt)] = false;
	ExecStoreVirtualTuple(archived);
	AddRow(a);
}

/* OpenAckTables opens the queue and (when archive_relid is valid) archive tables; false, nothing open, unless
 * both qualify. */
bool
OpenAckTables(Oid relid, Oid archive_relid, OpenQueue *q, OpenQueue *a) {
	if (!OpenQueueRelation(relid, ACL_SELECT | ACL_DELETE, q))
		return false;
	if (OidIsValid(archive_relid) && !OpenQueueRelation(archive_relid, ACL_INSERT | ACL_SELECT, a)) {
		CloseQueue(q);
		return false;
	}
	return true;
}

/* CompareIds orders int64 values. */
int
CompareIds(const void *a, const void *b) {
	int64 x = *static_cast<const int64 *>(a);
	int64 y = *static_cast<const int64 *>(b);
	return (x > y) - (x < y);
}

/*
 * InsertRows is DirectInsert; with take_ids it stores the next values of the msg_id sequence in ids, else it
 * inserts the msg_ids given there (DirectInsertWithIds).
 */
bool
InsertRows(Oid relid, TimestampTz vt, int count, const Datum *messages, const Datum *headers, int64 *ids,
		   bool take_ids) {
	MemoryContext caller = MemoryContextSwitchTo(ScratchContext());
	OpenQueue q;
	if (!OpenQueueRelation(relid, ACL_INSERT | ACL_SELECT, &q)) {
		EndScratch(caller);
		return false;
	}
	Oid seqid = take_ids ? IdentitySequence(relid) : InvalidOid;
	RowBuffer rows;
	BeginRows(&rows, &q, count, GetCurrentCommandId(true));
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	for (int k = 0; k < count; k++) {
		int64 id = take_ids ? nextval_internal(seqid, false) : ids[k];
		FillNewMessage(NextRow(&rows), id, now, vt, messages[k], headers != nullptr ? &headers[k] : nullptr);
		AddRow(&rows);
		ids[k] = id;
	}
	EndRows(&rows);
	CloseQueue(&q);
	/* Later statements of this transaction (and an SPI read in this one) see the rows. */
	CommandCounterIncrement();
	EndScratch(caller);
	return true;
}

} // namespace

int
DirectAck(Oid relid, Oid archive_relid, int64 *ids, int count, TimestampTz *vts) {
	Assert(count > 0);
	MemoryContext caller = MemoryContextSwitchTo(ScratchContext());
	OpenQueue q;
	OpenQueue a;
	if (!OpenAckTables(relid, archive_relid, &q, &a)) {
		EndScratch(caller);
		return -1;
	}
	bool archive = OidIsValid(archive_relid);
	/* As msg_id = ANY (ids): each id once, in msg_id order. */
	if (count > 1)
		qsort(ids, count, sizeof(int64), CompareIds);
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	Snapshot snapshot = GetActiveSnapshot();
	CommandId cid = GetCurrentCommandId(true);
	TupleTableSlot *slot = table_slot_create(q.rel, nullptr);
	TupleTableSlot *locked = table_slot_create(q.rel, nullptr);
	RowBuffer archived;
	if (archive)
		BeginRows(&archived, &a, count, cid);
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	int nkeys = ids[0] == ids[count - 1] ? 1 : 2;
	IdScan find = {index_beginscan(q.rel, q.pkey, snapshot, nkeys, 0), nkeys, ids, count, 0, false};
	int done = 0;
	while (FindNext(&find, slot)) {
		bool isnull;
		int64 id = DatumGetInt64(slot_getattr(slot, kQueueMsgId, &isnull));
		TupleTableSlot *row = Delete(&q, snapshot, cid, slot, locked);
		if (row == nullptr)
			continue;
		TimestampTz vt = DatumGetTimestampTz(slot_getattr(row, kQueueVt, &isnull));
		if (archive)
			ArchiveRow(&archived, row, now);
		/* done never passes find.next: ids[done] is an id FindNext is past. */
		vts[done] = vt;
		ids[done++] = id;
	}
	index_endscan(find.scan);
	if (archive)
		EndRows(&archived);
	ExecDropSingleTupleTableSlot(locked);
	ExecDropSingleTupleTableSlot(slot);
	PopActiveSnapshot();
	if (archive)
		CloseQueue(&a);
	CloseQueue(&q);
	CommandCounterIncrement();
	EndScratch(caller);
	return done;
}

Oid
MsgIdSequence(Oid relid) {
	return IdentitySequence(relid);
}

bool
DirectInsert(Oid relid, TimestampTz vt, int count, const Datum *messages, const Datum *headers, int64 *ids) {
	return InsertRows(relid, vt, count, messages, headers, ids, true);
}

bool
DirectInsertWithIds(Oid relid, TimestampTz vt, int count, const Datum *messages, const Datum *headers,
					const int64 *ids) {
	return InsertRows(relid, vt, count, messages, headers, const_cast<int64 *>(ids), false);
}

} // namespace pgmq::pg
