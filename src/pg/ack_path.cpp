/*
 * ack_path.cpp: delete, archive and set_vt, directly or through statements (see ack_path.hpp).
 */
#include "pg/ack_path.hpp"

#include "pg/counters.hpp"
#include "pg/direct.hpp"
#include "pg/partitions.hpp"
#include "pg/plans.hpp"
#include "pg/policy_cache.hpp"
#include "pg/readhint.hpp"
#include "pg/results.hpp"
#include "pg/wakeup.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
}

namespace pgmq::pg {

namespace {

/*
 * ArchiveRelid is the OID of the queue's archive table, InvalidOid when it is missing.
 * It checks the archive's privileges (42501) before anything locks it.
 */
Oid
ArchiveRelid(const Queue *queue) {
	Oid relid = get_relname_relid(queue->archive_table, PgmqNamespace());
	if (OidIsValid(relid))
		CheckTableAccess(relid, kSendAccess);
	return relid;
}

/* NoteRemoved reports n deleted rows of the queue, which had the vts vts[0..n), to metrics (pg/counters.hpp). */
void
NoteRemoved(Oid relid, const TimestampTz *vts, int64 n) {
	if (n <= 0)
		return;
	TimestampTz now = GetCurrentTimestamp();
	CountersNoteRows(relid, -n);
	for (int64 i = 0; i < n; i++)
		CountersNoteVt(relid, vts[i], -1, now);
}

/* NoteRemovedSpi is NoteRemoved for the rows of SPI_tuptable, whose column vt_column is the row's old vt. */
void
NoteRemovedSpi(Oid relid, uint64 n, int vt_column) {
	if (n == 0)
		return;
	TimestampTz now = GetCurrentTimestamp();
	CountersNoteRows(relid, -static_cast<int64>(n));
	for (uint64 i = 0; i < n; i++) {
		bool isnull;
		Datum vt = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, vt_column, &isnull);
		if (!isnull)
			CountersNoteVt(relid, DatumGetTimestampTz(vt), -1, now);
	}
}

/* NoteVtMoved reports that a message moved from vt old_vt to vt (pg/counters.hpp). */
void
NoteVtMoved(Oid relid, TimestampTz old_vt, TimestampTz vt, TimestampTz now) {
	CountersNoteVt(relid, old_vt, -1, now);
	CountersNoteVt(relid, vt, 1, now);
}

/*
 * TryDirectAck acknowledges ids through the access methods (see
 * direct.hpp): sorts ids, leaves the ones that existed at their start and
 * returns how many, or -1, having done nothing, to use the statement.
 */
int
TryDirectAck(const Queue *queue, Ack ack, int64 *ids, int count) {
	Oid archive_relid = InvalidOid;
	if (ack == Ack::kArchive) {
		archive_relid = ArchiveRelid(queue);
		if (!OidIsValid(archive_relid))
			return -1;
	}
	TimestampTz *vts = static_cast<TimestampTz *>(palloc(sizeof(TimestampTz) * count));
	int done = DirectAck(queue->queue_relid, archive_relid, ids, count, vts);
	NoteRemoved(queue->queue_relid, vts, done);
	pfree(vts);
	return done;
}

/*
 * MayReadVt says whether the current role may read column vt of the table (relid), as a
 * statement returning it needs; InvalidOid (no archive) may.
 */
bool
MayReadVt(Oid relid) {
	if (!OidIsValid(relid))
		return true;
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK)
		return true;
	/* pg_attribute_aclcheck sees only what was granted on the column itself. */
	AttrNumber attnum = get_attnum(relid, "vt");
	return attnum != InvalidAttrNumber && pg_attribute_aclcheck(relid, attnum, GetUserId(), ACL_SELECT) == ACLCHECK_OK;
}

/*
 * AckStatement is the statement acknowledging one message (batch: an array of them); with vts,
 * the one that also returns each deleted row's vt (for metrics, pg/counters.hpp).
 */
Statement
AckStatement(Ack ack, bool batch, bool vts) {
	if (ack == Ack::kArchive) {
		if (vts)
			return batch ? Statement::kArchiveBatch : Statement::kArchive;
		return batch ? Statement::kArchiveBatchIds : Statement::kArchiveIds;
	}
	if (vts)
		return batch ? Statement::kDeleteBatch : Statement::kDelete;
	return batch ? Statement::kDeleteBatchIds : Statement::kDeleteIds;
}

/* NoteRemovedBy reports the rows a statement removed (vts: with their vts in column 2) to metrics. */
void
NoteRemovedBy(Oid relid, uint64 n, bool vts) {
	if (vts)
		NoteRemovedSpi(relid, n, 2);
	else if (n > 0)
		CountersForget(relid); /* their vts are unknown: metrics counts the queue again */
}

/*
 * AckThroughStatement runs the prepared DELETE (or archiving) statement
 * for ids; sets *acked to the returned msg_ids, in the caller's memory
 * context, and returns how many.
 */
uint64
AckThroughStatement(const Queue *queue, Ack ack, const int64 *ids, int count, int64 **acked) {
	bool batch = count != 1;
	Datum values[1];
	if (batch)
		values[0] = IdArray(ids, count);
	else
		values[0] = Int64GetDatum(ids[0]);
	ConnectSpi();
	/* The queue's vt for a delete; the archive's for an archive (the queue's columns are returned to it). */
	bool vts =
		MayReadVt(ack == Ack::kArchive ? get_relname_relid(queue->archive_table, PgmqNamespace()) : queue->queue_relid);
	SPIPlanPtr plan = PreparedPlan(queue, AckStatement(ack, batch, vts));
	CountersExpectOwnStatement(queue->queue_relid);
	uint64 n = ack == Ack::kArchive ? ExecuteInsertPlan(queue->archive_table, plan, values, nullptr, 0)
									: ExecutePlan(plan, values, nullptr, false);
	CountersEndOwnStatement();
	NoteRemovedBy(queue->queue_relid, n, vts);
	/* SPI_palloc: in the memory context that was current at SPI_connect, the caller's. */
	*acked = static_cast<int64 *>(SPI_palloc(sizeof(int64) * Max(n, static_cast<uint64>(1))));
	for (uint64 i = 0; i < n; i++) {
		bool isnull;
		(*acked)[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	FinishSpi();
	return n;
}

} // namespace

uint64
AckMessages(const Queue *queue, Ack ack, const int64 *ids, int count, int64 **acked) {
	/* An empty array goes to the statement, which checks the archive's privileges itself. */
	uint64 n = 0;
	bool direct = false;
	if (count > 0) {
		int64 *sorted = static_cast<int64 *>(palloc(sizeof(int64) * count));
		memcpy(sorted, ids, sizeof(int64) * count);
		int done = TryDirectAck(queue, ack, sorted, count);
		if (done >= 0) {
			*acked = sorted;
			n = static_cast<uint64>(done);
			direct = true;
		} else
			pfree(sorted);
	}
	if (!direct)
		n = AckThroughStatement(queue, ack, ids, count, acked);
	/* A FIFO group's next message may be free now (or the rows again, if this aborts): wake watchers. */
	if (n > 0)
		NoteTouch(queue->queue_relid);
	return n;
}

uint64
SetVisibility(FunctionCallInfo fcinfo, const Queue *queue, Datum ids, bool many, TimestampTz vt) {
	Datum values[2] = {ids, TimestampTzGetDatum(vt)};
	ReadHintNoteVtChange(queue->queue_relid);
	NoteVtChange(queue->queue_relid);
	ConnectSpi();
	Statement statement = many ? Statement::kSetVtBatch : Statement::kSetVt;
	SPIPlanPtr plan = PreparedPlan(queue, statement);
	CountersExpectOwnStatement(queue->queue_relid);
	uint64 n = ExecutePlan(plan, values, nullptr, false);
	CountersEndOwnStatement();
	TimestampTz now = GetCurrentTimestamp();
	for (uint64 i = 0; i < n; i++) {
		bool isnull;
		/* Column 8, after the message columns: the vt the row had. */
		TimestampTz old_vt =
			DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 8, &isnull));
		NoteVtMoved(queue->queue_relid, old_vt, vt, now);
	}
	PutSpiMessagesLeading(fcinfo, n);
	FinishSpi();
	return n;
}

uint64
NackMessages(const Queue *queue, Datum ids, int32 delay_seconds, Jsonb *error, int64 **nacked) {
	Datum values[7] = {ids,
					   TimestampTzGetDatum(GetCurrentTimestamp()),
					   Int32GetDatum(delay_seconds),
					   0,
					   0,
					   BoolGetDatum(false),
					   PointerGetDatum(error)};
	char nulls[8] = "  nnn n";
	if (delay_seconds >= 0)
		nulls[2] = ' ';
	if (error != nullptr)
		nulls[6] = ' ';
	ReadHintNoteVtChange(queue->queue_relid);
	NoteVtChange(queue->queue_relid);
	ConnectSpi();
	Backoff backoff;
	if (delay_seconds < 0 && QueueBackoff(queue, &backoff)) {
		values[3] = Int32GetDatum(backoff.base_seconds);
		nulls[3] = ' ';
		if (backoff.max_seconds > 0) {
			values[4] = Int32GetDatum(backoff.max_seconds);
			nulls[4] = ' ';
		}
		values[5] = BoolGetDatum(backoff.jitter);
		nulls[5] = ' ';
	}
	SPIPlanPtr plan = PreparedPlan(queue, Statement::kNack);
	CountersExpectOwnStatement(queue->queue_relid);
	uint64 n = ExecutePlan(plan, values, nulls, false);
	CountersEndOwnStatement();
	TimestampTz now = GetCurrentTimestamp();
	*nacked = static_cast<int64 *>(SPI_palloc(sizeof(int64) * Max(n, static_cast<uint64>(1))));
	for (uint64 i = 0; i < n; i++) {
		bool isnull;
		(*nacked)[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		HeapTuple row = SPI_tuptable->vals[i];
		TimestampTz vt = DatumGetTimestampTz(SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull));
		TimestampTz old_vt = DatumGetTimestampTz(SPI_getbinval(row, SPI_tuptable->tupdesc, 3, &isnull));
		NoteVtMoved(queue->queue_relid, old_vt, vt, now);
	}
	FinishSpi();
	return n;
}

bool
ArchiveWithResult(const Queue *queue, int64 id, Jsonb *result) {
	ArchiveRelid(queue);
	Datum values[2] = {Int64GetDatum(id), PointerGetDatum(result)};
	ConnectSpi();
	bool vts = MayReadVt(get_relname_relid(queue->archive_table, PgmqNamespace()));
	SPIPlanPtr plan = PreparedPlan(queue, vts ? Statement::kArchiveResult : Statement::kArchiveResultIds);
	CountersExpectOwnStatement(queue->queue_relid);
	uint64 n = ExecuteInsertPlan(queue->archive_table, plan, values, nullptr, 0);
	CountersEndOwnStatement();
	NoteRemovedBy(queue->queue_relid, n, vts);
	FinishSpi();
	if (n > 0)
		NoteTouch(queue->queue_relid);
	return n > 0;
}

} // namespace pgmq::pg
