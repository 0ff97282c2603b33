/*
 * direct.hpp: sends through the table and index access methods, without SQL.
 *
 * Shell code. A send is a heap insert plus one insert per index; running it
 * as an INSERT statement costs more in executor start-up and shutdown than
 * the work itself (callgrind: about 55,000 instructions per single send
 * through SPI, most of it ExecutorStart/ExecInitModifyTable/ExecutorEnd).
 * DirectInsertUnsafe does the same work directly: next value of the msg_id
 * identity sequence, heap insert, index inserts, with the locks, WAL,
 * statistics and uniqueness checks the executor would apply.
 *
 * It is used only when that is exactly what INSERT would do: a plain table
 * of pgmq's shape (the seven columns, in order, none dropped), no triggers,
 * rules, CHECK constraints, row-level security or generated columns, indexes
 * without expressions, predicates or exclusion constraints, unique indexes
 * not deferrable, and INSERT privilege on the table. Otherwise the caller
 * falls back to the prepared INSERT.
 */
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

namespace pgmq::pg {

/*
 * DirectInsertUnsafe inserts count messages (headers NULL when headers is
 * NULL) with the given vt into the queue table relid and stores their msg_ids
 * in ids. Returns false, having done nothing, when the table does not qualify.
 */
bool DirectInsertUnsafe(Oid relid, TimestampTz vt, int count, const Datum *messages, const Datum *headers,
                        int64 *ids);

} // namespace pgmq::pg
