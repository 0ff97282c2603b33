/*
 * priority.hpp: message priorities, the header x-pgmq-priority of queues with set_policy(priorities => true).
 *
 * Shell code. A message's priority is its header x-pgmq-priority: a JSON number without a
 * fraction in the int4 range; a missing header, a JSON null or headers that are not an object
 * count as 0. The send path refuses any other value on a priority queue (CheckPriorityHeaders);
 * the index set_policy makes, on pgmq._priority(headers), counts such a value as 0 instead of
 * failing (rows pgmq did not check: plain SQL inserts, messages sent before priorities were
 * turned on, messages moved into the queue by a policy).
 */
#pragma once

extern "C" {
#include "postgres.h"
}

#include "pg/queue.hpp"

namespace pgmq::pg {

/*
 * HeaderPriority reads the priority of headers (jsonb, (Datum)0 for NULL) into *priority and
 * returns true; returns false, *priority 0, when the header is there but not such an integer.
 */
bool HeaderPriority(Datum headers, int32 *priority);

/*
 * CheckPriorityHeaders raises 22023 unless every one of the count headers (nullptr: none;
 * (Datum)0: NULL) has a valid priority, naming the queue.
 */
void CheckPriorityHeaders(const Queue *queue, int count, const Datum *headers);

} // namespace pgmq::pg
