/*
 * status_path.cpp: pgmq.status's lookups (see status_path.hpp).
 */
#include "pg/status_path.hpp"

#include "pg/plans.hpp"
#include "pg/policy_cache.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

namespace pgmq::pg {

namespace {

/* Columns of kStatus (1-based): id, state, read_ct, enqueued_at, vt, last_read_at, result, last_error, ...  */
constexpr int kStateColumn = 2;

/* FindInvalidRow is the row of the kStatusInvalid result (ordered by id) for id, or -1. */
int64
FindInvalidRow(SPITupleTable *table, uint64 count, int64 id) {
	uint64 low = 0;
	uint64 high = count;
	while (low < high) {
		uint64 mid = low + (high - low) / 2;
		bool isnull;
		int64 found = DatumGetInt64(SPI_getbinval(table->vals[mid], table->tupdesc, 1, &isnull));
		if (found == id)
			return static_cast<int64>(mid);
		if (found < id)
			low = mid + 1;
		else
			high = mid;
	}
	return -1;
}

} // namespace

void
Status(FunctionCallInfo fcinfo, const Queue *queue, ArrayType *ids) {
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	Oid archive_relid = get_relname_relid(queue->archive_table, PgmqNamespace());
	if (OidIsValid(archive_relid))
		CheckTableAccess(archive_relid, kMetricsAccess);

	ConnectSpi();
	Datum values[2] = {PointerGetDatum(ids), TimestampTzGetDatum(GetCurrentTimestamp())};
	uint64 n = ExecutePlan(PreparedPlan(queue, Statement::kStatus), values, nullptr, true);
	SPITupleTable *rows = SPI_tuptable;

	/* The ids in neither table: were they moved to the policy's invalid queue? */
	Datum *missing = static_cast<Datum *>(palloc(sizeof(Datum) * Max(n, static_cast<uint64>(1))));
	int missing_count = 0;
	for (uint64 i = 0; i < n; i++) {
		bool isnull;
		Datum id = SPI_getbinval(rows->vals[i], rows->tupdesc, 1, &isnull);
		SPI_getbinval(rows->vals[i], rows->tupdesc, kStateColumn, &isnull);
		if (isnull)
			missing[missing_count++] = id;
	}
	SPITupleTable *invalid_rows = nullptr;
	uint64 invalid_count = 0;
	Queue invalid;
	bool has_invalid = false;
	char invalid_name[core::kMaxQueueNameLength + 1];
	if (missing_count > 0 && QueueInvalidQueue(queue, invalid_name)) {
		QueueFromText(cstring_to_text(invalid_name), &invalid);
		has_invalid = LookupQueue(&invalid, true, kMetricsAccess);
	}
	if (has_invalid) {
		Datum args[2] = {PointerGetDatum(construct_array(missing, missing_count, INT8OID, sizeof(int64),
														 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
						 PointerGetDatum(cstring_to_text_with_len(queue->name.text, queue->name.length))};
		invalid_count = ExecutePlan(PreparedPlan(queue, Statement::kStatusInvalid, &invalid), args, nullptr, true);
		invalid_rows = SPI_tuptable;
	}

	for (uint64 i = 0; i < n; i++) {
		Datum out[kStatusColumns];
		bool nulls[kStatusColumns];
		for (int c = 0; c < kStatusColumns; c++)
			out[c] = SPI_getbinval(rows->vals[i], rows->tupdesc, c + 1, &nulls[c]);
		if (nulls[kStateColumn - 1]) {
			int64 found =
				invalid_rows == nullptr ? -1 : FindInvalidRow(invalid_rows, invalid_count, DatumGetInt64(out[0]));
			if (found < 0)
				out[1] = CStringGetTextDatum("unknown");
			else {
				HeapTuple tuple = invalid_rows->vals[found];
				TupleDesc desc = invalid_rows->tupdesc;
				out[1] = CStringGetTextDatum("invalid");
				/* read_ct, enqueued_at, vt, last_read_at; no result; last_error; the invalid queue; reason. */
				for (int c = 0; c < 4; c++)
					out[2 + c] = SPI_getbinval(tuple, desc, 2 + c, &nulls[2 + c]);
				out[7] = SPI_getbinval(tuple, desc, 6, &nulls[7]);
				out[8] = PointerGetDatum(cstring_to_text_with_len(invalid.name.text, invalid.name.length));
				nulls[8] = false;
				out[9] = SPI_getbinval(tuple, desc, 7, &nulls[9]);
			}
			nulls[1] = false;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
	}
	FinishSpi();
}

} // namespace pgmq::pg
