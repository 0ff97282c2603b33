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
	ExecClearTuple(slot);
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

/* Find looks msg_id id up in the primary key with scan (begun on it); leaves the row in slot. */
bool
Find(IndexScanDesc scan, int64 id, TupleTableSlot *slot) {
	ScanKeyData key;
	ScanKeyInit(&key, kPkeyMsgId, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(id));
	index_rescan(scan, &key, 1, nullptr, 0);
	return index_getnext_slot(scan, ForwardScanDirection, slot);
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

/* ArchiveRow inserts the deleted row into archive table a, with archived_at = now, as the archive statement. */
void
ArchiveRow(OpenQueue *a, TupleTableSlot *archived, TupleTableSlot *row, TimestampTz now, CommandId cid) {
	slot_getallattrs(row);
	ExecClearTuple(archived);
	for (int i = 0; i < kQueueNatts; i++) {
		int to = ColumnIndex(kArchiveAttrOf[i]);
		archived->tts_values[to] = row->tts_values[i];
		archived->tts_isnull[to] = row->tts_isnull[i];
	}
	archived->tts_values[ColumnIndex(kArchiveArchivedAt)] = TimestampTzGetDatum(now);
	archived->tts_isnull[ColumnIndex(kArchiveArchivedAt)] = false;
	ExecStoreVirtualTuple(archived);
	CheckNotNull(a->rel, archived);
	table_tuple_insert(a->rel, archived, cid, 0, nullptr);
	InsertIndexEntries(a, archived, false);
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
	TupleTableSlot *slot = table_slot_create(q.rel, nullptr);
	CommandId cid = GetCurrentCommandId(true);
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	for (int k = 0; k < count; k++) {
		int64 id = take_ids ? nextval_internal(seqid, false) : ids[k];
		FillNewMessage(slot, id, now, vt, messages[k], headers != nullptr ? &headers[k] : nullptr);
		CheckNotNull(q.rel, slot);
		table_tuple_insert(q.rel, slot, cid, 0, nullptr);
		InsertIndexEntries(&q, slot, false);
		ids[k] = id;
	}
	ExecDropSingleTupleTableSlot(slot);
	CloseQueue(&q);
	/* Later statements of this transaction (and an SPI read in this one) see the rows. */
	CommandCounterIncrement();
	EndScratch(caller);
	return true;
}

} // namespace

int
DirectAck(Oid relid, Oid archive_relid, int64 *ids, int count, TimestampTz *vts) {
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
	TupleTableSlot *archived = archive ? table_slot_create(a.rel, nullptr) : nullptr;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	IndexScanDesc scan = index_beginscan(q.rel, q.pkey, snapshot, 1, 0);
	int done = 0;
	for (int k = 0; k < count; k++) {
		if (k > 0 && ids[k] == ids[k - 1])
			continue;
		if (!Find(scan, ids[k], slot))
			continue;
		TupleTableSlot *row = Delete(&q, snapshot, cid, slot, locked);
		if (row == nullptr)
			continue;
		bool isnull;
		TimestampTz vt = DatumGetTimestampTz(slot_getattr(row, kQueueVt, &isnull));
		if (archive)
			ArchiveRow(&a, archived, row, now, cid);
		vts[done] = vt;
		ids[done++] = ids[k];
	}
	index_endscan(scan);
	if (archive)
		ExecDropSingleTupleTableSlot(archived);
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
