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

# The same build as the cluster demo (with object storage), so both share one binary.
cargo build --release --locked -p streetwatch --features s3
# The console's demo account: an operator with a random password, made once.
USERS=var/demo/console-users.toml
if [ ! -f "$USERS" ]; then
  mkdir -p var/demo
  PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$PASSWORD" | ./target/release/streetwatch console-user --users-file "$USERS" --name demo --role operator
  echo "$PASSWORD" > var/demo/console-password.txt
  chmod 600 var/demo/console-password.txt
fi
./target/release/streetwatch validate --config deploy/local.toml
echo "==> operator console: http://127.0.0.1:8080/  account: demo  password: $(cat var/demo/console-password.txt)"
echo "==> incidents: var/demo/events/incidents.jsonl, snapshots: var/demo/evidence/ (the parked van: about 20 s in)"
exec ./target/release/streetwatch run --config deploy/local.toml "$@"
