#!/usr/bin/env bash
# test/run_all.sh: the whole test suite, the README's test command.
#
# Installs missing build/test dependencies, builds pgmq into a private copy of the
# PostgreSQL installation, starts a throwaway cluster (initdb in a temporary directory,
# its own port, pgmq preloaded), runs every suite against it, stops and removes it.
# Exits non-zero if any suite fails. PGMQ_KEEP=1 keeps the temporary directory.
# Suites can be chosen: test/run_all.sh format regress isolation python js worker durability package
set -uo pipefail
cd "$(dirname "$0")/.."
source test/lib.sh
pgmq_install_deps

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(format regress isolation python js worker durability package)

started=$(date +%s)
pgmq_throwaway_cluster pgmq-test "${PGMQ_TEST_PORT:-55432}" test/pgmq.conf
export PGMQ_TEST_WORK=$WORK PGMQ_TEST_DATA=$CLUSTER PGMQ_BIN
echo "== cluster on port $PORT (socket $PGHOST)"

regress_opts=(--host="$PGHOST" --port="$PGPORT" --user=postgres --bindir="$PG_BIN")

# suite_format fails when a C++ file differs from what clang-format (.clang-format) makes of it.
suite_format() {
	local bad=()
	while IFS= read -r f; do
		clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
	done < <(git ls-files 'src/*.cpp' 'src/*.hpp' 'test/core/*.cpp' 2>/dev/null || find src test/core -name '*.[ch]pp')
	[ ${#bad[@]} -eq 0 ] && return 0
	echo "not formatted (run: clang-format -i ${bad[*]}):"
	for f in "${bad[@]}"; do clang-format "$f" | diff -u "$f" - | head -20; done
	return 1
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

# suite_package: META.json against the PGXN spec, an out-of-tree (VPATH) build of a clean copy, and
# make installcheck from it against this cluster (test/package).
suite_package() {
	/usr/bin/python3 -m pytest -q -p no:cacheprovider test/package
}

passed=0
failed=0
failed_names=()
for s in "${suites[@]}"; do
	echo "== suite: $s"
	if "suite_$s"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_names+=("$s")
	fi
done

echo "== server log check"
if bash test/check_log.sh "$WORK/cluster/server.log"; then passed=$((passed + 1)); else
	failed=$((failed + 1))
	failed_names+=(server-log)
fi

echo "== suites finished in $(($(date +%s) - started)) s"
[ $failed -eq 0 ] || echo "failed suites: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
