#!/usr/bin/env bash
# test/demo.sh: the README's first command.
#
# Installs what is missing, builds and installs pgmq, starts a local throwaway cluster with
# pgmq preloaded (data in $PGMQ_DEMO_DIR, default /tmp/pgmq-demo), runs a short demo and
# leaves the server running. Running it again replaces the previous demo cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
source test/lib.sh
pgmq_install_deps build

DEMO=${PGMQ_DEMO_DIR:-/tmp/pgmq-demo}
echo "== building and installing pgmq"
make -s -j2 >/dev/null
if [ "$(id -u)" -eq 0 ]; then make -s install >/dev/null; else sudo make -s install >/dev/null; fi

if [ -d "$DEMO/data" ]; then
	pgmq_cluster_stop "$DEMO/data"
	rm -rf "$DEMO"
fi
mkdir -p "$DEMO"
PORT=$(pgmq_free_port "${PGMQ_DEMO_PORT:-5433}")
echo "shared_preload_libraries = 'pgmq'" >"$DEMO/pgmq.conf"

PGMQ_BIN=$PG_BIN pgmq_cluster_start "$DEMO/data" "$PORT" "$DEMO/pgmq.conf"

echo "== demo: create, send, read, archive, metrics"
"$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -d postgres -e <<'SQL'
CREATE EXTENSION IF NOT EXISTS pgmq;
SELECT pgmq.create('demo');
SELECT * FROM pgmq.send('demo', '{"order": 1, "item": "book"}');
SELECT * FROM pgmq.send_batch('demo', ARRAY['{"order": 2}', '{"order": 3}']::jsonb[]);
SELECT msg_id, read_ct, message FROM pgmq.read('demo', 30, 2);
SELECT pgmq.archive('demo', 1);
SELECT pgmq.delete('demo', 2);
SELECT queue_name, queue_length, queue_visible_length, total_messages FROM pgmq.metrics('demo');
SQL

cat <<TXT

The demo server is running (data in $DEMO/data, log in $DEMO/server.log).
  connect:  psql -h $DEMO -p $PORT -U postgres postgres
            (or: postgresql://postgres@127.0.0.1:$PORT/postgres)
  stop:     runuser -u postgres -- $PG_BIN/pg_ctl -D $DEMO/data stop
            (as a non-root user: $PG_BIN/pg_ctl -D $DEMO/data stop)
TXT
