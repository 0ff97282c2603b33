/*
 * policy_cache.hpp: the per-backend cache of queue policies used by the read path.
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
 * QueueHasPolicyUnsafe says whether the queue has a policy; if so sets
 * *max_deliveries (PG_INT32_MAX when it has no limit). Call with SPI connected.
 */
bool QueueHasPolicyUnsafe(const Queue *queue, int32 *max_deliveries);

/* PolicyRegisterCallbacks installs the relcache callback; called once from _PG_init. */
void PolicyRegisterCallbacks();

} // namespace pgmq::pg
