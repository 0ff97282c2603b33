/*
 * args.cpp: argument checks shared by the SQL-callable functions.
 */
#include "api/args.hpp"

#include "core/time.hpp"
#include "guc.hpp"
#include "pg/queue.hpp"

extern "C" {
#include "utils/array.h"
}

namespace pgmq::api {

int32
NonNegativeSecondsArgUnsafe(FunctionCallInfo fcinfo, int argno, const char *argname) {
	pg::ArgNotNullUnsafe(fcinfo, argno, argname);
	int32 seconds = PG_GETARG_INT32(argno);
	if (seconds < 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must not be negative", argname),
						errdetail("%s is %d seconds.", argname, seconds)));
	return seconds;
}

TimestampTz
TimestampArgUnsafe(FunctionCallInfo fcinfo, int argno, const char *argname) {
	pg::ArgNotNullUnsafe(fcinfo, argno, argname);
	return PG_GETARG_TIMESTAMPTZ(argno);
}

int32
QtyArgUnsafe(FunctionCallInfo fcinfo, int argno) {
	pg::ArgNotNullUnsafe(fcinfo, argno, "qty");
	int32 qty = PG_GETARG_INT32(argno);
	if (qty < 1 || qty > guc_max_read_qty)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("qty must be between 1 and %d, got %d", guc_max_read_qty, qty),
						errhint("The upper limit is set by pgmq.max_read_qty.")));
	return qty;
}

/* core/time.hpp copies these: it cannot include PostgreSQL's headers. */
static_assert(core::kTimestampMinusInfinity == DT_NOBEGIN && core::kTimestampInfinity == DT_NOEND &&
				  core::kMinTimestamp == MIN_TIMESTAMP && core::kEndTimestamp == END_TIMESTAMP &&
				  core::kMicrosPerSecond == USECS_PER_SEC,
			  "core/time.hpp matches datatype/timestamp.h");

TimestampTz
PlusSecondsUnsafe(TimestampTz t, int32 seconds) {
	TimestampTz sum = core::AddSeconds(t, seconds);
	if (TIMESTAMP_NOT_FINITE(sum) && !TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE), errmsg("timestamp out of range"),
						errdetail("Adding %d seconds leaves the range of timestamps.", seconds)));
	return sum;
}

ArrayType *
ArrayArgUnsafe(FunctionCallInfo fcinfo, int argno, const char *argname) {
	pg::ArgNotNullUnsafe(fcinfo, argno, argname);
	ArrayType *ids = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(ids) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must be a one-dimensional array", argname)));
	if (array_contains_nulls(ids))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not contain NULL elements", argname)));
	return ids;
}

} // namespace pgmq::api
