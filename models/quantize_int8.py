#!/usr/bin/env python3
"""Make the int8 YOLOv3-tiny 416 from the fp32 one (deploy/setup.sh runs this).

Static int8 quantisation with ONNX Runtime's own tools: QDQ format, per-channel int8
weights, uint8 activations, MinMax ranges. The two output convolutions and the
decoding head stay fp32: the output tensor carries pixel coordinates next to
probabilities, and one scale for both destroys the probabilities.

The activation ranges are data, committed next to this file
(yolov3-tiny-416-int8.calibration.json, from the vtest frames that setup puts in the
test-data cache). Quantising from that file involves no inference, so every machine
makes the same bytes, and models/yolov3-tiny-416-int8.toml pins their sha256 (ranges
measured again on another CPU could differ in the last float bit).

    python models/quantize_int8.py --cache ~/.cache/streetwatch/models
    python models/quantize_int8.py --cache DIR --calibrate --testdata ~/.cache/streetwatch/testdata
        # measure the ranges again (rewrites the committed JSON; then update the manifest)
    python models/quantize_int8.py --cache DIR --compare --testdata ~/.cache/streetwatch/testdata
        # detections kept and speed against fp32, on one thread
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import pathlib
import re
import shutil
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

MODELS_DIR = pathlib.Path(__file__).resolve().parent
SIZE = 416
SOURCE = f"yolov3-tiny-{SIZE}.onnx"
OUTPUT = f"yolov3-tiny-{SIZE}-int8.onnx"
MANIFEST = MODELS_DIR / f"yolov3-tiny-{SIZE}-int8.toml"
CALIBRATION = MODELS_DIR / f"yolov3-tiny-{SIZE}-int8.calibration.json"
# Convolutions whose outputs are the detection heads (see fetch_model.py's graph).
OUTPUT_CONVS = ["conv_45", "conv_86"]
HEAD_OPS = {"Slice", "Reshape", "Sigmoid", "Mul", "Concat", "Transpose", "Add", "Exp", "Identity"}


def fail(msg: str) -> None:
    print(f"quantize_int8: error: {msg}", file=sys.stderr)
    sys.exit(1)


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_sha256() -> str:
    m = re.search(r'^sha256\s*=\s*"([0-9a-f]{64})"', MANIFEST.read_text(), re.M)
    if not m:
        fail(f"{MANIFEST}: no sha256 line")
    return m.group(1)


def letterbox(path: str, size: int) -> np.ndarray:
    from PIL import Image  # only the calibration and the comparison read pictures

    img = Image.open(path).convert("RGB")
    w, h = img.size
    r = min(size / w, size / h)
    nw, nh = int(round(w * r)), int(round(h * r))
    canvas = np.full((size, size, 3), 128, np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    canvas[top:top + nh, left:left + nw] = np.asarray(img.resize((nw, nh)))
    return canvas.transpose(2, 0, 1)[None].astype(np.float32) / 255.0


class Frames(CalibrationDataReader):
    def __init__(self, tensors: list[np.ndarray], name: str):
        self.it = iter([{name: t} for t in tensors])

    def get_next(self):
        return next(self.it, None)


def calibration_frames(testdata: pathlib.Path) -> list[str]:
    frames = sorted(glob.glob(str(testdata / "vtest-*.png")))
    if not frames:
        fail(f"no vtest-*.png in {testdata} (deploy/setup.sh puts them there)")
    return frames


def quantize(src: pathlib.Path, out: pathlib.Path, calibration: pathlib.Path, testdata: pathlib.Path | None) -> None:
    """Writes `out`; with `testdata`, measures the ranges first and writes them to `calibration`."""
    with tempfile.TemporaryDirectory(prefix="quantize_int8.") as tmp:
        pre = pathlib.Path(tmp) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        graph = onnx.load(str(pre)).graph
        excluded = OUTPUT_CONVS + [n.name for n in graph.node if n.op_type in HEAD_OPS]
        cache = pathlib.Path(tmp) / "calibration.json"
        reader = None
        if testdata is None:
            shutil.copyfile(calibration, cache)  # a cache hit: no inference, same bytes everywhere
        else:
            tensors = [letterbox(p, SIZE) for p in calibration_frames(testdata)]
            reader = Frames(tensors, graph.input[0].name)
        quantize_static(str(pre), str(out), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=excluded, calibration_cache_path=str(cache))
        if testdata is not None:
            shutil.copyfile(cache, calibration)
            print(f"==> int8 model: ranges written to {calibration}")


def detections(out: np.ndarray, threshold: float = 0.3) -> list[tuple[int, list[float]]]:
    rows = out[0]
    scores = rows[:, 4:5] * rows[:, 5:]
    keep = scores.max(axis=1) >= threshold
    return [(int(r[5:].argmax()), r[:4].tolist()) for r in rows[keep]]


def iou(a: list[float], b: list[float]) -> float:
    ax1, ay1, ax2, ay2 = a[0] - a[2] / 2, a[1] - a[3] / 2, a[0] + a[2] / 2, a[1] + a[3] / 2
    bx1, by1, bx2, by2 = b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2
    iw, ih = max(0.0, min(ax2, bx2) - max(ax1, bx1)), max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter + 1e-9)


def rate(session: ort.InferenceSession, name: str, x: np.ndarray, secs: float = 5.0) -> float:
    session.run(None, {name: x})
    n, t = 0, time.time()
    while time.time() - t < secs:
        session.run(None, {name: x})
        n += 1
    return n / (time.time() - t)


def compare(src: pathlib.Path, out: pathlib.Path, testdata: pathlib.Path) -> None:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    fp32 = ort.InferenceSession(str(src), options, providers=["CPUExecutionProvider"])
    int8 = ort.InferenceSession(str(out), options, providers=["CPUExecutionProvider"])
    name = fp32.get_inputs()[0].name
    images = calibration_frames(testdata) + [str(testdata / f) for f in ("bus.jpg", "dog.jpg")]
    total = matched = 0
    for path in images:
        x = letterbox(path, SIZE)
        a, b = detections(fp32.run(None, {name: x})[0]), detections(int8.run(None, {name: x})[0])
        total += len(a)
        matched += sum(1 for c, box in a if any(c == c2 and iou(box, b2) > 0.7 for c2, b2 in b))
    print(f"fp32 detections with an int8 twin (same class, IoU > 0.7): {matched} of {total}")
    x = letterbox(images[len(images) // 2], SIZE)
    r32, r8 = rate(fp32, name, x), rate(int8, name, x)
    print(f"one thread: fp32 {r32:.1f}/s, int8 {r8:.1f}/s ({r8 / r32:.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=pathlib.Path, required=True, help="model cache directory (holds the fp32 model)")
    ap.add_argument("--calibrate", action="store_true", help="measure the activation ranges again (needs --testdata)")
    ap.add_argument("--compare", action="store_true", help="detections kept and speed against fp32 (needs --testdata)")
    ap.add_argument("--testdata", type=pathlib.Path, help="directory with the vtest-*.png frames, bus.jpg, dog.jpg")
    args = ap.parse_args()
    if (args.calibrate or args.compare) and args.testdata is None:
        fail("--calibrate and --compare need --testdata")
    cache = args.cache.expanduser()
    src, out = cache / SOURCE, cache / OUTPUT
    if not src.exists():
        fail(f"{src} not found: models/fetch_model.py makes it")
    want = manifest_sha256()
    if args.calibrate:
        quantize(src, out, CALIBRATION, args.testdata.expanduser())
        print(f"==> int8 model: {out.name} sha256 {sha256(out)} (put it in {MANIFEST.name})")
    elif out.exists() and sha256(out) == want:
        print("==> int8 model: present and verified")
    else:
        tmp = out.with_suffix(".tmp")
        quantize(src, tmp, CALIBRATION, None)
        got = sha256(tmp)
        if got != want:
            tmp.unlink()
            fail(f"{OUTPUT} quantised to sha256 {got}, {MANIFEST.name} expects {want}")
        tmp.replace(out)
        print(f"==> int8 model: wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    if args.compare:
        compare(src, out, args.testdata.expanduser())


if __name__ == "__main__":
    main()
