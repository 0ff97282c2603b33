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
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/timestamp.h"
}

namespace pgmq::pg {

namespace {

/* Column is one column of a queue table as pgmq creates it. */
struct Column {
	const char *name;
	Oid type;
};

const Column kColumns[] = {{"msg_id", INT8OID},      {"read_ct", INT4OID},         {"enqueued_at", TIMESTAMPTZOID},
                           {"last_read_at", TIMESTAMPTZOID}, {"vt", TIMESTAMPTZOID}, {"message", JSONBOID},
                           {"headers", JSONBOID}};
constexpr int kNumColumns = sizeof(kColumns) / sizeof(kColumns[0]);

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

/* TableQualifiesUnsafe says whether an INSERT into rel would do nothing but heap and index inserts. */
bool
TableQualifiesUnsafe(Relation rel) {
	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->trigdesc != nullptr || rel->rd_rel->relhasrules)
		return false;
	TupleDesc desc = RelationGetDescr(rel);
	if (desc->natts != kNumColumns)
		return false;
	if (desc->constr != nullptr && (desc->constr->num_check > 0 || desc->constr->has_generated_stored))
		return false;
	for (int i = 0; i < kNumColumns; i++) {
		Form_pg_attribute att = TupleDescAttr(desc, i);
		if (att->attisdropped || att->atttypid != kColumns[i].type || strcmp(NameStr(att->attname), kColumns[i].name) != 0)
			return false;
	}
	if (TupleDescAttr(desc, 0)->attidentity == '\0')
		return false;
	Oid relid = RelationGetRelid(rel);
	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		return false;
	return pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) == ACLCHECK_OK;
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

} // namespace

bool
DirectInsertUnsafe(Oid relid, TimestampTz vt, int count, const Datum *messages, const Datum *headers, int64 *ids) {
	Relation rel = table_open(relid, RowExclusiveLock);
	if (!TableQualifiesUnsafe(rel)) {
		table_close(rel, NoLock);
		return false;
	}
	Relation indexes[kMaxIndexes];
	IndexInfo *infos[kMaxIndexes];
	int nindexes = OpenIndexesUnsafe(rel, indexes, infos);
	if (nindexes < 0) {
		table_close(rel, NoLock);
		return false;
	}
	Oid seqid = IdentitySequenceUnsafe(relid);

	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), table_slot_callbacks(rel));
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
		table_tuple_insert(rel, slot, cid, 0, nullptr);
		for (int i = 0; i < nindexes; i++) {
			if (!infos[i]->ii_ReadyForInserts)
				continue;
			Datum index_values[INDEX_MAX_KEYS];
			bool index_nulls[INDEX_MAX_KEYS];
			FormIndexDatum(infos[i], slot, nullptr, index_values, index_nulls);
			index_insert(indexes[i], index_values, index_nulls, &slot->tts_tid, rel,
			             infos[i]->ii_Unique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO, false, infos[i]);
		}
		ids[k] = id;
	}
	ExecDropSingleTupleTableSlot(slot);
	for (int i = 0; i < nindexes; i++)
		index_close(indexes[i], NoLock);
	table_close(rel, NoLock);
	/* Later statements of this transaction (and an SPI read in this one) see the rows. */
	CommandCounterIncrement();
	return true;
}

} // namespace pgmq::pg
