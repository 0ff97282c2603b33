/*
 * direct_table.cpp: checking that a table is as pgmq creates it, and opening it for direct access.
 */
#include "pg/direct_table.hpp"

extern "C" {
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/rls.h"
}

namespace pgmq::pg {

namespace {

/* Column is one column of a table as pgmq creates it. */
struct Column {
	AttrNumber attnum;
	const char *name;
	Oid type;
};

constexpr Column kQueueColumns[] = {{kQueueMsgId, "msg_id", INT8OID},
									{kQueueReadCt, "read_ct", INT4OID},
									{kQueueEnqueuedAt, "enqueued_at", TIMESTAMPTZOID},
									{kQueueLastReadAt, "last_read_at", TIMESTAMPTZOID},
									{kQueueVt, "vt", TIMESTAMPTZOID},
									{kQueueMessage, "message", JSONBOID},
									{kQueueHeaders, "headers", JSONBOID}};

constexpr Column kArchiveColumns[] = {{kArchiveMsgId, "msg_id", INT8OID},
									  {kArchiveReadCt, "read_ct", INT4OID},
									  {kArchiveEnqueuedAt, "enqueued_at", TIMESTAMPTZOID},
									  {kArchiveLastReadAt, "last_read_at", TIMESTAMPTZOID},
									  {kArchiveArchivedAt, "archived_at", TIMESTAMPTZOID},
									  {kArchiveVt, "vt", TIMESTAMPTZOID},
									  {kArchiveMessage, "message", JSONBOID},
									  {kArchiveHeaders, "headers", JSONBOID}};

/* InOrder says whether columns lists attribute numbers 1 .. n, one each, in order. */
template <int n>
constexpr bool
InOrder(const Column (&columns)[n]) {
	for (int i = 0; i < n; i++) {
		if (columns[i].attnum != i + 1)
			return false;
	}
	return true;
}
static_assert(InOrder(kQueueColumns) && sizeof(kQueueColumns) / sizeof(Column) == kQueueNatts,
			  "kQueueColumns names every QueueAttr in order");
static_assert(InOrder(kArchiveColumns) && sizeof(kArchiveColumns) / sizeof(Column) == kArchiveNatts,
			  "kArchiveColumns names every ArchiveAttr in order");

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

/* HasColumns says whether desc has exactly the n columns, names and types as listed, none dropped. */
bool
HasColumns(TupleDesc desc, const Column *columns, int n) {
	if (desc->natts != n)
		return false;
	for (int i = 0; i < n; i++) {
		Form_pg_attribute att = TupleDescAttr(desc, ColumnIndex(columns[i].attnum));
		if (att->attisdropped || att->atttypid != columns[i].type ||
			strcmp(NameStr(att->attname), columns[i].name) != 0)
			return false;
	}
	return true;
}

/*
 * TableQualifies says whether rel is a queue or archive table as pgmq
 * creates it and a statement on it needing privileges acl would do nothing
 * but heap and index operations.
 */
bool
TableQualifies(Relation rel, AclMode acl) {
	if (rel->rd_rel->relkind != RELKIND_RELATION || !OnlyHintGuardTriggers(rel) || rel->rd_rel->relhasrules)
		return false;
	TupleDesc desc = RelationGetDescr(rel);
	bool archive = desc->natts == kArchiveNatts;
	if (!(archive ? HasColumns(desc, kArchiveColumns, kArchiveNatts) : HasColumns(desc, kQueueColumns, kQueueNatts)))
		return false;
	if (desc->constr != nullptr && (desc->constr->num_check > 0 || desc->constr->has_generated_stored))
		return false;
	/* The queue's msg_id is an identity column; the archive's is a plain one. */
	static_assert(static_cast<AttrNumber>(kQueueMsgId) == static_cast<AttrNumber>(kArchiveMsgId),
				  "msg_id comes first in both tables");
	if ((TupleDescAttr(desc, ColumnIndex(kQueueMsgId))->attidentity == '\0') != archive)
		return false;
	Oid relid = RelationGetRelid(rel);
	if (rel->rd_rel->relrowsecurity && check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		return false;
	/* Every privilege in acl (pg_class_aclcheck would accept any one of them). */
	return pg_class_aclmask(relid, GetUserId(), acl, ACLMASK_ALL) == acl;
}

/* OpenIndexes opens rel's indexes; returns how many, or -1 (all closed again) if one does not qualify. */
int
OpenIndexes(Relation rel, Relation *indexes, IndexInfo **infos) {
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

/* FindPrimaryKey returns the index of q that is rel's primary key on msg_id alone, or NULL. */
Relation
FindPrimaryKey(const OpenQueue *q) {
	Oid pkey = RelationGetPrimaryKeyIndex(q->rel);
	for (int i = 0; i < q->nindexes; i++) {
		if (RelationGetRelid(q->indexes[i]) == pkey && q->infos[i]->ii_NumIndexAttrs == 1 &&
			q->infos[i]->ii_IndexAttrNumbers[ColumnIndex(kPkeyMsgId)] == kQueueMsgId)
			return q->indexes[i];
	}
	return nullptr;
}

} // namespace

bool
OpenQueueRelation(Oid relid, AclMode acl, OpenQueue *q) {
	q->rel = table_open(relid, RowExclusiveLock);
	q->nindexes = -1;
	/* In a read-only transaction the statement raises the proper error. */
	if (!XactReadOnly && TableQualifies(q->rel, acl))
		q->nindexes = OpenIndexes(q->rel, q->indexes, q->infos);
	q->pkey = FindPrimaryKey(q);
	if (q->nindexes >= 0 && q->pkey != nullptr)
		return true;
	for (int i = 0; i < q->nindexes; i++)
		index_close(q->indexes[i], RowExclusiveLock);
	table_close(q->rel, NoLock);
	return false;
}

void
CloseQueue(OpenQueue *q) {
	for (int i = 0; i < q->nindexes; i++)
		index_close(q->indexes[i], NoLock);
	table_close(q->rel, NoLock);
}

MemoryContext
ScratchContext() {
	return AllocSetContextCreate(CurrentMemoryContext, "pgmq direct access", ALLOCSET_SMALL_SIZES);
}

void
EndScratch(MemoryContext caller) {
	MemoryContext scratch = MemoryContextSwitchTo(caller);
	MemoryContextDelete(scratch);
}

void
InsertIndexEntries(OpenQueue *q, TupleTableSlot *slot, bool unchanged) {
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

void
CheckNotNull(Relation rel, TupleTableSlot *slot) {
	TupleDesc desc = RelationGetDescr(rel);
	if (desc->constr == nullptr || !desc->constr->has_not_null)
		return;
	for (int i = 0; i < desc->natts; i++) {
		Form_pg_attribute att = TupleDescAttr(desc, i);
		if (att->attnotnull && slot->tts_isnull[i])
			ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION),
							errmsg("null value in column \"%s\" of relation \"%s\" violates not-null constraint",
								   NameStr(att->attname), RelationGetRelationName(rel)),
							errtablecol(rel, AttrOffsetGetAttrNumber(i))));
	}
}

} // namespace pgmq::pg
