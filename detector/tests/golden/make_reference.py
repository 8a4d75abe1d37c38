#!/usr/bin/env python3
"""Computes the reference detections the detector's golden tests compare against.

Independent of the Rust pipeline on purpose: images are decoded with Pillow, the
letterbox and the bilinear resize are written here in numpy, the model runs in ONNX
Runtime's Python API, and decoding and NMS are numpy too. Only the rules are shared
(documented in detector/src/preprocess/letterbox.rs and postprocess/): fit the frame
into the input keeping its aspect ratio, round the scaled size, centre it (padding
split with the smaller half left/top), pad with the manifest's grey; a box scores
objectness x best class probability; class-aware NMS at IoU 0.45.

Run once at test-data preparation time (after deploy/setup.sh), and commit the JSON:

    ~/.cache/streetwatch/venv/bin/python detector/tests/golden/make_reference.py

The test images and models are never committed; their sha256 is recorded in the JSON.
"""

import argparse
import hashlib
import json
import math
import os
import pathlib
import tomllib

import numpy as np
import onnxruntime as ort
from PIL import Image

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SCORE_THRESHOLD = 0.2
NMS_IOU = 0.45


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def round_half_up(x):
    return int(math.floor(x + 0.5))


def resize_bilinear(img, out_w, out_h):
    """Bilinear resize with pixel-centre alignment and edge clamping, no antialiasing
    (the same sampling as OpenCV's INTER_LINEAR), in float, rounded to uint8."""
    in_h, in_w, _ = img.shape

    def axis(out_n, in_n):
        src = (np.arange(out_n) + 0.5) * (in_n / out_n) - 0.5
        i0 = np.floor(src).astype(np.int64)
        frac = src - i0
        frac[i0 < 0] = 0.0
        i0 = np.clip(i0, 0, in_n - 1)
        i1 = np.clip(i0 + 1, 0, in_n - 1)
        frac[i0 >= in_n - 1] = 0.0
        return i0, i1, frac

    x0, x1, fx = axis(out_w, in_w)
    y0, y1, fy = axis(out_h, in_h)
    src = img.astype(np.float64)
    rows = src[y0] * (1 - fy)[:, None, None] + src[y1] * fy[:, None, None]
    out = rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def letterbox(rgb, size, pad_value):
    h, w, _ = rgb.shape
    scale = min(size / w, size / h)
    rw = min(max(round_half_up(w * scale), 1), size)
    rh = min(max(round_half_up(h * scale), 1), size)
    left, top = (size - rw) // 2, (size - rh) // 2
    canvas = np.full((size, size, 3), pad_value, dtype=np.uint8)
    canvas[top : top + rh, left : left + rw] = resize_bilinear(rgb, rw, rh) if (rw, rh) != (w, h) else rgb
    return canvas, (rw / w, rh / h, left, top)


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def detect(session, manifest, rgb):
    inp = manifest["input"]
    size = inp["width"]
    canvas, (sx, sy, left, top) = letterbox(rgb, size, inp["pad_value"])
    x = canvas.astype(np.float32) * np.float32(inp["scale"])
    x = ((x - np.array(inp["mean"], np.float32)) / np.array(inp["std"], np.float32)).transpose(2, 0, 1)[None]
    (out,) = session.run([manifest["output"]["name"]], {inp["name"]: np.ascontiguousarray(x, np.float32)})
    rows = out[0]
    cls = rows[:, 5:].argmax(axis=1)
    score = rows[:, 4] * rows[np.arange(len(rows)), 5 + cls]
    keep = np.nonzero(score >= SCORE_THRESHOLD)[0]
    cands = []
    for i in keep:
        cx, cy, bw, bh = (float(v) for v in rows[i, :4])
        cands.append((float(score[i]), int(cls[i]), [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2]))
    cands.sort(key=lambda c: -c[0])
    kept = []
    for c in cands:
        if all(k[1] != c[1] or iou(k[2], c[2]) <= NMS_IOU for k in kept):
            kept.append(c)
    h, w, _ = rgb.shape
    dets = []
    for s, c, b in kept:
        x1 = min(max((b[0] - left) / sx, 0.0), w)
        y1 = min(max((b[1] - top) / sy, 0.0), h)
        x2 = min(max((b[2] - left) / sx, 0.0), w)
        y2 = min(max((b[3] - top) / sy, 0.0), h)
        dets.append({"class": manifest["classes"][c], "score": round(s, 4), "box": [round(v, 2) for v in (x1, y1, x2, y2)]})
    return dets


def main():
    cache = pathlib.Path(os.environ.get("STREETWATCH_CACHE", pathlib.Path.home() / ".cache/streetwatch"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=pathlib.Path, default=cache / "testdata")
    ap.add_argument("--models", type=pathlib.Path, default=cache / "models")
    args = ap.parse_args()
    names = [line.split()[1] for line in (HERE / "images.sha256").read_text().splitlines() if line.strip()]
    for size in (320, 416, 640):
        manifest = tomllib.loads((ROOT / f"models/yolov3-tiny-{size}.toml").read_text())
        model = args.models / manifest["file"]
        if sha256(model) != manifest["sha256"]:
            raise SystemExit(f"{model}: sha256 differs from its manifest; run deploy/setup.sh")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        images = []
        for name in names:
            path = args.images / name
            rgb = np.asarray(Image.open(path).convert("RGB"))
            images.append({"image": name, "image_sha256": sha256(path), "width": rgb.shape[1],
                           "height": rgb.shape[0], "detections": detect(session, manifest, rgb)})
        doc = {
            "generated_by": "detector/tests/golden/make_reference.py (Pillow, numpy, onnxruntime "
            + ort.__version__ + ")",
            "model": manifest["file"],
            "model_sha256": manifest["sha256"],
            "score_threshold": SCORE_THRESHOLD,
            "nms_iou": NMS_IOU,
            "images": images,
        }
        out = HERE / f"yolov3-tiny-{size}.json"
        out.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"{out.relative_to(ROOT)}: " + ", ".join(f"{i['image']} {len(i['detections'])}" for i in images))


if __name__ == "__main__":
    main()
