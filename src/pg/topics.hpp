/*
 * topics.hpp: the per-backend cache of topic bindings (pgmq.topic_bindings) and its compiled router.
 *
 * Shell code. send_topic must not scan and regex-match every binding per call: the cache holds
 * every binding row and the router core/routing.hpp compiled from their patterns, in a memory
 * context under CacheMemoryContext. It is loaded with one scan of the table on first use (no
 * privilege check: sending still needs the privileges of a send on every target queue) and
 * rebuilt after the relcache callback reports an invalidation of pgmq.topic_bindings. A
 * statement trigger on the table (pgmq._topic_bindings_changed) sends that invalidation, as
 * pgmq._policy_changed does for policies (see policy_cache.hpp).
 */
#pragma once

#include "core/routing.hpp"

extern "C" {
#include "postgres.h"

#include "utils/jsonb.h"
}

namespace pgmq::pg {

/* TopicBinding is one row of pgmq.topic_bindings. */
struct TopicBinding {
	const char *pattern;
	const char *queue_name;
	const char *compiled_regex; /* NULL when the column is NULL */
	Jsonb *filter;              /* NULL: no filter */
	uint32 queue;               /* index into TopicCache::queues */
};

/* TopicCache is every binding, the distinct queue names in strcmp order, and the router (binding i = pattern i). */
struct TopicCache {
	uint32 binding_count;
	uint32 queue_count;
	TopicBinding *bindings;
	const char **queues;
	const core::Router *router;
};

/*
 * CurrentTopicCache returns the current cache, reloading it if bindings changed. It takes an
 * AccessShareLock on pgmq.topic_bindings and processes pending invalidations, so every call sees the
 * bindings committed before it (as a statement in READ COMMITTED would). The cache stays valid until
 * the next call; callers copy what they keep past calls that may run user code (triggers).
 */
const TopicCache *CurrentTopicCache();

/* TopicBindingsRelid returns the OID of pgmq.topic_bindings (42P01 if it is missing). */
Oid TopicBindingsRelid();

/* TopicsRegisterCallbacks installs the relcache callback; called once from _PG_init. */
void TopicsRegisterCallbacks();

} // namespace pgmq::pg
