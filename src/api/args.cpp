/*
 * args.cpp: argument checks shared by the SQL-callable functions.
 */
#include "api/args.hpp"

#include "guc.hpp"
#include "pg/queue.hpp"
#include "pg/time.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
}

namespace pgmq::api {

int32
NonNegativeSecondsArg(FunctionCallInfo fcinfo, int argno, const char *argname) {
	pg::ArgNotNull(fcinfo, argno, argname);
	int32 seconds = PG_GETARG_INT32(argno);
	if (seconds < 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must not be negative", argname),
						errdetail("%s is %d seconds.", argname, seconds)));
	return seconds;
}

namespace {

/* TimeNotNull raises 23502, PGMQ's not-null violation of column vt, for a NULL vt or delay (strict: 22004). */
void
TimeNotNull(FunctionCallInfo fcinfo, int argno, const char *argname) {
	if (guc_strict_input)
		pg::ArgNotNull(fcinfo, argno, argname);
	if (PG_ARGISNULL(argno))
		ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION), errmsg("%s must not be NULL", argname),
						errdetail("A message's vt cannot be NULL.")));
}

} // namespace

int32
SecondsArg(FunctionCallInfo fcinfo, int argno, const char *argname) {
	if (guc_strict_input)
		return NonNegativeSecondsArg(fcinfo, argno, argname);
	TimeNotNull(fcinfo, argno, argname);
	return Max(PG_GETARG_INT32(argno), 0);
}

TimestampTz
TimestampArg(FunctionCallInfo fcinfo, int argno, const char *argname) {
	TimeNotNull(fcinfo, argno, argname);
	return PG_GETARG_TIMESTAMPTZ(argno);
}

int32
QtyArg(FunctionCallInfo fcinfo, int argno) {
	if (guc_strict_input)
		pg::ArgNotNull(fcinfo, argno, "qty");
	int32 qty = PG_ARGISNULL(argno) ? kAllRows : PG_GETARG_INT32(argno);
	if (guc_strict_input && qty < 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("qty must be at least 1, got %d", qty),
						errhint("pgmq.strict_input is on.")));
	if (qty < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_ROW_COUNT_IN_LIMIT_CLAUSE), errmsg("qty must not be negative, got %d", qty)));
	if (guc_max_read_qty > 0 && qty > guc_max_read_qty)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("qty must be at most %d, got %s", guc_max_read_qty,
							   PG_ARGISNULL(argno) ? "NULL (every message)" : psprintf("%d", qty)),
						errhint("The upper limit is set by pgmq.max_read_qty.")));
	return qty;
}

void
RaisePgmqError(const char *message) {
	ereport(ERROR, (errcode(guc_strict_input ? ERRCODE_INVALID_PARAMETER_VALUE : ERRCODE_RAISE_EXCEPTION),
					errmsg("%s", message)));
}

TimestampTz
VisibleAtArg(FunctionCallInfo fcinfo, int delay_arg, Delay delay) {
	switch (delay) {
	case Delay::kNone:
		break;
	case Delay::kSeconds:
		return pg::PlusSeconds(GetCurrentTimestamp(), SecondsArg(fcinfo, delay_arg, "delay"));
	case Delay::kTimestamp:
		return TimestampArg(fcinfo, delay_arg, "delay");
	}
	return GetCurrentTimestamp();
}

ArrayType *
ArrayArg(FunctionCallInfo fcinfo, int argno, const char *argname) {
	pg::ArgNotNull(fcinfo, argno, argname);
	ArrayType *ids = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(ids) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must be a one-dimensional array", argname)));
	if (array_contains_nulls(ids))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not contain NULL elements", argname)));
	return ids;
}

ArrayType *
ArrayOrNullArg(FunctionCallInfo fcinfo, int argno, const char *argname) {
	if (guc_strict_input)
		return ArrayArg(fcinfo, argno, argname);
	pg::ArgNotNull(fcinfo, argno, argname);
	ArrayType *array = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must be a one-dimensional array", argname)));
	return array;
}

Datum *
JsonbArrayElements(ArrayType *array) {
	Datum *elements;
	bool *nulls;
	int count;
	deconstruct_array(array, JSONBOID, -1, false, TYPALIGN_INT, &elements, &nulls, &count);
	for (int i = 0; i < count; i++) {
		if (nulls[i])
			elements[i] = (Datum)0;
	}
	return elements;
}

} // namespace pgmq::api
