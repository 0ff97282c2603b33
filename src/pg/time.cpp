/*
 * time.cpp: timestamp arithmetic with SQL's errors.
 */
#include "pg/time.hpp"

#include "core/time.hpp"

namespace pgmq::pg {

/* core/time.hpp copies these: it cannot include PostgreSQL's headers. */
static_assert(core::kTimestampMinusInfinity == DT_NOBEGIN && core::kTimestampInfinity == DT_NOEND &&
				  core::kMinTimestamp == MIN_TIMESTAMP && core::kEndTimestamp == END_TIMESTAMP &&
				  core::kMicrosPerSecond == USECS_PER_SEC,
			  "core/time.hpp matches datatype/timestamp.h");

TimestampTz
PlusSeconds(TimestampTz t, int32 seconds) {
	TimestampTz sum = core::AddSeconds(t, seconds);
	if (TIMESTAMP_NOT_FINITE(sum) && !TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE), errmsg("timestamp out of range"),
						errdetail("Adding %d seconds leaves the range of timestamps.", seconds)));
	return sum;
}

} // namespace pgmq::pg
