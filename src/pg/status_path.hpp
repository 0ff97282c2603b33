/*
 * status_path.hpp: where a message is now (pgmq.status).
 *
 * Shell code. Every lookup is by key: the queue table's and the archive's
 * primary key, and in the policy's invalid queue the index set_policy puts
 * on its x-pgmq-invalid headers (msg_id, queue).
 */
#pragma once

#include "pg/queue.hpp"

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"
}

namespace pgmq::pg {

/* kStatusColumns is the number of columns of a status row: msg_id, state, and the seven of status(). */
constexpr int kStatusColumns = 10;

/*
 * Status appends to fcinfo's materialized result set (begun by the caller) one row per element
 * of ids (in their order) of the queue (looked up with kMetricsAccess): msg_id, state (queued,
 * delayed, in_flight, archived, invalid, unknown), read_ct, enqueued_at, vt, last_read_at, result,
 * last_error, invalid_queue, reason. Checks SELECT on the archive and the invalid queue (42501).
 */
void Status(FunctionCallInfo fcinfo, const Queue *queue, ArrayType *ids);

} // namespace pgmq::pg
