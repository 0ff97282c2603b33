/*
 * policy.cpp: the per-backend policy cache and its invalidation.
 */
#include "pg/policy.hpp"

#include "pg/plans.hpp"

extern "C" {
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
}

namespace pgmq::pg {

namespace {

struct CachedPolicy {
	char queue[core::kMaxQueueNameLength + 1]; /* key, must be first */
	int32 max_deliveries;
};

HTAB *policy_cache = nullptr;
uint64 cache_generation = 0;   /* generation the cache was loaded for */
uint64 policy_generation = 1;  /* bumped by the relcache callback */
Oid policy_relid = InvalidOid; /* pgmq.queue_policy, InvalidOid until known */

/* PolicyRelcacheCallback notes that pgmq.queue_policy (or every relation) was invalidated. */
void
PolicyRelcacheCallback(Datum, Oid relid) {
	if (relid == InvalidOid || relid == policy_relid) {
		policy_generation++;
		policy_relid = InvalidOid;
	}
}

/* LoadPolicyCacheUnsafe (re)reads every policy row into a fresh hash table. */
void
LoadPolicyCacheUnsafe() {
	if (policy_cache != nullptr) {
		hash_destroy(policy_cache);
		policy_cache = nullptr;
	}
	/* Taken first: an invalidation that arrives while loading makes the next call load again. */
	uint64 generation = policy_generation;
	policy_relid = get_relname_relid("queue_policy", PgmqNamespaceUnsafe());

	HASHCTL ctl;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(CachedPolicy::queue);
	ctl.entrysize = sizeof(CachedPolicy);
	ctl.hcxt = CacheMemoryContext;
	HTAB *table = hash_create("pgmq policies", 16, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	int rc = SPI_execute("SELECT queue_name::text, max_deliveries FROM pgmq.queue_policy", true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "pgmq: reading pgmq.queue_policy failed: %s", SPI_result_code_string(rc));
	for (uint64 i = 0; i < SPI_processed; i++) {
		bool isnull;
		char *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		Datum limit = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
		char key[core::kMaxQueueNameLength + 1];
		memset(key, 0, sizeof(key));
		strlcpy(key, name, sizeof(key));
		CachedPolicy *entry = static_cast<CachedPolicy *>(hash_search(table, key, HASH_ENTER, nullptr));
		entry->max_deliveries = isnull ? PG_INT32_MAX : DatumGetInt32(limit);
	}
	SPI_freetuptable(SPI_tuptable);
	policy_cache = table;
	cache_generation = generation;
}

} // namespace

bool
QueueHasPolicyUnsafe(const Queue *queue, int32 *max_deliveries) {
	if (policy_cache == nullptr || cache_generation != policy_generation)
		LoadPolicyCacheUnsafe();
	char key[core::kMaxQueueNameLength + 1];
	memset(key, 0, sizeof(key));
	memcpy(key, queue->name.text, queue->name.length);
	CachedPolicy *entry = static_cast<CachedPolicy *>(hash_search(policy_cache, key, HASH_FIND, nullptr));
	if (entry == nullptr)
		return false;
	*max_deliveries = entry->max_deliveries;
	return true;
}

uint64
PolicyGeneration() {
	return policy_generation;
}

void
PolicyRegisterCallbacks() {
	CacheRegisterRelcacheCallback(PolicyRelcacheCallback, (Datum)0);
}

} // namespace pgmq::pg
