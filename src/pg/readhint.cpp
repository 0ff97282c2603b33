/*
 * readhint.cpp: the shared per-queue read hints (see readhint.hpp for the rules).
 */
#include "pg/readhint.hpp"
#include "pg/readhint_protocol.hpp"

extern "C" {
#include "access/xact.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "port/pg_bitutils.h"
#include "storage/backendid.h"
#include "storage/shmem.h"
#include "storage/spin.h"
}

namespace pgmq::pg {

namespace {

constexpr int kHintSlots = 1024;

/* HintSlot is one queue's hint; every field is protected by mutex. */
struct HintSlot {
	slock_t mutex;
	Oid relid;               /* the queue the hint is for; InvalidOid: no hint */
	bool disabled;           /* a prepared transaction sent here: no hints until restart */
	bool probing;            /* a backend is probing this slot: others need not */
	uint32 unbounded_sends;  /* sends in progress without a bound (see SendBound): no store while any */
	uint64 changes;          /* bumped at reset, when a send's ids undercut its bound or an unbounded send ends */
	Oid published_relid;     /* the queue published is for (slots are shared by OID mod 1024) */
	uint32 bounded_sends;    /* SendBounds of this slot's queues in use: reads look at them only when any */
	int64 published;         /* the highest msg_id a send reported here (ReadHintNoteIds); PG_INT64_MIN: none */
	int64 floor;             /* no visible row with msg_id < floor (<= low) until a reset; PG_INT64_MIN: none */
	int64 low;               /* no visible row with msg_id < low ... */
	TimestampTz valid_until; /* ... before this time */
};

HintSlot *slots = nullptr; /* in shared memory, or NULL when not preloaded */

/*
 * SendBound is one send in progress, in shared memory: a lower bound of
 * every msg_id it has taken or will take (kSendBounds per backend, indexed
 * by MyBackendId). A row below a read's snapshot that the snapshot does not
 * see is a send's that had taken its msg_id before the snapshot and had not
 * committed: its bound was set before the read's ticket (the send announces
 * itself before nextval), so the read stops its hint at the smallest bound
 * (ReadHintStart). A send announced after the ticket takes msg_ids after the
 * ticket read `published`, and (msg_id sequences being increasing; see
 * ReadHintNoteIds for those that are not) above it. So sends that end no
 * longer stop stores: with sends always in flight, the hint still moves.
 * relid is written under the mutex of relid's slot and read without it
 * (written bound first, relid last; a stale entry of a send that ended
 * merely lowers a read's bound: its commit was visible before it cleared
 * relid, so before the read's snapshot).
 */
struct SendBound {
	pg_atomic_uint32 relid; /* InvalidOid: unused */
	pg_atomic_uint64 bound; /* an int64 */
};

constexpr int kSendBounds = 4;
SendBound *bounds = nullptr; /* MaxBackends * kSendBounds, in shared memory */
int bound_slots = 0;         /* MaxBackends * kSendBounds when bounds is set */

/* The bounds this backend published, in bounds[(MyBackendId - 1) * kSendBounds ...]: which queue each is for. */
Oid my_bounds[kSendBounds];

constexpr int kWordBits = 64;
constexpr int kWords = kHintSlots / kWordBits;
uint64 sending[kWords];         /* slots whose unbounded_sends this transaction incremented */
uint64 reset_at_commit[kWords]; /* slots this transaction changed vt in */
uint64 reset_at_abort[kWords];  /* slots a probe of this transaction stored a hint in */
bool any_marked = false;
int probing_slot = -1; /* the slot whose probing flag this backend set */
bool own_send = false; /* pgmq's send is inserting through SQL (ReadHintSetOwnSend) */

int
SlotOf(Oid relid) {
	return static_cast<int>(relid % kHintSlots);
}

void
Mark(uint64 *mask, int slot) {
	mask[slot / kWordBits] |= UINT64CONST(1) << (slot % kWordBits);
	any_marked = true;
}

bool
IsMarked(const uint64 *mask, int slot) {
	return (mask[slot / kWordBits] & (UINT64CONST(1) << (slot % kWordBits))) != 0;
}

/* ResetLocked forgets slot's hint; the caller holds its mutex. */
void
ResetLocked(HintSlot *slot) {
	slot->relid = InvalidOid;
	slot->floor = PG_INT64_MIN;
	slot->low = 0;
	slot->valid_until = DT_NOEND;
	slot->changes++;
}

/* ForEachMarked calls fn(slot) for every slot marked in mask, holding its mutex. */
template <typename Fn>
void
ForEachMarked(const uint64 *mask, Fn fn) {
	for (int w = 0; w < kWords; w++) {
		uint64 bits = mask[w];
		while (bits != 0) {
			int bit = pg_rightmost_one_pos64(bits);
			bits &= bits - 1;
			HintSlot *slot = &slots[w * kWordBits + bit];
			SpinLockAcquire(&slot->mutex);
			fn(slot);
			SpinLockRelease(&slot->mutex);
		}
	}
}

/* EndProbe clears the probing flag this backend set, if any. */
void
EndProbe() {
	if (probing_slot < 0)
		return;
	HintSlot *slot = &slots[probing_slot];
	SpinLockAcquire(&slot->mutex);
	slot->probing = false;
	SpinLockRelease(&slot->mutex);
	probing_slot = -1;
}

/* MyBound is this backend's i-th SendBound. */
SendBound *
MyBound(int i) {
	return &bounds[(MyBackendId - 1) * kSendBounds + i];
}

/* EndBoundedSends withdraws this backend's bounds (at the end of its transaction); with disable, a PREPARE's. */
void
EndBoundedSends(bool disable) {
	for (int i = 0; i < kSendBounds; i++) {
		if (my_bounds[i] == InvalidOid)
			continue;
		HintSlot *slot = &slots[SlotOf(my_bounds[i])];
		SpinLockAcquire(&slot->mutex);
		pg_atomic_write_u32(&MyBound(i)->relid, InvalidOid);
		slot->bounded_sends--;
		if (disable) {
			slot->disabled = true;
			ResetLocked(slot);
		}
		SpinLockRelease(&slot->mutex);
		my_bounds[i] = InvalidOid;
	}
}

void
ClearMarks() {
	memset(sending, 0, sizeof(sending));
	memset(reset_at_commit, 0, sizeof(reset_at_commit));
	memset(reset_at_abort, 0, sizeof(reset_at_abort));
	any_marked = false;
}

/* OnXactEvent runs after the transaction's outcome is visible to new snapshots. */
void
OnXactEvent(XactEvent event, void *) {
	own_send = false;
	if (!any_marked || slots == nullptr)
		return;
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE)
		EndProbe();
	switch (event) {
	case XACT_EVENT_COMMIT:
	case XACT_EVENT_PARALLEL_COMMIT:
		ForEachMarked(reset_at_commit, [](HintSlot *slot) { ResetLocked(slot); });
		ForEachMarked(sending, [](HintSlot *slot) {
			slot->unbounded_sends--;
			slot->changes++;
		});
		EndBoundedSends(false);
		ClearMarks();
		break;
	case XACT_EVENT_ABORT:
	case XACT_EVENT_PARALLEL_ABORT:
		ForEachMarked(reset_at_abort, [](HintSlot *slot) { ResetLocked(slot); });
		ForEachMarked(sending, [](HintSlot *slot) {
			slot->unbounded_sends--;
			slot->changes++;
		});
		EndBoundedSends(false);
		ClearMarks();
		break;
	case XACT_EVENT_PREPARE:
		/* The rows become visible at COMMIT PREPARED, possibly in another backend: give up on these slots. */
		ForEachMarked(sending, [](HintSlot *slot) {
			slot->unbounded_sends--;
			slot->disabled = true;
			ResetLocked(slot);
		});
		EndBoundedSends(true);
		ForEachMarked(reset_at_commit, [](HintSlot *slot) {
			slot->disabled = true;
			ResetLocked(slot);
		});
		/*
		 * A hint this transaction stored may pass rows it took or deleted, which
		 * come back at ROLLBACK PREPARED. Others cannot pass them while they are
		 * held, so forgetting the hint now is enough.
		 */
		ForEachMarked(reset_at_abort, [](HintSlot *slot) { ResetLocked(slot); });
		ClearMarks();
		break;
	default:
		break;
	}
}

/* OnSubXactEvent resets hints stored by the transaction, and ends a failed probe, when a subtransaction aborts. */
void
OnSubXactEvent(SubXactEvent event, SubTransactionId, SubTransactionId, void *) {
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	own_send = false;
	if (!any_marked || slots == nullptr)
		return;
	/* A probe runs within one call and opens no subtransaction: one still marked here has failed. */
	EndProbe();
	ForEachMarked(reset_at_abort, [](HintSlot *slot) { ResetLocked(slot); });
}

} // namespace

Size
ReadHintShmemSize() {
	return add_size(mul_size(kHintSlots, sizeof(HintSlot)), mul_size(MaxBackends * kSendBounds, sizeof(SendBound)));
}

void
ReadHintShmemInit() {
	bool found;
	slots = static_cast<HintSlot *>(ShmemInitStruct("pgmq read hints", ReadHintShmemSize(), &found));
	bounds = reinterpret_cast<SendBound *>(slots + kHintSlots);
	bound_slots = MaxBackends * kSendBounds;
	if (!found) {
		for (int i = 0; i < bound_slots; i++) {
			pg_atomic_init_u32(&bounds[i].relid, InvalidOid);
			pg_atomic_init_u64(&bounds[i].bound, 0);
		}
		for (int i = 0; i < kHintSlots; i++) {
			SpinLockInit(&slots[i].mutex);
			slots[i].disabled = false;
			slots[i].probing = false;
			slots[i].unbounded_sends = 0;
			slots[i].bounded_sends = 0;
			slots[i].changes = 0;
			slots[i].published_relid = InvalidOid;
			slots[i].published = PG_INT64_MIN;
			ResetLocked(&slots[i]);
		}
	}
}

void
ReadHintRegisterCallbacks() {
	RegisterXactCallback(OnXactEvent, nullptr);
	RegisterSubXactCallback(OnSubXactEvent, nullptr);
}

namespace {

/*
 * BeginSend announces a send to queue_relid in this transaction: with a
 * bound (see SendBound) when bounded, a free one is left and the slot knows
 * the queue's published msg_id; else as an unbounded send.
 */
void
BeginSend(Oid queue_relid, bool bounded) {
	if (slots == nullptr)
		return;
	int n = SlotOf(queue_relid);
	if (IsMarked(sending, n))
		return;
	int free = -1;
	for (int i = 0; i < kSendBounds; i++) {
		if (my_bounds[i] == queue_relid)
			return;
		if (my_bounds[i] == InvalidOid && free < 0)
			free = i;
	}
	if (MyBackendId < 1 || MyBackendId > MaxBackends)
		bounded = false;
	HintSlot *slot = &slots[n];
	SpinLockAcquire(&slot->mutex);
	if (bounded && free >= 0 && slot->published_relid == queue_relid) {
		/* The msg_ids this send takes come after the published one (the sequence only rises; else see NoteIds). */
		int64 bound = slot->published == PG_INT64_MAX ? PG_INT64_MAX : slot->published + 1;
		SendBound *mine = MyBound(free);
		pg_atomic_write_u64(&mine->bound, static_cast<uint64>(bound));
		pg_write_barrier();
		pg_atomic_write_u32(&mine->relid, queue_relid);
		my_bounds[free] = queue_relid;
		slot->bounded_sends++;
		any_marked = true;
	} else {
		slot->unbounded_sends++;
		Mark(sending, n); /* bits in local memory: nothing between the count and its mark can fail */
	}
	SpinLockRelease(&slot->mutex);
}

/* LowestBound is the smallest bound of the sends to queue_relid in progress (PG_INT64_MAX: none). */
int64
LowestBound(Oid queue_relid) {
	int64 lowest = PG_INT64_MAX;
	for (int i = 0; i < bound_slots; i++) {
		if (pg_atomic_read_u32(&bounds[i].relid) != queue_relid)
			continue;
		pg_read_barrier();
		lowest = Min(lowest, static_cast<int64>(pg_atomic_read_u64(&bounds[i].bound)));
	}
	return lowest;
}

} // namespace

void
ReadHintBeginSend(Oid queue_relid) {
	BeginSend(queue_relid, true);
}

void
ReadHintNoteVtChange(Oid queue_relid) {
	if (slots != nullptr)
		Mark(reset_at_commit, SlotOf(queue_relid));
}

void
ReadHintNoteInsert(Oid queue_relid) {
	/* Plain SQL may insert any msg_id: unbounded, and a reset at commit. */
	BeginSend(queue_relid, own_send);
	if (!own_send)
		ReadHintNoteVtChange(queue_relid);
}

void
ReadHintNoteIds(Oid queue_relid, const int64 *ids, uint64 n) {
	if (slots == nullptr)
		return;
	int64 lowest_id = PG_INT64_MAX;
	int64 highest_id = PG_INT64_MIN;
	for (uint64 i = 0; i < n; i++) {
		lowest_id = Min(lowest_id, ids[i]);
		highest_id = Max(highest_id, ids[i]);
	}
	HintSlot *slot = &slots[SlotOf(queue_relid)];
	SendBound *mine = nullptr;
	for (int i = 0; i < kSendBounds; i++) {
		if (my_bounds[i] == queue_relid)
			mine = MyBound(i);
	}
	SpinLockAcquire(&slot->mutex);
	if (slot->relid == queue_relid && slot->low > lowest_id)
		ResetLocked(slot);
	/*
	 * Ids below this send's bound (a sequence with CACHE > 1, or restarted):
	 * a read whose ticket has the old bound must not store (changes), later
	 * ones get the lower bound.
	 */
	if (mine != nullptr && static_cast<int64>(pg_atomic_read_u64(&mine->bound)) > lowest_id) {
		pg_atomic_write_u64(&mine->bound, static_cast<uint64>(lowest_id));
		slot->changes++;
	}
	/* The ids went down (same reasons): start over from these (bounds are corrected as above). */
	if (slot->published_relid != queue_relid || lowest_id <= slot->published)
		slot->published = highest_id;
	else
		slot->published = Max(slot->published, highest_id);
	slot->published_relid = queue_relid;
	SpinLockRelease(&slot->mutex);
}

void
ReadHintSetOwnSend(bool on) {
	own_send = on;
}

void
ReadHintForget(Oid queue_relid) {
	if (slots == nullptr)
		return;
	HintSlot *slot = &slots[SlotOf(queue_relid)];
	SpinLockAcquire(&slot->mutex);
	ResetLocked(slot);
	SpinLockRelease(&slot->mutex);
	/* A re-created queue may get the same OID in this transaction; forget again at commit. */
	Mark(reset_at_commit, SlotOf(queue_relid));
}

bool
ReadHintPeek(Oid queue_relid, int64 *floor, int64 *low, TimestampTz *valid_until) {
	if (slots == nullptr)
		return false;
	HintSlot *slot = &slots[SlotOf(queue_relid)];
	SpinLockAcquire(&slot->mutex);
	bool found = slot->relid == queue_relid && !slot->disabled;
	*floor = slot->floor;
	*low = slot->low;
	*valid_until = slot->valid_until;
	SpinLockRelease(&slot->mutex);
	return found;
}

int64
ReadHintStart(Oid queue_relid, TimestampTz now, ReadHintTicket *ticket) {
	ticket->may_probe = false;
	ticket->start = PG_INT64_MIN;
	ticket->start_valid = DT_NOEND;
	ticket->changes = 0;
	ticket->bound = PG_INT64_MIN;
	ticket->floor = PG_INT64_MIN;
	if (slots == nullptr)
		return ticket->start;
	int n = SlotOf(queue_relid);
	HintSlot *slot = &slots[n];
	/* This transaction changed vts or inserted rows here: the hint (reset at its commit) may pass them. */
	bool own_changes = IsMarked(reset_at_commit, n);
	SpinLockAcquire(&slot->mutex);
	if (slot->relid == queue_relid && !slot->disabled && !own_changes) {
		/* Past valid_until, rows below low may be visible again (their vt passed), none below floor. */
		if (now >= slot->valid_until) {
			slot->low = slot->floor;
			slot->valid_until = DT_NOEND;
		}
		ticket->start = slot->low;
		ticket->start_valid = slot->valid_until;
		ticket->floor = slot->floor;
	}
	ticket->changes = slot->changes;
	/*
	 * Sends announced from now on take msg_ids above published (see
	 * SendBound); while the slot knows none for this queue, they announce
	 * themselves unbounded, and a store sees them in unbounded_sends or changes.
	 */
	bool known = slot->published_relid == queue_relid;
	ticket->bound = !known || slot->published == PG_INT64_MAX ? PG_INT64_MAX : slot->published + 1;
	ticket->may_probe = !slot->disabled && !slot->probing && slot->unbounded_sends == 0 && !IsolationUsesXactSnapshot();
	bool any_bounded = slot->bounded_sends > 0;
	SpinLockRelease(&slot->mutex);
	/* And those in progress take none below their bounds (those announced later are above published). */
	if (ticket->may_probe && any_bounded)
		ticket->bound = Min(ticket->bound, LowestBound(queue_relid));
	return ticket->start;
}

bool
ReadHintBeginProbe(Oid queue_relid, const ReadHintTicket *ticket) {
	if (slots == nullptr || !ticket->may_probe || probing_slot >= 0)
		return false;
	int n = SlotOf(queue_relid);
	HintSlot *slot = &slots[n];
	SpinLockAcquire(&slot->mutex);
	bool mine = !slot->probing && slot->changes == ticket->changes && slot->unbounded_sends == 0;
	if (mine) {
		/* Cleared by ReadHintStore, or at the end of the transaction if the probe fails. */
		slot->probing = true;
		probing_slot = n;
		any_marked = true;
	}
	SpinLockRelease(&slot->mutex);
	return mine;
}

void
ReadHintStore(Oid queue_relid, const ReadHintTicket *ticket, int64 new_low, TimestampTz valid_until,
			  int64 first_timed) {
	if (slots == nullptr || !ticket->may_probe)
		return;
	int n = SlotOf(queue_relid);
	HintSlot *slot = &slots[n];
	Mark(reset_at_abort, n);
	SpinLockAcquire(&slot->mutex);
	if (probing_slot == n) {
		slot->probing = false;
		probing_slot = -1;
	}
	/* No visible row below new_low but those of sends in progress at the snapshot: none lies below the bound. */
	new_low = Min(new_low, ticket->bound);
	bool unchanged = slot->changes == ticket->changes && slot->unbounded_sends == 0 && !slot->disabled;
	bool better = new_low > ticket->start && (slot->relid != queue_relid || new_low > slot->low);
	if (unchanged && better) {
		/*
		 * A scan from the floor (or from the start) saw every row from there to
		 * new_low: below the first it passed for its vt all are deleted, and stay
		 * so until a reset. Scans from low leave the floor where it was.
		 */
		int64 floor = slot->relid == queue_relid ? slot->floor : PG_INT64_MIN;
		if (ticket->start <= ticket->floor)
			floor = Max(floor, Min(first_timed, new_low));
		slot->relid = queue_relid;
		slot->floor = floor;
		slot->low = new_low;
		slot->valid_until = Min(ticket->start_valid, valid_until);
	}
	SpinLockRelease(&slot->mutex);
}

} // namespace pgmq::pg
