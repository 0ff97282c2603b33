#!/usr/bin/env bash
# test/demo.sh: the README's first command.
#
# 1. Installs the Debian packages building needs, when missing (postgresql-15,
#    postgresql-server-dev-15, libboost-dev, make, g++; apt-get, with sudo unless root).
# 2. Builds pgmq and installs it with `make install` into the system PostgreSQL's directories
#    ($(pg_config --pkglibdir) and $(pg_config --sharedir)/extension; sudo unless root).
# 3. Starts a demo cluster of its own with pgmq preloaded: data in $PGMQ_DEMO_DIR, by default
#    ~/.local/share/pgmq-demo (as root: ~postgres/pgmq-demo, run by the postgres OS user), on
#    the first free port from $PGMQ_DEMO_PORT (default 5433), listening on 127.0.0.1 and a
#    socket in that directory only. It does not touch any other cluster.
# 4. Runs a short demo and leaves the server running; prints how to connect and stop it.
# Running it again stops the previous demo cluster and replaces it with a new one.
set -euo pipefail
cd "$(dirname "$0")/.."
source test/lib.sh

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ "$(id -u)" -eq 0 ]; then
	DEMO=${PGMQ_DEMO_DIR:-$(getent passwd postgres | cut -d: -f6)/pgmq-demo}
else
	DEMO=${PGMQ_DEMO_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/pgmq-demo}
fi

echo "== packages: installing the missing ones of postgresql-15 postgresql-server-dev-15 libboost-dev make g++"
pgmq_install_deps build
echo "== building pgmq and installing it (make install) into the system PostgreSQL:"
echo "   $($PG_CONFIG --pkglibdir)/pgmq.so and $($PG_CONFIG --sharedir)/extension/pgmq*"
make -s -j2 >/dev/null
$sudo make -s install >/dev/null

# A previous demo cluster is stopped and removed, and only a directory this script made.
if [ -e "$DEMO" ]; then
	if [ ! -e "$DEMO/.pgmq-demo" ]; then
		echo "$DEMO exists but was not made by test/demo.sh; remove it or set PGMQ_DEMO_DIR" >&2
		exit 1
	fi
	echo "== stopping and replacing the previous demo cluster in $DEMO"
	if [ -f "$DEMO/data/postmaster.pid" ]; then
		pgmq_run_as_db_user "$PG_BIN/pg_ctl" -D "$DEMO/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
		if [ -f "$DEMO/data/postmaster.pid" ] && pgmq_run_as_db_user "$PG_BIN/pg_ctl" -D "$DEMO/data" status >/dev/null 2>&1; then
			echo "could not stop the previous demo cluster ($DEMO/data); stop it and run again" >&2
			exit 1
		fi
	fi
	rm -rf "$DEMO"
fi
mkdir -p "$DEMO"
touch "$DEMO/.pgmq-demo"
PORT=$(pgmq_free_port "${PGMQ_DEMO_PORT:-5433}")
echo "shared_preload_libraries = 'pgmq'" >"$DEMO/pgmq.conf"

echo "== starting the demo cluster in $DEMO/data on port $PORT"
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

if [ "$(id -u)" -eq 0 ]; then stop="runuser -u postgres -- $PG_BIN/pg_ctl -D $DEMO/data stop"; else
	stop="$PG_BIN/pg_ctl -D $DEMO/data stop"
fi
cat <<TXT

The demo server is running (data in $DEMO/data, log in $DEMO/server.log).
  connect:   psql -h 127.0.0.1 -p $PORT -U postgres postgres
             (or: postgresql://postgres@127.0.0.1:$PORT/postgres; trust authentication:
             any local user may connect as postgres, so stop it when done)
  examples:  export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
             then the README's examples (test/examples/) run against it
  stop:      $stop
  again:     bash test/demo.sh stops this cluster and starts a fresh one
  remove:    stop it, then rm -rf $DEMO; pgmq stays installed in the system PostgreSQL
TXT
