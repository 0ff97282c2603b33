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
	int32 backoff_base; /* seconds, 0: no backoff */
	int32 backoff_max;  /* seconds, 0: no cap */
	bool backoff_jitter;
	bool priorities;                                   /* reads by x-pgmq-priority (pg/priority.hpp) */
	char invalid_queue[core::kMaxQueueNameLength + 1]; /* "" when none */
	int32 dedup_seconds;                               /* 0: no deduplication */
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
 * LoadPolicyCache (re)reads every policy row into a fresh hash table. The table is scanned
 * directly, not with SQL, so that a role allowed to use one queue's tables can read that queue
 * without privileges on pgmq.queue_policy; the cache only steers the read path and is never shown.
 */
void
LoadPolicyCache() {
	if (policy_cache != nullptr) {
		hash_destroy(policy_cache);
		policy_cache = nullptr;
	}
	/* Taken first: an invalidation that arrives while loading makes the next call load again. */
	uint64 generation = policy_generation;
	/* A local copy: the relcache callback may reset policy_relid while table_open processes invalidations. */
	Oid relid = get_relname_relid("queue_policy", PgmqNamespace());
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
	/* Missing (InvalidAttrNumber) only between a new library and an older extension version. */
	AttrNumber base_attno = get_attnum(relid, "backoff_base_seconds");
	AttrNumber max_attno = get_attnum(relid, "backoff_max_seconds");
	AttrNumber jitter_attno = get_attnum(relid, "backoff_jitter");
	AttrNumber invalid_attno = get_attnum(relid, "invalid_queue");
	AttrNumber dedup_attno = get_attnum(relid, "dedup_seconds");
	AttrNumber priorities_attno = get_attnum(relid, "priorities");

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
		entry->backoff_base = 0;
		entry->backoff_max = 0;
		entry->backoff_jitter = false;
		bool isnull;
		Datum value;
		if (base_attno != InvalidAttrNumber) {
			value = heap_getattr(tuple, base_attno, desc, &isnull);
			entry->backoff_base = isnull ? 0 : DatumGetInt32(value);
		}
		if (max_attno != InvalidAttrNumber) {
			value = heap_getattr(tuple, max_attno, desc, &isnull);
			entry->backoff_max = isnull ? 0 : DatumGetInt32(value);
		}
		entry->invalid_queue[0] = '\0';
		if (invalid_attno != InvalidAttrNumber) {
			value = heap_getattr(tuple, invalid_attno, desc, &isnull);
			if (!isnull)
				text_to_cstring_buffer(DatumGetTextPP(value), entry->invalid_queue, sizeof(entry->invalid_queue));
		}
		if (jitter_attno != InvalidAttrNumber) {
			value = heap_getattr(tuple, jitter_attno, desc, &isnull);
			entry->backoff_jitter = !isnull && DatumGetBool(value);
		}
		entry->dedup_seconds = 0;
		if (dedup_attno != InvalidAttrNumber) {
			value = heap_getattr(tuple, dedup_attno, desc, &isnull);
			entry->dedup_seconds = isnull ? 0 : DatumGetInt32(value);
		}
		entry->priorities = false;
		if (priorities_attno != InvalidAttrNumber) {
			value = heap_getattr(tuple, priorities_attno, desc, &isnull);
			entry->priorities = !isnull && DatumGetBool(value);
		}
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(relation, AccessShareLock);
	policy_cache = table;
	cache_generation = generation;
}

/* LookupCachedPolicy is the queue's cached policy, nullptr when it has none. */
const CachedPolicy *
LookupCachedPolicy(const Queue *queue) {
	if (policy_cache == nullptr || cache_generation != policy_generation)
		LoadPolicyCache();
	char key[core::kMaxQueueNameLength + 1];
	memset(key, 0, sizeof(key));
	memcpy(key, queue->name.text, queue->name.length);
	return static_cast<CachedPolicy *>(hash_search(policy_cache, key, HASH_FIND, nullptr));
}

} // namespace

bool
QueueHasPolicy(const Queue *queue, int32 *max_deliveries) {
	const CachedPolicy *entry = LookupCachedPolicy(queue);
	if (entry == nullptr)
		return false;
	*max_deliveries = entry->max_deliveries;
	return true;
}

bool
QueueBackoff(const Queue *queue, Backoff *backoff) {
	const CachedPolicy *entry = LookupCachedPolicy(queue);
	if (entry == nullptr || entry->backoff_base <= 0)
		return false;
	backoff->base_seconds = entry->backoff_base;
	backoff->max_seconds = entry->backoff_max;
	backoff->jitter = entry->backoff_jitter;
	return true;
}

bool
QueuePriorities(const Queue *queue) {
	const CachedPolicy *entry = LookupCachedPolicy(queue);
	return entry != nullptr && entry->priorities;
}

bool
QueueInvalidQueue(const Queue *queue, char *name) {
	const CachedPolicy *entry = LookupCachedPolicy(queue);
	if (entry == nullptr || entry->invalid_queue[0] == '\0')
		return false;
	strlcpy(name, entry->invalid_queue, core::kMaxQueueNameLength + 1);
	return true;
}

int32
QueueDedupSeconds(const Queue *queue) {
	const CachedPolicy *entry = LookupCachedPolicy(queue);
	return entry == nullptr ? 0 : entry->dedup_seconds;
}

bool
IsSomeInvalidQueue(const Queue *queue) {
	if (policy_cache == nullptr || cache_generation != policy_generation)
		LoadPolicyCache();
	HASH_SEQ_STATUS scan;
	hash_seq_init(&scan, policy_cache);
	CachedPolicy *entry;
	while ((entry = static_cast<CachedPolicy *>(hash_seq_search(&scan))) != nullptr) {
		if (strcmp(entry->invalid_queue, queue->name.text) == 0 && strcmp(entry->queue, queue->name.text) != 0) {
			hash_seq_term(&scan);
			return true;
		}
	}
	return false;
}

void
PolicyRegisterCallbacks() {
	CacheRegisterRelcacheCallback(PolicyRelcacheCallback, (Datum)0);
}

} // namespace pgmq::pg
