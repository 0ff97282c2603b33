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
	ConditionVariable cv;
};

WakeupSlot *slots = nullptr; /* in shared memory, or NULL when not preloaded */

constexpr int kWordBits = 64;
uint64 pending[kWakeupSlots / kWordBits]; /* slots this transaction sent to */
bool any_pending = false;

int
SlotOf(Oid relid) {
	return static_cast<int>(relid % kWakeupSlots);
}

void
SignalPending() {
	for (int w = 0; w < kWakeupSlots / kWordBits; w++) {
		uint64 bits = pending[w];
		while (bits != 0) {
			int bit = pg_rightmost_one_pos64(bits);
			bits &= bits - 1;
			WakeupSlot *slot = &slots[w * kWordBits + bit];
			pg_atomic_fetch_add_u64(&slot->commits, 1);
			ConditionVariableBroadcast(&slot->cv);
		}
	}
}

void
ClearPending() {
	memset(pending, 0, sizeof(pending));
	any_pending = false;
}

void
OnXactEvent(XactEvent event, void *) {
	if (!any_pending)
		return;
	switch (event) {
	case XACT_EVENT_COMMIT:
	case XACT_EVENT_PARALLEL_COMMIT:
		if (slots != nullptr)
			SignalPending();
		ClearPending();
		break;
	case XACT_EVENT_ABORT:
	case XACT_EVENT_PARALLEL_ABORT:
	case XACT_EVENT_PREPARE:
		ClearPending();
		break;
	default:
		break;
	}
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
			ConditionVariableInit(&slots[i].cv);
		}
	}
}

void
WakeupRegisterCallbacks() {
	RegisterXactCallback(OnXactEvent, nullptr);
}

void
NoteSend(Oid queue_relid) {
	int slot = SlotOf(queue_relid);
	pending[slot / kWordBits] |= UINT64CONST(1) << (slot % kWordBits);
	any_pending = true;
}

bool
WakeupAvailable() {
	return slots != nullptr;
}

uint64
WakeupPrepare(Oid queue_relid) {
	WakeupSlot *slot = &slots[SlotOf(queue_relid)];
	ConditionVariablePrepareToSleep(&slot->cv);
	return pg_atomic_read_u64(&slot->commits);
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
	if (slots != nullptr)
		ConditionVariableCancelSleep();
}

} // namespace pgmq::pg
