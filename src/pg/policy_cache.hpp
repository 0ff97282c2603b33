/*
 * policy_cache.hpp: the per-backend cache of queue policies used by the read and send paths.
 *
 * Shell code. A read must know, without an extra query per call, whether its
 * queue has a policy (pgmq.queue_policy) and its max_deliveries. The cache
 * holds every policy row; it is loaded with one scan of the table on first
 * use (no privilege check: a role allowed to use a queue need not be allowed
 * to read pgmq.queue_policy) and
 * dropped when the relcache callback reports an invalidation of
 * pgmq.queue_policy. Row changes do not invalidate a relcache entry by
 * themselves, so a statement trigger on the table (pgmq._policy_changed)
 * calls CacheInvalidateRelcacheByRelid; other backends see it at their next
 * transaction start or lock acquisition, this backend at the next command.
 */
#pragma once

extern "C" {
#include "postgres.h"
}

#include "pg/queue.hpp"

namespace pgmq::pg {

/*
 * QueueHasPolicy says whether the queue has a policy; if so sets
 * *max_deliveries (PG_INT32_MAX when it has no limit). Call with SPI connected.
 */
bool QueueHasPolicy(const Queue *queue, int32 *max_deliveries);

/* Backoff is a queue's nack backoff: base_seconds * 2^(read_ct - 1), capped at max_seconds (0: none). */
struct Backoff {
	int32 base_seconds;
	int32 max_seconds;
	bool jitter; /* full jitter: uniform between 0 and that delay */
};

/* QueueBackoff says whether the queue's policy has a backoff (backoff_base_seconds); if so fills *backoff. */
bool QueueBackoff(const Queue *queue, Backoff *backoff);

/* QueuePriorities says whether the queue's policy reads by priority (set_policy(priorities => true)). */
bool QueuePriorities(const Queue *queue);

/* QueueInvalidQueue says whether the queue's policy has an invalid queue; if so copies its name to name
 * (kMaxQueueNameLength + 1 bytes). */
bool QueueInvalidQueue(const Queue *queue, char *name);

/* QueueDedupSeconds is the queue's deduplication window in seconds (dedup_seconds), 0 when it has none. */
int32 QueueDedupSeconds(const Queue *queue);

/* IsSomeInvalidQueue says whether another queue's policy names the queue as its invalid queue. */
bool IsSomeInvalidQueue(const Queue *queue);

/* PolicyRegisterCallbacks installs the relcache callback; called once from _PG_init. */
void PolicyRegisterCallbacks();

} // namespace pgmq::pg
