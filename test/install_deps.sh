#!/usr/bin/env bash
# test/install_deps.sh [build]: install the packages pgmq needs to build (and test).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pgmq_install_deps "${1:-}"
