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
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo test"
cargo test --workspace --locked
