/*
 * partitions.cpp: maintaining partitioned queues and archives (see partitions.hpp).
 */
#include "pg/partitions.hpp"

#include "boundary.hpp"
#include "pg/maintenance.hpp"
#include "pg/counters.hpp"
#include "pg/plans.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
}

namespace pgmq::pg {

namespace {

/*
 * kMaxPartitionRetries bounds how often one statement creates a missing partition and runs again: each
 * try that fails makes the partition of its failing row (and up to 7 after it, pgmq._maintain_partitions),
 * so an archive of messages spread over many partitions gets there in a few tries.
 */
constexpr int kMaxPartitionRetries = 64;

/*
 * kMaxRetriesWithoutCreating bounds the tries in a row that found the partitions made already: by a
 * concurrent send that held the lock this one waited for, which is worth another try; more in a row
 * mean the row's partition cannot be made (a range taken by a partition of someone else's).
 */
constexpr int kMaxRetriesWithoutCreating = 3;

/* PartitionConfig is one pgmq.partition_config row, as text (NULL retention: keep everything). */
struct PartitionConfig {
	char *queue_name;
	char *control;
	char *partition_interval;
	char *retention_interval;
	char *premake;
};

/* LoadPartitionConfig reads the row of table as the extension's owner (SPI connected); false if none. */
bool
LoadPartitionConfig(const char *table, PartitionConfig *config) {
	SavedIdentity identity;
	SwitchIdentity(ExtensionOwner(), &identity);
	StringInfoData sql;
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT c.queue_name, c.control, c.partition_interval, c.retention_interval, c.premake "
					 "FROM pgmq.partition_config AS c WHERE c.table_name OPERATOR(pg_catalog.=) %s",
					 quote_literal_cstr(table));
	bool found = ExecuteSql(sql.data, true) == 1;
	if (found) {
		HeapTuple row = SPI_tuptable->vals[0];
		TupleDesc desc = SPI_tuptable->tupdesc;
		config->queue_name = SPI_getvalue(row, desc, 1);
		config->control = SPI_getvalue(row, desc, 2);
		config->partition_interval = SPI_getvalue(row, desc, 3);
		config->retention_interval = SPI_getvalue(row, desc, 4);
		config->premake = SPI_getvalue(row, desc, 5);
	}
	SPI_freetuptable(SPI_tuptable);
	RestoreIdentity(&identity);
	return found;
}

/* LiteralOrNull quotes value as a literal, or gives NULL. */
const char *
LiteralOrNull(const char *value) {
	return value == nullptr ? "NULL" : quote_literal_cstr(value);
}

/*
 * RunMaintainPartitions calls pgmq._maintain_partitions for table (relid, owned by owner) as its owner;
 * returns how many partitions it created or dropped, their rows left in SPI_tuptable.
 */
uint64
RunMaintainPartitions(const char *table, Oid owner, const PartitionConfig *config, int64 extra,
					  const char *failing_value, bool drop_old, bool nowait) {
	StringInfoData sql;
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT m.action, m.partition_name, m.messages FROM pgmq._maintain_partitions(%s::regclass, "
					 "%s, %s, %s, %s, %s, %lld, %s, %s, %s) AS m",
					 quote_literal_cstr(psprintf("pgmq.%s", quote_identifier(table))),
					 quote_literal_cstr(config->queue_name), quote_literal_cstr(config->control),
					 quote_literal_cstr(config->partition_interval), LiteralOrNull(config->retention_interval),
					 config->premake, static_cast<long long>(extra), LiteralOrNull(failing_value),
					 drop_old ? "true" : "false", nowait ? "true" : "false");
	SavedIdentity identity;
	SwitchIdentity(owner, &identity);
	uint64 n = ExecuteSql(sql.data, false);
	RestoreIdentity(&identity);
	return n;
}

/* TableRelid returns the OID of pgmq.<table> if it is a partitioned table, else InvalidOid. */
Oid
PartitionedRelid(const char *table) {
	Oid relid = get_relname_relid(table, PgmqNamespace());
	if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		return InvalidOid;
	return relid;
}

/*
 * FailingValue returns the partition key value in the detail of a "no partition ... found for row"
 * error ("Partition key of the failing row contains (msg_id) = (42)."), or NULL when the detail is
 * missing (the user may not see the row's values).
 */
const char *
FailingValue(const ErrorData *error) {
	if (error->detail == nullptr)
		return nullptr;
	const char *marker = strstr(error->detail, ") = (");
	size_t length = strlen(error->detail);
	if (marker == nullptr || length < 3 || strcmp(error->detail + length - 2, ").") != 0)
		return nullptr;
	const char *start = marker + strlen(") = (");
	const char *end = error->detail + length - 2;
	if (end <= start)
		return nullptr;
	return pnstrdup(start, end - start);
}

/* Remedy is what CreatePartitionFor did about an error. */
enum class Remedy {
	kNone,     /* not a missing partition of a table of pgmq.partition_config: the error stands */
	kCreated,  /* made partitions: run the statement again */
	kNoneMade, /* a table of pgmq's whose partitions were there (made meanwhile by another send) */
};

/*
 * CreatePartitionFor creates the partition a row of a "no partition of relation ... found for row" error
 * (23514) needs, when that relation is a partitioned table of pgmq's, those of the next rows msg_ids and
 * premake more ahead.
 */
Remedy
CreatePartitionFor(const ErrorData *error, int64 rows) {
	if (error->sqlerrcode != ERRCODE_CHECK_VIOLATION || error->schema_name == nullptr || error->table_name == nullptr ||
		strcmp(error->schema_name, "pgmq") != 0)
		return Remedy::kNone;
	Oid relid = PartitionedRelid(error->table_name);
	PartitionConfig config;
	if (!OidIsValid(relid) || !LoadPartitionConfig(error->table_name, &config))
		return Remedy::kNone;
	/* What ATTACH PARTITION takes: sends and reads go on, the worker's maintenance of the table waits. */
	LockRelationOid(relid, ShareUpdateExclusiveLock);
	Oid owner = QueueOwner(relid);
	if (!OidIsValid(owner))
		return Remedy::kNone;
	uint64 created = RunMaintainPartitions(error->table_name, owner, &config, rows, FailingValue(error), false, false);
	SPI_freetuptable(SPI_tuptable);
	return created > 0 ? Remedy::kCreated : Remedy::kNoneMade;
}

/* IsPartitioned says whether pgmq.<table> is a partitioned table. */
bool
IsPartitioned(const char *table) {
	return OidIsValid(PartitionedRelid(table));
}

} // namespace

int
PartitionedTableNames(MemoryContext cxt, char ***tables) {
	*tables = nullptr;
	/* A database still at pgmq 1.0.0 (a new library, the update not run yet) has none. */
	if (!OidIsValid(get_relname_relid("partition_config", PgmqNamespace())))
		return 0;
	SavedIdentity identity;
	SwitchIdentity(ExtensionOwner(), &identity);
	uint64 n = ExecuteSql("SELECT c.table_name::text FROM pgmq.partition_config AS c ORDER BY 1", true);
	char **out = static_cast<char **>(MemoryContextAlloc(cxt, sizeof(char *) * (n + 1)));
	for (uint64 i = 0; i < n; i++)
		out[i] = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	SPI_freetuptable(SPI_tuptable);
	RestoreIdentity(&identity);
	*tables = out;
	return static_cast<int>(n);
}

int
MaintainPartitions(const char *table, bool wait, MemoryContext cxt, PartitionAction **actions,
				   char queue_name[NAMEDATALEN]) {
	*actions = nullptr;
	queue_name[0] = '\0';
	Oid relid = PartitionedRelid(table);
	/* Another role's table is skipped before it is locked, as LOCK TABLE checks privileges first. */
	if (!OidIsValid(relid) || !has_privs_of_role(GetUserId(), QueueOwner(relid)))
		return 0;
	if (wait)
		LockRelationOid(relid, ShareUpdateExclusiveLock);
	else if (!ConditionalLockRelationOid(relid, ShareUpdateExclusiveLock))
		return 0; /* DDL, or another maintenance, holds it: the next pass tries again */
	/* Checked again under the lock: dropped, or given to another role, meanwhile. */
	Oid owner = QueueOwner(relid);
	PartitionConfig config;
	if (PartitionedRelid(table) != relid || !OidIsValid(owner) || !has_privs_of_role(GetUserId(), owner) ||
		!LoadPartitionConfig(table, &config))
		return 0;
	strlcpy(queue_name, config.queue_name, NAMEDATALEN);
	uint64 n = RunMaintainPartitions(table, owner, &config, 0, nullptr, true, !wait);
	PartitionAction *out =
		static_cast<PartitionAction *>(MemoryContextAllocZero(cxt, sizeof(PartitionAction) * (n + 1)));
	for (uint64 i = 0; i < n; i++) {
		HeapTuple row = SPI_tuptable->vals[i];
		TupleDesc desc = SPI_tuptable->tupdesc;
		bool isnull;
		out[i].dropped = strcmp(SPI_getvalue(row, desc, 1), "dropped") == 0;
		strlcpy(out[i].partition, SPI_getvalue(row, desc, 2), sizeof(out[i].partition));
		Datum messages = SPI_getbinval(row, desc, 3, &isnull);
		out[i].messages = isnull ? 0 : DatumGetInt64(messages);
		/* A dropped partition's messages leave unreported: metrics counts the queue again. */
		if (out[i].dropped)
			CountersForget(relid);
	}
	SPI_freetuptable(SPI_tuptable);
	*actions = out;
	return static_cast<int>(n);
}

uint64
ExecuteInsertPlan(const char *table, SPIPlanPtr plan, Datum *values, const char *nulls, int64 new_ids) {
	if (!IsPartitioned(table))
		return ExecutePlan(plan, values, nulls, false);
	int without_creating = 0;
	for (int attempt = 0; attempt < kMaxPartitionRetries; attempt++) {
		MemoryContext cxt = CurrentMemoryContext;
		ResourceOwner owner = CurrentResourceOwner;
		volatile uint64 n = 0;
		ErrorData *volatile error = nullptr;
		BeginInternalSubTransaction(nullptr);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			n = ExecutePlan(plan, values, nulls, false);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(cxt);
			error = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		PG_END_TRY();
		if (error == nullptr)
			return n;
		Remedy remedy = CreatePartitionFor(error, new_ids);
		without_creating = remedy == Remedy::kNoneMade ? without_creating + 1 : 0;
		if (remedy == Remedy::kNone || without_creating > kMaxRetriesWithoutCreating)
			ReThrowError(error);
		FreeErrorData(error);
	}
	/* Still no partition after creating them: the error, as it is. */
	return ExecutePlan(plan, values, nulls, false);
}

} // namespace pgmq::pg
