/*
 * direct.hpp: the message operations through the table and index access methods, without SQL.
 *
 * Shell code, called by the message paths (send_path.cpp, read_path.cpp,
 * ack_path.cpp), which fall back to the prepared statements when a function
 * here declines. A send is a heap insert plus one insert per index; running
 * it as an INSERT statement costs more in executor start-up and shutdown
 * than the work itself (callgrind: about 55,000 instructions per single send
 * through SPI, most of it ExecutorStart/ExecInitModifyTable/ExecutorEnd).
 * DirectInsert does the same work directly: next value of the msg_id
 * identity sequence, heap insert, index inserts, with the locks, WAL,
 * statistics and uniqueness checks the executor would apply. A batch's rows
 * (up to 1,000 at a time) go into the heap with one table_multi_insert, as
 * COPY does (one WAL record and one buffer lookup per page instead of per
 * row), and then get their index entries one by one, in order.
 *
 * Reads are the same story: RunDirectRead does what the read statement
 * (UPDATE ... WHERE msg_id = ANY (ARRAY(SELECT ... ORDER BY msg_id LIMIT n
 * FOR UPDATE SKIP LOCKED))) does, in one pass: a scan of the msg_id index
 * from the read hint, the vt (and conditional) test, a row lock that skips
 * rows other transactions hold (following the update chain and testing the
 * newest version again, as EvalPlanQual does in READ COMMITTED; a
 * serialization failure in REPEATABLE READ), and the update of vt, read_ct
 * and last_read_at (HOT when no index covers them).
 *
 * pop is the same scan, deleting the rows it takes instead of updating them.
 *
 * delete and archive likewise look the rows up in the primary key (the
 * sorted ids in one forward scan, a merge that descends from the root again
 * only where many rows lie between two ids), delete each (following a
 * concurrent update to the newest version in READ COMMITTED, as EvalPlanQual
 * does) and insert it into the archive table (the rows of one archive call
 * with one table_multi_insert per 1,000, as sends).
 *
 * All are used only when that is exactly what the statement would do: a
 * plain table of pgmq's shape (the seven columns, in order, none dropped), no
 * triggers but pgmq's read hint guard, no rules, CHECK constraints,
 * row-level security or generated columns, indexes without expressions,
 * predicates or exclusion constraints, unique indexes not deferrable, a
 * primary key on msg_id, and the privileges the statement would need (INSERT
 * and SELECT, for RETURNING msg_id; SELECT and UPDATE; SELECT and DELETE; on
 * the archive INSERT and SELECT), outside read-only transactions. The
 * archive table must likewise be as pgmq creates it.
 *
 * Files: direct_table.cpp (the checks, opening the tables and their
 * indexes), direct_read.cpp (read and probe), direct_write.cpp (insert and
 * ack).
 */
#pragma once

extern "C" {
#include "postgres.h"

#include "access/tupdesc.h"
#include "datatype/timestamp.h"
#include "utils/tuplestore.h"
}

namespace pgmq::pg {

/*
 * DirectInsert inserts count messages (headers NULL when headers is
 * NULL) with the given vt into the queue table relid and stores their msg_ids
 * in ids. Returns false, having done nothing, when the table does not qualify.
 */
bool DirectInsert(Oid relid, TimestampTz vt, int count, const Datum *messages, const Datum *headers, int64 *ids);

/* DirectInsertWithIds is DirectInsert with the msg_ids ids[0..count) given (taken from MsgIdSequence before). */
bool DirectInsertWithIds(Oid relid, TimestampTz vt, int count, const Datum *messages, const Datum *headers,
						 const int64 *ids);

/* MsgIdSequence returns the identity sequence of msg_id of queue table relid (cached). */
Oid MsgIdSequence(Oid relid);

/*
 * DirectAck deletes the messages ids[0..count), count > 0, from queue table relid
 * as DELETE ... WHERE msg_id = ANY (ids) would and, when archive_relid is
 * valid, inserts them into that archive table (archived_at = now()). Sorts
 * ids and leaves the ones that existed at its start, in msg_id order, with
 * the vts the deleted rows had in vts[]; returns how many, or -1, having
 * done nothing, when a table does not qualify.
 */
int DirectAck(Oid relid, Oid archive_relid, int64 *ids, int count, TimestampTz *vts);

/* DirectRead is what a read asks for, and what its scan found out for the read hint. */
struct DirectRead {
	int32 qty;
	TimestampTz now;         /* messages with vt <= now are visible */
	TimestampTz new_vt;      /* the vt they get */
	int64 start;             /* lowest msg_id to look at (the read hint) */
	Datum conditional;       /* jsonb the message must contain, or 0 */
	int64 new_low;           /* out: no visible row below it (see readhint.hpp) ... */
	TimestampTz valid_until; /* out: ... before this time; with nothing taken, the earliest vt after now it saw */
	bool blocked;            /* out: it met a row visible by vt that it did not take (held, or not matching) */
	int64 first_timed;       /* out: smallest msg_id it passed for its vt or took (not a pop); PG_INT64_MAX: none */
};

/*
 * RunDirectRead reads as described above and appends the messages (as
 * updated) to store in msg_id order; returns how many, or -1, having done
 * nothing, when the table does not qualify.
 */
int64 RunDirectRead(Oid relid, DirectRead *read, Tuplestorestate *store, TupleDesc desc);

/*
 * RunDirectPop is RunDirectRead for pop (new_vt unused): what the pop
 * statement (DELETE ... WHERE msg_id = ANY (ARRAY(SELECT ... FOR UPDATE SKIP
 * LOCKED))) does, in the same one pass, with a delete instead of the update
 * (the table needs SELECT, UPDATE and DELETE privileges, as the statement's
 * FOR UPDATE and DELETE); it appends the deleted rows.
 * As rows it takes are gone, valid_until only covers the rows it passed.
 */
int64 RunDirectPop(Oid relid, DirectRead *read, Tuplestorestate *store, TupleDesc desc);

/*
 * DirectProbe walks the msg_id index of relid from start on with a new
 * snapshot and no locks, past rows whose vt is after now (valid_until: the
 * earliest such vt) and rows not visible to the snapshot, and sets new_low to
 * the first row visible by vt, or one past the last row; first_timed is the
 * smallest msg_id it passed for its vt (PG_INT64_MAX: none). Without a primary
 * key it leaves them untouched.
 */
void DirectProbe(Oid relid, int64 start, TimestampTz now, int64 *new_low, TimestampTz *valid_until, int64 *first_timed);

} // namespace pgmq::pg
