/*
 * overdue_extremes_test.cpp: the overdue decision (src/core/overdue.cpp) at the ends of the
 * timestamp range. A vt or enqueued_at can be anything a timestamptz holds (set_vt takes
 * '294276-12-31', plain SQL can store 'infinity'), and limits go up to INT32_MAX seconds, so
 * the sums in DecideOverdue must neither overflow (UBSan stops the program) nor wrap around
 * into the past and make a message overdue. Built with the sanitizers by test/core/run.sh.
 */
#include "core/overdue.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>

using pgmq::core::DecideOverdue;
using pgmq::core::MessageState;
using pgmq::core::OverdueReason;
using pgmq::core::PolicyLimits;

namespace {

constexpr int64_t kS = pgmq::core::kMicrosPerSecond;
/* PostgreSQL's finite range: 4713-11-24 BC (MIN_TIMESTAMP) to 294276-12-31 (END_TIMESTAMP - 1). */
constexpr int64_t kEarliest = -211813488000000000;
constexpr int64_t kLatest = 9223371331200000000 - 1;
/* 'infinity' and '-infinity' (DT_NOEND, DT_NOBEGIN). */
constexpr int64_t kInfinity = std::numeric_limits<int64_t>::max();
constexpr int64_t kMinusInfinity = std::numeric_limits<int64_t>::min();
/* 2026-12-01, as microseconds since 2000-01-01. */
constexpr int64_t kNow = 849398400 * kS;
constexpr int32_t kMaxSeconds = std::numeric_limits<int32_t>::max();
const PolicyLimits kAllLimits = {1, kMaxSeconds, kMaxSeconds};

int failures = 0;

#define EXPECT(cond)                                                                                                   \
	do {                                                                                                               \
		if (!(cond)) {                                                                                                 \
			std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);                                   \
			failures++;                                                                                                \
		}                                                                                                              \
	} while (0)

MessageState
Message(int32_t read_ct, int64_t enqueued_at, int64_t vt) {
	MessageState m;
	std::memset(&m, 0, sizeof(m));
	m.msg_id = 1;
	m.read_ct = read_ct;
	m.enqueued_at = enqueued_at;
	m.vt = vt;
	return m;
}

/* Decide returns the reason DecideOverdue gives message under limits at now. */
OverdueReason
Decide(const PolicyLimits &limits, int64_t now, MessageState message) {
	DecideOverdue(limits, now, &message);
	return message.reason;
}

/* TestFarFuture: messages visible or enqueued at the end of time are never overdue now. */
void
TestFarFuture() {
	EXPECT(Decide(kAllLimits, kNow, Message(0, kNow, kLatest)) == OverdueReason::kNone);
	EXPECT(Decide(kAllLimits, kNow, Message(0, kLatest, kLatest)) == OverdueReason::kNone);
	EXPECT(Decide(kAllLimits, kNow, Message(0, kNow, kInfinity)) == OverdueReason::kNone);
	EXPECT(Decide(kAllLimits, kNow, Message(3, kInfinity, kInfinity)) == OverdueReason::kNone);
	PolicyLimits deadline_only = {0, 1, 0};
	EXPECT(Decide(deadline_only, kNow, Message(0, kNow - 10 * kS, kInfinity)) == OverdueReason::kNone);
	PolicyLimits retention_only = {0, 0, kMaxSeconds};
	EXPECT(Decide(retention_only, kLatest, Message(0, kLatest - 1, kLatest)) == OverdueReason::kNone);
}

/* TestFarPast: messages from the beginning of time are overdue, with a due time in range. */
void
TestFarPast() {
	MessageState m = Message(0, kEarliest, kEarliest);
	DecideOverdue(kAllLimits, kNow, &m);
	EXPECT(m.reason == OverdueReason::kDeadline);
	EXPECT(m.due_at >= kEarliest && m.due_at <= kNow);
	m = Message(0, kMinusInfinity, kMinusInfinity);
	DecideOverdue(kAllLimits, kNow, &m);
	EXPECT(m.reason != OverdueReason::kNone);
	EXPECT(m.due_at <= kNow);
}

} // namespace

int
main() {
	TestFarFuture();
	TestFarPast();
	if (failures > 0) {
		std::fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	std::printf("all tests passed\n");
	return 0;
}
