/*
 * args.hpp: argument checks shared by the SQL-callable functions.
 *
 * Shell code. Each helper raises a clear error with a proper SQLSTATE:
 * 22004 for a NULL argument, 22023 for a value out of range.
 */
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"
#include "utils/timestamp.h"
}

namespace pgmq::api {

/* NonNegativeSecondsArgUnsafe reads int argument argno: not NULL, >= 0. */
int32 NonNegativeSecondsArgUnsafe(FunctionCallInfo fcinfo, int argno, const char *argname);

/* TimestampArgUnsafe reads a timestamptz argument that must not be NULL; 'infinity' and '-infinity' are values. */
TimestampTz TimestampArgUnsafe(FunctionCallInfo fcinfo, int argno, const char *argname);

/* QtyArgUnsafe reads qty: not NULL, between 1 and pgmq.max_read_qty. */
int32 QtyArgUnsafe(FunctionCallInfo fcinfo, int argno);

/* Delay is what a send's delay argument is: absent, a number of seconds, or a timestamptz. */
enum class Delay { kNone, kSeconds, kTimestamp };

/*
 * VisibleAtArgUnsafe computes new messages' vt from the delay argument at delay_arg: clock time
 * (plus the seconds, which must not be negative); a timestamptz is taken as given ('infinity':
 * never visible), as in PGMQ.
 */
TimestampTz VisibleAtArgUnsafe(FunctionCallInfo fcinfo, int delay_arg, Delay delay);

/* ArrayArgUnsafe reads an array argument (bigint[], jsonb[]): not NULL, one dimension (or empty), no NULL elements. */
ArrayType *ArrayArgUnsafe(FunctionCallInfo fcinfo, int argno, const char *argname);

} // namespace pgmq::api
