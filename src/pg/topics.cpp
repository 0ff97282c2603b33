/*
 * topics.cpp: the per-backend topic binding cache and its invalidation.
 */
#include "pg/topics.hpp"

#include "boundary.hpp"
#include "pg/queue.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace pgmq::pg {

namespace {

TopicCache *topic_cache = nullptr;
MemoryContext cache_context = nullptr;   /* holds topic_cache */
MemoryContext loading_context = nullptr; /* a load in progress, or one an error interrupted */
uint64 cache_generation = 0;             /* generation the cache was loaded for */
uint64 topic_generation = 1;             /* bumped by the relcache callback */
Oid bindings_relid = InvalidOid;         /* pgmq.topic_bindings, InvalidOid until known */

/* TopicsRelcacheCallback notes that pgmq.topic_bindings (or every relation) was invalidated. */
void
TopicsRelcacheCallback(Datum, Oid relid) {
	if (relid == InvalidOid || relid == bindings_relid) {
		topic_generation++;
		bindings_relid = InvalidOid;
	}
}

/* TextColumn returns a palloc'd C string of a text column, or NULL. */
const char *
TextColumn(HeapTuple tuple, AttrNumber attno, TupleDesc desc) {
	if (attno == InvalidAttrNumber)
		return nullptr;
	bool isnull;
	Datum value = heap_getattr(tuple, attno, desc, &isnull);
	return isnull ? nullptr : TextDatumGetCString(value);
}

const TopicBinding *sort_bindings = nullptr; /* for CompareByQueue (qsort has no context argument) */

int
CompareByQueue(const void *a, const void *b) {
	uint32 ia = *static_cast<const uint32 *>(a);
	uint32 ib = *static_cast<const uint32 *>(b);
	int c = strcmp(sort_bindings[ia].queue_name, sort_bindings[ib].queue_name);
	return c != 0 ? c : (ia > ib) - (ia < ib);
}

/* LoadTopicCache (re)reads every binding row and compiles the router, in a fresh context. */
void
LoadTopicCache(Oid relid) {
	if (loading_context != nullptr) {
		MemoryContextDelete(loading_context);
		loading_context = nullptr;
	}
	/* Taken first: an invalidation that arrives while loading makes the next call load again. */
	uint64 generation = topic_generation;
	loading_context = AllocSetContextCreate(CacheMemoryContext, "pgmq topic bindings", ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(loading_context);

	Relation relation = table_open(relid, AccessShareLock);
	TupleDesc desc = RelationGetDescr(relation);
	AttrNumber pattern_attno = get_attnum(relid, "pattern");
	AttrNumber queue_attno = get_attnum(relid, "queue_name");
	AttrNumber regex_attno = get_attnum(relid, "compiled_regex");
	AttrNumber filter_attno = get_attnum(relid, "filter");
	if (pattern_attno == InvalidAttrNumber || queue_attno == InvalidAttrNumber)
		elog(ERROR, "pgmq: pgmq.topic_bindings lacks pattern or queue_name");

	TopicCache *cache = static_cast<TopicCache *>(palloc0(sizeof(TopicCache)));
	uint32 capacity = 16;
	cache->bindings = static_cast<TopicBinding *>(palloc(sizeof(TopicBinding) * capacity));
	/* The newest committed bindings: the invalidation that brought us here may be newer than our snapshot. */
	Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
	SysScanDesc scan = systable_beginscan(relation, InvalidOid, false, snapshot, 0, nullptr);
	HeapTuple tuple;
	while ((tuple = systable_getnext(scan)) != nullptr) {
		TopicBinding binding;
		binding.pattern = TextColumn(tuple, pattern_attno, desc);
		binding.queue_name = TextColumn(tuple, queue_attno, desc);
		if (binding.pattern == nullptr || binding.queue_name == nullptr)
			continue;
		binding.compiled_regex = TextColumn(tuple, regex_attno, desc);
		binding.filter = nullptr;
		binding.queue = 0;
		if (filter_attno != InvalidAttrNumber) {
			bool isnull;
			Datum filter = heap_getattr(tuple, filter_attno, desc, &isnull);
			if (!isnull)
				binding.filter = reinterpret_cast<Jsonb *>(PG_DETOAST_DATUM_COPY(filter));
		}
		if (cache->binding_count == capacity) {
			capacity *= 2;
			cache->bindings = static_cast<TopicBinding *>(repalloc(cache->bindings, sizeof(TopicBinding) * capacity));
		}
		cache->bindings[cache->binding_count++] = binding;
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(relation, AccessShareLock);

	/* Queue indexes in strcmp order of the names: send_topic sends to the queues in that order. */
	uint32 n = cache->binding_count;
	uint32 *order = static_cast<uint32 *>(palloc(sizeof(uint32) * (n + 1)));
	for (uint32 i = 0; i < n; i++)
		order[i] = i;
	sort_bindings = cache->bindings;
	qsort(order, n, sizeof(uint32), CompareByQueue);
	cache->queues = static_cast<const char **>(palloc(sizeof(const char *) * (n + 1)));
	for (uint32 i = 0; i < n; i++) {
		TopicBinding *binding = &cache->bindings[order[i]];
		if (cache->queue_count == 0 || strcmp(cache->queues[cache->queue_count - 1], binding->queue_name) != 0)
			cache->queues[cache->queue_count++] = binding->queue_name;
		binding->queue = cache->queue_count - 1;
	}

	core::TopicPattern *patterns = static_cast<core::TopicPattern *>(palloc(sizeof(core::TopicPattern) * (n + 1)));
	for (uint32 i = 0; i < n; i++)
		patterns[i] =
			core::TopicPattern{cache->bindings[i].pattern, static_cast<uint32>(strlen(cache->bindings[i].pattern))};
	std::size_t size = CallCpp(core::RouterSize, patterns, n);
	void *buffer = palloc0(size);
	cache->router = CallCpp(core::BuildRouter, buffer, size, patterns, n);
	pfree(patterns);
	pfree(order);

	MemoryContextSwitchTo(old);
	if (cache_context != nullptr)
		MemoryContextDelete(cache_context);
	cache_context = loading_context;
	loading_context = nullptr;
	topic_cache = cache;
	cache_generation = generation;
}

} // namespace

Oid
TopicBindingsRelid() {
	/* A local copy: the relcache callback may reset bindings_relid while a lock processes invalidations. */
	Oid relid = bindings_relid;
	if (!OidIsValid(relid)) {
		relid = get_relname_relid("topic_bindings", PgmqNamespace());
		if (!OidIsValid(relid))
			ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("table pgmq.topic_bindings does not exist"),
							errhint("Reinstall the pgmq extension.")));
		bindings_relid = relid;
	}
	return relid;
}

const TopicCache *
CurrentTopicCache() {
	Oid relid = TopicBindingsRelid();
	LockRelationOid(relid, AccessShareLock);
	/* A lock this transaction already holds processes nothing: each call sees bindings committed before it. */
	AcceptInvalidationMessages();
	if (topic_cache == nullptr || cache_generation != topic_generation) {
		/* The lock may have processed an invalidation of the table (dropped and created again). */
		relid = TopicBindingsRelid();
		LoadTopicCache(relid);
		bindings_relid = relid;
	}
	return topic_cache;
}

void
TopicsRegisterCallbacks() {
	CacheRegisterRelcacheCallback(TopicsRelcacheCallback, (Datum)0);
}

} // namespace pgmq::pg
