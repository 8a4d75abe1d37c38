"""Raw video of a still scene made from one real frame, for the change gate's tests
and the `mixed` benchmark (deploy/setup.sh pipes it into x264enc).

A real camera watching an empty street does not send the same picture twice: its
sensor adds noise to every frame (more at night, when the gain is up) and the light
drifts. This holds one frame of the real footage and adds exactly that:

  --noise S       Gaussian sensor noise, standard deviation S grey levels, new every
                  frame (drawn from a pool of 16 fields, so a frame never repeats the
                  previous one's noise);
  --light A       a slow light drift: brightness + A * sin(2 pi t / T) over the clip
                  (one full period, so a looped clip has no seam);
  --step A@T/R    a lighting change: brightness + A, ramped in over R seconds at T;
  --night         grey (IR cut filter off) and dim (35 %), as a camera sees at night;
  --paint-out X1,Y1,X2,Y2 --appear-at T
                  an arrival: until T the box (pixels of the frame as given) is
                  painted out, each row interpolated between the columns either side
                  of it; from T on the real frame shows. The footage has no vehicle
                  driving in, so this is how "a van arrives" is composed from it: the
                  parked van of vtest's first frame appears at T.

Output: raw BGR frames on stdout, width x height as --size; frames are scaled as
deploy/setup.sh scales the benchmark footage (2.5x, cut to 16:9 at the bottom) when
--size is 1920x1080, else resized. Deterministic: the same arguments give the same
bytes (a fixed seed).
"""

import argparse
import math
import sys

import numpy as np
from PIL import Image


def parse_step(text):
    amount, rest = text.split("@")
    at, ramp = rest.split("/")
    return float(amount), float(at), float(ramp)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("frame", help="a PNG frame of real footage")
    p.add_argument("--size", default="768x576")
    p.add_argument("--secs", type=float, default=60.0)
    p.add_argument("--fps", type=int, default=10)
    p.add_argument("--noise", type=float, default=2.0)
    p.add_argument("--light", type=float, default=0.0)
    p.add_argument("--step", type=parse_step)
    p.add_argument("--night", action="store_true")
    p.add_argument("--paint-out", type=lambda t: [int(v) for v in t.split(",")])
    p.add_argument("--appear-at", type=float, default=0.0)
    a = p.parse_args()
    width, height = (int(v) for v in a.size.split("x"))

    img = Image.open(a.frame).convert("RGB")
    painted = None
    if a.paint_out:
        x1, y1, x2, y2 = a.paint_out
        px = np.asarray(img, dtype=np.float32).copy()
        w = np.linspace(0.0, 1.0, x2 - x1)[None, :, None]
        px[y1:y2, x1:x2] = px[y1:y2, x1 - 1 : x1] * (1.0 - w) + px[y1:y2, x2 : x2 + 1] * w
        painted = Image.fromarray(np.clip(px + 0.5, 0, 255).astype(np.uint8))
    def prepare(img):
        if (width, height) == (1920, 1080):
            img = img.resize((1920, 1440), Image.BICUBIC).crop((0, 0, 1920, 1080))
        elif img.size != (width, height):
            img = img.resize((width, height), Image.BICUBIC)
        base = np.asarray(img, dtype=np.float32)[:, :, ::-1]
        if a.night:
            grey = base @ np.array([0.114, 0.587, 0.299], dtype=np.float32)
            base = np.repeat((grey * 0.35)[:, :, None], 3, axis=2)
        return base

    base = prepare(img)
    before = prepare(painted) if painted is not None else base
    rng = np.random.default_rng(20261204)
    channels = 1 if a.night else 3
    pool = [rng.normal(0.0, a.noise, size=(height, width, channels)).astype(np.float32) for _ in range(16)]
    frames = int(round(a.secs * a.fps))
    out = sys.stdout.buffer
    for i in range(frames):
        t = i / a.fps
        light = a.light * math.sin(2.0 * math.pi * i / frames)
        if a.step:
            amount, at, ramp = a.step
            light += amount * min(1.0, max(0.0, (t - at) / max(ramp, 1e-6)))
        frame = (before if t < a.appear_at else base) + pool[i % 16] + light
        out.write(np.clip(frame + 0.5, 0, 255).astype(np.uint8).tobytes())


if __name__ == "__main__":
    main()
