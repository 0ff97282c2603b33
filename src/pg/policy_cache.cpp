/*
 * policy_cache.cpp: the per-backend policy cache and its invalidation.
 */
#include "pg/policy_cache.hpp"

#include "pg/plans.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
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

/*
 * LoadPolicyCacheUnsafe (re)reads every policy row into a fresh hash table. The table is scanned
 * directly, not with SQL, so that a role allowed to use one queue's tables can read that queue
 * without privileges on pgmq.queue_policy; the cache only steers the read path and is never shown.
 */
void
LoadPolicyCacheUnsafe() {
	if (policy_cache != nullptr) {
		hash_destroy(policy_cache);
		policy_cache = nullptr;
	}
	/* Taken first: an invalidation that arrives while loading makes the next call load again. */
	uint64 generation = policy_generation;
	/* A local copy: the relcache callback may reset policy_relid while table_open processes invalidations. */
	Oid relid = get_relname_relid("queue_policy", PgmqNamespaceUnsafe());
	policy_relid = relid;
	if (!OidIsValid(relid))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("table pgmq.queue_policy does not exist"),
						errhint("Reinstall the pgmq extension.")));

	Relation relation = table_open(relid, AccessShareLock);
	TupleDesc desc = RelationGetDescr(relation);
	AttrNumber name_attno = get_attnum(relid, "queue_name");
	AttrNumber limit_attno = get_attnum(relid, "max_deliveries");
	if (name_attno == InvalidAttrNumber || limit_attno == InvalidAttrNumber)
		elog(ERROR, "pgmq: pgmq.queue_policy lacks queue_name or max_deliveries");

	HASHCTL ctl;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(CachedPolicy::queue);
	ctl.entrysize = sizeof(CachedPolicy);
	ctl.hcxt = CacheMemoryContext;
	HTAB *table = hash_create("pgmq policies", 16, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	/* The newest committed policies: the invalidation that brought us here may be newer than our snapshot. */
	Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
	SysScanDesc scan = systable_beginscan(relation, InvalidOid, false, snapshot, 0, nullptr);
	HeapTuple tuple;
	while ((tuple = systable_getnext(scan)) != nullptr) {
		bool name_null;
		bool limit_null;
		Datum name = heap_getattr(tuple, name_attno, desc, &name_null);
		Datum limit = heap_getattr(tuple, limit_attno, desc, &limit_null);
		if (name_null)
			continue;
		char key[core::kMaxQueueNameLength + 1];
		memset(key, 0, sizeof(key));
		text_to_cstring_buffer(DatumGetTextPP(name), key, sizeof(key));
		CachedPolicy *entry = static_cast<CachedPolicy *>(hash_search(table, key, HASH_ENTER, nullptr));
		entry->max_deliveries = limit_null ? PG_INT32_MAX : DatumGetInt32(limit);
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(relation, AccessShareLock);
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

void
PolicyRegisterCallbacks() {
	CacheRegisterRelcacheCallback(PolicyRelcacheCallback, (Datum)0);
}

} // namespace pgmq::pg
