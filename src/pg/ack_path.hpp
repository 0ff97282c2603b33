/*
 * ack_path.hpp: what a consumer does with messages it read: delete, archive, set_vt, nack.
 *
 * Shell code. AckMessages deletes messages (or moves them to the
 * queue's archive table), whatever their visibility, through the access
 * methods when both tables are as pgmq creates them (direct.hpp), else
 * through the prepared statement. SetVisibility changes visibility times
 * through the prepared statement and has the read hint reset when the
 * transaction commits (readhint.hpp), as a vt may move earlier; so does
 * NackMessages. ArchiveWithResult always takes the statement.
 */
#pragma once

#include "pg/queue.hpp"

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "utils/jsonb.h"
}

namespace pgmq::pg {

/* Ack is what becomes of an acknowledged message. */
enum class Ack { kDelete, kArchive };

/*
 * AckMessages deletes (kArchive: moves into a_<name>, archived_at =
 * now()) the messages ids[0..count) of the queue (looked up with
 * kDeleteAccess), as DELETE ... WHERE msg_id = ANY (ids) would. Sets *acked
 * to the msg_ids that existed, in the caller's memory context; returns how
 * many. Checks the archive's privileges (42501) before anything locks it.
 */
uint64 AckMessages(const Queue *queue, Ack ack, const int64 *ids, int count, int64 **acked);

/*
 * SetVisibility sets vt of the message ids (a bigint Datum, or with many a
 * bigint[]) of the queue (looked up with kReadAccess) and appends the
 * messages, in msg_id order, to fcinfo's materialized result set (begun by the
 * caller); returns how many.
 */
uint64 SetVisibility(FunctionCallInfo fcinfo, const Queue *queue, Datum ids, bool many, TimestampTz vt);

/*
 * NackMessages releases the messages ids (a bigint[] Datum) of the queue (looked up with
 * kReadAccess) that are in flight (read_ct > 0, vt after now): visible again after delay_seconds
 * (negative: the queue's backoff policy, or at once), error (nullptr: none) merged into their headers
 * under x-pgmq-last-error. Sets *nacked to the msg_ids released, in the caller's memory context;
 * returns how many. Has the read hint reset at commit, as set_vt does.
 */
uint64 NackMessages(const Queue *queue, Datum ids, int32 delay_seconds, Jsonb *error, int64 **nacked);

/*
 * ArchiveWithResult archives message id of the queue (looked up with kDeleteAccess) with result
 * stored in its headers under x-pgmq-result, through the statement; returns whether it existed.
 * Checks the archive's privileges (42501) before anything locks it.
 */
bool ArchiveWithResult(const Queue *queue, int64 id, Jsonb *result);

} // namespace pgmq::pg
