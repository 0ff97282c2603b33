/*
 * send_path.cpp: sending messages, directly or through the INSERT statement (see send_path.hpp).
 */
#include "pg/send_path.hpp"

#include "pg/dedup.hpp"
#include "pg/counters.hpp"
#include "pg/direct.hpp"
#include "pg/partitions.hpp"
#include "pg/plans.hpp"
#include "pg/policy_cache.hpp"
#include "pg/priority.hpp"
#include "pg/readhint_protocol.hpp"
#include "pg/wakeup.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "utils/array.h"
#include "utils/timestamp.h"
}

namespace pgmq::pg {

namespace {

/* JsonbArray makes a jsonb[] of count values, NULL where a value is (Datum)0. */
Datum
JsonbArray(const Datum *values, int count) {
	bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * count));
	for (int i = 0; i < count; i++)
		nulls[i] = values[i] == (Datum)0;
	int dims[1] = {count};
	int lbs[1] = {1};
	return PointerGetDatum(
		construct_md_array(const_cast<Datum *>(values), nulls, 1, dims, lbs, JSONBOID, -1, false, TYPALIGN_INT));
}

/*
 * InsertThroughStatement runs the prepared INSERT ... RETURNING msg_id
 * (kSend for one message, kSendBatch with arrays for more); sets *ids to the
 * returned msg_ids, allocated in the caller's memory context, and returns how many.
 */
uint64
InsertThroughStatement(const Queue *queue, TimestampTz vt, int count, const Datum *messages, const Datum *headers,
					   int64 **ids) {
	bool batch = count > 1;
	Datum values[3] = {TimestampTzGetDatum(vt), (Datum)0, (Datum)0};
	char nulls[3] = {' ', ' ', headers != nullptr ? ' ' : 'n'};
	values[1] = batch ? JsonbArray(messages, count) : messages[0];
	if (values[1] == (Datum)0)
		nulls[1] = 'n';
	if (headers != nullptr)
		values[2] = batch ? JsonbArray(headers, count) : headers[0];
	if (values[2] == (Datum)0)
		nulls[2] = 'n';
	ConnectSpi();
	/* msg_ids from the sequence: the hint guard trigger need not reset the hint. */
	ReadHintSetOwnSend(true);
	/* A partitioned queue creates the partition a message finds missing (pg/partitions.hpp). */
	SPIPlanPtr plan = PreparedPlan(queue, batch ? Statement::kSendBatch : Statement::kSend);
	CountersExpectOwnStatement(queue->queue_relid);
	uint64 n = ExecuteInsertPlan(queue->queue_table, plan, values, nulls, count);
	CountersEndOwnStatement();
	ReadHintSetOwnSend(false);
	/* SPI_palloc: in the memory context that was current at SPI_connect, the caller's. */
	*ids = static_cast<int64 *>(SPI_palloc(sizeof(int64) * Max(n, static_cast<uint64>(1))));
	for (uint64 i = 0; i < n; i++) {
		bool isnull;
		(*ids)[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	FinishSpi();
	return n;
}

/* NoteInserted reports n rows inserted with the vt vt to metrics (pg/counters.hpp). */
void
NoteInserted(Oid relid, TimestampTz vt, int64 n) {
	CountersNoteRows(relid, n);
	CountersNoteVt(relid, vt, n, GetCurrentTimestamp());
}

/* DedupOrder is qsort_arg's comparator of message indexes by their dedup ids (arg), then index. */
int
DedupOrder(const void *a, const void *b, void *arg) {
	text *const *ids = static_cast<text *const *>(arg);
	int x = *static_cast<const int *>(a);
	int y = *static_cast<const int *>(b);
	int c = CompareDedupIds(ids[x], ids[y]);
	return c != 0 ? c : (x > y) - (x < y);
}

/* InsertWithIds inserts the count messages with the msg_ids ids, directly or through kSendWithIds. */
void
InsertWithIds(const Queue *queue, TimestampTz vt, int count, const Datum *messages, const Datum *headers,
			  const int64 *ids) {
	if (DirectInsertWithIds(queue->queue_relid, vt, count, messages, headers, ids))
		return;
	Datum values[4] = {TimestampTzGetDatum(vt), JsonbArray(messages, count), JsonbArray(headers, count),
					   IdArray(ids, count)};
	ConnectSpi();
	/* msg_ids from the sequence: the hint guard trigger need not reset the hint. */
	ReadHintSetOwnSend(true);
	/* As InsertThroughStatement: a row that finds no partition makes it; its msg_id is already taken. */
	SPIPlanPtr plan = PreparedPlan(queue, Statement::kSendWithIds);
	CountersExpectOwnStatement(queue->queue_relid);
	ExecuteInsertPlan(queue->queue_table, plan, values, nullptr, 0);
	CountersEndOwnStatement();
	ReadHintSetOwnSend(false);
	FinishSpi();
}

/*
 * SendDeduplicated is SendMessages for a queue whose policy deduplicates (window_seconds) when some of the
 * messages have a dedup id (dedup_ids[i], nullptr for none; with_id of them). Every message that will not be
 * a duplicate within the batch takes its msg_id first, in array order; the distinct ids are recorded in
 * pgmq.dedup (dedup.hpp), and only the messages whose id this send recorded (and those without an id) are
 * inserted. A duplicate's msg_id is that of the first message sent with its id.
 */
uint64
SendDeduplicated(const Queue *queue, TimestampTz vt, int count, const Datum *messages, const Datum *headers,
				 text **dedup_ids, int with_id, int32 window_seconds, int64 *ids) {
	Oid relid = queue->queue_relid;
	/* The messages with an id, ordered by id: each run of one id is led by its first message. */
	int *order = static_cast<int *>(palloc(sizeof(int) * with_id));
	for (int i = 0, k = 0; i < count; i++) {
		if (dedup_ids[i] != nullptr)
			order[k++] = i;
	}
	qsort_arg(order, with_id, sizeof(int), DedupOrder, dedup_ids);
	int *leader = static_cast<int *>(palloc(sizeof(int) * count));
	for (int i = 0; i < count; i++)
		leader[i] = i;
	text **distinct = static_cast<text **>(palloc(sizeof(text *) * with_id));
	int *distinct_leader = static_cast<int *>(palloc(sizeof(int) * with_id));
	int n_distinct = 0;
	for (int k = 0; k < with_id; k++) {
		int i = order[k];
		if (k > 0 && CompareDedupIds(dedup_ids[i], dedup_ids[order[k - 1]]) == 0) {
			leader[i] = leader[order[k - 1]];
			continue;
		}
		distinct[n_distinct] = dedup_ids[i];
		distinct_leader[n_distinct++] = i;
	}

	ReadHintBeginSend(relid);
	Oid seqid = MsgIdSequence(relid);
	for (int i = 0; i < count; i++) {
		if (leader[i] == i)
			ids[i] = nextval_internal(seqid, false);
	}
	int64 *proposed = static_cast<int64 *>(palloc(sizeof(int64) * n_distinct));
	int64 *first = static_cast<int64 *>(palloc(sizeof(int64) * n_distinct));
	for (int k = 0; k < n_distinct; k++)
		proposed[k] = ids[distinct_leader[k]];
	ClaimDedupIds(queue, window_seconds, GetCurrentTimestamp(), n_distinct, distinct, proposed, first);

	/* Inserted: messages without an id and the leaders whose id this send recorded. */
	bool *insert = static_cast<bool *>(palloc(sizeof(bool) * count));
	for (int i = 0; i < count; i++)
		insert[i] = dedup_ids[i] == nullptr;
	for (int k = 0; k < n_distinct; k++) {
		int i = distinct_leader[k];
		insert[i] = first[k] == proposed[k];
		ids[i] = first[k];
	}
	Datum *new_messages = static_cast<Datum *>(palloc(sizeof(Datum) * count));
	Datum *new_headers = static_cast<Datum *>(palloc(sizeof(Datum) * count));
	int64 *new_ids = static_cast<int64 *>(palloc(sizeof(int64) * count));
	int n_insert = 0;
	for (int i = 0; i < count; i++) {
		if (leader[i] != i)
			ids[i] = ids[leader[i]];
		if (!insert[i])
			continue;
		new_messages[n_insert] = messages[i];
		new_headers[n_insert] = headers[i];
		new_ids[n_insert++] = ids[i];
	}
	if (n_insert > 0) {
		InsertWithIds(queue, vt, n_insert, new_messages, new_headers, new_ids);
		NoteInserted(relid, vt, n_insert);
		ReadHintNoteIds(relid, new_ids, n_insert);
		NoteSend(relid);
	}
	return static_cast<uint64>(count);
}

} // namespace

uint64
SendMessages(const Queue *queue, TimestampTz vt, int count, const Datum *messages, const Datum *headers, int64 **ids) {
	Assert(count > 0);
	Oid relid = queue->queue_relid;
	uint64 n;
	*ids = static_cast<int64 *>(palloc(sizeof(int64) * count));
	/* Only messages with headers can carry a dedup id: a plain send does not even look at the policy. */
	int32 window_seconds = headers != nullptr ? QueueDedupSeconds(queue) : 0;
	if (window_seconds > 0) {
		text **dedup_ids = static_cast<text **>(palloc(sizeof(text *) * count));
		int with_id = 0;
		for (int i = 0; i < count; i++) {
			dedup_ids[i] = DedupIdOf(headers[i]);
			with_id += dedup_ids[i] != nullptr;
		}
		if (with_id > 0) {
			/* A queue may deduplicate and read by priority: its headers are checked before anything is stored. */
			if (QueuePriorities(queue))
				CheckPriorityHeaders(queue, count, headers);
			return SendDeduplicated(queue, vt, count, messages, headers, dedup_ids, with_id, window_seconds, *ids);
		}
	}
	ReadHintBeginSend(relid);
	if (DirectInsert(relid, vt, count, messages, headers, *ids)) {
		n = static_cast<uint64>(count);
		ReadHintNoteIds(relid, *ids, count);
	} else {
		pfree(*ids);
		/*
		 * Only here: a priority queue's index is on an expression (and set_policy added a column), so
		 * DirectInsert always declines it, and plain queues' direct sends pay no policy lookup.
		 */
		if (QueuePriorities(queue))
			CheckPriorityHeaders(queue, count, headers);
		n = InsertThroughStatement(queue, vt, count, messages, headers, ids);
		if (n > 0)
			ReadHintNoteIds(relid, *ids, n);
	}
	NoteInserted(relid, vt, static_cast<int64>(n));
	NoteSend(relid);
	return n;
}

} // namespace pgmq::pg
