#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup (idempotent, seconds when done before),
# formatting, lints, then every test of the workspace.
#
#   bash deploy/test.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

bash deploy/setup.sh
# shellcheck source=/dev/null
source "${STREETWATCH_CACHE:-$HOME/.cache/streetwatch}/env.sh"

echo "==> cargo fmt --check"
cargo fmt --all --check
# The optional S3 evidence storage is built and tested too (against a local
# S3-protocol server from the setup venv); the default build leaves it out.
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --features streetwatch/s3 --locked -- -D warnings
echo "==> cargo deny (licenses, duplicate versions, sources)"
"$STREETWATCH_CARGO_DENY" deny --frozen check --hide-inclusion-graph licenses bans sources
echo "==> cargo test"
# A GLib/GStreamer critical is a bug: it aborts the process that logs it (tests and
# the binaries they start inherit this), so a test fails on it.
export G_DEBUG=fatal-criticals
cargo test --workspace --features streetwatch/s3 --locked
