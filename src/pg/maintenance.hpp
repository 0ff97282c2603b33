/*
 * maintenance.hpp: enforcing queue policies (moving overdue messages).
 *
 * Shell code shared by pgmq.run_maintenance() and the background worker.
 * One batch, for one queue, inside the caller's transaction:
 *  1. up to batch_size candidate rows per broken limit are selected with
 *     FOR UPDATE SKIP LOCKED (a consumer holding a row, e.g. about to delete
 *     it, is skipped, never overtaken; READ COMMITTED re-checks the condition
 *     on the newest version of each row it locks);
 *  2. core::ClassifyMessages decides, per locked row, whether and why it is
 *     overdue (src/core/overdue.hpp);
 *  3. one statement per destination deletes the rows from the queue and
 *     inserts them into the invalid queue (or the archive), or only deletes
 *     them (retention_action 'delete'); pgmq.queue_policy_stats is updated.
 * So a crash at any instant loses and duplicates nothing: the batch commits
 * or not as a whole. Statements are prepared once per backend and queue and
 * kept until the policies change.
 */
#pragma once

#include "core/overdue.hpp"
#include "pg/queue.hpp"

extern "C" {
#include "postgres.h"

#include "utils/timestamp.h"
}

namespace pgmq::pg {

/* QueuePolicy is one pgmq.queue_policy row, checked and resolved. */
struct QueuePolicy {
	Queue queue;
	bool has_invalid_queue;
	Queue invalid_queue;
	core::PolicyLimits limits;
	bool retention_delete; /* retention_action = 'delete' */
};

/* MoveCounts counts what a batch or pass did. */
struct MoveCounts {
	int64 deadline;       /* moved for the deadline */
	int64 max_deliveries; /* moved for max_deliveries */
	int64 retention;      /* removed for retention */
	int64 candidates;     /* rows locked by the candidate queries */
};

/* PolicyQueueNamesUnsafe returns the names of queues with a policy (SPI connected), allocated in cxt. */
int PolicyQueueNamesUnsafe(MemoryContext cxt, char ***names);

/* LoadQueuePolicyUnsafe reads the queue's policy; false when it has none or the queue is gone. */
bool LoadQueuePolicyUnsafe(const char *queue_name, QueuePolicy *policy);

/*
 * MaintainBatchUnsafe runs one batch for the policy at time now (SPI connected) and adds to *counts.
 * With as_owner the candidate and move statements (and so any trigger on the queues) run as the queue
 * table's owner in a security-restricted operation, as autovacuum does: the background worker is a
 * superuser, and a role allowed to put a trigger on its queue must not run code as one. They run inside
 * a GUC nest level with search_path = pg_catalog, pg_temp that is undone afterwards, as REFRESH
 * MATERIALIZED VIEW does: no setting the owner's code changes, even with set_config(..., false),
 * outlives the batch and reaches the worker's other queues.
 */
void MaintainBatchUnsafe(const QueuePolicy *policy, TimestampTz now, int batch_size, MoveCounts *counts, bool as_owner);

/* DestinationName says where messages moved for reason go ("<queue>", "archive" or "delete"). */
const char *DestinationName(const QueuePolicy *policy, core::OverdueReason reason);

} // namespace pgmq::pg
