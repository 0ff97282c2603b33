/*
 * send.cpp: pgmq.send and pgmq.send_batch, every PGMQ overload.
 *
 * Each overload is its own C entry point; all funnel into Send/SendBatch.
 * enqueued_at is the transaction time (column default now()), vt is clock
 * time plus the delay, as in PGMQ. A NULL or negative delay is rejected; a
 * timestamptz delay is stored as given, as in PGMQ ('infinity': never visible).
 */
#include "api/args.hpp"
#include "boundary.hpp"
#include "pg/direct.hpp"
#include "pg/plans.hpp"
#include "pg/readhint.hpp"
#include "pg/results.hpp"
#include "pg/wakeup.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
}

namespace pgmq::api {

namespace {

enum class Delay { kNone, kSeconds, kTimestamp };

/* VisibleAtUnsafe computes a new message's vt from the delay argument (if any). */
TimestampTz
VisibleAtUnsafe(FunctionCallInfo fcinfo, int delay_arg, Delay delay) {
	switch (delay) {
	case Delay::kNone:
		break;
	case Delay::kSeconds:
		return PlusSecondsUnsafe(GetCurrentTimestamp(), NonNegativeSecondsArgUnsafe(fcinfo, delay_arg, "delay"));
	case Delay::kTimestamp:
		return TimestampArgUnsafe(fcinfo, delay_arg, "delay");
	}
	return GetCurrentTimestamp();
}

/* NoteSpiIds tells the read hint the smallest of the n msg_ids in SPI_tuptable (column 1). */
void
NoteSpiIds(Oid queue_relid, uint64 n) {
	if (n == 0)
		return;
	int64 lowest = PG_INT64_MAX;
	for (uint64 i = 0; i < n; i++) {
		bool isnull;
		int64 id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		lowest = Min(lowest, id);
	}
	pg::ReadHintNoteIds(queue_relid, lowest);
}

/*
 * InsertUnsafe stores count messages with visibility time vt and returns their msg_ids, in
 * order, as the function's rows: through the table and index AMs when the table allows it,
 * else through the prepared statement (its parameters in values and nulls).
 */
void
InsertUnsafe(FunctionCallInfo fcinfo, const pg::Queue *queue, TimestampTz vt, int count, Datum *messages,
			 Datum *headers, pg::Statement statement, Datum *values, const char *nulls) {
	pg::BeginSetResultUnsafe(fcinfo, true);
	pg::ReadHintBeginSend(queue->queue_relid);
	int64 *ids = static_cast<int64 *>(palloc(sizeof(int64) * count));
	if (pg::DirectInsertUnsafe(queue->queue_relid, vt, count, messages, headers, ids)) {
		/* One backend's nextval calls return increasing ids: the first is the smallest. */
		pg::ReadHintNoteIds(queue->queue_relid, ids[0]);
		for (int i = 0; i < count; i++)
			pg::PutInt8Unsafe(fcinfo, ids[i]);
	} else {
		pg::ConnectSpiUnsafe();
		/* msg_ids from the sequence: the hint guard trigger need not reset the hint. */
		pg::ReadHintSetOwnSend(true);
		uint64 n = pg::ExecutePlanUnsafe(pg::PreparedPlanUnsafe(queue, statement), values, nulls, false);
		pg::ReadHintSetOwnSend(false);
		NoteSpiIds(queue->queue_relid, n);
		pg::PutSpiIdsUnsafe(fcinfo, n);
		pg::FinishSpiUnsafe();
	}
	pg::NoteSend(queue->queue_relid);
}

/* Send inserts one message and returns its msg_id as a one-row set. */
Datum
Send(FunctionCallInfo fcinfo, int headers_arg, int delay_arg, Delay delay) {
	pg::Queue queue;
	pg::ResolveQueueArgUnsafe(fcinfo, 0, &queue, pg::kSendAccess);
	pg::ArgNotNullUnsafe(fcinfo, 1, "msg");
	bool has_headers = headers_arg >= 0 && !PG_ARGISNULL(headers_arg);
	Datum values[3] = {TimestampTzGetDatum(VisibleAtUnsafe(fcinfo, delay_arg, delay)), PG_GETARG_DATUM(1),
					   has_headers ? PG_GETARG_DATUM(headers_arg) : (Datum)0};
	char nulls[3] = {' ', ' ', has_headers ? ' ' : 'n'};
	InsertUnsafe(fcinfo, &queue, DatumGetTimestampTz(values[0]), 1, &values[1], has_headers ? &values[2] : nullptr,
				 pg::Statement::kSend, values, nulls);
	return (Datum)0;
}

/* ArrayElements returns the elements of a jsonb[] without NULLs (checked by ArrayArgUnsafe). */
Datum *
ArrayElements(ArrayType *array) {
	Datum *elements;
	int count;
	deconstruct_array(array, JSONBOID, -1, false, TYPALIGN_INT, &elements, nullptr, &count);
	return elements;
}

/* SendBatch inserts the messages of an array in order and returns their msg_ids in the same order. */
Datum
SendBatch(FunctionCallInfo fcinfo, int headers_arg, int delay_arg, Delay delay) {
	pg::Queue queue;
	pg::ResolveQueueArgUnsafe(fcinfo, 0, &queue, pg::kSendAccess);
	ArrayType *msgs = ArrayArgUnsafe(fcinfo, 1, "msgs");
	int count = ArrayGetNItems(ARR_NDIM(msgs), ARR_DIMS(msgs));
	if (count == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("msgs must not be empty")));
	bool has_headers = headers_arg >= 0 && !PG_ARGISNULL(headers_arg);
	ArrayType *header_array = has_headers ? ArrayArgUnsafe(fcinfo, headers_arg, "headers") : nullptr;
	if (has_headers) {
		int header_count = ArrayGetNItems(ARR_NDIM(header_array), ARR_DIMS(header_array));
		if (header_count != count)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("headers array length (%d) must match msgs array length (%d)", header_count, count)));
	}
	Datum values[3] = {TimestampTzGetDatum(VisibleAtUnsafe(fcinfo, delay_arg, delay)), PG_GETARG_DATUM(1),
					   has_headers ? PG_GETARG_DATUM(headers_arg) : (Datum)0};
	char nulls[3] = {' ', ' ', has_headers ? ' ' : 'n'};

	Datum *messages = ArrayElements(msgs);
	Datum *headers = has_headers ? ArrayElements(header_array) : nullptr;
	InsertUnsafe(fcinfo, &queue, DatumGetTimestampTz(values[0]), count, messages, headers, pg::Statement::kSendBatch,
				 values, nulls);
	return (Datum)0;
}

} // namespace

PGMQ_FUNCTION(pgmq_send) {
	return Send(fcinfo, -1, -1, Delay::kNone);
}
PGMQ_FUNCTION(pgmq_send_headers) {
	return Send(fcinfo, 2, -1, Delay::kNone);
}
PGMQ_FUNCTION(pgmq_send_delay) {
	return Send(fcinfo, -1, 2, Delay::kSeconds);
}
PGMQ_FUNCTION(pgmq_send_at) {
	return Send(fcinfo, -1, 2, Delay::kTimestamp);
}
PGMQ_FUNCTION(pgmq_send_headers_delay) {
	return Send(fcinfo, 2, 3, Delay::kSeconds);
}
PGMQ_FUNCTION(pgmq_send_headers_at) {
	return Send(fcinfo, 2, 3, Delay::kTimestamp);
}

PGMQ_FUNCTION(pgmq_send_batch) {
	return SendBatch(fcinfo, -1, -1, Delay::kNone);
}
PGMQ_FUNCTION(pgmq_send_batch_headers) {
	return SendBatch(fcinfo, 2, -1, Delay::kNone);
}
PGMQ_FUNCTION(pgmq_send_batch_delay) {
	return SendBatch(fcinfo, -1, 2, Delay::kSeconds);
}
PGMQ_FUNCTION(pgmq_send_batch_at) {
	return SendBatch(fcinfo, -1, 2, Delay::kTimestamp);
}
PGMQ_FUNCTION(pgmq_send_batch_headers_delay) {
	return SendBatch(fcinfo, 2, 3, Delay::kSeconds);
}
PGMQ_FUNCTION(pgmq_send_batch_headers_at) {
	return SendBatch(fcinfo, 2, 3, Delay::kTimestamp);
}

} // namespace pgmq::api
