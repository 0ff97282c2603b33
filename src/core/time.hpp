/*
 * time.hpp: saturating arithmetic on PostgreSQL timestamps (pure C++).
 *
 * A TimestampTz is int64 microseconds since 2000-01-01 00:00 UTC. Two values
 * are the infinities; every other valid value lies in [kMinTimestamp,
 * kEndTimestamp). Core cannot include PostgreSQL's headers, so the constants
 * are copied from src/include/datatype/timestamp.h (PostgreSQL 15, the same in
 * 16-18); a static_assert in the shell (src/pg/time.cpp) checks them.
 *
 * AddSeconds never overflows: an infinite input stays as it is (later or
 * earlier than any time), a result past either end of the valid range becomes
 * the infinity on that side. Where a finite time is needed (a due_at written
 * into headers), ClampToFinite gives the nearest valid one.
 */
#pragma once

#include <cstdint>

namespace pgmq::core {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kTimestampMinusInfinity = INT64_MIN; /* DT_NOBEGIN, '-infinity' */
constexpr int64_t kTimestampInfinity = INT64_MAX;      /* DT_NOEND, 'infinity' */
constexpr int64_t kMinTimestamp = -211813488000000000; /* MIN_TIMESTAMP, 4714-11-24 00:00 UTC BC */
constexpr int64_t kEndTimestamp = 9223371331200000000; /* END_TIMESTAMP, 294277-01-01 00:00 UTC, not valid */

/* IsFiniteTimestamp says whether t is neither infinity. */
constexpr bool
IsFiniteTimestamp(int64_t t) noexcept {
	return t != kTimestampMinusInfinity && t != kTimestampInfinity;
}

/* AddSeconds returns t + seconds, saturated to the infinities outside the valid range. */
int64_t AddSeconds(int64_t t, int64_t seconds) noexcept;

/* ClampToFinite returns t moved into the finite valid range (an infinity becomes its end of it). */
int64_t ClampToFinite(int64_t t) noexcept;

} // namespace pgmq::core

#include "core/core_only.hpp"
