/*
 * metrics_path.hpp: what metrics() reports of a queue, without scanning its table when it can.
 *
 * Shell code. queue_length and queue_visible_length come from the queue's
 * shared counters (counters.hpp) when they are valid or can be rebuilt now
 * (one scan, writers go on); the ages are those of the messages at the two
 * ends of the primary key (lowest and highest msg_id); total_messages is
 * the msg_id sequence's last value. Without valid counters (not preloaded,
 * no slot, the vts do not fit, or the rebuild cannot run) the lengths come
 * from one scan of the table, as PGMQ computes them.
 */
#pragma once

#include "pg/queue.hpp"

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

namespace pgmq::pg {

struct QueueStats {
	TimestampTz now; /* the time the visible length and the ages are of */
	int64 length;
	int64 visible;
	TimestampTz newest; /* enqueued_at of the highest msg_id, when has_newest */
	TimestampTz oldest;
	bool has_newest;
	bool has_oldest;
	int64 total;  /* the sequence's last value, 0 before the first send */
	bool counted; /* the lengths came from the shared counters */
};

/*
 * QueueMetrics fills *stats for queue, a looked-up queue (kMetricsAccess), as
 * of now (the transaction's start), or of the current time when the counters
 * hold changes made after now (counters.hpp).
 */
void QueueMetrics(const Queue *queue, TimestampTz now, QueueStats *stats);

} // namespace pgmq::pg
