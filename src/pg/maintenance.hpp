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
 * or not as a whole. The statements (pg/plans.hpp) are prepared once per
 * backend and queue and kept with the queue's message plans, bounded alike.
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
	Oid owner;           /* of the queue table: the moves run as this role */
	Oid extension_owner; /* of pgmq and its tables: the bookkeeping runs as this role */
	bool has_invalid_queue;
	Queue invalid_queue;
	core::PolicyLimits limits;
	bool retention_delete; /* retention_action = 'delete' */
	int32 dedup_seconds;   /* deduplication window, 0: none */
};

/* MoveCounts counts what a batch or pass did. */
struct MoveCounts {
	int64 deadline;       /* moved for the deadline */
	int64 max_deliveries; /* moved for max_deliveries */
	int64 retention;      /* removed for retention */
	int64 candidates;     /* rows locked by the candidate queries */
	int64 forgotten;      /* expired deduplication ids forgotten */
};

/*
 * Identities. The candidate and move statements (and so any trigger or rule on the queue, its archive
 * or its invalid queue) run as the queue table's owner; reading pgmq.queue_policy and writing
 * pgmq.queue_policy_stats, pgmq's own bookkeeping, run as the extension's owner, who owns those tables
 * (only that role can put a trigger on them). Each runs in a security-restricted operation inside a GUC
 * nest level with search_path = pg_catalog, pg_temp that is undone afterwards (or by the abort on an
 * error), as REFRESH MATERIALIZED VIEW does: the caller (a superuser worker, or whoever calls
 * run_maintenance) never runs a queue owner's code as itself, and no setting the code changes, even with
 * set_config(..., false), outlives it.
 */

/* QueueOwner returns the owner of a queue (or archive) table, InvalidOid when it is gone. */
Oid QueueOwner(Oid relid);

/* SavedIdentity is what SwitchIdentity changed, for RestoreIdentity: plain data. */
struct SavedIdentity {
	Oid user;
	int sec_context;
	int guc_nest_level;
};

/* QueueOwner returns the owner of a queue (or archive) table, InvalidOid when it is gone. */
Oid QueueOwner(Oid relid);

/* ExtensionOwner returns the owner of extension pgmq, who owns its tables (queue_policy, the stats, dedup). */
Oid ExtensionOwner();

/*
 * SwitchIdentity makes role the current user in a security-restricted operation with search_path
 * pinned (see Identities above); RestoreIdentity undoes it. Also used by the send path, which records
 * deduplication ids in pgmq.dedup as the extension's owner.
 */
void SwitchIdentity(Oid role, SavedIdentity *saved);
void RestoreIdentity(const SavedIdentity *saved);

/* PolicyQueueNames returns the names of queues with a policy limit or deduplication (SPI connected), in cxt. */
int PolicyQueueNames(MemoryContext cxt, char ***names);

/*
 * LoadQueuePolicy reads the queue's policy and locks the queue and its invalid queue; false when it
 * has none, the queue is gone, or the current user has not the privileges of the queue's owner (a superuser
 * has those of every role). Without wait it does not wait for those locks: false when someone else holds a
 * conflicting one (DDL such as drop_queue), so the worker never waits behind DDL or deadlocks with it.
 */
bool LoadQueuePolicy(const char *queue_name, QueuePolicy *policy, bool wait);

/* MaintainBatch runs one batch for the policy at time now (SPI connected) and adds to *counts. */
void MaintainBatch(const QueuePolicy *policy, TimestampTz now, int batch_size, MoveCounts *counts);

/* DestinationName says where messages moved for reason go ("<queue>", "archive" or "delete"). */
const char *DestinationName(const QueuePolicy *policy, core::OverdueReason reason);

} // namespace pgmq::pg
