"""Draw the shipped masks (glasses, moustache, hat) procedurally and record their anchors.

Each mask is drawn around the mean face placed in the canvas, so its anchors (the canvas
positions of chosen landmarks) are exact by construction: models/masks/NAME.png (BGRA)
+ NAME.json ({"anchors": {landmark index: [x, y]}}). No downloaded art.

    python -m convert.masks [--out models/masks]   (or `edgetrack train masks` once registered)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from edge.landmarks68 import (
    BROWS,
    EYE_CORNERS,
    JAW,
    MOUTH_CORNERS,
    NOSE_BASE,
    NOSE_ROOT,
    NOSTRILS,
    OUTER_EYE_CORNERS,
    UPPER_LIP_TOP,
    eye_centres,
    interocular,
)
from edge.paths import model_path
from edge.shape_model import ShapeModel

SS = 4  # supersampling: draw big, shrink with INTER_AREA for smooth edges


def _placed_mean(scale_px: float, origin: tuple[float, float]) -> np.ndarray:
    """Mean shape in canvas pixels: outer-eye distance = scale_px, eye midpoint at origin."""
    m = ShapeModel.load().mean
    d = float(interocular(m))
    return (m - m[OUTER_EYE_CORNERS].mean(0)) / d * scale_px + np.asarray(origin)


class Canvas:
    """BGR + alpha layers drawn at SS x resolution; `layer` paints colour and coverage together."""

    def __init__(self, w: int, h: int) -> None:
        self.w, self.h = w, h
        self.bgr = np.zeros((h * SS, w * SS, 3), np.float32)
        self.alpha = np.zeros((h * SS, w * SS), np.float32)

    def layer(self, draw, colour: tuple[int, int, int], alpha: float) -> None:
        cover = np.zeros(self.alpha.shape, np.uint8)
        draw(cover)
        a = cover.astype(np.float32) / 255.0 * alpha
        self.bgr = self.bgr * (1 - a[..., None]) + np.asarray(colour, np.float32) * a[..., None]
        self.alpha = self.alpha + a * (1 - self.alpha)

    def save(self, path: Path, anchors: dict[int, np.ndarray]) -> None:
        # un-premultiplied colour where anything is drawn, shrunk with area averaging
        bgr = cv2.resize(self.bgr * self.alpha[..., None], (self.w, self.h), interpolation=cv2.INTER_AREA)
        a = cv2.resize(self.alpha, (self.w, self.h), interpolation=cv2.INTER_AREA)
        bgr = bgr / np.maximum(a[..., None], 1e-6)
        out = np.dstack([np.clip(bgr, 0, 255), np.clip(a * 255, 0, 255)]).round().astype(np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), out)
        anchors_json = {str(k): [round(float(v[0]), 2), round(float(v[1]), 2)] for k, v in anchors.items()}
        path.with_suffix(".json").write_text(json.dumps({"anchors": anchors_json}, indent=2) + "\n")


def _pt(p) -> tuple[int, int]:
    return int(round(p[0] * SS)), int(round(p[1] * SS))


def _axes(a, b) -> tuple[int, int]:
    return int(round(a * SS)), int(round(b * SS))


def glasses(out: Path) -> None:
    c = Canvas(460, 160)
    pts = _placed_mean(240, (230, 76))
    eyes = list(eye_centres(pts))  # image left, image right
    rx, ry = 80, 58
    for e in eyes:
        c.layer(lambda m, e=e: cv2.ellipse(m, _pt(e), _axes(rx, ry), 0, 0, 360, 255, -1), (60, 35, 25), 0.62)  # tinted lens
        c.layer(lambda m, e=e: cv2.ellipse(m, _pt(e - [20, 18]), _axes(26, 7), -25, 0, 360, 255, -1), (255, 255, 255), 0.35)  # glint
        c.layer(lambda m, e=e: cv2.ellipse(m, _pt(e), _axes(rx, ry), 0, 0, 360, 255, 9 * SS), (20, 20, 20), 1.0)  # rim
    mid = (eyes[0] + eyes[1]) / 2
    half_gap = eyes[1][0] - mid[0] - rx + 4
    c.layer(lambda m: cv2.ellipse(m, _pt(mid + [0, 4]), _axes(half_gap, 16), 0, 190, 350, 255, 8 * SS), (20, 20, 20), 1.0)  # bridge
    for e, side in ((eyes[0], -1), (eyes[1], 1)):
        a, b = e + [side * (rx - 2), -22], e + [side * (rx + 22), -30]
        c.layer(lambda m, a=a, b=b: cv2.line(m, _pt(a), _pt(b), 255, 9 * SS), (20, 20, 20), 1.0)  # temple stubs
    c.save(out / "glasses.png", {int(i): pts[i] for i in (*EYE_CORNERS, NOSE_ROOT)})


def moustache(out: Path) -> None:
    c = Canvas(300, 110)
    pts = _placed_mean(300, (150, 15 - 0.56 * 300))
    top_of_lip = pts[UPPER_LIP_TOP, 1]
    t = np.linspace(-1, 1, 161)
    ax = np.abs(t)
    x = 150 + t * 140
    centre = top_of_lip - 20 + 6 * ax - 150 * np.clip(ax - 0.62, 0, None) ** 1.5  # tips curl upwards
    thick = 7 + 30 * (1 - ax**2.2) * (1 - 0.45 * np.exp(-((t / 0.07) ** 2)))  # parted in the middle
    upper = np.c_[x, centre - thick * 0.5]
    lower = np.c_[x, centre + thick * 0.5][::-1]
    poly = (np.vstack([upper, lower]) * SS).round().astype(np.int32)
    c.layer(lambda m: cv2.fillPoly(m, [poly], 255, cv2.LINE_AA), (25, 38, 60), 1.0)
    shape = np.zeros(c.alpha.shape, np.uint8)
    cv2.fillPoly(shape, [poly], 255, cv2.LINE_AA)
    # strands: darker strokes combed outwards and down, clipped to the moustache
    rng = np.random.default_rng(0)

    def strands(m: np.ndarray) -> None:
        for _ in range(160):
            k = int(rng.integers(3, 158))
            y0 = centre[k] + rng.uniform(-0.5, 0.5) * thick[k]
            a = (x[k], y0 - 4)
            b = (x[k] + np.sign(t[k]) * rng.uniform(2, 6), y0 + 5)
            cv2.line(m, _pt(a), _pt(b), 255, int(1.5 * SS), cv2.LINE_AA)
        np.minimum(m, shape, out=m)

    c.layer(strands, (12, 18, 30), 0.7)
    c.save(out / "moustache.png", {int(i): pts[i] for i in (NOSTRILS[0], NOSE_BASE, NOSTRILS[-1], *MOUTH_CORNERS)})


def hat(out: Path) -> None:
    c = Canvas(360, 330)
    pts = _placed_mean(165, (180, 318 + 0.72 * 165))
    brim_y = 300
    c.layer(lambda m: cv2.ellipse(m, _pt((180, brim_y)), _axes(176, 24), 0, 0, 360, 255, -1), (30, 30, 34), 1.0)
    crown = np.array([[180 - 112, brim_y], [180 - 122, 34], [180 + 122, 34], [180 + 112, brim_y]], np.float64)
    c.layer(lambda m: cv2.fillPoly(m, [(crown * SS).astype(np.int32)], 255, cv2.LINE_AA), (38, 38, 44), 1.0)
    c.layer(lambda m: cv2.ellipse(m, _pt((180, 34)), _axes(122, 16), 0, 0, 360, 255, -1), (55, 55, 62), 1.0)  # top
    band = np.array([[180 - 114, brim_y - 8], [180 - 117, brim_y - 60], [180 + 117, brim_y - 60], [180 + 114, brim_y - 8]], np.float64)
    c.layer(lambda m: cv2.fillPoly(m, [(band * SS).astype(np.int32)], 255, cv2.LINE_AA), (40, 30, 170), 1.0)  # red band
    c.layer(lambda m: cv2.line(m, _pt((180 - 80, 60)), _pt((180 - 86, brim_y - 70)), 255, 10 * SS), (90, 90, 100), 0.5)  # sheen
    c.layer(lambda m: cv2.ellipse(m, _pt((180, brim_y)), _axes(176, 24), 0, 0, 180, 255, 3 * SS), (70, 70, 78), 0.8)  # brim edge
    c.save(out / "hat.png", {int(i): pts[i] for i in (JAW[0], JAW[-1], BROWS[0], BROWS[-1], NOSE_ROOT)})


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=None, help="output folder (default models/masks)")


def main(args: argparse.Namespace) -> int:
    out = args.out or model_path("masks")
    for make in (glasses, moustache, hat):
        make(out)
    print(f"masks written to {out}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="draw the shipped masks (glasses, moustache, hat)")
    add_arguments(parser)
    raise SystemExit(main(parser.parse_args()))
