/*
 * dedup.cpp: the deduplication ids of pgmq.dedup (see dedup.hpp).
 */
#include "pg/dedup.hpp"

#include "pg/maintenance.hpp"
#include "pg/plans.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
}

namespace pgmq::pg {

namespace {

constexpr char kDedupHeader[] = "x-pgmq-dedup-id";

/* TextArray makes a text[] of count non-NULL values. */
Datum
TextArray(text *const *values, int count) {
	Datum *datums = static_cast<Datum *>(palloc(sizeof(Datum) * count));
	for (int i = 0; i < count; i++)
		datums[i] = PointerGetDatum(values[i]);
	return PointerGetDatum(construct_array(datums, count, TEXTOID, -1, false, TYPALIGN_INT));
}

} // namespace

text *
DedupIdOf(Datum headers) {
	if (headers == (Datum)0)
		return nullptr;
	Jsonb *jb = DatumGetJsonbP(headers);
	if (!JB_ROOT_IS_OBJECT(jb))
		return nullptr;
	JsonbValue value;
	if (getKeyJsonValueFromContainer(&jb->root, kDedupHeader, sizeof(kDedupHeader) - 1, &value) == nullptr)
		return nullptr;
	if (value.type != jbvString)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("header %s must be a string, got %s", kDedupHeader, JsonbTypeName(&value)),
						errdetail("The queue's policy deduplicates messages by this header.")));
	if (value.val.string.len == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("header %s must not be empty", kDedupHeader)));
	if (value.val.string.len > kMaxDedupIdLength &&
		pg_mbstrlen_with_len(value.val.string.val, value.val.string.len) > kMaxDedupIdLength)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("header %s must be at most %d characters long", kDedupHeader, kMaxDedupIdLength)));
	return cstring_to_text_with_len(value.val.string.val, value.val.string.len);
}

int
CompareDedupIds(const text *a, const text *b) {
	int la = VARSIZE_ANY_EXHDR(a);
	int lb = VARSIZE_ANY_EXHDR(b);
	int c = memcmp(VARDATA_ANY(a), VARDATA_ANY(b), Min(la, lb));
	if (c != 0)
		return c;
	return (la > lb) - (la < lb);
}

void
ClaimDedupIds(const Queue *queue, int32 window_seconds, TimestampTz now, int count, text *const *ids,
			  const int64 *proposed, int64 *first) {
	Datum values[5] = {CStringGetTextDatum(queue->name.text), TextArray(ids, count), IdArray(proposed, count),
					   TimestampTzGetDatum(now),
					   TimestampTzGetDatum(now - static_cast<int64>(window_seconds) * USECS_PER_SEC)};
	ConnectSpi();
	SavedIdentity identity;
	SwitchIdentity(ExtensionOwner(), &identity);
	uint64 n = ExecuteStatement(nullptr, Statement::kDedupClaim, values, nullptr, false);
	RestoreIdentity(&identity);
	if (n != static_cast<uint64>(count))
		elog(ERROR, "pgmq: recording %d deduplication ids returned %llu rows", count,
			 static_cast<unsigned long long>(n));
	/* INSERT ... SELECT returns its rows in the order of the SELECT: that of ids. */
	for (int k = 0; k < count; k++) {
		HeapTuple row = SPI_tuptable->vals[k];
		bool isnull;
		text *id = DatumGetTextPP(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull));
		if (isnull || CompareDedupIds(id, ids[k]) != 0)
			elog(ERROR, "pgmq: deduplication ids came back out of order");
		first[k] = DatumGetInt64(SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull));
	}
	FinishSpi();
}

void
ForgetDedupIds(const Queue *queue) {
	/* Absent only between this library and an older version of the extension, which had no deduplication. */
	if (!OidIsValid(get_relname_relid("dedup", PgmqNamespace())))
		return;
	Datum values[1] = {CStringGetTextDatum(queue->name.text)};
	SavedIdentity identity;
	SwitchIdentity(ExtensionOwner(), &identity);
	ExecuteStatement(nullptr, Statement::kDedupForgetQueue, values, nullptr, false);
	RestoreIdentity(&identity);
}

} // namespace pgmq::pg
