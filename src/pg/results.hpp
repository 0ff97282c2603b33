/*
 * results.hpp: returning sets from SQL-callable functions (materialize mode).
 *
 * Shell code. Results go into the tuplestore PostgreSQL set up for the call,
 * which lives in per-query memory, so it may be filled while SPI is connected.
 */
#pragma once

extern "C" {
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
}

namespace pgmq::pg {

/* BeginSetResult prepares the function's materialized result set; scalar for SETOF <base type>. */
void BeginSetResult(FunctionCallInfo fcinfo, bool scalar);

/* PutInt8 appends one bigint row to a scalar result set. */
void PutInt8(FunctionCallInfo fcinfo, int64 value);

/* PutSpiIds appends column 1 (bigint) of the first count SPI result rows. */
void PutSpiIds(FunctionCallInfo fcinfo, uint64 count);

/* PutSpiMessages appends the SPI result rows (message_record columns), ordered by msg_id. */
void PutSpiMessages(FunctionCallInfo fcinfo, uint64 count);

/*
 * PutSpiMessagesLeading is PutSpiMessages for rows whose message_record columns come first,
 * followed by more (left out of the result).
 */
void PutSpiMessagesLeading(FunctionCallInfo fcinfo, uint64 count);

/* PutSpiMessagesAsIs appends the SPI result rows (message_record columns) in the order they came. */
void PutSpiMessagesAsIs(FunctionCallInfo fcinfo, uint64 count);

} // namespace pgmq::pg
