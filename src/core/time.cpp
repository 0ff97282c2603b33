/*
 * time.cpp: saturating arithmetic on PostgreSQL timestamps.
 */
#include "core/time.hpp"

namespace pgmq::core {

namespace {

/* Both ends of the valid range are whole seconds, so a sum of whole seconds decides which side it falls. */
constexpr int64_t kMinSeconds = kMinTimestamp / kMicrosPerSecond;
constexpr int64_t kEndSeconds = kEndTimestamp / kMicrosPerSecond;
static_assert(kMinTimestamp % kMicrosPerSecond == 0 && kEndTimestamp % kMicrosPerSecond == 0,
			  "the ends of the valid range are whole seconds");

} // namespace

int64_t
AddSeconds(int64_t t, int64_t seconds) noexcept {
	if (!IsFiniteTimestamp(t))
		return t;
	/* Any shift wider than the whole valid range (under 10^13 s) leaves it from anywhere. */
	if (seconds > kEndSeconds - kMinSeconds)
		return kTimestampInfinity;
	if (seconds < kMinSeconds - kEndSeconds)
		return kTimestampMinusInfinity;
	/* t = whole * 10^6 + micros with 0 <= micros < 10^6; whole + seconds is far from overflowing. */
	int64_t whole = t / kMicrosPerSecond;
	int64_t micros = t % kMicrosPerSecond;
	if (micros < 0) {
		micros += kMicrosPerSecond;
		whole--;
	}
	int64_t sum = whole + seconds;
	if (sum >= kEndSeconds)
		return kTimestampInfinity;
	if (sum < kMinSeconds)
		return kTimestampMinusInfinity;
	return sum * kMicrosPerSecond + micros;
}

int64_t
ClampToFinite(int64_t t) noexcept {
	if (t < kMinTimestamp)
		return kMinTimestamp;
	if (t >= kEndTimestamp)
		return kEndTimestamp - 1;
	return t;
}

} // namespace pgmq::core
