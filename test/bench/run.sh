#!/usr/bin/env bash
# test/bench/run.sh: the benchmark suite (see test/bench/README.md).
#
#   bash test/bench/run.sh              quick mode (a few minutes)
#   bash test/bench/run.sh --full       longer runs, bigger backlogs, more repetitions
#   bash test/bench/run.sh --sync-off   every row with synchronous_commit = off
#   bash test/bench/run.sh --only send1_4,latency   only some rows (names: --list)
#   PGMQ_SQL=/path/to/pgmq.sql bash test/bench/run.sh   PGMQ's install script as a third column
#
# Builds pgmq into a private installation, starts a throwaway cluster with pgmq preloaded
# and default settings otherwise, runs test/bench/bench.py (ours and a plain-SQL baseline,
# interleaved), stops and removes the cluster. PGMQ_BENCH_PORT (default PGMQ_TEST_PORT+100)
# is the first port tried. PGMQ_KEEP=1 keeps the temporary directory.
set -uo pipefail
cd "$(dirname "$0")/../.."
source test/lib.sh
pgmq_install_deps build

for arg in "$@"; do
	if [ "$arg" = --list ]; then
		exec /usr/bin/python3 test/bench/bench.py --list
	fi
done

pgmq_throwaway_cluster pgmq-bench "${PGMQ_BENCH_PORT:-$((${PGMQ_TEST_PORT:-55432} + 100))}" test/bench/bench.conf
echo "== cluster on port $PORT (socket $PGHOST), PostgreSQL defaults except shared_preload_libraries"
export PGMQ_BENCH_DATA=$CLUSTER
# PGMQ_SQL=/path/to/pgmq.sql: PGMQ's own install script, loaded as a plain script into a database of
# its own (its schema is also named pgmq; our extension is not created there), a third column.
if [ -n "${PGMQ_SQL:-}" ]; then
	[ -r "$PGMQ_SQL" ] || { echo "PGMQ_SQL=$PGMQ_SQL: no such readable file"; exit 1; }
	if grep -q 'MODULE_PATHNAME\|LANGUAGE [cC]\b' "$PGMQ_SQL"; then
		echo "PGMQ_SQL=$PGMQ_SQL needs a C library (MODULE_PATHNAME / LANGUAGE C): only PGMQ's plain SQL script can be loaded"
		exit 1
	fi
	"$PG_BIN/createdb" pgmq_ref || exit 1
	# As an extension script: @extschema@ is pgmq, and a script of the form pgmq--X.sql starts with \echo ... \quit.
	sed -e 's/@extschema@/pgmq/g' -e '/^\\echo Use .*\\quit/d' "$PGMQ_SQL" |
		"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d pgmq_ref >/dev/null ||
		{ echo "loading PGMQ_SQL=$PGMQ_SQL into database pgmq_ref failed (see above)"; exit 1; }
	echo "== PGMQ's script $PGMQ_SQL loaded into database pgmq_ref (the pgmq column)"
	export PGMQ_BENCH_REF_DB=pgmq_ref
fi
/usr/bin/python3 test/bench/bench.py "$@"
status=$?
bash test/check_log.sh "$WORK/cluster/server.log" || status=1
exit $status
