/*
 * read_path.cpp: reading and popping messages (see read_path.hpp).
 */
#include "pg/read_path.hpp"

#include "pg/direct.hpp"
#include "pg/plans.hpp"
#include "pg/policy.hpp"
#include "pg/readhint_protocol.hpp"
#include "pg/results.hpp"
#include "pg/time.hpp"
#include "pg/wakeup.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/timestamp.h"
}

namespace pgmq::pg {

namespace {

/* A read whose first message lies more than this many msg_ids above the hint probes (see readhint.hpp). */
constexpr int64 kProbeGap = 64;

/*
 * ReadWithPolicyUnsafe reads through the statement that skips messages read
 * max_deliveries times (see pg/policy.hpp), appends the rows, returns how
 * many. It scans from the read hint but leaves moving it to policy-free reads.
 */
uint64
ReadWithPolicyUnsafe(FunctionCallInfo fcinfo, const Queue *queue, const DirectRead *read, int32 max_deliveries) {
	bool where = read->conditional != (Datum)0;
	Datum values[6] = {Int32GetDatum(read->qty),
					   TimestampTzGetDatum(read->now),
					   TimestampTzGetDatum(read->new_vt),
					   Int32GetDatum(max_deliveries),
					   where ? read->conditional : Int64GetDatum(read->start),
					   Int64GetDatum(read->start)};
	Statement statement = where ? Statement::kReadWherePolicy : Statement::kReadPolicy;
	ConnectSpiUnsafe();
	uint64 n = ExecutePlanUnsafe(PreparedPlanUnsafe(queue, statement), values, nullptr, false);
	PutSpiMessagesUnsafe(fcinfo, n);
	FinishSpiUnsafe();
	return n;
}

/*
 * ReadThroughStatementUnsafe reads through the prepared statement, appends the
 * rows, returns how many; *first is the smallest msg_id read (0 when none).
 */
uint64
ReadThroughStatementUnsafe(FunctionCallInfo fcinfo, const Queue *queue, const DirectRead *read, int64 *first) {
	bool where = read->conditional != (Datum)0;
	Datum values[5] = {Int32GetDatum(read->qty), TimestampTzGetDatum(read->now), TimestampTzGetDatum(read->new_vt),
					   where ? read->conditional : Int64GetDatum(read->start), Int64GetDatum(read->start)};
	Statement statement = where ? Statement::kReadWhere : Statement::kRead;
	ConnectSpiUnsafe();
	uint64 n = ExecutePlanUnsafe(PreparedPlanUnsafe(queue, statement), values, nullptr, false);
	PutSpiMessagesUnsafe(fcinfo, n);
	/* PutSpiMessagesUnsafe sorted the rows: the first has the smallest msg_id. */
	bool isnull;
	*first = n > 0 ? DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) : 0;
	FinishSpiUnsafe();
	return n;
}

/*
 * ProbeHeadIfFarUnsafe moves the queue's read hint up to where visible
 * messages start (see readhint.hpp) after a read through the statement, which
 * does not tell why it skipped rows: when it found nothing or its first
 * message lies far above the hint, and no other backend probes the queue.
 */
void
ProbeHeadIfFarUnsafe(const Queue *queue, const ReadHintTicket *ticket, uint64 n, int64 first) {
	if (!ticket->may_probe)
		return;
	/* Unsigned: start is PG_INT64_MIN when there is no hint. */
	bool far = n == 0 || static_cast<uint64>(first) - static_cast<uint64>(ticket->start) > kProbeGap;
	if (!far || !ReadHintBeginProbe(queue->queue_relid, ticket))
		return;
	int64 new_low = ticket->start;
	TimestampTz valid_until = DT_NOEND;
	DirectProbeUnsafe(queue->queue_relid, ticket->start, GetCurrentTimestamp(), &new_low, &valid_until);
	ReadHintStore(queue->queue_relid, ticket, new_low, valid_until);
}

/*
 * ReadOnceUnsafe runs one read, appends the rows, returns how many: through
 * the policy statement for a queue with a policy, else directly through the
 * access methods when the table allows it, else the prepared statement.
 */
uint64
ReadOnceUnsafe(FunctionCallInfo fcinfo, const Queue *queue, const ReadRequest *request) {
	/* qty 0 reads nothing (PGMQ's LIMIT 0); read_with_poll then waits until max_poll_seconds pass. */
	if (request->qty == 0)
		return 0;
	DirectRead read;
	read.qty = request->qty;
	read.now = GetCurrentTimestamp();
	ReadHintTicket ticket;
	read.start = ReadHintStart(queue->queue_relid, read.now, &ticket);
	read.new_vt = PlusSecondsUnsafe(read.now, request->vt);
	read.conditional = request->conditional;
	read.new_low = 0;
	read.valid_until = 0;
	int32 max_deliveries;
	/* Never hand out a message beyond its queue's max_deliveries (see pg/policy.hpp). */
	if (QueueHasPolicyUnsafe(queue, &max_deliveries))
		return ReadWithPolicyUnsafe(fcinfo, queue, &read, max_deliveries);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	int64 taken = DirectReadUnsafe(queue->queue_relid, &read, rsinfo->setResult, rsinfo->setDesc);
	if (taken >= 0) {
		/* The scan found where visible messages start: no separate probe. */
		ReadHintStore(queue->queue_relid, &ticket, read.new_low, read.valid_until);
		return static_cast<uint64>(taken);
	}
	int64 first;
	uint64 n = ReadThroughStatementUnsafe(fcinfo, queue, &read, &first);
	ProbeHeadIfFarUnsafe(queue, &ticket, n, first);
	return n;
}

/*
 * PollUnsafe reads at once and, while nothing is found and poll_seconds have
 * not passed, waits for a send to this queue to commit (or poll_interval_ms,
 * whichever comes first) and reads again; returns how many it read.
 */
uint64
PollUnsafe(FunctionCallInfo fcinfo, const Queue *queue, const ReadRequest *request) {
	TimestampTz deadline = PlusSecondsUnsafe(GetCurrentTimestamp(), request->poll_seconds);
	bool shared_wakeup = WakeupAvailable();
	Oid relid = queue->queue_relid;
	uint64 seen = shared_wakeup ? WakeupPrepare(relid) : 0;
	uint64 n;
	for (;;) {
		n = ReadOnceUnsafe(fcinfo, queue, request);
		if (n > 0)
			break;
		long remaining_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (remaining_ms <= 0)
			break;
		if (shared_wakeup) {
			uint64 now_seen = WakeupCounter(relid);
			if (now_seen != seen) {
				/* A send committed while we were reading: read again at once. */
				seen = now_seen;
				continue;
			}
		}
		WakeupWait(relid, Min(remaining_ms, static_cast<long>(request->poll_interval_ms)));
		if (shared_wakeup)
			seen = WakeupCounter(relid);
		CHECK_FOR_INTERRUPTS();
	}
	WakeupFinish();
	return n;
}

} // namespace

uint64
ReadMessagesUnsafe(FunctionCallInfo fcinfo, const Queue *queue, const ReadRequest *request) {
	if (request->poll_seconds < 0)
		return ReadOnceUnsafe(fcinfo, queue, request);
	return PollUnsafe(fcinfo, queue, request);
}

uint64
PopMessagesUnsafe(FunctionCallInfo fcinfo, const Queue *queue, int32 qty) {
	if (qty == 0)
		return 0;
	TimestampTz now = GetCurrentTimestamp();
	ReadHintTicket ticket;
	int64 start = ReadHintStart(queue->queue_relid, now, &ticket);
	ConnectSpiUnsafe();
	int32 max_deliveries;
	uint64 n;
	if (QueueHasPolicyUnsafe(queue, &max_deliveries)) {
		Datum values[4] = {Int32GetDatum(qty), TimestampTzGetDatum(now), Int32GetDatum(max_deliveries),
						   Int64GetDatum(start)};
		n = ExecutePlanUnsafe(PreparedPlanUnsafe(queue, Statement::kPopPolicy), values, nullptr, false);
	} else {
		Datum values[3] = {Int32GetDatum(qty), TimestampTzGetDatum(now), Int64GetDatum(start)};
		n = ExecutePlanUnsafe(PreparedPlanUnsafe(queue, Statement::kPop), values, nullptr, false);
	}
	PutSpiMessagesUnsafe(fcinfo, n);
	FinishSpiUnsafe();
	return n;
}

} // namespace pgmq::pg
