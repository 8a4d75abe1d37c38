#!/usr/bin/env bash
# Sets everything up and runs the demo: the bundled real footage through the
# pipeline with the embedded defaults (no Kafka needed). Ctrl-C stops it.
#
#   bash deploy/demo.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

bash deploy/setup.sh
# shellcheck source=/dev/null
source "${STREETWATCH_CACHE:-$HOME/.cache/streetwatch}/env.sh"

cargo build --release --locked -p streetwatch
./target/release/streetwatch validate --config deploy/local.toml
echo "==> incidents: var/demo/events/incidents.jsonl, snapshots: var/demo/evidence/ (the parked van: about 20 s in)"
exec ./target/release/streetwatch run --config deploy/local.toml "$@"
