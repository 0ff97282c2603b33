/*
 * args.cpp: argument checks shared by the SQL-callable functions.
 */
#include "api/args.hpp"

#include "guc.hpp"
#include "pg/queue.hpp"
#include "pg/time.hpp"

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

TimestampTz
VisibleAtArgUnsafe(FunctionCallInfo fcinfo, int delay_arg, Delay delay) {
	switch (delay) {
	case Delay::kNone:
		break;
	case Delay::kSeconds:
		return pg::PlusSecondsUnsafe(GetCurrentTimestamp(), NonNegativeSecondsArgUnsafe(fcinfo, delay_arg, "delay"));
	case Delay::kTimestamp:
		return TimestampArgUnsafe(fcinfo, delay_arg, "delay");
	}
	return GetCurrentTimestamp();
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
