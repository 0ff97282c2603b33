/*
 * ack_path.cpp: delete, archive and set_vt, directly or through statements (see ack_path.hpp).
 */
#include "pg/ack_path.hpp"

#include "pg/direct.hpp"
#include "pg/partitions.hpp"
#include "pg/plans.hpp"
#include "pg/policy_cache.hpp"
#include "pg/readhint.hpp"
#include "pg/results.hpp"
#include "pg/wakeup.hpp"

extern "C" {
#include "catalog/pg_type.h"
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
	return DirectAck(queue->queue_relid, archive_relid, ids, count);
}

/* AckStatement is the statement acknowledging one message (batch: an array of them). */
Statement
AckStatement(Ack ack, bool batch) {
	if (ack == Ack::kArchive)
		return batch ? Statement::kArchiveBatch : Statement::kArchive;
	return batch ? Statement::kDeleteBatch : Statement::kDelete;
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
	SPIPlanPtr plan = PreparedPlan(queue, AckStatement(ack, batch));
	uint64 n = ack == Ack::kArchive ? ExecuteInsertPlan(queue->archive_table, plan, values, nullptr, 0)
									: ExecutePlan(plan, values, nullptr, false);
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
	uint64 n = ExecutePlan(PreparedPlan(queue, statement), values, nullptr, false);
	PutSpiMessages(fcinfo, n);
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
	uint64 n = ExecutePlan(PreparedPlan(queue, Statement::kNack), values, nulls, false);
	*nacked = static_cast<int64 *>(SPI_palloc(sizeof(int64) * Max(n, static_cast<uint64>(1))));
	for (uint64 i = 0; i < n; i++) {
		bool isnull;
		(*nacked)[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	FinishSpi();
	return n;
}

bool
ArchiveWithResult(const Queue *queue, int64 id, Jsonb *result) {
	ArchiveRelid(queue);
	Datum values[2] = {Int64GetDatum(id), PointerGetDatum(result)};
	ConnectSpi();
	uint64 n =
		ExecuteInsertPlan(queue->archive_table, PreparedPlan(queue, Statement::kArchiveResult), values, nullptr, 0);
	FinishSpi();
	if (n > 0)
		NoteTouch(queue->queue_relid);
	return n > 0;
}

} // namespace pgmq::pg
