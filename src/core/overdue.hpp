/*
 * overdue.hpp: when a message breaks its queue's policy (pure C++).
 *
 * A policy has up to three limits (0 = no limit):
 *  - deadline: overdue deadline_seconds after the message first became
 *    visible. First visible = the vt it had when first read (remembered in
 *    first_visible_at by reads of a queue with a policy), or its vt while it
 *    was never read; never earlier than enqueued_at. A message read before
 *    the policy existed has no first_visible_at and counts from enqueued_at.
 *  - max_deliveries: read max_deliveries times and its vt has expired again;
 *    due at that vt.
 *  - retention: enqueued_at + retention_seconds.
 * When several limits are broken the one that fell due first is the reason;
 * ties go to deadline, then max_deliveries, then retention.
 * Times are PostgreSQL TimestampTz values: microseconds since 2000-01-01, with
 * the infinities (core/time.hpp). Due times saturate instead of overflowing: a
 * message visible at 'infinity' (or so late that the deadline passes the end
 * of the valid range) is never overdue by deadline; its retention still
 * counts from enqueued_at.
 */
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/time.hpp"

namespace pgmq::core {

struct PolicyLimits {
	int32_t max_deliveries;    /* 0 = none */
	int32_t deadline_seconds;  /* 0 = none */
	int32_t retention_seconds; /* 0 = none */
};

enum class OverdueReason : int32_t { kNone = 0, kDeadline, kMaxDeliveries, kRetention };

/* MessageState is what a decision needs of one message row. */
struct MessageState {
	int64_t msg_id;
	int32_t read_ct;
	bool has_first_visible;
	int64_t enqueued_at;
	int64_t vt;
	int64_t first_visible_at; /* meaningful when has_first_visible */
	/* Filled by ClassifyMessages: */
	OverdueReason reason;
	int64_t due_at; /* a finite valid timestamp (clamped), 0 when reason is kNone */
};

/* FirstVisibleAt returns when the message first became visible (see above). */
int64_t FirstVisibleAt(const MessageState &message);

/* DecideOverdue sets message->reason and message->due_at for the time now. */
void DecideOverdue(const PolicyLimits &limits, int64_t now, MessageState *message);

/*
 * ClassifyMessages sorts messages[0..count) by msg_id, drops duplicate msg_ids,
 * decides each one and returns how many distinct messages remain at the front.
 */
std::size_t ClassifyMessages(const PolicyLimits *limits, int64_t now, MessageState *messages, std::size_t count);

/* ReasonName is the reason as recorded in headers and statistics ("deadline", ...). */
const char *ReasonName(OverdueReason reason) noexcept;

} // namespace pgmq::core

#include "core/core_only.hpp"
