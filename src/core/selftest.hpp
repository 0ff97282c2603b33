/*
 * selftest.hpp: core code that fails on purpose, to test the error boundary.
 */
#pragma once

namespace pgmq::core {

/*
 * ThrowForTest throws the exception named by kind ("invalid", "null", "oom",
 * "std", "int") or returns kind's length when kind names none of them.
 */
int ThrowForTest(const char *kind);

} // namespace pgmq::core

#include "core/core_only.hpp"
