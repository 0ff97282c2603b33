/*
 * args.hpp: argument checks shared by the SQL-callable functions.
 *
 * Shell code. By default (pgmq.strict_input off) they accept what PGMQ
 * accepts and raise PGMQ's SQLSTATE where PGMQ raises (P0001 where it uses
 * RAISE EXCEPTION), with a clearer message. With pgmq.strict_input on, each
 * raises 22004 for a NULL argument, 22023 for a value out of range.
 */
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"
#include "utils/timestamp.h"
}

namespace pgmq::api {

/* NonNegativeSecondsArg reads int argument argno: not NULL, >= 0. */
int32 NonNegativeSecondsArg(FunctionCallInfo fcinfo, int argno, const char *argname);

/*
 * SecondsArg reads a vt or delay in seconds: a negative value is 0 (visible now, as in PGMQ); NULL
 * is 23502, the not-null violation PGMQ's statement raises. Strict: NonNegativeSecondsArg.
 */
int32 SecondsArg(FunctionCallInfo fcinfo, int argno, const char *argname);

/*
 * TimestampArg reads a timestamptz vt or delay, not NULL (23502; strict: 22004); 'infinity' and
 * '-infinity' are values.
 */
TimestampTz TimestampArg(FunctionCallInfo fcinfo, int argno, const char *argname);

/* kAllRows is the qty of a NULL qty: PGMQ's LIMIT NULL, every visible message. */
constexpr int32 kAllRows = PG_INT32_MAX;

/*
 * QtyArg reads qty: as PGMQ's LIMIT, NULL reads every visible message (kAllRows), 0 nothing and a
 * negative qty is 2201W. Strict: not NULL, at least 1. Above pgmq.max_read_qty (when set) is 22023.
 */
int32 QtyArg(FunctionCallInfo fcinfo, int argno);

/* RaisePgmqError raises what PGMQ raises with RAISE EXCEPTION (P0001); strict: 22023. */
pg_attribute_noreturn() void RaisePgmqError(const char *message);

/* Delay is what a send's delay argument is: absent, a number of seconds, or a timestamptz. */
enum class Delay { kNone, kSeconds, kTimestamp };

/*
 * VisibleAtArg computes new messages' vt from the delay argument at delay_arg: clock time
 * (plus the seconds, SecondsArg); a timestamptz is taken as given ('infinity': never
 * visible), as in PGMQ.
 */
TimestampTz VisibleAtArg(FunctionCallInfo fcinfo, int delay_arg, Delay delay);

/* ArrayArg reads an array argument (bigint[], jsonb[]): not NULL, one dimension (or empty), no NULL elements. */
ArrayType *ArrayArg(FunctionCallInfo fcinfo, int argno, const char *argname);

/*
 * ArrayOrNullArg is ArrayArg where NULL elements are allowed (PGMQ's unnest takes them):
 * strict, it is ArrayArg. NULL is still 22004: callers that take a NULL array check it first.
 */
ArrayType *ArrayOrNullArg(FunctionCallInfo fcinfo, int argno, const char *argname);

/* JsonbArrayElements returns the elements of a jsonb[], (Datum)0 for a NULL element (pg/send_path.hpp). */
Datum *JsonbArrayElements(ArrayType *array);

} // namespace pgmq::api
