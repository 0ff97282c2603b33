/*
 * guc.hpp: every pgmq.* configuration parameter, defined in guc.cpp.
 */
#pragma once

namespace pgmq {

/* pgmq.max_read_qty: the largest qty a read, read_with_poll or pop accepts. */
extern int guc_max_read_qty;

/* DefineGucs defines the pgmq.* parameters; called once from _PG_init. */
void DefineGucs();

} // namespace pgmq
