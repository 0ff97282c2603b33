/*
 * read_path.hpp: the one way messages are read (and popped) from a queue table.
 *
 * Shell code. A read takes the oldest visible messages (vt <= clock time) in
 * msg_id order, skipping rows other transactions hold (FOR UPDATE SKIP
 * LOCKED), and hides them until clock time + vt seconds. ReadMessagesUnsafe
 * chooses the strategy for each attempt: for a queue with a policy
 * (policy.hpp) the prepared statement that never hands out a message beyond
 * max_deliveries; else one scan through the access methods when the table is
 * as pgmq creates it (direct.hpp), else the prepared statement followed, when
 * the head looks far from the read hint, by a probe. It scans from the read
 * hint and moves it (readhint.hpp), and for read_with_poll waits for sends to
 * commit (wakeup.hpp).
 */
#pragma once

#include "pg/queue.hpp"

extern "C" {
#include "postgres.h"

#include "fmgr.h"
}

namespace pgmq::pg {

/* ReadRequest is a read's checked arguments. */
struct ReadRequest {
	int32 vt;               /* seconds the messages stay hidden, >= 0 */
	int32 qty;              /* at most this many messages, >= 0 (PG_INT32_MAX: every visible one) */
	Datum conditional;      /* jsonb the messages must contain; 0 when absent or '{}' */
	int32 poll_seconds;     /* read_with_poll: wait this long for messages; -1 for a plain read */
	int32 poll_interval_ms; /* read_with_poll: read again at least this often, >= 1 */
};

/*
 * ReadMessagesUnsafe reads from the queue (looked up with kReadAccess) as
 * request says and appends the messages, in msg_id order, to fcinfo's
 * materialized result set (pg/results.hpp, begun by the caller). With
 * poll_seconds >= 0 it reads again, while nothing was found and poll_seconds
 * have not passed, whenever a send to the queue commits (or poll_interval_ms
 * pass). Returns how many messages it appended.
 */
uint64 ReadMessagesUnsafe(FunctionCallInfo fcinfo, const Queue *queue, const ReadRequest *request);

/*
 * PopMessagesUnsafe deletes up to qty of the oldest visible messages of the
 * queue (looked up with kPopAccess) and appends them to fcinfo's result set,
 * as ReadMessagesUnsafe; returns how many.
 */
uint64 PopMessagesUnsafe(FunctionCallInfo fcinfo, const Queue *queue, int32 qty);

} // namespace pgmq::pg
