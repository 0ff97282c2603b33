/*
 * readhint_protocol.hpp: the read-hint protocol of the message paths.
 *
 * Shell code, for send_path.cpp and read_path.cpp only (see readhint.hpp for
 * what the hint is and the rules). A send announces itself before it takes
 * msg_ids (ReadHintBeginSend) and reports the lowest it got
 * (ReadHintNoteIds). A read asks where to scan from (ReadHintStart, which
 * fills a ticket) and stores what its scan found (ReadHintStore); a read that
 * could not tell probes, one backend per queue at a time (ReadHintBeginProbe).
 */
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

namespace pgmq::pg {

/* ReadHintTicket is what a read remembers between ReadHintStart and ReadHintStore. */
struct ReadHintTicket {
	bool may_probe;          /* hint available, no send in progress, READ COMMITTED */
	int64 start;             /* msg_id the read scans from */
	TimestampTz start_valid; /* valid_until of start */
	uint64 changes;          /* the slot's change counter at start */
	int64 bound;             /* no send in progress at the read's snapshot has a msg_id below this */
	int64 floor;             /* the slot's floor at start (see readhint.hpp) */
};

/* ReadHintBeginSend is called before a send inserts into the queue. */
void ReadHintBeginSend(Oid queue_relid);

/*
 * ReadHintNoteIds is called by a send after taking msg_ids ids[0..n), n > 0:
 * the highest tells later sends' bounds; a msg_id sequence with CACHE > 1
 * (or restarted) may hand out ids below the hint (reset then) or below the
 * send's bound (lowered then).
 */
void ReadHintNoteIds(Oid queue_relid, const int64 *ids, uint64 n);

/* ReadHintSetOwnSend marks (on) or unmarks pgmq's own send through SQL; an abort unmarks it. */
void ReadHintSetOwnSend(bool on);

/*
 * ReadHintStart returns the msg_id a read at time now may scan from
 * (PG_INT64_MIN when there is no hint, or this transaction made changes that
 * reset the hint at its commit: it sees them already).
 */
int64 ReadHintStart(Oid queue_relid, TimestampTz now, ReadHintTicket *ticket);

/*
 * ReadHintBeginProbe says whether this backend should probe now: one backend
 * probes a queue at a time. A true answer must be followed by ReadHintStore.
 */
bool ReadHintBeginProbe(Oid queue_relid, const ReadHintTicket *ticket);

/*
 * ReadHintStore records a scan's result: no visible row below new_low before
 * valid_until; first_timed is the smallest msg_id the scan passed for its vt
 * or took (PG_INT64_MAX: none), all others below new_low being deleted. The
 * hint is reset if this (sub)transaction aborts.
 */
void ReadHintStore(Oid queue_relid, const ReadHintTicket *ticket, int64 new_low, TimestampTz valid_until,
				   int64 first_timed);

} // namespace pgmq::pg
