/*
 * send.cpp: pgmq.send and pgmq.send_batch, every PGMQ overload.
 *
 * Each overload is its own C entry point; all funnel into Send/SendBatch,
 * which check the arguments and hand the messages to the send path
 * (pg/send_path.hpp). enqueued_at is the transaction time (column default
 * now()), vt is clock time plus the delay, as in PGMQ. As in PGMQ, a NULL
 * message is stored as NULL, a negative delay means now and a timestamptz
 * delay is stored as given ('infinity': never visible); a NULL delay is
 * 23502. With pgmq.strict_input on, NULL messages and negative delays are errors.
 */
#include "api/args.hpp"
#include "boundary.hpp"
#include "guc.hpp"
#include "pg/results.hpp"
#include "pg/send_path.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
}

namespace pgmq::api {

namespace {

/* ReturnSentIds sends count messages to the queue and returns their msg_ids, in order, as the function's rows. */
void
ReturnSentIds(FunctionCallInfo fcinfo, const pg::Queue *queue, TimestampTz vt, int count, const Datum *messages,
			  const Datum *headers) {
	pg::BeginSetResult(fcinfo, true);
	int64 *ids;
	uint64 n = pg::SendMessages(queue, vt, count, messages, headers, &ids);
	for (uint64 i = 0; i < n; i++)
		pg::PutInt8(fcinfo, ids[i]);
}

/* Send inserts one message and returns its msg_id as a one-row set. */
Datum
Send(FunctionCallInfo fcinfo, int headers_arg, int delay_arg, Delay delay) {
	pg::Queue queue;
	pg::ResolveQueueArg(fcinfo, 0, &queue, pg::kSendAccess);
	if (guc_strict_input)
		pg::ArgNotNull(fcinfo, 1, "msg");
	bool has_headers = headers_arg >= 0 && !PG_ARGISNULL(headers_arg);
	TimestampTz vt = VisibleAtArg(fcinfo, delay_arg, delay);
	/* (Datum)0: a NULL message (pg/send_path.hpp). */
	Datum message = PG_ARGISNULL(1) ? (Datum)0 : PG_GETARG_DATUM(1);
	Datum header = has_headers ? PG_GETARG_DATUM(headers_arg) : (Datum)0;
	ReturnSentIds(fcinfo, &queue, vt, 1, &message, has_headers ? &header : nullptr);
	return (Datum)0;
}

/* SendBatch inserts the messages of an array in order and returns their msg_ids in the same order. */
Datum
SendBatch(FunctionCallInfo fcinfo, int headers_arg, int delay_arg, Delay delay) {
	pg::Queue queue;
	pg::ResolveQueueArg(fcinfo, 0, &queue, pg::kSendAccess);
	/* PGMQ 1.11+ raises (P0001) for NULL and empty msgs and for headers of another length. */
	if (!guc_strict_input && PG_ARGISNULL(1))
		RaisePgmqError("msgs must not be NULL or empty");
	ArrayType *msgs = ArrayOrNullArg(fcinfo, 1, "msgs");
	int count = ArrayGetNItems(ARR_NDIM(msgs), ARR_DIMS(msgs));
	if (count == 0)
		RaisePgmqError(guc_strict_input ? "msgs must not be empty" : "msgs must not be NULL or empty");
	bool has_headers = headers_arg >= 0 && !PG_ARGISNULL(headers_arg);
	ArrayType *header_array = has_headers ? ArrayOrNullArg(fcinfo, headers_arg, "headers") : nullptr;
	if (has_headers) {
		int header_count = ArrayGetNItems(ARR_NDIM(header_array), ARR_DIMS(header_array));
		if (header_count != count)
			RaisePgmqError(
				psprintf("headers array length (%d) must match msgs array length (%d)", header_count, count));
	}
	TimestampTz vt = VisibleAtArg(fcinfo, delay_arg, delay);
	Datum *messages = JsonbArrayElements(msgs);
	Datum *headers = has_headers ? JsonbArrayElements(header_array) : nullptr;
	ReturnSentIds(fcinfo, &queue, vt, count, messages, headers);
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
