#!/usr/bin/env bash
# test/core/run.sh [WORKDIR]: the unit tests of the pure C++ core (the core suite; no server).
#
# Builds each test/core/*_test.cpp with every src/core/*.cpp under AddressSanitizer and
# UndefinedBehaviorSanitizer and runs it: an out-of-bounds access, a leak, a signed overflow
# or any other undefined behaviour in core code stops the test program and fails, and so does
# a test that exits non-zero or does not print "all tests passed". WORKDIR (default: a
# temporary directory, removed afterwards) receives the objects and test programs.
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ -n "${1:-}" ]; then
	work=$1
	mkdir -p "$work"
else
	work=$(mktemp -d /tmp/pgmq-core.XXXXXX)
	trap 'rm -rf "$work"' EXIT
fi
flags=(-std=c++17 -Wall -Wextra -Werror -DPGMQ_CORE_SOURCE -fsanitize=address,undefined -fno-sanitize-recover=all
	-fno-omit-frame-pointer -g -O1 -Isrc)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

objects=()
for src in src/core/*.cpp; do
	obj="$work/$(basename "${src%.cpp}").o"
	g++ "${flags[@]}" -c "$src" -o "$obj" || { echo "core suite: $src does not build"; exit 1; }
	objects+=("$obj")
done

# The suite must not pass by finding nothing: these tests exist.
for required in names_test overdue_test; do
	[ -f "test/core/$required.cpp" ] || { echo "core suite: test/core/$required.cpp is missing"; exit 1; }
done

failed=0
for test in test/core/*_test.cpp; do
	name=$(basename "${test%.cpp}")
	if ! g++ "${flags[@]}" "$test" "${objects[@]}" -o "$work/$name"; then
		echo "FAIL $name: does not build"
		failed=$((failed + 1))
		continue
	fi
	"$work/$name" >"$work/$name.out" 2>"$work/$name.err"
	status=$?
	if [ $status -ne 0 ] || ! grep -q 'all tests passed' "$work/$name.out" || grep -q 'runtime error' "$work/$name.err"; then
		echo "FAIL $name (exit $status)"
		cat "$work/$name.out" "$work/$name.err"
		failed=$((failed + 1))
	else
		echo "ok   $name"
	fi
done
[ $failed -eq 0 ]
