/*
 * overdue_test.cpp: unit tests of the pure C++ overdue decision (src/core/overdue.cpp).
 * Built and run by test/worker/test_core.py: g++ -std=c++17 -Isrc ... && ./overdue_test
 */
#include "core/overdue.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

using pgmq::core::ClassifyMessages;
using pgmq::core::DecideOverdue;
using pgmq::core::FirstVisibleAt;
using pgmq::core::MessageState;
using pgmq::core::OverdueReason;
using pgmq::core::PolicyLimits;
using pgmq::core::ReasonName;

namespace {

constexpr int64_t kS = pgmq::core::kMicrosPerSecond;
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

} // namespace

int
main() {
	TestFirstVisible();
	TestDeadline();
	TestMaxDeliveries();
	TestEarliestReasonWins();
	TestClassifyDeduplicates();
	if (failures != 0) {
		std::fprintf(stderr, "%d failure(s)\n", failures);
		return EXIT_FAILURE;
	}
	std::puts("overdue: all tests passed");
	return EXIT_SUCCESS;
}
