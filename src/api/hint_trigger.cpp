/*
 * hint_trigger.cpp: pgmq._read_hint_guard(), the statement trigger that keeps
 * the read hint (pg/readhint.hpp) right when a queue table is changed by
 * anything but pgmq's own direct paths.
 *
 * Every queue table gets it (BEFORE INSERT, UPDATE, DELETE or TRUNCATE, FOR
 * EACH STATEMENT). Any of them that is not a counted statement of a message
 * path invalidates the queue's counters for metrics (pg/counters.hpp); a
 * DELETE does nothing else. For the read hint: an INSERT (plain SQL, or a move into an invalid queue) is
 * announced like a send before it takes a msg_id, so no read moves the hint
 * past a row still being inserted, and (its msg_ids may be explicit and lie
 * below the hint) resets the hint when its transaction commits, unless it is
 * pgmq's own send; an UPDATE (a vt moved back by hand) or a TRUNCATE (RESTART
 * IDENTITY starts msg_ids over) resets the hint when its transaction commits,
 * unless the UPDATE is a message path's own statement (pg/counters.hpp).
 * It also marks the queue for the long-poll wake-ups (pg/wakeup.hpp): an
 * INSERT wakes pollers at commit like a send, an UPDATE or TRUNCATE wakes
 * the pollers that watch rows held by others.
 * The direct access paths do not fire triggers (pg/direct_table.cpp accepts
 * this one); the message paths (pg/send_path.cpp, pg/read_path.cpp) keep the
 * hint themselves.
 */
#include "boundary.hpp"
#include "pg/counters.hpp"
#include "pg/readhint.hpp"
#include "pg/wakeup.hpp"

extern "C" {
#include "access/htup_details.h"
#include "commands/trigger.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}

PGMQ_FUNCTION(pgmq_read_hint_guard) {
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("pgmq._read_hint_guard() must be called as a trigger")));
	TriggerData *trigger = reinterpret_cast<TriggerData *>(fcinfo->context);
	Oid relid = RelationGetRelid(trigger->tg_relation);
	/* Any change but a message path's own counted statement: metrics must count the queue again. */
	bool own = pgmq::pg::CountersNoteForeignChange(relid);
	if (TRIGGER_FIRED_BY_DELETE(trigger->tg_event))
		return PointerGetDatum(nullptr); /* a delete moves no vt back and frees nothing a poller waits for */
	if (TRIGGER_FIRED_BY_INSERT(trigger->tg_event)) {
		pgmq::pg::ReadHintNoteInsert(relid);
		pgmq::pg::NoteSend(relid); /* wakes pollers at commit, as a send does */
	} else {
		/*
		 * A message path's own UPDATE only hides rows (reads), or notes the vts it moves earlier
		 * itself (set_vt, nack): no reset for it.
		 */
		if (!own || !TRIGGER_FIRED_BY_UPDATE(trigger->tg_event))
			pgmq::pg::ReadHintNoteVtChange(relid);
		/* pgmq's own reads through statements UPDATE too: wake only watchers (wakeup.hpp), not every poller. */
		pgmq::pg::NoteTouch(relid);
	}
	return PointerGetDatum(nullptr);
}

/*
 * pgmq__read_hint returns (low, valid_until, floor) of the read hint of the
 * queue table (NULLs when it has none): no visible message below msg_id low
 * before valid_until, none below floor until a reset (NULL: no floor). It
 * needs the SELECT privilege on the table.
 */
PGMQ_FUNCTION(pgmq__read_hint) {
	Oid relid = PG_GETARG_OID(0);
	AclResult acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "pgmq: _read_hint must return a composite type");
	int64 floor;
	int64 low;
	TimestampTz valid_until;
	bool found = pgmq::pg::ReadHintPeek(relid, &floor, &low, &valid_until);
	Datum values[3] = {Int64GetDatum(low), TimestampTzGetDatum(valid_until), Int64GetDatum(floor)};
	bool nulls[3] = {!found, !found, !found || floor == PG_INT64_MIN};
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
