/*
 * read.cpp: pgmq.read, pgmq.read_with_poll, pgmq.pop and the FIFO-group reads
 * (read_grouped, read_grouped_rr, read_grouped_head and their _with_poll forms).
 *
 * Each checks its arguments and hands them to the read path
 * (pg/read_path.hpp), which appends the messages, in msg_id order, to the
 * function's result set.
 */
#include "api/args.hpp"
#include "boundary.hpp"
#include "guc.hpp"
#include "pg/read_path.hpp"
#include "pg/results.hpp"

extern "C" {
#include "utils/jsonb.h"
}

namespace pgmq::api {

namespace {

/* ReadArgs checks queue_name, vt, qty and (at cond_arg) the conditional filter of a plain read. */
void
ReadArgs(FunctionCallInfo fcinfo, int cond_arg, pg::Queue *queue, pg::ReadRequest *request) {
	pg::ResolveQueueArg(fcinfo, 0, queue, pg::kReadAccess);
	request->vt = SecondsArg(fcinfo, 1, "vt");
	request->qty = QtyArg(fcinfo, 2);
	request->conditional = (Datum)0;
	if (cond_arg >= 0 && !PG_ARGISNULL(cond_arg)) {
		Jsonb *cond = PG_GETARG_JSONB_P(cond_arg);
		bool empty_object = JB_ROOT_IS_OBJECT(cond) && JB_ROOT_COUNT(cond) == 0;
		if (!empty_object)
			request->conditional = PointerGetDatum(cond);
	}
	request->group = pg::GroupMode::kNone;
	request->poll_seconds = -1;
	request->poll_interval_ms = 0;
}

/* PollArgs checks max_poll_seconds and poll_interval_ms (at argno, argno + 1) of a read with poll. */
void
PollArgs(FunctionCallInfo fcinfo, int argno, pg::ReadRequest *request) {
	/* NULLs stay errors: PGMQ's loop would never end. Strict: negative values and intervals below 1 too. */
	if (guc_strict_input)
		request->poll_seconds = NonNegativeSecondsArg(fcinfo, argno, "max_poll_seconds");
	else {
		pg::ArgNotNull(fcinfo, argno, "max_poll_seconds");
		request->poll_seconds = Max(PG_GETARG_INT32(argno), 0);
	}
	pg::ArgNotNull(fcinfo, argno + 1, "poll_interval_ms");
	request->poll_interval_ms = PG_GETARG_INT32(argno + 1);
	if (request->poll_interval_ms < 1 && guc_strict_input)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("poll_interval_ms must be at least 1, got %d", request->poll_interval_ms)));
	/* PGMQ busy-loops on an interval of 0 or less: wait 1 ms instead. */
	request->poll_interval_ms = Max(request->poll_interval_ms, 1);
}

/* ReadGrouped implements the grouped reads: (queue_name, vt, qty [, max_poll_seconds, poll_interval_ms]). */
Datum
ReadGrouped(FunctionCallInfo fcinfo, pg::GroupMode mode, bool poll) {
	pg::Queue queue;
	pg::ReadRequest request;
	ReadArgs(fcinfo, -1, &queue, &request);
	request.group = mode;
	if (poll)
		PollArgs(fcinfo, 3, &request);
	pg::BeginSetResult(fcinfo, false);
	pg::ReadMessages(fcinfo, &queue, &request);
	return (Datum)0;
}

} // namespace

/* pgmq_read implements read(queue_name, vt, qty, conditional). */
PGMQ_FUNCTION(pgmq_read) {
	pg::Queue queue;
	pg::ReadRequest request;
	ReadArgs(fcinfo, 3, &queue, &request);
	pg::BeginSetResult(fcinfo, false);
	pg::ReadMessages(fcinfo, &queue, &request);
	return (Datum)0;
}

/*
 * pgmq_read_with_poll implements read_with_poll(queue_name, vt, qty,
 * max_poll_seconds, poll_interval_ms, conditional): a read that waits up to
 * max_poll_seconds for messages (see pg/read_path.hpp).
 */
PGMQ_FUNCTION(pgmq_read_with_poll) {
	pg::Queue queue;
	pg::ReadRequest request;
	ReadArgs(fcinfo, 5, &queue, &request);
	PollArgs(fcinfo, 3, &request);
	pg::BeginSetResult(fcinfo, false);
	pg::ReadMessages(fcinfo, &queue, &request);
	return (Datum)0;
}

/* pgmq_pop implements pop(queue_name, qty): delete and return the oldest visible messages. */
PGMQ_FUNCTION(pgmq_pop) {
	pg::Queue queue;
	pg::ResolveQueueArg(fcinfo, 0, &queue, pg::kPopAccess);
	int32 qty = QtyArg(fcinfo, 1);
	pg::BeginSetResult(fcinfo, false);
	pg::PopMessages(fcinfo, &queue, qty);
	return (Datum)0;
}

/* pgmq_read_grouped implements read_grouped(queue_name, vt, qty): fill the batch from the oldest FIFO groups. */
PGMQ_FUNCTION(pgmq_read_grouped) {
	return ReadGrouped(fcinfo, pg::GroupMode::kGrouped, false);
}

/* pgmq_read_grouped_with_poll implements read_grouped_with_poll(queue_name, vt, qty, max_poll_seconds, ...). */
PGMQ_FUNCTION(pgmq_read_grouped_with_poll) {
	return ReadGrouped(fcinfo, pg::GroupMode::kGrouped, true);
}

/* pgmq_read_grouped_rr implements read_grouped_rr(queue_name, vt, qty): round-robin over FIFO groups. */
PGMQ_FUNCTION(pgmq_read_grouped_rr) {
	return ReadGrouped(fcinfo, pg::GroupMode::kRoundRobin, false);
}

/* pgmq_read_grouped_rr_with_poll implements read_grouped_rr_with_poll(queue_name, vt, qty, ...). */
PGMQ_FUNCTION(pgmq_read_grouped_rr_with_poll) {
	return ReadGrouped(fcinfo, pg::GroupMode::kRoundRobin, true);
}

/* pgmq_read_grouped_head implements read_grouped_head(queue_name, vt, qty): one message per FIFO group. */
PGMQ_FUNCTION(pgmq_read_grouped_head) {
	return ReadGrouped(fcinfo, pg::GroupMode::kHead, false);
}

/* pgmq_read_grouped_head_with_poll implements read_grouped_head_with_poll(queue_name, vt, qty, ...). */
PGMQ_FUNCTION(pgmq_read_grouped_head_with_poll) {
	return ReadGrouped(fcinfo, pg::GroupMode::kHead, true);
}

} // namespace pgmq::api
