/*
 * send_path.cpp: sending messages, directly or through the INSERT statement (see send_path.hpp).
 */
#include "pg/send_path.hpp"

#include "pg/direct.hpp"
#include "pg/partitions.hpp"
#include "pg/plans.hpp"
#include "pg/readhint_protocol.hpp"
#include "pg/wakeup.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/timestamp.h"
}

namespace pgmq::pg {

namespace {

/* JsonbArray makes a jsonb[] of count values, NULL where a value is (Datum)0. */
Datum
JsonbArray(const Datum *values, int count) {
	bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * count));
	for (int i = 0; i < count; i++)
		nulls[i] = values[i] == (Datum)0;
	int dims[1] = {count};
	int lbs[1] = {1};
	return PointerGetDatum(
		construct_md_array(const_cast<Datum *>(values), nulls, 1, dims, lbs, JSONBOID, -1, false, TYPALIGN_INT));
}

/*
 * InsertThroughStatement runs the prepared INSERT ... RETURNING msg_id
 * (kSend for one message, kSendBatch with arrays for more); sets *ids to the
 * returned msg_ids, allocated in the caller's memory context, and returns how many.
 */
uint64
InsertThroughStatement(const Queue *queue, TimestampTz vt, int count, const Datum *messages, const Datum *headers,
					   int64 **ids) {
	bool batch = count > 1;
	Datum values[3] = {TimestampTzGetDatum(vt), (Datum)0, (Datum)0};
	char nulls[3] = {' ', ' ', headers != nullptr ? ' ' : 'n'};
	values[1] = batch ? JsonbArray(messages, count) : messages[0];
	if (values[1] == (Datum)0)
		nulls[1] = 'n';
	if (headers != nullptr)
		values[2] = batch ? JsonbArray(headers, count) : headers[0];
	if (values[2] == (Datum)0)
		nulls[2] = 'n';
	ConnectSpi();
	/* msg_ids from the sequence: the hint guard trigger need not reset the hint. */
	ReadHintSetOwnSend(true);
	/* A partitioned queue creates the partition a message finds missing (pg/partitions.hpp). */
	uint64 n = ExecuteInsertPlan(queue, nullptr, PreparedPlan(queue, batch ? Statement::kSendBatch : Statement::kSend),
								 values, nulls, count);
	ReadHintSetOwnSend(false);
	/* SPI_palloc: in the memory context that was current at SPI_connect, the caller's. */
	*ids = static_cast<int64 *>(SPI_palloc(sizeof(int64) * Max(n, static_cast<uint64>(1))));
	for (uint64 i = 0; i < n; i++) {
		bool isnull;
		(*ids)[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	FinishSpi();
	return n;
}

/* LowestId returns the smallest of ids[0..n), n > 0. */
int64
LowestId(const int64 *ids, uint64 n) {
	int64 lowest = PG_INT64_MAX;
	for (uint64 i = 0; i < n; i++)
		lowest = Min(lowest, ids[i]);
	return lowest;
}

} // namespace

uint64
SendMessages(const Queue *queue, TimestampTz vt, int count, const Datum *messages, const Datum *headers, int64 **ids) {
	Assert(count > 0);
	Oid relid = queue->queue_relid;
	ReadHintBeginSend(relid);
	uint64 n;
	*ids = static_cast<int64 *>(palloc(sizeof(int64) * count));
	if (DirectInsert(relid, vt, count, messages, headers, *ids)) {
		n = static_cast<uint64>(count);
		/* One backend's nextval calls return increasing ids: the first is the smallest. */
		ReadHintNoteIds(relid, (*ids)[0]);
	} else {
		pfree(*ids);
		n = InsertThroughStatement(queue, vt, count, messages, headers, ids);
		if (n > 0)
			ReadHintNoteIds(relid, LowestId(*ids, n));
	}
	NoteSend(relid);
	return n;
}

} // namespace pgmq::pg
