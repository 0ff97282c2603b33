/*
 * dedup.hpp: message deduplication (set_policy(..., dedup_seconds => N)).
 *
 * Shell code. A message sent to a queue whose policy has dedup_seconds, with
 * the header x-pgmq-dedup-id, is recorded in pgmq.dedup (queue, id, msg_id,
 * sent_at); another send of that id within N seconds of sent_at inserts
 * nothing and returns the recorded msg_id (SQS semantics). The primary key
 * (queue_name, dedup_id) makes it exact across concurrent senders: the second
 * sender's insert waits for the first transaction and then takes the first's
 * msg_id (committed) or records its own (rolled back). An id recorded before
 * the window is replaced by the next send of it, and forgotten by the worker
 * (pg/maintenance.cpp). pgmq.dedup belongs to pgmq: the send path writes it as
 * the extension's owner, in a security-restricted operation, after the queue
 * lookup checked the caller's INSERT privilege on the queue; no other role has
 * a privilege on it. The send itself is in send_path.cpp.
 */
#pragma once

#include "pg/queue.hpp"

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

namespace pgmq::pg {

/* kMaxDedupIdLength is the longest x-pgmq-dedup-id, in characters (SQS's MessageDeduplicationId). */
constexpr int kMaxDedupIdLength = 128;

/*
 * DedupIdOf returns the x-pgmq-dedup-id of a message's headers as text, nullptr when the headers
 * (a jsonb Datum, (Datum)0 for NULL) are not an object with that key. Raises 22023 when the value
 * is not a string, is empty or is longer than kMaxDedupIdLength characters.
 */
text *DedupIdOf(Datum headers);

/*
 * ClaimDedupIds records count distinct dedup ids ids[0..count) (in the order of CompareDedupIds, so that
 * two senders wait for each other's ids in one order and never deadlock) for the queue, with the msg_ids
 * proposed[0..count), at time now; first[k] is the msg_id id k stands for: proposed[k] when this send
 * recorded it, else that of its send within the window of window_seconds. Connects SPI itself.
 */
void ClaimDedupIds(const Queue *queue, int32 window_seconds, TimestampTz now, int count, text *const *ids,
				   const int64 *proposed, int64 *first);

/* CompareDedupIds orders two dedup ids as the primary key of pgmq.dedup does (COLLATE "C"). */
int CompareDedupIds(const text *a, const text *b);

/* ForgetDedupIds forgets every dedup id of the queue (drop_queue, purge_queue); SPI connected. */
void ForgetDedupIds(const Queue *queue);

} // namespace pgmq::pg
