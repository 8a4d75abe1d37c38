#!/usr/bin/env bash
# A city on one machine: a Kafka-protocol broker (tansu), an S3-protocol server for
# the evidence (moto's, from the setup venv), 12 RTSP test cameras (the bundled real
# footage, looped, never re-encoded), 3 workers sharing them through the camera
# assignment topic, and the shared operator console, which shows every worker's
# snapshots and clips from the bucket. Prints the console's address and accounts;
# Ctrl-C stops everything.
#
#   bash deploy/cluster-demo.sh
#
# Things to try (docs/scale-out.md):
#   - Camera health: every camera streaming, with the worker that runs it.
#   - Kill a worker: kill -9 "$(cat var/cluster-demo/worker-1.pid)". Its cameras
#     show "stale" within about 15 s, then "streaming" under another worker.
#   - Log in as the district account: only the old town's cameras and incidents.
#   - Acknowledge an incident, stop the console (it is restarted by nothing here),
#     delete var/cluster-demo/console: a new console rebuilds from the topics.
#
# STREETWATCH_BIN=path uses that binary instead of building the release one.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

bash deploy/setup.sh
# shellcheck source=/dev/null
source "${STREETWATCH_CACHE:-$HOME/.cache/streetwatch}/env.sh"
if [ -z "${STREETWATCH_BIN:-}" ]; then
  # With object storage: the shared console reads the workers' evidence from it.
  cargo build --release --locked -p streetwatch --features s3
fi
# The test cameras are a tool, not part of the product: built on their own, so the
# product's build does not take the tools' test features.
if [ -z "${STREETWATCH_BENCH_BIN:-}" ]; then
  cargo build --release --locked -p streetwatch-bench
fi
SW=$(realpath "${STREETWATCH_BIN:-./target/release/streetwatch}")
SWB=$(realpath "${STREETWATCH_BENCH_BIN:-./target/release/streetwatch-bench}")

DIR=$ROOT/var/cluster-demo
KAFKA_PORT=${KAFKA_PORT:-19092}
RTSP_PORT=${RTSP_PORT:-18554}
S3_PORT=${S3_PORT:-19000}
CONSOLE=${CONSOLE_LISTEN:-127.0.0.1:8090}
CAMERAS=12
rm -rf "$DIR"
mkdir -p "$DIR"
PIDS=()
cleanup() {
  echo "==> stopping"
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { # host port what
  local deadline=$((SECONDS + 30))
  until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "cluster-demo: $3 did not start (see $DIR/*.log)" >&2; exit 1; }
    sleep 0.2
  done
}

echo "==> broker (tansu, in memory) on 127.0.0.1:$KAFKA_PORT"
"$STREETWATCH_TANSU" broker --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
  --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" --storage-engine memory://tansu/ \
  >"$DIR/broker.log" 2>&1 &
PIDS+=($!)
wait_port 127.0.0.1 "$KAFKA_PORT" "the broker"
create_topic() { # name partitions [compact]
  local extra=()
  [ "${3:-}" = compact ] && extra=(--config cleanup.policy=compact)
  "$STREETWATCH_TANSU" topic create "$1" --broker "tcp://127.0.0.1:$KAFKA_PORT" --partitions "$2" "${extra[@]}" \
    >>"$DIR/broker.log" 2>&1
}
create_topic streetwatch.camera-assignments 12 compact
create_topic streetwatch.camera-status 3 compact
create_topic streetwatch.incidents 3
create_topic streetwatch.reviews 3

echo "==> object storage for the evidence (moto's S3 server) on 127.0.0.1:$S3_PORT"
"$STREETWATCH_CACHE/venv/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" >"$DIR/s3.log" 2>&1 &
PIDS+=($!)
wait_port 127.0.0.1 "$S3_PORT" "the S3 server"
# moto accepts any credentials; these only have to be the same everywhere.
export DEMO_S3_ACCESS=demo-access DEMO_S3_SECRET=demo-secret
"$STREETWATCH_CACHE/venv/bin/python" -c "import urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:$S3_PORT/evidence', method='PUT'))"

echo "==> $CAMERAS test cameras on rtsp://127.0.0.1:$RTSP_PORT/cam1 ... /cam$CAMERAS"
tail -f /dev/null | "$SWB" test-cameras --count "$CAMERAS" --port "$RTSP_PORT" \
  --file "$STREETWATCH_CACHE/footage/vtest.h264" >"$DIR/cameras.log" 2>&1 &
PIDS+=($!)
wait_port 127.0.0.1 "$RTSP_PORT" "the test cameras"

# One config for the workers, `assign` and the console (docs/scale-out.md).
CONFIG=$DIR/cluster.toml
{
  cat <<EOF
[service]
instance = "\${WORKER_NAME:-console}"
shutdown_deadline_secs = 10

[http]
listen = "127.0.0.1:0"

[storage]
data_dir = "\${STREETWATCH_DATA_DIR:-$DIR/console}"

[storage.s3]
endpoint = "http://127.0.0.1:$S3_PORT"
bucket = "evidence"
prefix = "city/"
access_key_env = "DEMO_S3_ACCESS"
secret_key_env = "DEMO_S3_SECRET"

[detector]
model = "$ROOT/models/yolov3-tiny-416.toml"
inference_threads = 1
intra_op_threads = 1

[rules.sidewalk_parking]
# The footage is 80 s long: a short dwell so the parked van is flagged each pass.
dwell_secs = 20

[router.kafka]
bootstrap_servers = "127.0.0.1:$KAFKA_PORT"

[[router.destinations]]
name = "incidents"
kind = "kafka"
topic = "streetwatch.incidents"
encoding = "protobuf"

[cluster]
enabled = true

[console]
enabled = true
listen = "$CONSOLE"
users_file = "$DIR/console-users.toml"
EOF
  for i in $(seq 1 "$CAMERAS"); do
    if [ "$i" -le $((CAMERAS / 2)) ]; then site=old-town; else site=riverside; fi
    cat <<EOF

[[cameras]]
id = "alley-$(printf %02d "$i")"
url = "rtsp://127.0.0.1:$RTSP_PORT/cam$i"
site = "$site"
grid = "$site-grid-$(( (i - 1) % 3 + 1 ))"
decode = "keyframes"

[[cameras.zones]]
id = "east-sidewalk"
name = "East sidewalk"
kind = "sidewalk"
polygon = [[0.833, 0.122], [0.957, 0.108], [0.957, 0.165], [0.768, 0.212]]
EOF
  done
} >"$CONFIG"

PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$PASSWORD" | "$SW" console-user --users-file "$DIR/console-users.toml" --name demo --role operator >/dev/null
echo "$PASSWORD" | "$SW" console-user --users-file "$DIR/console-users.toml" --name old-town --role viewer \
  --site old-town >/dev/null

echo "==> publishing the cameras to the assignment topic"
"$SW" assign --config "$CONFIG"

# The broker, the cameras and the console: when one of them exits, the demo ends.
# Workers may be killed on purpose (that is the point); they are not waited on.
ESSENTIAL=("${PIDS[@]}")
for n in 1 2 3; do
  WORKER_NAME=worker-$n STREETWATCH_DATA_DIR=$DIR/worker-$n "$SW" worker --config "$CONFIG" \
    >"$DIR/worker-$n.log" 2>&1 &
  PIDS+=($!)
  echo $! >"$DIR/worker-$n.pid"
done
echo "==> 3 workers (logs: $DIR/worker-N.log, pids: $DIR/worker-N.pid)"

"$SW" console --config "$CONFIG" >"$DIR/console.log" 2>&1 &
PIDS+=($!)
ESSENTIAL+=($!)
echo $! >"$DIR/console.pid"
wait_port "${CONSOLE%:*}" "${CONSOLE##*:}" "the console"
echo "==> shared console: http://$CONSOLE/"
echo "    accounts: demo (operator, whole city), old-town (viewer, old town only); password: $PASSWORD"
echo "    kill a worker: kill -9 \$(cat $DIR/worker-1.pid)   (its cameras go stale, then move)"
echo "==> running; Ctrl-C stops everything"
wait -n "${ESSENTIAL[@]}" || true
echo "cluster-demo: the broker, the cameras or the console exited (see $DIR/*.log)" >&2
