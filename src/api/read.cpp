/*
 * read.cpp: pgmq.read, pgmq.read_with_poll and pgmq.pop.
 *
 * A read takes the oldest visible messages (vt <= clock time) in msg_id
 * order, skipping rows other transactions hold (FOR UPDATE SKIP LOCKED), and
 * hides them until clock time + vt seconds. Rows are returned in msg_id order.
 */
#include "api/args.hpp"
#include "boundary.hpp"
#include "pg/direct.hpp"
#include "pg/plans.hpp"
#include "pg/policy.hpp"
#include "pg/readhint.hpp"
#include "pg/results.hpp"
#include "pg/wakeup.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/jsonb.h"
}

namespace pgmq::api {

namespace {

/* ReadArgs is a read's checked arguments. */
struct ReadArgs {
	pg::Queue queue;
	int32 vt;
	int32 qty;
	Datum conditional; /* 0 when absent or '{}' */
};

/* ReadArgsUnsafe checks queue_name, vt, qty and (at cond_arg) the conditional filter. */
void
ReadArgsUnsafe(FunctionCallInfo fcinfo, int cond_arg, ReadArgs *args) {
	pg::ResolveQueueArgUnsafe(fcinfo, 0, &args->queue, pg::kReadAccess);
	args->vt = NonNegativeSecondsArgUnsafe(fcinfo, 1, "vt");
	args->qty = QtyArgUnsafe(fcinfo, 2);
	args->conditional = (Datum)0;
	if (cond_arg >= 0 && !PG_ARGISNULL(cond_arg)) {
		Jsonb *cond = PG_GETARG_JSONB_P(cond_arg);
		bool empty_object = JB_ROOT_IS_OBJECT(cond) && JB_ROOT_COUNT(cond) == 0;
		if (!empty_object)
			args->conditional = PointerGetDatum(cond);
	}
}

/* A read whose first message lies more than this many msg_ids above the hint probes (see readhint.hpp). */
constexpr int64 kProbeGap = 64;

/* ProbeHeadUnsafe moves the queue's read hint up to where visible messages start (see readhint.hpp). */
void
ProbeHeadUnsafe(const pg::Queue *queue, const pg::ReadHintTicket *ticket) {
	int64 new_low = ticket->start;
	TimestampTz valid_until = DT_NOEND;
	pg::DirectProbeUnsafe(queue->queue_relid, ticket->start, GetCurrentTimestamp(), &new_low, &valid_until);
	pg::ReadHintStore(queue->queue_relid, ticket, new_low, valid_until);
}

/*
 * ReadOnceUnsafe runs one read, appends the rows, returns how many: directly
 * through the access methods when the table allows it, else the prepared
 * statement.
 */
uint64
ReadOnceUnsafe(FunctionCallInfo fcinfo, const ReadArgs *args) {
	TimestampTz now = GetCurrentTimestamp();
	pg::ReadHintTicket ticket;
	int64 start = pg::ReadHintStart(args->queue.queue_relid, now, &ticket);
	int32 max_deliveries;
	if (pg::QueueHasPolicyUnsafe(&args->queue, &max_deliveries)) {
		/*
		 * Never hand out a message beyond its queue's max_deliveries (see
		 * pg/policy.hpp): the statement path with read_ct < max_deliveries. It
		 * uses the read hint but leaves moving it to policy-free reads.
		 */
		bool where = args->conditional != (Datum)0;
		Datum values[6] = {Int32GetDatum(args->qty),
						   TimestampTzGetDatum(now),
						   TimestampTzGetDatum(PlusSecondsUnsafe(now, args->vt)),
						   Int32GetDatum(max_deliveries),
						   where ? args->conditional : Int64GetDatum(start),
						   Int64GetDatum(start)};
		pg::Statement statement = where ? pg::Statement::kReadWherePolicy : pg::Statement::kReadPolicy;
		pg::ConnectSpiUnsafe();
		uint64 n = pg::ExecutePlanUnsafe(pg::PreparedPlanUnsafe(&args->queue, statement), values, nullptr, false);
		pg::PutSpiMessagesUnsafe(fcinfo, n);
		pg::FinishSpiUnsafe();
		return n;
	}
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	pg::DirectRead direct = {args->qty, now, PlusSecondsUnsafe(now, args->vt), start, args->conditional, 0, 0};
	int64 n = pg::DirectReadUnsafe(args->queue.queue_relid, &direct, rsinfo->setResult, rsinfo->setDesc);
	if (n >= 0) {
		/* The scan found where visible messages start: no separate probe. */
		pg::ReadHintStore(args->queue.queue_relid, &ticket, direct.new_low, direct.valid_until);
		return static_cast<uint64>(n);
	}
	bool where = args->conditional != (Datum)0;
	Datum values[5] = {Int32GetDatum(args->qty), TimestampTzGetDatum(now), TimestampTzGetDatum(direct.new_vt),
					   where ? args->conditional : Int64GetDatum(start), Int64GetDatum(start)};
	pg::Statement statement = where ? pg::Statement::kReadWhere : pg::Statement::kRead;
	pg::ConnectSpiUnsafe();
	n = static_cast<int64>(
		pg::ExecutePlanUnsafe(pg::PreparedPlanUnsafe(&args->queue, statement), values, nullptr, false));
	pg::PutSpiMessagesUnsafe(fcinfo, n);
	/* PutSpiMessagesUnsafe sorted the rows: the first has the smallest msg_id. */
	bool isnull;
	int64 first = n > 0 ? DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) : 0;
	pg::FinishSpiUnsafe();
	/* The prepared statement does not tell why it skipped rows: probe when the head looks far. */
	if (ticket.may_probe) {
		/* Unsigned: start is PG_INT64_MIN when there is no hint. */
		bool far = n == 0 || static_cast<uint64>(first) - static_cast<uint64>(start) > kProbeGap;
		if (far && pg::ReadHintBeginProbe(args->queue.queue_relid, &ticket))
			ProbeHeadUnsafe(&args->queue, &ticket);
	}
	return static_cast<uint64>(n);
}

} // namespace

/* pgmq_read implements read(queue_name, vt, qty, conditional). */
PGMQ_FUNCTION(pgmq_read) {
	ReadArgs args;
	ReadArgsUnsafe(fcinfo, 3, &args);
	pg::BeginSetResultUnsafe(fcinfo, false);
	ReadOnceUnsafe(fcinfo, &args);
	return (Datum)0;
}

/*
 * pgmq_read_with_poll implements read_with_poll(queue_name, vt, qty,
 * max_poll_seconds, poll_interval_ms, conditional): it reads at once, and
 * while nothing is found and max_poll_seconds have not passed, waits for a
 * send to this queue to commit (or poll_interval_ms, whichever comes first)
 * and reads again.
 */
PGMQ_FUNCTION(pgmq_read_with_poll) {
	ReadArgs args;
	ReadArgsUnsafe(fcinfo, 5, &args);
	int32 max_poll_seconds = NonNegativeSecondsArgUnsafe(fcinfo, 3, "max_poll_seconds");
	pg::ArgNotNullUnsafe(fcinfo, 4, "poll_interval_ms");
	int32 poll_interval_ms = PG_GETARG_INT32(4);
	if (poll_interval_ms < 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("poll_interval_ms must be at least 1, got %d", poll_interval_ms)));

	TimestampTz deadline = PlusSecondsUnsafe(GetCurrentTimestamp(), max_poll_seconds);
	bool shared_wakeup = pg::WakeupAvailable();
	Oid relid = args.queue.queue_relid;
	uint64 seen = shared_wakeup ? pg::WakeupPrepare(relid) : 0;

	pg::BeginSetResultUnsafe(fcinfo, false);
	for (;;) {
		uint64 n = ReadOnceUnsafe(fcinfo, &args);
		if (n > 0)
			break;
		long remaining_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (remaining_ms <= 0)
			break;
		if (shared_wakeup) {
			uint64 now_seen = pg::WakeupCounter(relid);
			if (now_seen != seen) {
				/* A send committed while we were reading: read again at once. */
				seen = now_seen;
				continue;
			}
		}
		pg::WakeupWait(relid, Min(remaining_ms, static_cast<long>(poll_interval_ms)));
		if (shared_wakeup)
			seen = pg::WakeupCounter(relid);
		CHECK_FOR_INTERRUPTS();
	}
	pg::WakeupFinish();
	return (Datum)0;
}

/* pgmq_pop implements pop(queue_name, qty): delete and return the oldest visible messages. */
PGMQ_FUNCTION(pgmq_pop) {
	pg::Queue queue;
	pg::ResolveQueueArgUnsafe(fcinfo, 0, &queue, pg::kPopAccess);
	int32 qty = QtyArgUnsafe(fcinfo, 1);
	TimestampTz now = GetCurrentTimestamp();
	pg::ReadHintTicket ticket;
	int64 start = pg::ReadHintStart(queue.queue_relid, now, &ticket);
	Datum values[3] = {Int32GetDatum(qty), TimestampTzGetDatum(now), Int64GetDatum(start)};
	pg::BeginSetResultUnsafe(fcinfo, false);
	pg::ConnectSpiUnsafe();
	int32 max_deliveries;
	pg::Statement statement = pg::Statement::kPop;
	Datum policy_values[4] = {values[0], values[1], (Datum)0, values[2]};
	if (pg::QueueHasPolicyUnsafe(&queue, &max_deliveries)) {
		policy_values[2] = Int32GetDatum(max_deliveries);
		statement = pg::Statement::kPopPolicy;
	}
	uint64 n = pg::ExecutePlanUnsafe(pg::PreparedPlanUnsafe(&queue, statement),
									 statement == pg::Statement::kPop ? values : policy_values, nullptr, false);
	pg::PutSpiMessagesUnsafe(fcinfo, n);
	pg::FinishSpiUnsafe();
	return (Datum)0;
}

} // namespace pgmq::api
