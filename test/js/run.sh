#!/usr/bin/env bash
# test/js/run.sh WORKDIR: runs the unmodified npm client pgmq-js against the test cluster.
#
# Installs pgmq-js (pinned) and pg into WORKDIR with npm, then runs test/js/pgmq_js.test.js and
# readme_example.test.js (the README's Node example, test/examples/example.js) with Node's
# built-in test runner. Connection settings come from PGHOST / PGPORT / PGUSER (exported by
# test/run_all.sh). Exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
workdir=${1:?usage: test/js/run.sh WORKDIR}
PGMQ_JS_VERSION=1.3.1

for tool in node npm; do
	command -v "$tool" >/dev/null 2>&1 || { echo "js suite: $tool is missing (apt-get install nodejs npm)"; exit 1; }
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
	echo "js suite: node $node_major is too old for node --test (need 18 or newer)"
	exit 1
fi

mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd)
# A package.json of its own keeps npm from walking up into an unrelated project.
[ -f "$workdir/package.json" ] || echo '{"name": "pgmq-js-suite", "private": true}' >"$workdir/package.json"
echo "js suite: npm install pgmq-js@$PGMQ_JS_VERSION pg@8 into $workdir"
if ! npm install --prefix "$workdir" --no-audit --no-fund --no-update-notifier --loglevel=error \
	"pgmq-js@$PGMQ_JS_VERSION" "pg@8" >"$workdir/npm-install.log" 2>&1; then
	cat "$workdir/npm-install.log"
	echo "js suite: npm install failed"
	exit 1
fi
installed=$(node -p "require('$workdir/node_modules/pgmq-js/package.json').version")
[ "$installed" = "$PGMQ_JS_VERSION" ] || { echo "js suite: got pgmq-js $installed, wanted $PGMQ_JS_VERSION"; exit 1; }

export PGMQ_JS_MODULES="$workdir/node_modules"
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
cd "$here"
node --test --test-reporter=spec pgmq_js.test.js readme_example.test.js
