# test/lib.sh: shared shell functions for the test, demo and benchmark scripts.
# Source it; it defines functions and PG_BIN / PGXS_TEST. Nothing runs on source.

PG_CONFIG=${PG_CONFIG:-pg_config}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# pgmq_install_deps [build] installs what building (and, without "build", testing) needs,
# when it is missing. The Dockerfile's build stage runs it with "build" and PGMQ_PG_VERSION set
# to the image's server package version, which pins postgresql-server-dev-15 to the same version.
pgmq_install_deps() {
	local need=()
	dpkg -s postgresql-15 >/dev/null 2>&1 || need+=(postgresql-15)
	if [ -n "${PGMQ_PG_VERSION:-}" ]; then
		[ "$(dpkg-query -W -f='${Version}' postgresql-server-dev-15 2>/dev/null)" = "$PGMQ_PG_VERSION" ] ||
			need+=("postgresql-server-dev-15=$PGMQ_PG_VERSION")
	else
		dpkg -s postgresql-server-dev-15 >/dev/null 2>&1 || need+=(postgresql-server-dev-15)
	fi
	dpkg -s libboost-dev >/dev/null 2>&1 || need+=(libboost-dev)
	dpkg -s make >/dev/null 2>&1 || need+=(make)
	dpkg -s g++ >/dev/null 2>&1 || need+=(g++)
	if [ "${1:-}" != build ]; then
		dpkg -s python3-pytest >/dev/null 2>&1 || need+=(python3-pytest)
		dpkg -s python3-psycopg >/dev/null 2>&1 || need+=(python3-psycopg)
		command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
		dpkg -s clang-format >/dev/null 2>&1 || need+=(clang-format)
	fi
	if [ ${#need[@]} -gt 0 ]; then
		echo "== installing: ${need[*]}"
		local sudo=""
		[ "$(id -u)" -eq 0 ] || sudo="sudo"
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
	fi
	PG_BIN=$($PG_CONFIG --bindir)
	PGXS_TEST=$(dirname "$($PG_CONFIG --pgxs)")/../test
}

# pgmq_run_as_db_user runs a command as the OS user that owns clusters (postgres when we are root).
pgmq_run_as_db_user() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# pgmq_private_install DIR [asserts] builds pgmq and installs it into a private copy of the
# PostgreSQL installation under DIR (server binaries copied, everything else linked), so
# tests never touch the system installation and several checkouts can test at once.
# With "asserts" pgmq is built with ASSERTS=1 (see the Makefile) in build/asserts/ of the
# checkout, apart from its release objects, and must call ExceptionalCondition.
# Sets PGMQ_BIN to the private bin directory.
pgmq_private_install() {
	local dir=$1 root="$1/root"
	local bindir libdir sharedir
	bindir=$($PG_CONFIG --bindir)
	libdir=$($PG_CONFIG --pkglibdir)
	sharedir=$($PG_CONFIG --sharedir)
	local make=(make -C "$REPO_ROOT" -s)
	if [ "${2:-}" = asserts ]; then
		mkdir -p "$REPO_ROOT/build/asserts"
		make=(make -C "$REPO_ROOT/build/asserts" -f "$REPO_ROOT/Makefile" -s ASSERTS=1)
	fi
	"${make[@]}" -j2 ERROR_ON_WARNING=1 >/dev/null || return 1
	"${make[@]}" install DESTDIR="$root" >/dev/null || return 1
	if [ "${2:-}" = asserts ] && ! nm -D --undefined-only "$root$libdir/pgmq.so" | grep -w ExceptionalCondition >/dev/null; then
		echo "the ASSERTS=1 build of pgmq.so calls no ExceptionalCondition: assertions are off"
		return 1
	fi
	mkdir -p "$root$bindir"
	for b in postgres initdb pg_ctl; do cp "$bindir/$b" "$root$bindir/$b"; done
	for f in "$libdir"/*; do [ -e "$root$libdir/$(basename "$f")" ] || ln -s "$f" "$root$libdir/"; done
	for f in "$sharedir"/*; do [ -e "$root$sharedir/$(basename "$f")" ] || ln -s "$f" "$root$sharedir/"; done
	for f in "$sharedir"/extension/*; do
		[ -e "$root$sharedir/extension/$(basename "$f")" ] || ln -s "$f" "$root$sharedir/extension/"
	done
	chmod -R a+rX "$dir"
	PGMQ_BIN="$root$bindir"
}

# pgmq_cluster_start DATADIR PORT [CONF_FILE...] creates and starts a throwaway cluster
# with its socket in DATADIR/.. ; uses PGMQ_BIN (or the system binaries).
pgmq_cluster_start() {
	local data=$1 port=$2
	shift 2
	local bin=${PGMQ_BIN:-$PG_BIN}
	local sock
	sock=$(dirname "$data")
	mkdir -p "$sock"
	[ "$(id -u)" -eq 0 ] && chown postgres "$sock"
	pgmq_run_as_db_user "$bin/initdb" -D "$data" -A trust -U postgres --no-sync >/dev/null
	{
		echo "port = $port"
		echo "unix_socket_directories = '$sock'"
		echo "listen_addresses = '127.0.0.1'"
		for conf in "$@"; do cat "$conf"; done
	} | pgmq_run_as_db_user tee -a "$data/postgresql.conf" >/dev/null
	pgmq_run_as_db_user "$bin/pg_ctl" -D "$data" -l "$sock/server.log" -w -t 60 start >/dev/null
	export PGHOST=$sock PGPORT=$port PGUSER=postgres
}

# pgmq_cluster_stop DATADIR stops a cluster started by pgmq_cluster_start.
pgmq_cluster_stop() {
	local bin=${PGMQ_BIN:-$PG_BIN}
	pgmq_run_as_db_user "$bin/pg_ctl" -D "$1" -m fast -w stop >/dev/null 2>&1 || true
}

# pgmq_free_port prints a TCP port nobody listens on, starting at $1.
pgmq_free_port() {
	local port=$1
	while (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null || [ -e "/tmp/.s.PGSQL.$port" ]; do
		port=$((port + 1))
	done
	echo "$port"
}

# pgmq_throwaway_cluster NAME PORT CONF [asserts] makes a temporary directory WORK
# (/tmp/NAME.XXXXXX), builds pgmq into a private installation there (with assertions when
# "asserts" is given, see pgmq_private_install), starts a cluster CLUSTER in it on the first
# free port from PORT with the settings in CONF (PGHOST, PGPORT, PORT are set), and stops and
# removes it all when the script exits (PGMQ_KEEP=1 keeps the directory).
pgmq_throwaway_cluster() {
	WORK=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$WORK"
	CLUSTER="$WORK/cluster/data"
	trap pgmq_throwaway_cleanup EXIT
	echo "== building into a private installation under $WORK/inst"
	pgmq_private_install "$WORK/inst" "${4:-}" || { echo "build failed"; exit 1; }
	PORT=$(pgmq_free_port "$2")
	pgmq_cluster_start "$CLUSTER" "$PORT" "$3" || { cat "$WORK/cluster/server.log"; exit 1; }
}

# pgmq_throwaway_cleanup stops and removes what pgmq_throwaway_cluster made.
pgmq_throwaway_cleanup() {
	pgmq_cluster_stop "$CLUSTER"
	if [ "${PGMQ_KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
