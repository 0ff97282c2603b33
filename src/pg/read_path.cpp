/*
 * read_path.cpp: reading and popping messages (see read_path.hpp).
 */
#include "pg/read_path.hpp"

#include "guc.hpp"
#include "pg/counters.hpp"
#include "pg/direct.hpp"
#include "pg/plans.hpp"
#include "pg/policy_cache.hpp"
#include "pg/readhint_protocol.hpp"
#include "pg/results.hpp"
#include "pg/time.hpp"
#include "pg/wakeup.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
}

namespace pgmq::pg {

namespace {

constexpr int32 kMaxGroupedBatch = 65536; /* most messages one grouped read returns */

/* A read whose first message lies more than this many msg_ids above the hint probes (see readhint.hpp). */
constexpr int64 kProbeGap = 64;

/* A grouped read walks at most this many rows in msg_id order before it lists the groups' heads. */
constexpr int64 kWalkRows = 1024;

/* NoteRead reports n messages read at now (each visible then) to new_vt to metrics (pg/counters.hpp). */
void
NoteRead(Oid relid, TimestampTz now, TimestampTz new_vt, uint64 n) {
	if (n == 0)
		return;
	CountersNoteHorizon(relid, now);
	CountersNoteVt(relid, new_vt, static_cast<int64>(n), now);
}

/* NotePopped reports n messages popped at now (each visible then) to metrics. */
void
NotePopped(Oid relid, TimestampTz now, uint64 n) {
	if (n == 0)
		return;
	CountersNoteHorizon(relid, now);
	CountersNoteRows(relid, -static_cast<int64>(n));
}

/*
 * FirstSpiMsgId is the msg_id of the first of the n rows SPI returned (0 when
 * none); after PutSpiMessages, which sorts them, the smallest.
 */
int64
FirstSpiMsgId(uint64 n) {
	bool isnull;
	return n > 0 ? DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) : 0;
}

/*
 * ReadWithPolicy reads through the statement that skips messages read
 * max_deliveries times (see pg/policy_cache.hpp), appends the rows, returns how
 * many; *first is the smallest msg_id read. It scans from the read hint; the
 * caller probes (a message read max_deliveries times is visible by vt: the
 * probe stops at it, as at one held by a reader).
 */
uint64
ReadWithPolicy(FunctionCallInfo fcinfo, const Queue *queue, const DirectRead *read, int32 max_deliveries,
			   int64 *first) {
	bool where = read->conditional != (Datum)0;
	Datum values[6] = {Int32GetDatum(read->qty),
					   TimestampTzGetDatum(read->now),
					   TimestampTzGetDatum(read->new_vt),
					   Int32GetDatum(max_deliveries),
					   where ? read->conditional : Int64GetDatum(read->start),
					   Int64GetDatum(read->start)};
	Statement statement = where ? Statement::kReadWherePolicy : Statement::kReadPolicy;
	ConnectSpi();
	uint64 n = ExecutePlan(PreparedPlan(queue, statement), values, nullptr, false);
	PutSpiMessages(fcinfo, n);
	*first = FirstSpiMsgId(n);
	FinishSpi();
	return n;
}

/* This backend's reads of priority queues since the last FIFO turn, and the setting they count for. */
int32 priority_reads = 0;
int32 priority_fifo_every = 0;

/*
 * FifoTurn counts a read of a priority queue and says whether it is the one in
 * pgmq.priority_fifo_every that takes the oldest messages instead (README: starvation).
 */
bool
FifoTurn() {
	if (priority_fifo_every != guc_priority_fifo_every) {
		/* A new setting restarts the count. */
		priority_fifo_every = guc_priority_fifo_every;
		priority_reads = 0;
	}
	if (priority_fifo_every <= 0)
		return false;
	if (++priority_reads < priority_fifo_every)
		return false;
	priority_reads = 0;
	return true;
}

/*
 * ReadByPriority reads a priority queue through the statement that walks its
 * priority index (highest x-pgmq-priority first, then msg_id), skipping messages
 * read max_deliveries times; appends the rows in that order, returns how many.
 */
uint64
ReadByPriority(FunctionCallInfo fcinfo, const Queue *queue, const DirectRead *read, int32 max_deliveries) {
	bool where = read->conditional != (Datum)0;
	Datum values[5] = {Int32GetDatum(read->qty), TimestampTzGetDatum(read->now), TimestampTzGetDatum(read->new_vt),
					   Int32GetDatum(max_deliveries), read->conditional};
	ConnectSpi();
	uint64 n = ExecutePlan(PreparedPlan(queue, where ? Statement::kReadWherePriority : Statement::kReadPriority),
						   values, nullptr, false);
	PutSpiMessagesAsIs(fcinfo, n);
	FinishSpi();
	return n;
}

/*
 * ReadThroughStatement reads through the prepared statement, appends the
 * rows, returns how many; *first is the smallest msg_id read (0 when none).
 */
uint64
ReadThroughStatement(FunctionCallInfo fcinfo, const Queue *queue, const DirectRead *read, int64 *first) {
	bool where = read->conditional != (Datum)0;
	Datum values[5] = {Int32GetDatum(read->qty), TimestampTzGetDatum(read->now), TimestampTzGetDatum(read->new_vt),
					   where ? read->conditional : Int64GetDatum(read->start), Int64GetDatum(read->start)};
	Statement statement = where ? Statement::kReadWhere : Statement::kRead;
	ConnectSpi();
	uint64 n = ExecutePlan(PreparedPlan(queue, statement), values, nullptr, false);
	PutSpiMessages(fcinfo, n);
	*first = FirstSpiMsgId(n);
	FinishSpi();
	return n;
}

/*
 * ProbeHeadIfFar moves the queue's read hint up to where visible
 * messages start (see readhint.hpp) after a read through the statement, which
 * does not tell why it skipped rows: when it found nothing or its first
 * message lies far above the hint, and no other backend probes the queue.
 */
void
ProbeHeadIfFar(const Queue *queue, const ReadHintTicket *ticket, uint64 n, int64 first) {
	if (!ticket->may_probe)
		return;
	/* Unsigned: start is PG_INT64_MIN when there is no hint. */
	bool far = n == 0 || static_cast<uint64>(first) - static_cast<uint64>(ticket->start) > kProbeGap;
	if (!far || !ReadHintBeginProbe(queue->queue_relid, ticket))
		return;
	int64 new_low = ticket->start;
	TimestampTz valid_until = DT_NOEND;
	int64 first_timed = PG_INT64_MAX;
	DirectProbe(queue->queue_relid, ticket->start, GetCurrentTimestamp(), &new_low, &valid_until, &first_timed);
	ReadHintStore(queue->queue_relid, ticket, new_low, valid_until, first_timed);
}

/* A group a grouped read took: its head (locked) and the key of its messages. */
struct TakenGroup {
	int64 head;
	Datum key; /* text */
};

/* SpiInt64 returns the bigint in column col of SPI result row row. */
int64
SpiInt64(uint64 row, int col) {
	bool isnull;
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull));
}

/*
 * TakeRun locks up to limit of the group's messages after its head,
 * up to the first one it cannot take (in flight, or locked by another
 * transaction), and appends their msg_ids to ids (kGroupRun); returns how many.
 */
int32
TakeRun(const Queue *queue, const TakenGroup *group, TimestampTz now, int32 limit, int32 max_deliveries, int64 *ids) {
	if (limit <= 0)
		return 0;
	Datum values[5] = {group->key, Int64GetDatum(group->head), TimestampTzGetDatum(now), Int32GetDatum(limit),
					   Int32GetDatum(max_deliveries)};
	uint64 n = ExecuteStatement(queue, Statement::kGroupRun, values, nullptr, false);
	/* Up to the first message not taken: in flight, or held by another transaction (a delete in progress). */
	int32 taken = 0;
	bool isnull;
	while (static_cast<uint64>(taken) < n &&
		   DatumGetBool(SPI_getbinval(SPI_tuptable->vals[taken], SPI_tuptable->tupdesc, 2, &isnull))) {
		ids[taken] = SpiInt64(static_cast<uint64>(taken), 1);
		taken++;
	}
	SPI_freetuptable(SPI_tuptable);
	return taken;
}

/* A grouped read's search for groups (FindGroups). */
struct GroupSearch {
	const Queue *queue;
	GroupMode mode;
	int32 qty;
	TimestampTz now;
	int32 max_deliveries;
	HTAB *seen;         /* hashes of the keys of the groups met */
	TakenGroup *groups; /* the groups taken, oldest head first */
	int64 *ids;         /* the msg_ids taken */
	int32 ngroups;
	int32 nids;
};

/* SearchDone says whether the search has taken enough. */
bool
SearchDone(const GroupSearch *search) {
	return search->ngroups >= search->qty || search->nids >= search->qty;
}

/*
 * ConsiderRow looks at a row met in msg_id order: the head of its group
 * when the group was not met before. Such a head that may be taken and
 * locks is taken, with its run for kGrouped. Returns whether the search is done.
 */
bool
ConsiderRow(GroupSearch *search, int64 msg_id, Datum key, bool takeable) {
	text *key_text = DatumGetTextPP(key);
	uint64 hash = DatumGetUInt64(hash_bytes_extended(reinterpret_cast<const unsigned char *>(VARDATA_ANY(key_text)),
													 static_cast<int>(VARSIZE_ANY_EXHDR(key_text)), 0));
	bool found;
	hash_search(search->seen, &hash, HASH_ENTER, &found);
	/* A group met before: this is not its head. A head in flight blocks its group. */
	if (found || !takeable)
		return false;
	Datum lock_values[3] = {Int64GetDatum(msg_id), TimestampTzGetDatum(search->now),
							Int32GetDatum(search->max_deliveries)};
	uint64 locked = ExecuteStatement(search->queue, Statement::kGroupLockHead, lock_values, nullptr, false);
	SPI_freetuptable(SPI_tuptable);
	if (locked == 0)
		return false; /* another reader holds the group, or just took it */
	TakenGroup *group = &search->groups[search->ngroups++];
	group->head = msg_id;
	group->key = datumCopy(key, false, -1);
	search->ids[search->nids++] = msg_id;
	if (search->mode == GroupMode::kGrouped)
		search->nids += TakeRun(search->queue, group, search->now, search->qty - search->nids, search->max_deliveries,
								search->ids + search->nids);
	return SearchDone(search);
}

/*
 * ConsiderRows considers the rows (msg_id, key, takeable) of an SPI
 * result in order, frees it; returns the last msg_id looked at (after when none).
 */
int64
ConsiderRows(GroupSearch *search, SPITupleTable *rows, uint64 n, int64 after) {
	for (uint64 i = 0; i < n && !SearchDone(search); i++) {
		bool isnull;
		HeapTuple row = rows->vals[i];
		after = DatumGetInt64(SPI_getbinval(row, rows->tupdesc, 1, &isnull));
		Datum key = SPI_getbinval(row, rows->tupdesc, 2, &isnull);
		bool takeable = DatumGetBool(SPI_getbinval(row, rows->tupdesc, 3, &isnull));
		ConsiderRow(search, after, key, takeable);
	}
	SPI_freetuptable(rows);
	return after;
}

/* HasGroupIndex says whether the queue table has the index create_fifo_index makes. */
bool
HasGroupIndex(const Queue *queue) {
	char index[NAMEDATALEN];
	snprintf(index, sizeof(index), "%s_group_idx", queue->queue_table);
	return OidIsValid(get_relname_relid(index, get_rel_namespace(queue->queue_relid)));
}

/*
 * FindGroups takes the groups whose head may be taken and locks,
 * oldest head first, into search: up to qty groups, for kGrouped with each
 * group's run (TakeRun) until qty messages. It walks the queue in
 * msg_id order (the first row of a group met is its head): to its end
 * without the group index; with it, for kWalkRows rows, then it goes on
 * with the heads of all groups found through the index (kGroupHeads), so a
 * long run of rows of groups in flight is not walked.
 */
void
FindGroups(GroupSearch *search) {
	HASHCTL ctl;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(uint64);
	ctl.hcxt = CurrentMemoryContext;
	search->seen = hash_create("pgmq grouped read", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	search->ngroups = 0;
	search->nids = 0;
	int32 chunk = Min(Max(64, 4 * search->qty), 4096);
	int64 walk_limit = HasGroupIndex(search->queue) ? Max(kWalkRows, 2 * chunk) : PG_INT64_MAX;
	int64 walked = 0;
	int64 after = PG_INT64_MIN;
	for (;;) {
		if (walked >= walk_limit) {
			/* The heads of every group, through the index: their number, not the queue's length, counts. */
			Datum values[3] = {TimestampTzGetDatum(search->now), Int64GetDatum(after),
							   Int32GetDatum(search->max_deliveries)};
			uint64 n = ExecuteStatement(search->queue, Statement::kGroupHeads, values, nullptr, false);
			ConsiderRows(search, SPI_tuptable, n, after);
			break;
		}
		Datum values[4] = {TimestampTzGetDatum(search->now), Int64GetDatum(after), Int32GetDatum(chunk),
						   Int32GetDatum(search->max_deliveries)};
		uint64 n = ExecuteStatement(search->queue, Statement::kGroupScan, values, nullptr, false);
		walked += static_cast<int64>(n);
		after = ConsiderRows(search, SPI_tuptable, n, after);
		if (SearchDone(search) || n < static_cast<uint64>(chunk))
			break;
		CHECK_FOR_INTERRUPTS();
	}
	hash_destroy(search->seen);
}

/*
 * RoundRobin fills ids (holding the ngroups heads) in layers: the
 * heads, then each group's second message, ..., up to qty; returns how many.
 */
int32
RoundRobin(const Queue *queue, const TakenGroup *groups, int32 ngroups, int32 qty, TimestampTz now,
		   int32 max_deliveries, int64 *ids) {
	int32 nids = ngroups;
	if (ngroups >= qty)
		return nids;
	/* Each group has its head in the batch: none gives more than qty - ngroups others. */
	int32 limit = qty - ngroups;
	int64 **runs = static_cast<int64 **>(palloc(sizeof(int64 *) * ngroups));
	int32 *lengths = static_cast<int32 *>(palloc(sizeof(int32) * ngroups));
	int32 longest = 0;
	for (int32 g = 0; g < ngroups; g++) {
		runs[g] = static_cast<int64 *>(palloc(sizeof(int64) * limit));
		lengths[g] = TakeRun(queue, &groups[g], now, limit, max_deliveries, runs[g]);
		longest = Max(longest, lengths[g]);
	}
	for (int32 layer = 0; layer < longest && nids < qty; layer++)
		for (int32 g = 0; g < ngroups && nids < qty; g++)
			if (layer < lengths[g])
				ids[nids++] = runs[g][layer];
	return nids;
}

/*
 * ReadGroupedOnce runs one grouped read (see GroupMode), appends the
 * rows in the order chosen, returns how many.
 */
uint64
ReadGroupedOnce(FunctionCallInfo fcinfo, const Queue *queue, const ReadRequest *request) {
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz new_vt = PlusSeconds(now, request->vt);
	int32 max_deliveries;
	bool policy = QueueHasPolicy(queue, &max_deliveries);
	if (!policy)
		max_deliveries = PG_INT32_MAX;
	/* The batch is held in arrays of qty entries: a grouped read takes at most kMaxGroupedBatch (README). */
	int32 qty = Min(request->qty, kMaxGroupedBatch);
	ConnectSpi();
	GroupSearch search;
	search.queue = queue;
	search.mode = request->group;
	search.qty = qty;
	search.now = now;
	search.max_deliveries = max_deliveries;
	search.groups = static_cast<TakenGroup *>(palloc(sizeof(TakenGroup) * qty));
	search.ids = static_cast<int64 *>(palloc(sizeof(int64) * qty));
	FindGroups(&search);
	int64 *ids = search.ids;
	int32 nids = search.nids;
	if (request->group == GroupMode::kRoundRobin)
		nids = RoundRobin(queue, search.groups, search.ngroups, qty, now, max_deliveries, ids);
	uint64 n = 0;
	if (nids > 0) {
		Datum values[3] = {IdArray(ids, nids), TimestampTzGetDatum(now), TimestampTzGetDatum(new_vt)};
		CountersExpectOwnStatement(queue->queue_relid);
		n = ExecuteStatement(queue, policy ? Statement::kGroupTakePolicy : Statement::kGroupTake, values, nullptr,
							 false);
		CountersEndOwnStatement();
		NoteRead(queue->queue_relid, now, new_vt, n);
		PutSpiMessagesAsIs(fcinfo, n);
	}
	FinishSpi();
	return n;
}

/*
 * ReadOutcome is what a poll needs to know after an empty read: when a
 * message may next become visible by its vt, and whether the read met rows
 * visible by vt that it could not take (see wakeup.hpp, watchers).
 */
struct ReadOutcome {
	bool known;          /* the read found both out (a direct read); else NextVisibility asks */
	TimestampTz next_vt; /* the earliest vt after the read's time, DT_NOEND when none */
	bool blocked;
};

/*
 * ReadOnce runs one read, appends the rows, returns how many: through
 * the policy statement for a queue with a policy, else directly through the
 * access methods when the table allows it, else the prepared statement.
 * It fills *outcome (for an empty read).
 */
uint64
ReadOnce(FunctionCallInfo fcinfo, const Queue *queue, const ReadRequest *request, ReadOutcome *outcome) {
	outcome->known = false;
	outcome->next_vt = DT_NOEND;
	outcome->blocked = false;
	/* qty 0 reads nothing (PGMQ's LIMIT 0); read_with_poll then waits until max_poll_seconds pass. */
	if (request->qty == 0) {
		outcome->known = true;
		return 0;
	}
	if (request->group != GroupMode::kNone)
		return ReadGroupedOnce(fcinfo, queue, request);
	DirectRead read;
	read.qty = request->qty;
	read.now = GetCurrentTimestamp();
	ReadHintTicket ticket;
	read.start = ReadHintStart(queue->queue_relid, read.now, &ticket);
	read.new_vt = PlusSeconds(read.now, request->vt);
	read.conditional = request->conditional;
	read.new_low = 0;
	read.valid_until = 0;
	read.blocked = false;
	read.first_timed = PG_INT64_MAX;
	int32 max_deliveries;
	/* Never hand out a message beyond its queue's max_deliveries (see pg/policy_cache.hpp). */
	if (QueueHasPolicy(queue, &max_deliveries)) {
		bool priority = QueuePriorities(queue) && !FifoTurn();
		int64 first = 0;
		CountersExpectOwnStatement(queue->queue_relid);
		uint64 n = priority ? ReadByPriority(fcinfo, queue, &read, max_deliveries)
							: ReadWithPolicy(fcinfo, queue, &read, max_deliveries, &first);
		CountersEndOwnStatement();
		NoteRead(queue->queue_relid, read.now, read.new_vt, n);
		if (!priority)
			ProbeHeadIfFar(queue, &ticket, n, first);
		return n;
	}
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	int64 taken = RunDirectRead(queue->queue_relid, &read, rsinfo->setResult, rsinfo->setDesc);
	if (taken >= 0) {
		NoteRead(queue->queue_relid, read.now, read.new_vt, static_cast<uint64>(taken));
		/* The scan found where visible messages start: no separate probe. */
		ReadHintStore(queue->queue_relid, &ticket, read.new_low, read.valid_until, read.first_timed);
		/* Having taken nothing it walked every row from the hint on; those below it wait for the hint's time. */
		outcome->known = true;
		outcome->next_vt = Min(read.valid_until, ticket.start_valid);
		outcome->blocked = read.blocked;
		return static_cast<uint64>(taken);
	}
	int64 first;
	CountersExpectOwnStatement(queue->queue_relid);
	uint64 n = ReadThroughStatement(fcinfo, queue, &read, &first);
	CountersEndOwnStatement();
	NoteRead(queue->queue_relid, read.now, read.new_vt, n);
	ProbeHeadIfFar(queue, &ticket, n, first);
	return n;
}

/*
 * NextVisibility fills *outcome for an empty read through a statement,
 * which cannot tell: one scan of the queue table (it has no vt index). Rows
 * read max_deliveries times do not count as blocked.
 */
void
NextVisibility(const Queue *queue, ReadOutcome *outcome) {
	int32 max_deliveries;
	if (!QueueHasPolicy(queue, &max_deliveries))
		max_deliveries = PG_INT32_MAX;
	Datum values[2] = {TimestampTzGetDatum(GetCurrentTimestamp()), Int32GetDatum(max_deliveries)};
	ConnectSpi();
	/* Not read-only: a new snapshot, which sees what committed since the read. */
	ExecuteStatement(queue, Statement::kNextVt, values, nullptr, false);
	bool isnull;
	Datum next_vt = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	outcome->next_vt = isnull ? DT_NOEND : DatumGetTimestampTz(next_vt);
	outcome->blocked = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	FinishSpi();
	outcome->known = true;
}

/*
 * Poll reads at once and, while nothing is found and poll_seconds have
 * not passed, waits and reads again: until a change to this queue that may
 * make a message visible commits (wakeup.hpp), the earliest vt after now
 * that the empty read saw passes, or poll_interval_ms pass, whichever comes
 * first. It holds no row lock while it waits (the empty read took none);
 * returns how many it read.
 */
uint64
Poll(FunctionCallInfo fcinfo, const Queue *queue, const ReadRequest *request) {
	TimestampTz deadline = PlusSeconds(GetCurrentTimestamp(), request->poll_seconds);
	bool shared_wakeup = WakeupAvailable();
	Oid relid = queue->queue_relid;
	uint64 seen = shared_wakeup ? WakeupPrepare(relid) : 0;
	bool watching = false;
	uint64 n;
	for (;;) {
		/*
		 * The poll holds its locks on the queue, so a read's lock takes in no invalidations: take them
		 * here, or its statements would keep the plans made before a partition was attached (by a send
		 * making one on demand, or by premake) and never see the messages in it.
		 */
		AcceptInvalidationMessages();
		ReadOutcome outcome;
		n = ReadOnce(fcinfo, queue, request, &outcome);
		if (n > 0) {
			NoteTouch(relid);
			break;
		}
		long remaining_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (remaining_ms <= 0)
			break;
		if (!outcome.known)
			NextVisibility(queue, &outcome);
		if (outcome.blocked && shared_wakeup && !watching) {
			/* Rows held by others: wake when their holders end; one that ended just now may not have seen us. */
			WakeupWatch(relid);
			watching = true;
			continue;
		}
		if (shared_wakeup) {
			uint64 now_seen = WakeupCounter(relid);
			if (now_seen != seen) {
				/* A change committed while we were reading: read again at once. */
				seen = now_seen;
				continue;
			}
		}
		long wait_ms = Min(remaining_ms, static_cast<long>(request->poll_interval_ms));
		if (outcome.next_vt != DT_NOEND)
			/* Rounded up: the read after the wait finds the vt passed. */
			wait_ms = Min(wait_ms, TimestampDifferenceMilliseconds(GetCurrentTimestamp(), outcome.next_vt));
		if (wait_ms > 0)
			WakeupWait(relid, wait_ms);
		if (shared_wakeup)
			seen = WakeupCounter(relid);
		CHECK_FOR_INTERRUPTS();
	}
	WakeupFinish();
	return n;
}

} // namespace

uint64
ReadMessages(FunctionCallInfo fcinfo, const Queue *queue, const ReadRequest *request) {
	if (request->poll_seconds < 0) {
		ReadOutcome outcome;
		uint64 n = ReadOnce(fcinfo, queue, request, &outcome);
		if (n > 0)
			NoteTouch(queue->queue_relid);
		return n;
	}
	return Poll(fcinfo, queue, request);
}

uint64
PopMessages(FunctionCallInfo fcinfo, const Queue *queue, int32 qty) {
	if (qty == 0)
		return 0;
	TimestampTz now = GetCurrentTimestamp();
	ReadHintTicket ticket;
	int64 start = ReadHintStart(queue->queue_relid, now, &ticket);
	int32 max_deliveries;
	bool policy = QueueHasPolicy(queue, &max_deliveries);
	if (!policy) {
		/* One scan from the read hint that deletes what it takes, as the read's (no statement, no probe). */
		DirectRead pop;
		pop.qty = qty;
		pop.now = now;
		pop.new_vt = now;
		pop.start = start;
		pop.conditional = (Datum)0;
		pop.new_low = 0;
		pop.valid_until = 0;
		pop.first_timed = PG_INT64_MAX;
		ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
		int64 taken = RunDirectPop(queue->queue_relid, &pop, rsinfo->setResult, rsinfo->setDesc);
		if (taken >= 0) {
			NotePopped(queue->queue_relid, now, static_cast<uint64>(taken));
			ReadHintStore(queue->queue_relid, &ticket, pop.new_low, pop.valid_until, pop.first_timed);
			if (taken > 0)
				NoteTouch(queue->queue_relid);
			return static_cast<uint64>(taken);
		}
	}
	/* Through a statement: a priority queue's in its index's order (no hint), else from the hint. */
	bool priority = policy && QueuePriorities(queue) && !FifoTurn();
	Statement statement = priority ? Statement::kPopPriority : policy ? Statement::kPopPolicy : Statement::kPop;
	Datum values[4] = {Int32GetDatum(qty), TimestampTzGetDatum(now),
					   policy ? Int32GetDatum(max_deliveries) : Int64GetDatum(start), Int64GetDatum(start)};
	ConnectSpi();
	SPIPlanPtr plan = PreparedPlan(queue, statement);
	CountersExpectOwnStatement(queue->queue_relid);
	uint64 n = ExecutePlan(plan, values, nullptr, false);
	CountersEndOwnStatement();
	NotePopped(queue->queue_relid, now, n);
	if (priority)
		PutSpiMessagesAsIs(fcinfo, n);
	else
		PutSpiMessages(fcinfo, n);
	int64 first = FirstSpiMsgId(n);
	FinishSpi();
	if (n > 0)
		NoteTouch(queue->queue_relid);
	if (!priority)
		ProbeHeadIfFar(queue, &ticket, n, first);
	return n;
}

} // namespace pgmq::pg
