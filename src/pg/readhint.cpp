/*
 * readhint.cpp: the shared per-queue read hints (see readhint.hpp for the rules).
 */
#include "pg/readhint.hpp"
#include "pg/readhint_protocol.hpp"

extern "C" {
#include "access/xact.h"
#include "port/pg_bitutils.h"
#include "storage/shmem.h"
#include "storage/spin.h"
}

namespace pgmq::pg {

namespace {

constexpr int kHintSlots = 1024;

/* HintSlot is one queue's hint; every field is protected by mutex. */
struct HintSlot {
	slock_t mutex;
	Oid relid;                /* the queue the hint is for; InvalidOid: no hint */
	bool disabled;            /* a prepared transaction sent here: no hints until restart */
	bool probing;             /* a backend is probing this slot: others need not */
	uint32 sends_in_progress; /* transactions that sent here and have not ended */
	uint64 changes;           /* bumped when a send ends, at reset; probes compare it */
	int64 low;                /* no visible row with msg_id < low ... */
	TimestampTz valid_until;  /* ... before this time */
};

HintSlot *slots = nullptr; /* in shared memory, or NULL when not preloaded */

constexpr int kWordBits = 64;
constexpr int kWords = kHintSlots / kWordBits;
uint64 sending[kWords];         /* slots whose sends_in_progress this transaction incremented */
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
			slot->sends_in_progress--;
			slot->changes++;
		});
		ClearMarks();
		break;
	case XACT_EVENT_ABORT:
	case XACT_EVENT_PARALLEL_ABORT:
		ForEachMarked(reset_at_abort, [](HintSlot *slot) { ResetLocked(slot); });
		ForEachMarked(sending, [](HintSlot *slot) {
			slot->sends_in_progress--;
			slot->changes++;
		});
		ClearMarks();
		break;
	case XACT_EVENT_PREPARE:
		/* The rows become visible at COMMIT PREPARED, possibly in another backend: give up on these slots. */
		ForEachMarked(sending, [](HintSlot *slot) {
			slot->sends_in_progress--;
			slot->disabled = true;
			ResetLocked(slot);
		});
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
	return mul_size(kHintSlots, sizeof(HintSlot));
}

void
ReadHintShmemInit() {
	bool found;
	slots = static_cast<HintSlot *>(ShmemInitStruct("pgmq read hints", ReadHintShmemSize(), &found));
	if (!found) {
		for (int i = 0; i < kHintSlots; i++) {
			SpinLockInit(&slots[i].mutex);
			slots[i].disabled = false;
			slots[i].probing = false;
			slots[i].sends_in_progress = 0;
			slots[i].changes = 0;
			ResetLocked(&slots[i]);
		}
	}
}

void
ReadHintRegisterCallbacks() {
	RegisterXactCallback(OnXactEvent, nullptr);
	RegisterSubXactCallback(OnSubXactEvent, nullptr);
}

void
ReadHintBeginSend(Oid queue_relid) {
	if (slots == nullptr)
		return;
	int n = SlotOf(queue_relid);
	if (IsMarked(sending, n))
		return;
	HintSlot *slot = &slots[n];
	/* Mark first: if the increment happened and marking failed, the count would never come down. */
	Mark(sending, n);
	SpinLockAcquire(&slot->mutex);
	slot->sends_in_progress++;
	SpinLockRelease(&slot->mutex);
}

void
ReadHintNoteVtChange(Oid queue_relid) {
	if (slots != nullptr)
		Mark(reset_at_commit, SlotOf(queue_relid));
}

void
ReadHintNoteInsert(Oid queue_relid) {
	ReadHintBeginSend(queue_relid);
	if (!own_send)
		ReadHintNoteVtChange(queue_relid);
}

void
ReadHintNoteIds(Oid queue_relid, int64 lowest_id) {
	if (slots == nullptr)
		return;
	HintSlot *slot = &slots[SlotOf(queue_relid)];
	SpinLockAcquire(&slot->mutex);
	if (slot->relid == queue_relid && slot->low > lowest_id)
		ResetLocked(slot);
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

int64
ReadHintStart(Oid queue_relid, TimestampTz now, ReadHintTicket *ticket) {
	ticket->may_probe = false;
	ticket->start = PG_INT64_MIN;
	ticket->start_valid = DT_NOEND;
	ticket->changes = 0;
	if (slots == nullptr)
		return ticket->start;
	int n = SlotOf(queue_relid);
	HintSlot *slot = &slots[n];
	/* This transaction changed vts or inserted rows here: the hint (reset at its commit) may pass them. */
	bool own_changes = IsMarked(reset_at_commit, n);
	SpinLockAcquire(&slot->mutex);
	if (slot->relid == queue_relid && !slot->disabled && !own_changes) {
		if (now < slot->valid_until) {
			ticket->start = slot->low;
			ticket->start_valid = slot->valid_until;
		} else
			ResetLocked(slot);
	}
	ticket->changes = slot->changes;
	ticket->may_probe =
		!slot->disabled && !slot->probing && slot->sends_in_progress == 0 && !IsolationUsesXactSnapshot();
	SpinLockRelease(&slot->mutex);
	return ticket->start;
}

bool
ReadHintBeginProbe(Oid queue_relid, const ReadHintTicket *ticket) {
	if (slots == nullptr || !ticket->may_probe || probing_slot >= 0)
		return false;
	int n = SlotOf(queue_relid);
	HintSlot *slot = &slots[n];
	SpinLockAcquire(&slot->mutex);
	bool mine = !slot->probing && slot->changes == ticket->changes && slot->sends_in_progress == 0;
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
ReadHintStore(Oid queue_relid, const ReadHintTicket *ticket, int64 new_low, TimestampTz valid_until) {
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
	bool unchanged = slot->changes == ticket->changes && slot->sends_in_progress == 0 && !slot->disabled;
	bool better = new_low > ticket->start && (slot->relid != queue_relid || new_low > slot->low);
	if (unchanged && better) {
		slot->relid = queue_relid;
		slot->low = new_low;
		slot->valid_until = Min(ticket->start_valid, valid_until);
	}
	SpinLockRelease(&slot->mutex);
}

} // namespace pgmq::pg
