/*
 * direct_table.hpp: the queue and archive tables as the direct access paths see them.
 *
 * Shell code, for direct_read.cpp and direct_write.cpp only (see direct.hpp):
 * the attribute numbers of the tables as pgmq creates them (OpenQueueRelation
 * checks a table against them before anything uses them), opening a table
 * with its indexes, and the steps every direct operation shares.
 */
#pragma once

extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "utils/acl.h"
#include "utils/rel.h"
}

namespace pgmq::pg {

/* QueueAttr is the attribute number of each column of a queue table q_<name>. */
enum QueueAttr : AttrNumber {
	kQueueMsgId = 1,
	kQueueReadCt,
	kQueueEnqueuedAt,
	kQueueLastReadAt,
	kQueueVt,
	kQueueMessage,
	kQueueHeaders,
};
constexpr int kQueueNatts = kQueueHeaders;

/* ArchiveAttr is the attribute number of each column of an archive table a_<name>: archived_at comes fifth. */
enum ArchiveAttr : AttrNumber {
	kArchiveMsgId = 1,
	kArchiveReadCt,
	kArchiveEnqueuedAt,
	kArchiveLastReadAt,
	kArchiveArchivedAt,
	kArchiveVt,
	kArchiveMessage,
	kArchiveHeaders,
};
constexpr int kArchiveNatts = kArchiveHeaders;

/* kPkeyMsgId is msg_id's attribute number in the primary key index (its only column). */
constexpr AttrNumber kPkeyMsgId = 1;

/* ColumnIndex is the index of column attnum in a slot's tts_values and tts_isnull. */
constexpr int
ColumnIndex(AttrNumber attnum) {
	return attnum - 1;
}

/* The most indexes a queue table may have for the direct path (pgmq creates one). */
constexpr int kMaxIndexes = 8;

/* OpenQueue is a queue (or archive) table opened for direct access, with its indexes. */
struct OpenQueue {
	Relation rel;
	int nindexes;
	Relation indexes[kMaxIndexes];
	IndexInfo *infos[kMaxIndexes];
	Relation pkey; /* one of indexes */
};

/*
 * OpenQueueRelation opens table relid and its indexes (RowExclusiveLock) for a
 * statement needing privileges acl; false (nothing left open) when the table
 * is not as pgmq creates it or the statement would do more than heap and
 * index operations (see direct.hpp).
 */
bool OpenQueueRelation(Oid relid, AclMode acl, OpenQueue *q);

/* CloseQueue closes what OpenQueueRelation opened, keeping the locks. */
void CloseQueue(OpenQueue *q);

/*
 * ScratchContext returns a new memory context for one direct operation's
 * temporary allocations (index infos, slots, detoasted values); EndScratch
 * switches back to the caller's context and deletes it. After an error it
 * goes with its parent.
 */
MemoryContext ScratchContext();
void EndScratch(MemoryContext caller);

/* InsertIndexEntries adds slot's (new) tuple to every index of q that takes inserts. */
void InsertIndexEntries(OpenQueue *q, TupleTableSlot *slot, bool unchanged);

/*
 * CheckNotNull raises the executor's error if slot has a NULL in a NOT
 * NULL column of rel (users may add such constraints, e.g. on headers).
 */
void CheckNotNull(Relation rel, TupleTableSlot *slot);

} // namespace pgmq::pg
