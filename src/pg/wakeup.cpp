/*
 * wakeup.cpp: shared commit counters and condition variables for long polls.
 */
#include "pg/wakeup.hpp"

extern "C" {
#include "access/xact.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "port/pg_bitutils.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "utils/wait_event.h"
}

namespace pgmq::pg {

namespace {

struct WakeupSlot {
	pg_atomic_uint64 commits;
	pg_atomic_uint32 waiters;  /* backends polling the slot */
	pg_atomic_uint32 watchers; /* of those, the ones that met rows they could not take */
	ConditionVariable cv;
};

WakeupSlot *slots = nullptr; /* in shared memory, or NULL when not preloaded */

constexpr int kWordBits = 64;
constexpr int kWords = kWakeupSlots / kWordBits;
uint64 pending[kWords];    /* slots this transaction sent to */
uint64 vt_changed[kWords]; /* slots whose vts it moved (also in touched) */
uint64 touched[kWords];    /* slots whose rows it took, locked or removed */
bool any_pending = false;  /* some bit set in one of them */

/* The slot this backend polls (counted in its waiters), or -1; and whether counted in its watchers. */
int waiting_slot = -1;
bool watching = false;

int
SlotOf(Oid relid) {
	return static_cast<int>(relid % kWakeupSlots);
}

void
Mark(uint64 *bitmap, int slot) {
	bitmap[slot / kWordBits] |= UINT64CONST(1) << (slot % kWordBits);
	any_pending = true;
}

void
Signal(WakeupSlot *slot) {
	pg_atomic_fetch_add_u64(&slot->commits, 1);
	ConditionVariableBroadcast(&slot->cv);
}

/*
 * SignalEnd signals the marked slots at the end of a (sub)transaction:
 * every slot sent to at commit; at commit, a slot whose vts were moved when
 * it has waiters, and one touched when it has watchers; at an abort, a slot
 * touched when it has waiters (rows it took are visible again, and a poll
 * may not have met them: the read hint can have passed them).
 */
void
SignalEnd(bool commit) {
	/* Pairs with the barrier of the waiters' atomic increments: our changes are visible, now read the counts. */
	pg_memory_barrier();
	for (int w = 0; w < kWords; w++) {
		uint64 bits = (commit ? pending[w] : 0) | touched[w];
		while (bits != 0) {
			int bit = pg_rightmost_one_pos64(bits);
			uint64 mask = UINT64CONST(1) << bit;
			bits &= bits - 1;
			WakeupSlot *slot = &slots[w * kWordBits + bit];
			bool wake;
			if (!commit)
				wake = pg_atomic_read_u32(&slot->waiters) > 0;
			else
				wake = (pending[w] & mask) != 0 || pg_atomic_read_u32(&slot->watchers) > 0 ||
					   ((vt_changed[w] & mask) != 0 && pg_atomic_read_u32(&slot->waiters) > 0);
			if (wake)
				Signal(slot);
		}
	}
}

void
ClearPending() {
	memset(pending, 0, sizeof(pending));
	memset(vt_changed, 0, sizeof(vt_changed));
	memset(touched, 0, sizeof(touched));
	any_pending = false;
}

/* StopWaiting removes this backend from its slot's counts. */
void
StopWaiting() {
	if (waiting_slot < 0)
		return;
	WakeupSlot *slot = &slots[waiting_slot];
	pg_atomic_fetch_sub_u32(&slot->waiters, 1);
	if (watching)
		pg_atomic_fetch_sub_u32(&slot->watchers, 1);
	waiting_slot = -1;
	watching = false;
}

void
OnXactEvent(XactEvent event, void *) {
	/* A poll ended by an error: the counts it holds (the condition variable's sleep is cancelled by the abort). */
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		StopWaiting();
	if (!any_pending)
		return;
	switch (event) {
	case XACT_EVENT_COMMIT:
	case XACT_EVENT_PARALLEL_COMMIT:
		if (slots != nullptr)
			SignalEnd(true);
		ClearPending();
		break;
	case XACT_EVENT_ABORT:
	case XACT_EVENT_PARALLEL_ABORT:
		if (slots != nullptr)
			SignalEnd(false);
		ClearPending();
		break;
	case XACT_EVENT_PREPARE:
		ClearPending();
		break;
	default:
		break;
	}
}

/*
 * OnSubXactEvent: a subtransaction's abort frees the rows it took at once;
 * its marks are not told apart from the parent's, so all touched slots are
 * signalled (and stay marked). A poll it ended gives up its counts.
 */
void
OnSubXactEvent(SubXactEvent event, SubTransactionId, SubTransactionId, void *) {
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	StopWaiting();
	if (any_pending && slots != nullptr)
		SignalEnd(false);
}

} // namespace

Size
WakeupShmemSize() {
	return mul_size(kWakeupSlots, sizeof(WakeupSlot));
}

void
WakeupShmemInit() {
	bool found;
	slots = static_cast<WakeupSlot *>(ShmemInitStruct("pgmq wakeup slots", WakeupShmemSize(), &found));
	if (!found) {
		for (int i = 0; i < kWakeupSlots; i++) {
			pg_atomic_init_u64(&slots[i].commits, 0);
			pg_atomic_init_u32(&slots[i].waiters, 0);
			pg_atomic_init_u32(&slots[i].watchers, 0);
			ConditionVariableInit(&slots[i].cv);
		}
	}
}

void
WakeupRegisterCallbacks() {
	RegisterXactCallback(OnXactEvent, nullptr);
	RegisterSubXactCallback(OnSubXactEvent, nullptr);
}

void
NoteSend(Oid queue_relid) {
	Mark(pending, SlotOf(queue_relid));
}

void
NoteVtChange(Oid queue_relid) {
	Mark(vt_changed, SlotOf(queue_relid));
	Mark(touched, SlotOf(queue_relid));
}

void
NoteTouch(Oid queue_relid) {
	Mark(touched, SlotOf(queue_relid));
}

bool
WakeupAvailable() {
	return slots != nullptr;
}

uint64
WakeupPrepare(Oid queue_relid) {
	Assert(waiting_slot < 0);
	waiting_slot = SlotOf(queue_relid);
	WakeupSlot *slot = &slots[waiting_slot];
	/* A full barrier: a change committing after it sees us; one before it is seen by our next snapshot. */
	pg_atomic_fetch_add_u32(&slot->waiters, 1);
	ConditionVariablePrepareToSleep(&slot->cv);
	return pg_atomic_read_u64(&slot->commits);
}

void
WakeupWatch(Oid queue_relid) {
	if (watching || waiting_slot != SlotOf(queue_relid))
		return;
	pg_atomic_fetch_add_u32(&slots[waiting_slot].watchers, 1);
	watching = true;
}

uint64
WakeupCounter(Oid queue_relid) {
	return pg_atomic_read_u64(&slots[SlotOf(queue_relid)].commits);
}

void
WakeupWait(Oid queue_relid, long timeout_ms) {
	if (slots == nullptr) {
		int rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		return;
	}
	ConditionVariableTimedSleep(&slots[SlotOf(queue_relid)].cv, timeout_ms, PG_WAIT_EXTENSION);
}

void
WakeupFinish() {
	if (slots == nullptr)
		return;
	StopWaiting();
	ConditionVariableCancelSleep();
}

} // namespace pgmq::pg
