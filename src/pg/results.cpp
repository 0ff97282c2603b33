/*
 * results.cpp: filling materialized result sets from SPI results.
 */
#include "pg/results.hpp"

#include "compat.hpp"

extern "C" {
#include "access/htup_details.h"
#include "utils/tuplestore.h"
}

namespace pgmq::pg {

void
BeginSetResult(FunctionCallInfo fcinfo, bool scalar) {
	PGMQ_INIT_MATERIALIZED_SRF(fcinfo, scalar ? MAT_SRF_USE_EXPECTED_DESC : 0);
}

void
PutInt8(FunctionCallInfo fcinfo, int64 value) {
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	Datum values[1] = {Int64GetDatum(value)};
	bool nulls[1] = {false};
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

void
PutSpiIds(FunctionCallInfo fcinfo, uint64 count) {
	for (uint64 i = 0; i < count; i++) {
		bool isnull;
		Datum id = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		PutInt8(fcinfo, DatumGetInt64(id));
	}
}

static int
CompareMsgId(const void *a, const void *b) {
	/* Only called from PutSpiMessages, where column 1 is the non-null msg_id. */
	HeapTuple ta = *static_cast<const HeapTuple *>(a);
	HeapTuple tb = *static_cast<const HeapTuple *>(b);
	bool isnull;
	int64 ia = DatumGetInt64(heap_getattr(ta, 1, SPI_tuptable->tupdesc, &isnull));
	int64 ib = DatumGetInt64(heap_getattr(tb, 1, SPI_tuptable->tupdesc, &isnull));
	return (ia > ib) - (ia < ib);
}

void
PutSpiMessages(FunctionCallInfo fcinfo, uint64 count) {
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	if (count > 1)
		qsort(SPI_tuptable->vals, count, sizeof(HeapTuple), CompareMsgId);
	for (uint64 i = 0; i < count; i++)
		tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[i]);
}

void
PutSpiMessagesLeading(FunctionCallInfo fcinfo, uint64 count) {
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	if (count > 1)
		qsort(SPI_tuptable->vals, count, sizeof(HeapTuple), CompareMsgId);
	int natts = SPI_tuptable->tupdesc->natts;
	Datum *values = static_cast<Datum *>(palloc(sizeof(Datum) * natts));
	bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * natts));
	for (uint64 i = 0; i < count; i++) {
		heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
		/* The result's descriptor has the leading columns only: tuplestore_putvalues takes that many. */
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(values);
	pfree(nulls);
}

void
PutSpiMessagesAsIs(FunctionCallInfo fcinfo, uint64 count) {
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (uint64 i = 0; i < count; i++)
		tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[i]);
}

} // namespace pgmq::pg
