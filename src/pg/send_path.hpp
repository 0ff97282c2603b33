/*
 * send_path.hpp: the one way messages go into a queue table.
 *
 * Shell code. SendMessages is what pgmq.send and pgmq.send_batch call,
 * and what any other producer of messages (topic routing) should call. It
 * chooses the strategy: heap and index inserts through the access methods
 * when the table is as pgmq creates it (direct.hpp), else the prepared INSERT
 * statement (plans.hpp). It keeps the read hint right (readhint.hpp: the send
 * is announced before it takes msg_ids, and the hint is reset when they lie
 * below it) and marks the queue so that long polls wake up when the
 * transaction commits (wakeup.hpp).
 */
#pragma once

#include "pg/queue.hpp"

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

namespace pgmq::pg {

/*
 * SendMessages stores count (at least 1) messages, jsonb Datums ((Datum)0
 * stores a NULL message), in the queue, with the headers headers[i] (all NULL
 * when headers is NULL; (Datum)0 is a NULL header) and
 * visibility time vt; enqueued_at is the transaction's start, as the column
 * default now(). The queue must have been looked up with kSendAccess. Sets
 * *ids to the new msg_ids, in order, in the caller's memory context; returns
 * how many (count, unless the table's rules or triggers change that).
 * On a queue whose policy deduplicates (pg/dedup.hpp), a message whose
 * x-pgmq-dedup-id was sent within the window, or came earlier in the same
 * batch, is not inserted: its msg_id is the first message's. On a priority
 * queue (pg/priority.hpp) a header x-pgmq-priority that is not an integer
 * raises 22023 before anything is stored.
 */
uint64 SendMessages(const Queue *queue, TimestampTz vt, int count, const Datum *messages, const Datum *headers,
					int64 **ids);

} // namespace pgmq::pg
