/*
 * overdue_test.cpp: unit tests of the pure C++ overdue decision (src/core/overdue.cpp) and the
 * timestamp arithmetic it uses (src/core/time.cpp).
 * Built and run by test/core/run.sh (the core suite): g++ -std=c++17 -fsanitize=undefined,address -Isrc ...
 * && ./overdue_test (a signed overflow is a failure).
 */
#include "core/overdue.hpp"
#include "core/time.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

using pgmq::core::AddSeconds;
using pgmq::core::ClampToFinite;
using pgmq::core::ClassifyMessages;
using pgmq::core::DecideOverdue;
using pgmq::core::FirstVisibleAt;
using pgmq::core::kEndTimestamp;
using pgmq::core::kMinTimestamp;
using pgmq::core::kTimestampInfinity;
using pgmq::core::kTimestampMinusInfinity;
using pgmq::core::MessageState;
using pgmq::core::OverdueReason;
using pgmq::core::PolicyLimits;
using pgmq::core::ReasonName;

namespace {

constexpr int64_t kS = pgmq::core::kMicrosPerSecond;
constexpr int64_t kDay = 86400 * kS;
/* Values as PostgreSQL stores them. */
constexpr int64_t kLastDay = 9223371244800000000;    /* '294276-12-31 00:00+00', the last valid day */
constexpr int64_t kYear4713BC = -211810204800000000; /* '4713-01-01 00:00+00 BC' */
constexpr int64_t kNow = 850000000 * kS;             /* about 2026 */
int failures = 0;

#define EXPECT(cond)                                                                                                   \
	do {                                                                                                               \
		if (!(cond)) {                                                                                                 \
			std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);                                   \
			failures++;                                                                                                \
		}                                                                                                              \
	} while (0)

/* Message builds a message state; first_visible < 0 means "not remembered". */
MessageState
Message(int64_t id, int32_t read_ct, int64_t enqueued_at, int64_t vt, int64_t first_visible = -1) {
	MessageState m;
	std::memset(&m, 0, sizeof(m));
	m.msg_id = id;
	m.read_ct = read_ct;
	m.enqueued_at = enqueued_at;
	m.vt = vt;
	m.has_first_visible = first_visible >= 0;
	m.first_visible_at = first_visible < 0 ? 0 : first_visible;
	return m;
}

/* TestFirstVisible covers where the deadline clock starts. */
void
TestFirstVisible() {
	/* Never read: its vt (enqueue + delay). */
	EXPECT(FirstVisibleAt(Message(1, 0, 100 * kS, 160 * kS)) == 160 * kS);
	/* Read: the remembered first visibility, not the current vt. */
	EXPECT(FirstVisibleAt(Message(1, 2, 100 * kS, 900 * kS, 160 * kS)) == 160 * kS);
	/* Read before the policy existed: enqueued_at. */
	EXPECT(FirstVisibleAt(Message(1, 1, 100 * kS, 900 * kS)) == 100 * kS);
	/* Never before the enqueue (set_vt to the past). */
	EXPECT(FirstVisibleAt(Message(1, 0, 100 * kS, 10 * kS)) == 100 * kS);
}

/* TestDeadline covers the deadline limit, including delayed messages. */
void
TestDeadline() {
	PolicyLimits limits = {0, 60, 0};
	MessageState delayed = Message(1, 0, 0, 100 * kS); /* visible at 100 s */
	DecideOverdue(limits, 159 * kS, &delayed);
	EXPECT(delayed.reason == OverdueReason::kNone);
	DecideOverdue(limits, 160 * kS, &delayed);
	EXPECT(delayed.reason == OverdueReason::kDeadline);
	EXPECT(delayed.due_at == 160 * kS);
	/* In flight (vt in the future) does not protect it. */
	MessageState held = Message(2, 1, 0, 1000 * kS, 0);
	DecideOverdue(limits, 61 * kS, &held);
	EXPECT(held.reason == OverdueReason::kDeadline && held.due_at == 60 * kS);
}

/* TestMaxDeliveries covers the delivery limit: due when the vt expires after the last allowed read. */
void
TestMaxDeliveries() {
	PolicyLimits limits = {3, 0, 0};
	MessageState m = Message(1, 3, 0, 50 * kS, 0);
	DecideOverdue(limits, 49 * kS, &m);
	EXPECT(m.reason == OverdueReason::kNone);
	DecideOverdue(limits, 50 * kS, &m);
	EXPECT(m.reason == OverdueReason::kMaxDeliveries && m.due_at == 50 * kS);
	MessageState fewer = Message(2, 2, 0, 10 * kS, 0);
	DecideOverdue(limits, 100 * kS, &fewer);
	EXPECT(fewer.reason == OverdueReason::kNone);
}

/* TestEarliestReasonWins covers several broken limits: the earliest due wins, ties in a fixed order. */
void
TestEarliestReasonWins() {
	PolicyLimits all = {1, 60, 30};
	MessageState m = Message(1, 1, 0, 20 * kS, 0); /* max_deliveries due 20, retention 30, deadline 60 */
	DecideOverdue(all, 100 * kS, &m);
	EXPECT(m.reason == OverdueReason::kMaxDeliveries && m.due_at == 20 * kS);
	PolicyLimits tie = {0, 30, 30};
	MessageState t = Message(2, 0, 0, 0);
	DecideOverdue(tie, 30 * kS, &t);
	EXPECT(t.reason == OverdueReason::kDeadline);
	EXPECT(std::strcmp(ReasonName(OverdueReason::kRetention), "retention") == 0);
	PolicyLimits none = {0, 0, 0};
	DecideOverdue(none, 1000000 * kS, &t);
	EXPECT(t.reason == OverdueReason::kNone);
}

/* TestClassifyDeduplicates covers a row found by two candidate queries. */
void
TestClassifyDeduplicates() {
	PolicyLimits limits = {0, 10, 10};
	MessageState rows[4] = {Message(7, 0, 0, 0), Message(3, 0, 0, 0), Message(7, 0, 0, 0),
							Message(5, 0, 50 * kS, 50 * kS)};
	std::size_t n = ClassifyMessages(&limits, 20 * kS, rows, 4);
	EXPECT(n == 3);
	EXPECT(rows[0].msg_id == 3 && rows[1].msg_id == 5 && rows[2].msg_id == 7);
	EXPECT(rows[0].reason == OverdueReason::kDeadline && rows[1].reason == OverdueReason::kNone);
}

/* TestAddSeconds covers the saturating sum at the ends of the valid range and with the infinities. */
void
TestAddSeconds() {
	EXPECT(AddSeconds(kNow, 60) == kNow + 60 * kS);
	EXPECT(AddSeconds(kNow, -60) == kNow - 60 * kS);
	EXPECT(AddSeconds(-1, 0) == -1 && AddSeconds(-1, 1) == kS - 1); /* microseconds kept below zero too */
	/* The infinities absorb any shift. */
	EXPECT(AddSeconds(kTimestampInfinity, INT32_MIN) == kTimestampInfinity);
	EXPECT(AddSeconds(kTimestampMinusInfinity, INT32_MAX) == kTimestampMinusInfinity);
	/* The last valid microsecond, and one past it. */
	EXPECT(AddSeconds(kLastDay, 86399) == kEndTimestamp - kS);
	EXPECT(AddSeconds(kEndTimestamp - 1, 0) == kEndTimestamp - 1);
	EXPECT(AddSeconds(kLastDay, 86400) == kTimestampInfinity);
	EXPECT(AddSeconds(kLastDay, 10 * 86400) == kTimestampInfinity); /* int64 overflow without saturation */
	EXPECT(AddSeconds(kLastDay, INT32_MAX) == kTimestampInfinity);
	/* The first valid microsecond, and one before it. */
	EXPECT(AddSeconds(kMinTimestamp, 0) == kMinTimestamp);
	EXPECT(AddSeconds(kMinTimestamp + 1, -1) == kTimestampMinusInfinity);
	EXPECT(AddSeconds(kYear4713BC, -38 * 86400) == kMinTimestamp); /* 4714-11-24 BC */
	EXPECT(AddSeconds(kYear4713BC, -38 * 86400 - 1) == kTimestampMinusInfinity);
	EXPECT(AddSeconds(kYear4713BC, INT32_MIN) == kTimestampMinusInfinity);
	EXPECT(AddSeconds(kYear4713BC, INT32_MAX) == kYear4713BC + int64_t{INT32_MAX} * kS);
	/* Shifts wider than the range, from either end. */
	EXPECT(AddSeconds(kMinTimestamp, INT64_MAX) == kTimestampInfinity);
	EXPECT(AddSeconds(kEndTimestamp - 1, INT64_MIN) == kTimestampMinusInfinity);
	constexpr int64_t kRangeSeconds = kEndTimestamp / kS - kMinTimestamp / kS; /* wider than int64 microseconds */
	EXPECT(AddSeconds(kMinTimestamp, kRangeSeconds - 1) == kEndTimestamp - kS);
	EXPECT(AddSeconds(kMinTimestamp, kRangeSeconds) == kTimestampInfinity);
	EXPECT(AddSeconds(kEndTimestamp - 1, 1 - kRangeSeconds) == kMinTimestamp + kS - 1);
	EXPECT(AddSeconds(kEndTimestamp - 1, -kRangeSeconds) == kTimestampMinusInfinity);
	/* ClampToFinite: the nearest valid time. */
	EXPECT(ClampToFinite(kTimestampInfinity) == kEndTimestamp - 1);
	EXPECT(ClampToFinite(kTimestampMinusInfinity) == kMinTimestamp);
	EXPECT(ClampToFinite(kNow) == kNow && ClampToFinite(kLastDay) == kLastDay);
}

/* TestExtremeTimes covers messages at the ends of time: never an overflow, due_at always a valid time. */
void
TestExtremeTimes() {
	PolicyLimits deadline = {0, 864000, 0};
	PolicyLimits all = {1, INT32_MAX, INT32_MAX};
	PolicyLimits retention = {0, 864000, 30 * 86400};
	/* Visible on the last valid day, or at 'infinity': never overdue by a deadline of 10 days. */
	MessageState late = Message(1, 0, kNow - 31 * kDay, kLastDay);
	DecideOverdue(deadline, kNow, &late);
	EXPECT(late.reason == OverdueReason::kNone);
	DecideOverdue(all, kNow, &late);
	EXPECT(late.reason == OverdueReason::kNone);
	MessageState never = Message(2, 0, kNow - 31 * kDay, kTimestampInfinity);
	DecideOverdue(deadline, kNow, &never);
	EXPECT(never.reason == OverdueReason::kNone);
	/* ... but retention counts from enqueued_at. */
	DecideOverdue(retention, kNow, &late);
	EXPECT(late.reason == OverdueReason::kRetention && late.due_at == kNow - kDay);
	DecideOverdue(retention, kNow, &never);
	EXPECT(never.reason == OverdueReason::kRetention && never.due_at == kNow - kDay);
	/* Read, then hidden until 'infinity': the deadline counts from its first visibility. */
	MessageState held = Message(3, 1, kNow - 11 * kDay, kTimestampInfinity, kNow - 11 * kDay);
	DecideOverdue(deadline, kNow, &held);
	EXPECT(held.reason == OverdueReason::kDeadline && held.due_at == kNow - kDay);
	/* Read max_deliveries times with vt '-infinity' (set_vt): due at once, due_at a valid time. */
	MessageState past = Message(4, 1, kNow, kTimestampMinusInfinity, kNow);
	DecideOverdue(all, kNow, &past);
	EXPECT(past.reason == OverdueReason::kMaxDeliveries && past.due_at == kMinTimestamp);
	/* enqueued_at '-infinity' or 4713 BC (set by hand): overdue, with a valid due_at. */
	MessageState ancient = Message(5, 0, kTimestampMinusInfinity, kNow);
	DecideOverdue(retention, kNow, &ancient);
	EXPECT(ancient.reason == OverdueReason::kRetention && ancient.due_at == kMinTimestamp);
	MessageState bc = Message(6, 0, kYear4713BC, kYear4713BC);
	DecideOverdue(all, kNow, &bc);
	EXPECT(bc.reason == OverdueReason::kDeadline && bc.due_at == kYear4713BC + int64_t{INT32_MAX} * kS);
	/* enqueued_at 'infinity' (set by hand): due by nothing. */
	MessageState future = Message(7, 1, kTimestampInfinity, kNow, kNow);
	DecideOverdue(retention, kNow, &future);
	EXPECT(future.reason == OverdueReason::kNone);
	/* A batch with such rows decides the ordinary ones as usual. */
	MessageState rows[3] = {Message(9, 0, kNow - 31 * kDay, kTimestampInfinity),
							Message(8, 0, kNow - 11 * kDay, kNow - 11 * kDay),
							Message(10, 0, kNow - 31 * kDay, kLastDay)};
	EXPECT(ClassifyMessages(&deadline, kNow, rows, 3) == 3);
	EXPECT(rows[0].msg_id == 8 && rows[0].reason == OverdueReason::kDeadline && rows[0].due_at == kNow - kDay);
	EXPECT(rows[1].reason == OverdueReason::kNone && rows[2].reason == OverdueReason::kNone);
}

} // namespace

int
main() {
	TestFirstVisible();
	TestDeadline();
	TestMaxDeliveries();
	TestEarliestReasonWins();
	TestClassifyDeduplicates();
	TestAddSeconds();
	TestExtremeTimes();
	if (failures != 0) {
		std::fprintf(stderr, "%d failure(s)\n", failures);
		return EXIT_FAILURE;
	}
	std::puts("overdue: all tests passed");
	return EXIT_SUCCESS;
}
