/*
 * time.hpp: timestamp arithmetic with SQL's errors, over core/time.hpp.
 *
 * Shell code. core::AddSeconds saturates to the infinities; here a finite
 * time that leaves the valid range raises 22008, as timestamptz + interval
 * does in SQL.
 */
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

namespace pgmq::pg {

/* PlusSeconds returns t + seconds; a result outside the valid range is 22008, as in SQL. */
TimestampTz PlusSeconds(TimestampTz t, int32 seconds);

} // namespace pgmq::pg
