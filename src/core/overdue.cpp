/*
 * overdue.cpp: the overdue decision for queue policies.
 */
#include "core/overdue.hpp"

#include <algorithm>

namespace pgmq::core {

int64_t
FirstVisibleAt(const MessageState &message) {
	int64_t visible;
	if (message.has_first_visible)
		visible = message.first_visible_at;
	else if (message.read_ct == 0)
		visible = message.vt;
	else
		visible = message.enqueued_at;
	return std::max(visible, message.enqueued_at);
}

void
DecideOverdue(const PolicyLimits &limits, int64_t now, MessageState *message) {
	/* Candidates in tie-break order: deadline, max_deliveries, retention. */
	OverdueReason reason = OverdueReason::kNone;
	int64_t due = 0;
	auto consider = [&](OverdueReason candidate, int64_t candidate_due) {
		if (candidate_due > now)
			return;
		if (reason == OverdueReason::kNone || candidate_due < due) {
			reason = candidate;
			due = candidate_due;
		}
	};
	if (limits.deadline_seconds > 0)
		consider(OverdueReason::kDeadline, AddSeconds(FirstVisibleAt(*message), limits.deadline_seconds));
	if (limits.max_deliveries > 0 && message->read_ct >= limits.max_deliveries)
		consider(OverdueReason::kMaxDeliveries, message->vt);
	if (limits.retention_seconds > 0)
		consider(OverdueReason::kRetention, AddSeconds(message->enqueued_at, limits.retention_seconds));
	message->reason = reason;
	/* Written into headers: a due time of '-infinity' (such a vt or enqueued_at) becomes the earliest valid one. */
	message->due_at = reason == OverdueReason::kNone ? 0 : ClampToFinite(due);
}

std::size_t
ClassifyMessages(const PolicyLimits *limits, int64_t now, MessageState *messages, std::size_t count) {
	MessageState *end = messages + count;
	std::sort(messages, end, [](const MessageState &a, const MessageState &b) { return a.msg_id < b.msg_id; });
	end = std::unique(messages, end, [](const MessageState &a, const MessageState &b) { return a.msg_id == b.msg_id; });
	for (MessageState *m = messages; m != end; ++m)
		DecideOverdue(*limits, now, m);
	return static_cast<std::size_t>(end - messages);
}

const char *
ReasonName(OverdueReason reason) noexcept {
	switch (reason) {
	case OverdueReason::kDeadline:
		return "deadline";
	case OverdueReason::kMaxDeliveries:
		return "max_deliveries";
	case OverdueReason::kRetention:
		return "retention";
	case OverdueReason::kNone:
		break;
	}
	return "none";
}

} // namespace pgmq::core
