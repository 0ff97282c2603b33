#!/usr/bin/env bash
# test/bench/run.sh: the benchmark suite (see test/bench/README.md).
#
#   bash test/bench/run.sh              quick mode (a few minutes)
#   bash test/bench/run.sh --full       longer runs, bigger backlogs, more repetitions
#   bash test/bench/run.sh --sync-off   every row with synchronous_commit = off
#   bash test/bench/run.sh --only send1_4,latency   only some rows (names: --list)
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
/usr/bin/python3 test/bench/bench.py "$@"
status=$?
bash test/check_log.sh "$WORK/cluster/server.log" || status=1
exit $status
