/*
 * plans.hpp: every statement pgmq prepares, the per-backend cache of their plans, and the SPI
 * helpers that run statements (message paths, policy maintenance, queue administration).
 *
 * Shell code. Each statement is built once per backend and queue with quoted identifiers,
 * prepared with SPI and kept (SPI_keepplan) in one hash table in TopMemoryContext, keyed by
 * the queue whose tables it names; statements on pgmq's own tables (pgmq.queue_policy, its
 * stats, pgmq.meta) have an entry of their own, which is never evicted. Values always travel
 * as parameters. PostgreSQL's plan cache re-analyses a kept plan after DDL on its tables, so
 * a queue dropped and re-created under the same name is picked up again; a plan made for a
 * table that is gone (another OID under the queue's name, or another destination queue of a
 * policy move) is freed and made again; drop_queue() in this backend also forgets the plans
 * of that queue.
 *
 * The plans of at most pgmq.plan_cache_queues queues are kept, message and maintenance plans
 * alike: the least recently used queue's are freed (SPI_freeplan) when one more queue needs
 * plans, so a backend's memory does not grow with the number of queues it touches or
 * maintains; plans of dropped queues age out the same way. Nothing is freed while a kept plan
 * runs (a trigger on a queue table may call pgmq for other queues); the next call trims.
 * Statements marked per call (kMetrics, kMetricsEnds, the pgmq.meta statements of create and drop) are
 * never kept: they are planned per call, so metrics_all() over thousands of queues leaves no
 * plans behind.
 */
#pragma once

#include "pg/queue.hpp"

extern "C" {
#include "postgres.h"

#include "executor/spi.h"
}

namespace pgmq::pg {

enum class Statement {
	/* On a queue's tables (queue and archive): the message paths. */
	kSend,         /* $1 vt timestamptz, $2 message jsonb, $3 headers jsonb -> msg_id */
	kSendBatch,    /* $1 vt, $2 messages jsonb[], $3 headers jsonb[] -> msg_id */
	kRead,         /* $1 qty int4, $2 now, $3 new vt, $4 lowest msg_id to look at -> message_record */
	kReadWhere,    /* $1 qty, $2 now, $3 new vt, $4 conditional jsonb, $5 lowest msg_id */
	kPop,          /* $1 qty, $2 now, $3 lowest msg_id -> message_record */
	kSetVt,        /* $1 msg_id int8, $2 vt -> message_record columns, old vt */
	kSetVtBatch,   /* $1 msg_ids int8[], $2 vt -> message_record columns, old vt */
	kDelete,       /* $1 msg_id -> msg_id, vt (the deleted row's) */
	kDeleteBatch,  /* $1 msg_ids -> msg_id, vt */
	kArchive,      /* $1 msg_id -> msg_id, vt */
	kArchiveBatch, /* $1 msg_ids -> msg_id, vt */
	kNack, /* $1 msg_ids, $2 now, $3 delay int4, $4..$6 backoff base, max, jitter, $7 error -> msg_id, new vt, old vt */
	kArchiveResult, /* $1 msg_id, $2 result jsonb -> msg_id, vt */
	kStatus,        /* $1 msg_ids, $2 now -> id, state (NULL: in neither table), the status columns */
	kStatusInvalid, /* $1 msg_ids, $2 queue name; in the invalid queue -> id, read_ct, times, last_error, reason */
	kMetrics, /* $1 now, $2 queue oid -> count, visible count, highest and lowest msg_id's enqueued_at, last msg_id */
	kMetricsEnds, /* $1 now, $2 queue oid -> highest and lowest msg_id's enqueued_at, last msg_id */
	/* As kDelete, kDeleteBatch, kArchive, kArchiveBatch, kArchiveResult, returning only msg_id (no SELECT on vt). */
	kDeleteIds,
	kDeleteBatchIds,
	kArchiveIds,
	kArchiveBatchIds,
	kArchiveResultIds,
	kNextVt, /* $1 now, $2 max_deliveries -> earliest vt after now, any row visible by vt read < $2 times */
	/* Queues with a policy (pg/policy_cache.hpp): skip messages read $4 (pop: $3) times, remember first visibility. */
	kReadPolicy,      /* $1 qty, $2 now, $3 new vt, $4 max_deliveries int4, $5 lowest msg_id */
	kReadWherePolicy, /* as kReadPolicy but $5 conditional, $6 lowest msg_id */
	kPopPolicy,       /* $1 qty, $2 now, $3 max_deliveries, $4 lowest msg_id */
	/* Priority queues (pg/priority.hpp): as the policy statements, in the order of the priority index. */
	kReadPriority,      /* $1 qty, $2 now, $3 new vt, $4 max_deliveries -> message_record, priority order */
	kReadWherePriority, /* as kReadPriority, $5 conditional */
	kPopPriority,       /* $1 qty, $2 now, $3 max_deliveries -> message_record, priority order */
	/* FIFO groups (grouped reads in pg/read_path.cpp); max_deliveries is PG_INT32_MAX without a policy. */
	kGroupScan,     /* $1 now, $2 after msg_id, $3 limit, $4 max_deliveries -> msg_id, group, takeable */
	kGroupHeads,    /* $1 now, $2 after msg_id, $3 max_deliveries -> as kGroupScan, the heads of all groups */
	kGroupLockHead, /* $1 msg_id, $2 now, $3 max_deliveries -> msg_id when visible and locked */
	kGroupRun,  /* $1 group, $2 head msg_id, $3 now, $4 limit, $5 max_deliveries -> msg_ids after it, taken (locked) */
	kGroupTake, /* $1 msg_ids int8[], $2 now, $3 new vt -> message_record in array order */
	kGroupTakePolicy, /* as kGroupTake, also first_visible_at */
	/* Policy maintenance (pg/maintenance.hpp): candidates -> msg_id, read_ct, enqueued_at, vt, first_visible_at. */
	kCandidateDeadline,      /* $1 now - deadline, $2 limit */
	kCandidateMaxDeliveries, /* $1 now, $2 limit, $3 max_deliveries */
	kCandidateRetention,     /* $1 now - retention, $2 limit */
	kMoveToQueue,   /* $1 ids, $2 reasons, $3 due_at, $4 now, $5 source queue name; into the destination queue */
	kMoveToArchive, /* as kMoveToQueue, into the queue's archive */
	/* On pgmq's own tables: pass no queue. */
	kPolicyQueues,    /* -> queue_name of every policy with a limit */
	kLoadPolicy,      /* $1 queue_name -> invalid_queue, limits, retention_action = 'delete' */
	kPolicyStats,     /* $1 queue_name, $2..$4 counts, $5 moved_at: add to pgmq.queue_policy_stats */
	kMetaExists,      /* $1 normalised name -> 1 when pgmq.meta has the queue */
	kMetaInsert,      /* $1 name as given, $2 is_unlogged: add the queue to pgmq.meta unless there */
	kMetaDelete,      /* $1 normalised name: remove the queue from pgmq.meta */
	kInvalidQueueFor, /* $1 queue_name -> first other queue whose policy sends overdue messages to it */
	/* Deduplication (pg/send_path.cpp, pg/maintenance.cpp); kSendWithIds is on the queue's table. */
	kSendWithIds,        /* $1 vt, $2 messages jsonb[], $3 headers jsonb[], $4 msg_ids int8[] -> msg_id */
	kDedupClaim,         /* $1 queue_name, $2 dedup ids text[], $3 msg_ids, $4 now, $5 window start -> id, msg_id */
	kDedupForgetExpired, /* $1 queue_name, $2 window start, $3 limit: forget ids sent before the window */
	kDedupForgetQueue,   /* $1 queue_name: forget every id of the queue */
	kCount               /* number of statements, not a statement */
};

/*
 * PreparedPlan returns the plan of statement for queue (nullptr for a statement on pgmq's own
 * tables; destination is the queue kMoveToQueue moves into): the kept one, or for a statement planned
 * per call one that SPI_finish frees. Call between SPI_connect and SPI_finish.
 */
SPIPlanPtr PreparedPlan(const Queue *queue, Statement statement, const Queue *destination = nullptr);

/*
 * KeepPlan prepares sql (with nargs parameters of argtypes) and keeps the plan for the
 * life of the backend; generic forces the generic plan. The one place plans are kept.
 */
SPIPlanPtr KeepPlan(const char *sql, int nargs, const Oid *argtypes, bool generic);

/* ForgetQueuePlans frees this backend's plans of the queue (after drop_queue). */
void ForgetQueuePlans(const Queue *queue);

/*
 * ExecutePlan runs a plan (no kept plan is freed meanwhile) with nulls as SPI_execute_plan takes
 * them (nullptr: none), raises on any SPI failure; returns SPI_processed.
 */
uint64 ExecutePlan(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only);

/* ExecuteStatement runs statement for queue (see PreparedPlan); returns SPI_processed. */
uint64 ExecuteStatement(const Queue *queue, Statement statement, Datum *values, const char *nulls, bool read_only);

/* ExecuteSql runs a one-off statement text (DDL built for one call), raises on failure; returns SPI_processed. */
uint64 ExecuteSql(const char *sql, bool read_only);

/* ConnectSpi / FinishSpi wrap SPI_connect / SPI_finish with error checks. */
/* IdArray makes a bigint[] of count msg_ids (count >= 0), a statement argument, in the current context. */
Datum IdArray(const int64 *ids, int count);

void ConnectSpi();
void FinishSpi();

} // namespace pgmq::pg
