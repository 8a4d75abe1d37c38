#!/usr/bin/env python3
"""Experiment (not used by setup or the product yet): an int8 YOLOv3-tiny.

Static int8 quantisation with ONNX Runtime's tools (QDQ format, per-channel int8
weights, uint8 activations, MinMax calibration on the vtest frames that setup puts in
the test-data cache). The two output convolutions and the decoding head stay fp32:
the output tensor carries pixel coordinates next to probabilities, and one scale for
both destroys the probabilities. Then it compares with the fp32 model: inferences per
second on one thread, and how many fp32 detections (score >= 0.3) have an int8 twin of
the same class at IoU > 0.7 on the calibration frames, bus.jpg and dog.jpg.

    ~/.cache/streetwatch/venv/bin/python models/quantize_int8.py --cache ~/.cache/streetwatch

Two runs on one machine gave the same file (sha256 0c7558f2...), so a manifest could
pin it. Results are in BENCHMARKS.md ("End to end").
"""

import argparse
import glob
import hashlib
import pathlib
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from PIL import Image

# Convolutions whose outputs are the detection heads (see fetch_model.py's graph).
OUTPUT_CONVS = ["conv_45", "conv_86"]
HEAD_OPS = {"Slice", "Reshape", "Sigmoid", "Mul", "Concat", "Transpose", "Add", "Exp", "Identity"}


def letterbox(path: str, size: int) -> np.ndarray:
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=pathlib.Path, required=True)
    ap.add_argument("--size", type=int, default=416)
    args = ap.parse_args()
    cache = args.cache.expanduser()
    src = cache / "models" / f"yolov3-tiny-{args.size}.onnx"
    out = cache / "models" / f"yolov3-tiny-{args.size}-int8.onnx"
    calibration = sorted(glob.glob(str(cache / "testdata" / "vtest-*.png")))
    tensors = [letterbox(p, args.size) for p in calibration]
    pre = out.with_suffix(".pre.onnx")
    quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
    graph = onnx.load(str(pre)).graph
    excluded = OUTPUT_CONVS + [n.name for n in graph.node if n.op_type in HEAD_OPS]
    quantize_static(str(pre), str(out), Frames(tensors, graph.input[0].name), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    nodes_to_exclude=excluded)
    pre.unlink()
    print(f"{out.name} sha256 {hashlib.sha256(out.read_bytes()).hexdigest()}")

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    fp32 = ort.InferenceSession(str(src), options, providers=["CPUExecutionProvider"])
    int8 = ort.InferenceSession(str(out), options, providers=["CPUExecutionProvider"])
    name = fp32.get_inputs()[0].name
    images = calibration + [str(cache / "testdata" / f) for f in ("bus.jpg", "dog.jpg")]
    total = matched = 0
    for path in images:
        x = letterbox(path, args.size)
        a, b = detections(fp32.run(None, {name: x})[0]), detections(int8.run(None, {name: x})[0])
        total += len(a)
        matched += sum(1 for c, box in a if any(c == c2 and iou(box, b2) > 0.7 for c2, b2 in b))
    print(f"fp32 detections with an int8 twin: {matched} of {total}")
    x = tensors[len(tensors) // 2]
    r32, r8 = rate(fp32, name, x), rate(int8, name, x)
    print(f"one thread: fp32 {r32:.1f}/s, int8 {r8:.1f}/s ({r8 / r32:.2f}x)")


if __name__ == "__main__":
    main()
