/*
 * read_path.hpp: the one way messages are read (and popped) from a queue table.
 *
 * Shell code. A read takes the oldest visible messages (vt <= clock time) in
 * msg_id order, skipping rows other transactions hold (FOR UPDATE SKIP
 * LOCKED), and hides them until clock time + vt seconds. ReadMessages
 * chooses the strategy for each attempt: for a queue with a policy
 * (policy_cache.hpp) the prepared statement that never hands out a message beyond
 * max_deliveries (on a priority queue, pg/priority.hpp, the one that walks its
 * priority index, highest x-pgmq-priority first, then msg_id, except on every
 * pgmq.priority_fifo_every-th read of the backend, which stays FIFO); else one
 * scan through the access methods when the table is
 * as pgmq creates it (direct.hpp), else the prepared statement followed, when
 * the head looks far from the read hint, by a probe. It scans from the read
 * hint and moves it (readhint.hpp), and for read_with_poll waits for sends to
 * commit, for the earliest vt its empty read saw, or for changes that free a
 * message earlier (wakeup.hpp).
 */
#pragma once

#include "pg/queue.hpp"

extern "C" {
#include "postgres.h"

#include "fmgr.h"
}

namespace pgmq::pg {

/*
 * GroupMode says how a read treats FIFO groups (header x-pgmq-group; messages
 * without it, or with a JSON null, form the group _default_fifo_group). A
 * grouped read takes messages only of groups whose head (oldest message)
 * is visible and not locked by another transaction: it locks the head
 * (FOR UPDATE SKIP LOCKED, re-checking the newest row version), and takes
 * the group's following messages only up to the first one it cannot take,
 * so no two readers hold messages of one group at a time and a group with a
 * message in flight gives nothing newer until it is acknowledged or its vt
 * passes. Groups are visited oldest head first, found by walking the queue
 * in msg_id order; a group's messages come through the index
 * create_fifo_index makes (without it, a scan of the queue per group).
 */
enum class GroupMode {
	kNone,       /* read: no groups */
	kGrouped,    /* read_grouped: fill the batch from the oldest group, then the next */
	kRoundRobin, /* read_grouped_rr: the heads of the oldest groups, then their second messages, ... */
	kHead,       /* read_grouped_head: the head of each of the oldest groups */
};

/* ReadRequest is a read's checked arguments. */
struct ReadRequest {
	GroupMode group;        /* FIFO groups: kNone for read and read_with_poll */
	int32 vt;               /* seconds the messages stay hidden, >= 0 */
	int32 qty;              /* at most this many messages, >= 0 (PG_INT32_MAX: every visible one) */
	Datum conditional;      /* jsonb the messages must contain; 0 when absent or '{}' */
	int32 poll_seconds;     /* read_with_poll: wait this long for messages; -1 for a plain read */
	int32 poll_interval_ms; /* read_with_poll: read again at least this often, >= 1 */
};

/*
 * ReadMessages reads from the queue (looked up with kReadAccess) as
 * request says and appends the messages, in msg_id order (a priority read:
 * in priority order), to fcinfo's
 * materialized result set (pg/results.hpp, begun by the caller). With
 * poll_seconds >= 0 it reads again, while nothing was found and poll_seconds
 * have not passed, whenever a send to the queue commits, the earliest future
 * vt the empty read saw passes, a change that may free a message earlier ends
 * (wakeup.hpp), or poll_interval_ms pass. Grouped reads (request->group) append the messages in the order
 * they were chosen (read_grouped: group by group, oldest group first).
 * Returns how many messages it appended.
 */
uint64 ReadMessages(FunctionCallInfo fcinfo, const Queue *queue, const ReadRequest *request);

/*
 * PopMessages deletes up to qty of the oldest visible messages of the
 * queue (looked up with kPopAccess) and appends them to fcinfo's result set,
 * as ReadMessages; returns how many.
 */
uint64 PopMessages(FunctionCallInfo fcinfo, const Queue *queue, int32 qty);

} // namespace pgmq::pg
