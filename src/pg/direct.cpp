/*
 * direct.cpp: message inserts through the table and index access methods (see direct.hpp).
 */
#include "pg/direct.hpp"

extern "C" {
#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "access/skey.h"
#include "access/stratnum.h"
}

namespace pgmq::pg {

namespace {

/* Column is one column of a queue table as pgmq creates it. */
struct Column {
	const char *name;
	Oid type;
};

const Column kColumns[] = {{"msg_id", INT8OID},
						   {"read_ct", INT4OID},
						   {"enqueued_at", TIMESTAMPTZOID},
						   {"last_read_at", TIMESTAMPTZOID},
						   {"vt", TIMESTAMPTZOID},
						   {"message", JSONBOID},
						   {"headers", JSONBOID}};
constexpr int kNumColumns = sizeof(kColumns) / sizeof(kColumns[0]);

/* The archive table a_<name>: the queue's columns plus archived_at (column 5). */
const Column kArchiveColumns[] = {{"msg_id", INT8OID},
								  {"read_ct", INT4OID},
								  {"enqueued_at", TIMESTAMPTZOID},
								  {"last_read_at", TIMESTAMPTZOID},
								  {"archived_at", TIMESTAMPTZOID},
								  {"vt", TIMESTAMPTZOID},
								  {"message", JSONBOID},
								  {"headers", JSONBOID}};
constexpr int kNumArchiveColumns = sizeof(kArchiveColumns) / sizeof(kArchiveColumns[0]);

/* The most indexes a queue table may have for the direct path (pgmq creates one). */
constexpr int kMaxIndexes = 8;

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

/* IdentitySequenceUnsafe returns the sequence behind msg_id of table relid. */
Oid
IdentitySequenceUnsafe(Oid relid) {
	if (!callback_registered) {
		CacheRegisterRelcacheCallback(InvalidateSequence, (Datum)0);
		callback_registered = true;
	}
	SequenceEntry *entry = &sequence_cache[relid % kSequenceCacheSize];
	if (entry->relid == relid)
		return entry->seqid;
	Oid seqid = getIdentitySequence(relid, 1, false);
	entry->relid = relid;
	entry->seqid = seqid;
	return seqid;
}

/* kHintGuardTrigger is the trigger every queue table has (api/hint_trigger.cpp); it needs no executor. */
constexpr const char *kHintGuardTrigger = "pgmq_read_hint_guard";

/* OnlyHintGuardTriggers says whether rel has no triggers but pgmq's read hint guard. */
bool
OnlyHintGuardTriggers(Relation rel) {
	if (rel->trigdesc == nullptr)
		return true;
	for (int i = 0; i < rel->trigdesc->numtriggers; i++) {
		if (strcmp(rel->trigdesc->triggers[i].tgname, kHintGuardTrigger) != 0)
			return false;
	}
	return true;
}

/*
 * TableQualifiesUnsafe says whether a statement on rel needing privileges acl
 * would do nothing but heap and index operations.
 */
bool
TableQualifiesUnsafe(Relation rel, AclMode acl) {
	if (rel->rd_rel->relkind != RELKIND_RELATION || !OnlyHintGuardTriggers(rel) || rel->rd_rel->relhasrules)
		return false;
	TupleDesc desc = RelationGetDescr(rel);
	bool archive = desc->natts == kNumArchiveColumns;
	const Column *columns = archive ? kArchiveColumns : kColumns;
	if (desc->natts != (archive ? kNumArchiveColumns : kNumColumns))
		return false;
	if (desc->constr != nullptr && (desc->constr->num_check > 0 || desc->constr->has_generated_stored))
		return false;
	for (int i = 0; i < desc->natts; i++) {
		Form_pg_attribute att = TupleDescAttr(desc, i);
		if (att->attisdropped || att->atttypid != columns[i].type ||
			strcmp(NameStr(att->attname), columns[i].name) != 0)
			return false;
	}
	/* The queue's msg_id is an identity column; the archive's is a plain one. */
	if ((TupleDescAttr(desc, 0)->attidentity == '\0') != archive)
		return false;
	Oid relid = RelationGetRelid(rel);
	if (rel->rd_rel->relrowsecurity && check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		return false;
	/* Every privilege in acl (pg_class_aclcheck would accept any one of them). */
	return pg_class_aclmask(relid, GetUserId(), acl, ACLMASK_ALL) == acl;
}

/* OpenIndexesUnsafe opens rel's indexes; returns how many, or -1 (all closed again) if one does not qualify. */
int
OpenIndexesUnsafe(Relation rel, Relation *indexes, IndexInfo **infos) {
	List *oids = RelationGetIndexList(rel);
	if (list_length(oids) > kMaxIndexes)
		return -1;
	int n = 0;
	bool ok = true;
	ListCell *lc;
	foreach (lc, oids) {
		Relation index = index_open(lfirst_oid(lc), RowExclusiveLock);
		IndexInfo *info = BuildIndexInfo(index);
		indexes[n] = index;
		infos[n] = info;
		n++;
		if (info->ii_Expressions != NIL || info->ii_Predicate != NIL || info->ii_ExclusionOps != nullptr ||
			(info->ii_Unique && !index->rd_index->indimmediate)) {
			ok = false;
			break;
		}
	}
	list_free(oids);
	if (ok)
		return n;
	for (int i = 0; i < n; i++)
		index_close(indexes[i], RowExclusiveLock);
	return -1;
}

/*
 * ScratchContext returns a new memory context for one direct operation's
 * temporary allocations (index infos, slots, detoasted values); EndScratch
 * switches back to the caller's context and deletes it. After an error it
 * goes with its parent.
 */
MemoryContext
ScratchContext() {
	return AllocSetContextCreate(CurrentMemoryContext, "pgmq direct access", ALLOCSET_SMALL_SIZES);
}

void
EndScratch(MemoryContext caller) {
	MemoryContext scratch = MemoryContextSwitchTo(caller);
	MemoryContextDelete(scratch);
}

/* OpenQueue is a queue table opened for direct access, with its indexes. */
struct OpenQueue {
	Relation rel;
	int nindexes;
	Relation indexes[kMaxIndexes];
	IndexInfo *infos[kMaxIndexes];
	Relation pkey; /* one of indexes */
};

/* OpenQueueUnsafe opens table relid and its indexes; false (nothing left open) when it does not qualify. */
bool
OpenQueueUnsafe(Oid relid, AclMode acl, OpenQueue *q) {
	q->rel = table_open(relid, RowExclusiveLock);
	q->nindexes = -1;
	/* In a read-only transaction the statement raises the proper error. */
	if (!XactReadOnly && TableQualifiesUnsafe(q->rel, acl))
		q->nindexes = OpenIndexesUnsafe(q->rel, q->indexes, q->infos);
	q->pkey = nullptr;
	Oid pkey = RelationGetPrimaryKeyIndex(q->rel);
	for (int i = 0; i < q->nindexes; i++) {
		if (RelationGetRelid(q->indexes[i]) == pkey && q->infos[i]->ii_NumIndexAttrs == 1 &&
			q->infos[i]->ii_IndexAttrNumbers[0] == 1)
			q->pkey = q->indexes[i];
	}
	if (q->nindexes >= 0 && q->pkey != nullptr)
		return true;
	for (int i = 0; i < q->nindexes; i++)
		index_close(q->indexes[i], RowExclusiveLock);
	table_close(q->rel, NoLock);
	return false;
}

/* CloseQueue closes what OpenQueueUnsafe opened, keeping the locks. */
void
CloseQueue(OpenQueue *q) {
	for (int i = 0; i < q->nindexes; i++)
		index_close(q->indexes[i], NoLock);
	table_close(q->rel, NoLock);
}

/* InsertIndexEntriesUnsafe adds slot's (new) tuple to every index that takes inserts. */
void
InsertIndexEntriesUnsafe(OpenQueue *q, TupleTableSlot *slot, bool unchanged) {
	for (int i = 0; i < q->nindexes; i++) {
		if (!q->infos[i]->ii_ReadyForInserts)
			continue;
		Datum values[INDEX_MAX_KEYS];
		bool nulls[INDEX_MAX_KEYS];
		FormIndexDatum(q->infos[i], slot, nullptr, values, nulls);
		index_insert(q->indexes[i], values, nulls, &slot->tts_tid, q->rel,
					 q->infos[i]->ii_Unique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO, unchanged, q->infos[i]);
	}
}

/*
 * CheckNotNullUnsafe raises the executor's error if slot has a NULL in a NOT
 * NULL column of rel (users may add such constraints, e.g. on headers).
 */
void
CheckNotNullUnsafe(Relation rel, TupleTableSlot *slot) {
	TupleDesc desc = RelationGetDescr(rel);
	if (desc->constr == nullptr || !desc->constr->has_not_null)
		return;
	for (int i = 0; i < desc->natts; i++) {
		Form_pg_attribute att = TupleDescAttr(desc, i);
		if (att->attnotnull && slot->tts_isnull[i])
			ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION),
							errmsg("null value in column \"%s\" of relation \"%s\" violates not-null constraint",
								   NameStr(att->attname), RelationGetRelationName(rel)),
							errtablecol(rel, i + 1)));
	}
}

/* BeginHeadScan starts a scan of the msg_id index from start on, in msg_id order. */
IndexScanDesc
BeginHeadScan(OpenQueue *q, Snapshot snapshot, int64 start) {
	ScanKeyData key;
	ScanKeyInit(&key, 1, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(start));
	IndexScanDesc scan = index_beginscan(q->rel, q->pkey, snapshot, 1, 0);
	index_rescan(scan, &key, 1, nullptr, 0);
	return scan;
}

/* Matches says whether the message in slot is visible at now and contains conditional (if not 0). */
bool
Matches(TupleTableSlot *slot, TimestampTz now, Datum conditional) {
	bool isnull;
	Datum vt = slot_getattr(slot, 5, &isnull);
	if (isnull || DatumGetTimestampTz(vt) > now)
		return false;
	if (conditional == (Datum)0)
		return true;
	Datum message = slot_getattr(slot, 6, &isnull);
	return !isnull && DatumGetBool(DirectFunctionCall2(jsonb_contains, message, conditional));
}

/* FindUnsafe looks msg_id id up in the primary key with scan (begun on it); leaves the row in slot. */
bool
FindUnsafe(IndexScanDesc scan, int64 id, TupleTableSlot *slot) {
	ScanKeyData key;
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(id));
	index_rescan(scan, &key, 1, nullptr, 0);
	return index_getnext_slot(scan, ForwardScanDirection, slot);
}

/*
 * DeleteUnsafe deletes the row in slot as DELETE ... WHERE msg_id = id would:
 * if another transaction changed it since the snapshot (a read), the newest
 * version is locked and deleted (READ COMMITTED) or the transaction gets a
 * serialization failure. Returns the slot holding the deleted version's
 * values, or NULL if the row was deleted by someone else meanwhile.
 */
TupleTableSlot *
DeleteUnsafe(OpenQueue *q, Snapshot snapshot, CommandId cid, TupleTableSlot *slot, TupleTableSlot *locked) {
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

/* CompareIds orders int64 values. */
int
CompareIds(const void *a, const void *b) {
	int64 x = *static_cast<const int64 *>(a);
	int64 y = *static_cast<const int64 *>(b);
	return (x > y) - (x < y);
}

/*
 * TryTakeUnsafe updates the row version in source (at its tts_tid) as a read
 * does (vt, read_ct, last_read_at) into updated, without waiting: returns
 * TM_BeingModified when another transaction holds the row, TM_Updated or
 * TM_Deleted when it changed since the snapshot, TM_Ok when it is taken.
 * locked: this transaction holds the row's tuple lock (heap_update without
 * waiting would report our own lock as TM_BeingModified; with it, it does
 * not wait, as no other transaction can hold the row). *holder is the
 * transaction holding the row when the result is TM_BeingModified.
 */
TM_Result
TryTakeUnsafe(OpenQueue *q, const DirectRead *read, Snapshot snapshot, CommandId cid, TupleTableSlot *source,
			  TupleTableSlot *updated, bool locked, TransactionId *holder) {
	slot_getallattrs(source);
	ExecClearTuple(updated);
	for (int i = 0; i < kNumColumns; i++) {
		updated->tts_values[i] = source->tts_values[i];
		updated->tts_isnull[i] = source->tts_isnull[i];
	}
	updated->tts_values[1] = Int32GetDatum(DatumGetInt32(source->tts_values[1]) + 1);
	updated->tts_values[3] = TimestampTzGetDatum(read->now);
	updated->tts_isnull[3] = false;
	updated->tts_values[4] = TimestampTzGetDatum(read->new_vt);
	ExecStoreVirtualTuple(updated);
	TM_FailureData tmfd;
	LockTupleMode lock_mode;
	bool update_indexes;
	TM_Result result = table_tuple_update(q->rel, &source->tts_tid, updated, cid, snapshot, InvalidSnapshot, locked,
										  &tmfd, &lock_mode, &update_indexes);
	if (result == TM_Ok && update_indexes)
		InsertIndexEntriesUnsafe(q, updated, true);
	*holder = result == TM_BeingModified ? tmfd.xmax : InvalidTransactionId;
	return result;
}

} // namespace

int
DirectAckUnsafe(Oid relid, Oid archive_relid, int64 *ids, int count) {
	MemoryContext caller = MemoryContextSwitchTo(ScratchContext());
	OpenQueue q;
	OpenQueue a;
	if (!OpenQueueUnsafe(relid, ACL_SELECT | ACL_DELETE, &q)) {
		EndScratch(caller);
		return -1;
	}
	if (OidIsValid(archive_relid) && !OpenQueueUnsafe(archive_relid, ACL_INSERT | ACL_SELECT, &a)) {
		CloseQueue(&q);
		EndScratch(caller);
		return -1;
	}
	/* As msg_id = ANY (ids): each id once, in msg_id order. */
	if (count > 1)
		qsort(ids, count, sizeof(int64), CompareIds);
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	Snapshot snapshot = GetActiveSnapshot();
	CommandId cid = GetCurrentCommandId(true);
	TupleTableSlot *slot = table_slot_create(q.rel, nullptr);
	TupleTableSlot *locked = table_slot_create(q.rel, nullptr);
	TupleTableSlot *archived = OidIsValid(archive_relid) ? table_slot_create(a.rel, nullptr) : nullptr;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	IndexScanDesc scan = index_beginscan(q.rel, q.pkey, snapshot, 1, 0);
	int done = 0;
	for (int k = 0; k < count; k++) {
		if (k > 0 && ids[k] == ids[k - 1])
			continue;
		if (!FindUnsafe(scan, ids[k], slot))
			continue;
		TupleTableSlot *row = DeleteUnsafe(&q, snapshot, cid, slot, locked);
		if (row == nullptr)
			continue;
		if (archived != nullptr) {
			slot_getallattrs(row);
			ExecClearTuple(archived);
			/* msg_id, read_ct, enqueued_at, last_read_at | archived_at | vt, message, headers */
			for (int i = 0; i < 4; i++) {
				archived->tts_values[i] = row->tts_values[i];
				archived->tts_isnull[i] = row->tts_isnull[i];
			}
			archived->tts_values[4] = TimestampTzGetDatum(now);
			archived->tts_isnull[4] = false;
			for (int i = 4; i < kNumColumns; i++) {
				archived->tts_values[i + 1] = row->tts_values[i];
				archived->tts_isnull[i + 1] = row->tts_isnull[i];
			}
			ExecStoreVirtualTuple(archived);
			CheckNotNullUnsafe(a.rel, archived);
			table_tuple_insert(a.rel, archived, cid, 0, nullptr);
			InsertIndexEntriesUnsafe(&a, archived, false);
		}
		ids[done++] = ids[k];
	}
	index_endscan(scan);
	if (archived != nullptr)
		ExecDropSingleTupleTableSlot(archived);
	ExecDropSingleTupleTableSlot(locked);
	ExecDropSingleTupleTableSlot(slot);
	PopActiveSnapshot();
	if (OidIsValid(archive_relid))
		CloseQueue(&a);
	CloseQueue(&q);
	CommandCounterIncrement();
	EndScratch(caller);
	return done;
}

int64
DirectReadUnsafe(Oid relid, DirectRead *read, Tuplestorestate *store, TupleDesc desc) {
	MemoryContext caller = MemoryContextSwitchTo(ScratchContext());
	OpenQueue q;
	if (!OpenQueueUnsafe(relid, ACL_SELECT | ACL_UPDATE, &q)) {
		EndScratch(caller);
		return -1;
	}
	/* A new snapshot, as a statement would take (READ COMMITTED: sees what committed until now). */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	Snapshot snapshot = GetActiveSnapshot();
	CommandId cid = GetCurrentCommandId(true);

	IndexScanDesc scan = BeginHeadScan(&q, snapshot, read->start);
	TupleTableSlot *slot = table_slot_create(q.rel, nullptr);
	TupleTableSlot *locked = table_slot_create(q.rel, nullptr);
	TupleTableSlot *updated = MakeSingleTupleTableSlot(RelationGetDescr(q.rel), &TTSOpsVirtual);
	int64 count = 0;
	/*
	 * The scan also finds where visible messages now start (see readhint.hpp):
	 * up to the first row it could not take although visible by vt (held by
	 * another transaction, or not matching the conditional), every row was
	 * invisible by vt, not visible to the snapshot (deleted), or taken here.
	 */
	bool blocked = false;
	read->new_low = read->start;
	read->valid_until = DT_NOEND;
	while (count < read->qty && index_getnext_slot(scan, ForwardScanDirection, slot)) {
		bool isnull;
		int64 id = DatumGetInt64(slot_getattr(slot, 1, &isnull));
		TimestampTz vt = DatumGetTimestampTz(slot_getattr(slot, 5, &isnull));
		bool passed = false; /* the row does not stop the hint */
		if (vt > read->now) {
			read->valid_until = Min(read->valid_until, vt);
			passed = true;
		} else if (Matches(slot, read->now, read->conditional)) {
			/*
			 * FOR UPDATE SKIP LOCKED, in one step: update the row unless another
			 * transaction holds it. If it changed since our snapshot, lock its
			 * newest version (or skip it if held) and check that again, as
			 * EvalPlanQual would.
			 */
			TransactionId holder;
			TM_Result result = TryTakeUnsafe(&q, read, snapshot, cid, slot, updated, false, &holder);
			/*
			 * Held by our own row lock (FOR UPDATE earlier in this transaction): ours
			 * to take. Locking it again never waits (holder may also be a MultiXactId
			 * that merely looks like our xid: then the lock is refused).
			 */
			if (result == TM_BeingModified && TransactionIdIsCurrentTransactionId(holder)) {
				TM_FailureData tmfd;
				if (table_tuple_lock(q.rel, &slot->tts_tid, snapshot, locked, cid, LockTupleExclusive, LockWaitSkip, 0,
									 &tmfd) == TM_Ok)
					result = TryTakeUnsafe(&q, read, snapshot, cid, locked, updated, true, &holder);
			}
			if ((result == TM_Updated || result == TM_Deleted) && IsolationUsesXactSnapshot())
				ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
								errmsg("could not serialize access due to concurrent update")));
			bool taken = result == TM_Ok;
			if (result == TM_Deleted)
				passed = true;
			else if (result == TM_Updated) {
				TM_FailureData tmfd;
				result = table_tuple_lock(q.rel, &slot->tts_tid, snapshot, locked, cid, LockTupleExclusive,
										  LockWaitSkip, TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
				if (result == TM_Ok && Matches(locked, read->now, read->conditional)) {
					if (TryTakeUnsafe(&q, read, snapshot, cid, locked, updated, true, &holder) != TM_Ok)
						elog(ERROR, "pgmq: could not update a locked row");
					taken = true;
				} else if (result == TM_Ok) {
					/* The newest version is not for us: hidden by a committed read, or not matching. */
					TimestampTz newest_vt = DatumGetTimestampTz(slot_getattr(locked, 5, &isnull));
					if (newest_vt > read->now) {
						read->valid_until = Min(read->valid_until, newest_vt);
						passed = true;
					}
				} else if (result == TM_Deleted)
					passed = true;
				else if (result != TM_WouldBlock && result != TM_SelfModified)
					elog(ERROR, "pgmq: unexpected tuple lock result %d", static_cast<int>(result));
			} else if (result != TM_Ok && result != TM_BeingModified && result != TM_SelfModified)
				elog(ERROR, "pgmq: unexpected tuple update result %d", static_cast<int>(result));
			if (taken) {
				tuplestore_putvalues(store, desc, updated->tts_values, updated->tts_isnull);
				count++;
				/* Hidden until new_vt once this transaction commits (a reset if it aborts). */
				read->valid_until = Min(read->valid_until, read->new_vt);
				passed = true;
			}
		}
		if (!passed)
			blocked = true;
		if (!blocked)
			read->new_low = id + 1;
	}
	/* Rows the scan never reached (qty reached) may be visible: the hint stops after the last one taken. */
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(updated);
	ExecDropSingleTupleTableSlot(locked);
	ExecDropSingleTupleTableSlot(slot);
	PopActiveSnapshot();
	CloseQueue(&q);
	CommandCounterIncrement();
	EndScratch(caller);
	return count;
}

void
DirectProbeUnsafe(Oid relid, int64 start, TimestampTz now, int64 *new_low, TimestampTz *valid_until) {
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
	while (index_getnext_slot(scan, ForwardScanDirection, slot)) {
		bool isnull;
		int64 id = DatumGetInt64(slot_getattr(slot, 1, &isnull));
		TimestampTz vt = DatumGetTimestampTz(slot_getattr(slot, 5, &isnull));
		if (vt <= now) {
			*new_low = id;
			break;
		}
		*valid_until = Min(*valid_until, vt);
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

bool
DirectInsertUnsafe(Oid relid, TimestampTz vt, int count, const Datum *messages, const Datum *headers, int64 *ids) {
	MemoryContext caller = MemoryContextSwitchTo(ScratchContext());
	OpenQueue q;
	if (!OpenQueueUnsafe(relid, ACL_INSERT | ACL_SELECT, &q)) {
		EndScratch(caller);
		return false;
	}
	Oid seqid = IdentitySequenceUnsafe(relid);

	TupleTableSlot *slot = table_slot_create(q.rel, nullptr);
	CommandId cid = GetCurrentCommandId(true);
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	for (int k = 0; k < count; k++) {
		int64 id = nextval_internal(seqid, false);
		ExecClearTuple(slot);
		Datum *values = slot->tts_values;
		bool *nulls = slot->tts_isnull;
		values[0] = Int64GetDatum(id);
		values[1] = Int32GetDatum(0);
		values[2] = TimestampTzGetDatum(now);
		values[3] = (Datum)0;
		values[4] = TimestampTzGetDatum(vt);
		values[5] = messages[k];
		values[6] = headers != nullptr ? headers[k] : (Datum)0;
		for (int i = 0; i < kNumColumns; i++)
			nulls[i] = false;
		nulls[3] = true;
		nulls[6] = headers == nullptr;
		ExecStoreVirtualTuple(slot);
		CheckNotNullUnsafe(q.rel, slot);
		table_tuple_insert(q.rel, slot, cid, 0, nullptr);
		InsertIndexEntriesUnsafe(&q, slot, false);
		ids[k] = id;
	}
	ExecDropSingleTupleTableSlot(slot);
	CloseQueue(&q);
	/* Later statements of this transaction (and an SPI read in this one) see the rows. */
	CommandCounterIncrement();
	EndScratch(caller);
	return true;
}

} // namespace pgmq::pg
