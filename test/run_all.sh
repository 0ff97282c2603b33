#!/usr/bin/env bash
# test/run_all.sh: the whole test suite, the README's test command.
#
# Installs missing build/test dependencies, builds pgmq into a private copy of the
# PostgreSQL installation, starts a throwaway cluster (initdb in a temporary directory,
# its own port, pgmq preloaded), runs every suite against it, stops and removes it.
# Exits non-zero if any suite fails. The last line counts tests over all suites:
# "N passed, M failed" (the line before it names the failed suites). PGMQ_KEEP=1 keeps the temporary directory.
# The private installation is an assertion-enabled build (make ASSERTS=1, see the Makefile).
# Suites can be chosen (test/README.md says what each holds):
#   test/run_all.sh format core regress isolation python js worker durability package
# format and core need no server: run alone, they start no cluster.
set -uo pipefail
cd "$(dirname "$0")/.."
source test/lib.sh
pgmq_install_deps

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(format core regress isolation python js worker durability package)

started=$(date +%s)
needs_cluster=0
for s in "${suites[@]}"; do
	case $s in format | core) ;; *) needs_cluster=1 ;; esac
done
if [ $needs_cluster = 1 ]; then
	pgmq_throwaway_cluster pgmq-test "${PGMQ_TEST_PORT:-55432}" test/pgmq.conf asserts
	export PGMQ_TEST_WORK=$WORK PGMQ_TEST_DATA=$CLUSTER PGMQ_BIN
	echo "== cluster on port $PORT (socket $PGHOST), pgmq built with assertions"
else
	WORK=$(mktemp -d /tmp/pgmq-test.XXXXXX)
	trap 'rm -rf "$WORK"' EXIT
fi

regress_opts=(--host="${PGHOST:-}" --port="${PGPORT:-}" --user=postgres --bindir="$PG_BIN")

# suite_format fails when a C++ file differs from what clang-format (.clang-format) makes of it.
suite_format() {
	local bad=() total=0
	while IFS= read -r f; do
		total=$((total + 1))
		clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
	done < <(git ls-files 'src/*.cpp' 'src/*.hpp' 'test/core/*.cpp' 2>/dev/null || find src test/core -name '*.[ch]pp')
	echo "format: $((total - ${#bad[@]})) files formatted, ${#bad[@]} not"
	[ ${#bad[@]} -eq 0 ] && return 0
	echo "not formatted (run: clang-format -i ${bad[*]}):"
	for f in "${bad[@]}"; do clang-format "$f" | diff -u "$f" - | head -20; done
	return 1
}

# suite_core builds and runs the unit tests of the pure C++ core under ASan/UBSan (test/core/run.sh).
suite_core() {
	bash test/core/run.sh "$WORK/core"
}

suite_regress() {
	local tests
	tests=$(ls sql/*.sql | xargs -n1 basename | sed 's/\.sql$//' | grep -v '^pgmq')
	"$PGXS_TEST/regress/pg_regress" "${regress_opts[@]}" --inputdir=. --outputdir="$WORK/regress" \
		--dbname=pgmq_regress --load-extension=pgmq $tests ||
		{ cat "$WORK/regress/regression.diffs" 2>/dev/null | head -300; return 1; }
}

suite_isolation() {
	local specs
	specs=$(ls test/specs/*.spec | xargs -n1 basename | sed 's/\.spec$//')
	"$PGXS_TEST/isolation/pg_isolation_regress" "${regress_opts[@]}" --inputdir=test --outputdir="$WORK/isolation" \
		--dbname=pgmq_isolation --load-extension=pgmq $specs ||
		{ cat "$WORK/isolation/regression.diffs" 2>/dev/null | head -300; return 1; }
}

suite_python() {
	/usr/bin/python3 -m pytest -q -p no:cacheprovider test/python
}

suite_js() {
	bash test/js/run.sh "$WORK/js"
}

suite_worker() {
	if ls test/worker/*.py >/dev/null 2>&1; then
		/usr/bin/python3 -m pytest -q -p no:cacheprovider test/worker
	else
		echo "no worker tests"
	fi
}

suite_durability() {
	if ls test/durability/*.py >/dev/null 2>&1; then
		/usr/bin/python3 -m pytest -q -p no:cacheprovider test/durability
	else
		echo "no durability tests"
	fi
}

suite_server_log() {
	bash test/check_log.sh "$WORK/cluster/server.log" && echo "server log: ok"
}

# count_tests LOG prints "PASSED FAILED", the test counts a suite's output reports: pg_regress
# ("All N tests passed.", "M of N tests failed."), pytest ("N passed, M failed, K errors"),
# node --test ("ℹ pass N", "ℹ fail M"), the core suite ("ok   NAME_test", "FAIL NAME_test"), the format suite ("format: N files formatted, M not"), the server log check (one test).
count_tests() {
	sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '
		/^ *All [0-9]+ tests passed/ { p += $2 }
		/^ *[0-9]+ of [0-9]+ tests failed/ { f += $1; p += $3 - $1 }
		/^(=+ )?[0-9]+ (passed|failed|errors?|skipped)/ || /[0-9]+ passed.* in [0-9.]+s/ || /[0-9]+ failed.* in [0-9.]+s/ {
			for (i = 1; i < NF; i++) {
				w = $(i + 1); gsub(/[,=]/, "", w)
				if (w == "passed") p += $i
				if (w == "failed" || w == "error" || w == "errors") f += $i
			}
		}
		/^ℹ pass [0-9]+/ { p += $3 }
		/^ℹ fail [0-9]+/ { f += $3 }
		/^format: [0-9]+ files formatted, [0-9]+ not/ { p += $2; f += $5 }
		/^server log: ok$/ { p += 1 }
		/^ok   [a-z_]+_test$/ { p += 1 }
		/^FAIL [a-z_]+_test/ { f += 1 }
		END { print p + 0, f + 0 }'
}

# suite_package: META.json against the PGXN spec, an out-of-tree (VPATH) build of a clean copy, and
# make installcheck from it against this cluster (test/package).
suite_package() {
	/usr/bin/python3 -m pytest -q -p no:cacheprovider test/package
}

passed=0
failed=0
failed_names=()
# run_suite NAME COMMAND... runs a suite, adds its test counts; a failing suite whose output
# names no failed test (a build error, npm failing) counts as one failed test.
run_suite() {
	local name=$1 log="$WORK/suite-$1.log" p f rc
	shift
	if "$@" 2>&1 | tee "$log"; then rc=0; else rc=1; fi
	read -r p f < <(count_tests "$log")
	if [ $rc -ne 0 ]; then
		[ "$f" -gt 0 ] || f=1
		failed_names+=("$name")
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

for s in "${suites[@]}"; do
	echo "== suite: $s"
	run_suite "$s" "suite_$s"
done

if [ $needs_cluster = 1 ]; then
	echo "== server log check"
	run_suite server-log suite_server_log
fi

echo "== suites finished in $(($(date +%s) - started)) s"
[ ${#failed_names[@]} -eq 0 ] || echo "failed suites: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ ${#failed_names[@]} -eq 0 ]
