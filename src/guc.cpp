/*
 * guc.cpp: definitions of the pgmq.* configuration parameters.
 */
#include "guc.hpp"

extern "C" {
#include "postgres.h"

#include "utils/guc.h"
}

namespace pgmq {

int guc_max_read_qty = 10000;

void
DefineGucs() {
	DefineCustomIntVariable("pgmq.max_read_qty", "Largest number of messages one read, read_with_poll or pop returns.",
	                        "A larger qty is rejected with an error.", &guc_max_read_qty, 10000, 1, 1000000,
	                        PGC_USERSET, 0, nullptr, nullptr, nullptr);
	MarkGUCPrefixReserved("pgmq");
}

} // namespace pgmq
