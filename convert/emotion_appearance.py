"""Experiment (issue 22): does an appearance descriptor of the aligned eye and mouth regions add to the points?

The subtle expressions (anger, disgust, fear, sadness) show in furrows and wrinkles more than in 68 points,
and the shipped landmarker barely moves the brows and lids on KDEF's photos (models/cards/emotion.md), so
texture might carry what the points miss. Descriptor: uniform rotation-invariant LBP (8 neighbours, radius 1:
10 codes) histograms on a grid over a 96 px face aligned by its eye centres -- a brows-and-eyes band (4x2
cells) and a mouth box (3x2 cells), square-rooted (Hellinger), 140 numbers; numpy + OpenCV only, as a
device path would be.

What can be measured: KDEF has photos, CK+ only shapes, so the descriptor cannot be trained on one set and
tested on the other. Measured instead, on KDEF: subject-disjoint 5-fold CV, and across the sexes (train on
the 35 women, test on the 35 men, and the reverse: other people, same lab and camera) -- points alone,
LBP alone, both; each alone and against the person's neutral photo. Not shipped (see the card).

    python -m convert.emotion_appearance      (prints the table; needs the KDEF fits cached by `edgetrack train emotion`)
"""

from __future__ import annotations

import logging
import sys

import cv2
import numpy as np

from convert.emotion_data import SHARED_CLASSES, EmotionSet, load_kdef, subject_baseline, training_baseline
from convert.emotion_eval import class_index
from convert.emotion_fit import choose_l2, group_folds, train_head
from edge.emotion_features import ratio_features
from edge.landmarks68 import LEFT_EYE, RIGHT_EYE
from edge.paths import data_root

log = logging.getLogger(__name__)

SIZE = 96
EYE_Y, EYE_X = 0.36, (0.30, 0.70)  # where the eye centres land in the aligned face (share of SIZE)
BANDS = {"eyes": ((0.10, 0.50, 0.05, 0.95), (2, 4)), "mouth": ((0.62, 0.98, 0.20, 0.80), (2, 3))}  # (y0, y1, x0, x1), (rows, cols)


def _riu2_table() -> np.ndarray:
    """8-bit LBP code -> rotation-invariant uniform code (0..8: number of ones if at most 2 transitions, else 9)."""
    table = np.empty(256, dtype=np.int64)
    for c in range(256):
        bits = [(c >> i) & 1 for i in range(8)]
        transitions = sum(bits[i] != bits[(i + 1) % 8] for i in range(8))
        table[c] = sum(bits) if transitions <= 2 else 9
    return table


RIU2 = _riu2_table()


def aligned_face(grey: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The face resampled so the eye centres sit at fixed places in a SIZE x SIZE picture (scale, roll, position gone)."""
    right, left = points[RIGHT_EYE].mean(0), points[LEFT_EYE].mean(0)
    src = np.float32([right, left])
    dst = np.float32([[EYE_X[0] * SIZE, EYE_Y * SIZE], [EYE_X[1] * SIZE, EYE_Y * SIZE]])
    m, _ = cv2.estimateAffinePartial2D(src, dst)
    return cv2.warpAffine(grey, m, (SIZE, SIZE), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def lbp_codes(img: np.ndarray) -> np.ndarray:
    """riu2 LBP code of every inner pixel (H-2, W-2)."""
    g = img.astype(np.int16)
    c = g[1:-1, 1:-1]
    offsets = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
    code = np.zeros_like(c, dtype=np.int64)
    h, w = g.shape
    for i, (dy, dx) in enumerate(offsets):
        code |= (g[1 + dy : h - 1 + dy, 1 + dx : w - 1 + dx] >= c).astype(np.int64) << i
    return RIU2[code]


def lbp_descriptor(grey: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Square-rooted riu2 LBP histograms per grid cell of the eye band and the mouth box (140 numbers)."""
    codes = lbp_codes(aligned_face(grey, points))
    n = codes.shape[0]
    out = []
    for (y0, y1, x0, x1), (rows, cols) in BANDS.values():
        region = codes[int(y0 * n) : int(y1 * n), int(x0 * n) : int(x1 * n)]
        for band in np.array_split(region, rows, axis=0):
            for cell in np.array_split(band, cols, axis=1):
                hist = np.bincount(cell.ravel(), minlength=10).astype(np.float64)
                out.append(np.sqrt(hist / max(hist.sum(), 1)))
    return np.concatenate(out)


def kdef_lbp(d: EmotionSet) -> np.ndarray:
    return np.array([lbp_descriptor(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), pts) for p, pts in zip(d.images, d.points)])


def _score(d: EmotionSet, x: np.ndarray, train: np.ndarray, test: np.ndarray, relative: bool) -> float:
    y = class_index(d.labels, SHARED_CLASSES)
    xs = x - training_baseline(d, x) if relative else x
    xt = x - subject_baseline(d, x)[0] if relative else x  # KDEF: every photo has another neutral photo of its person
    l2 = choose_l2(xs[train], y[train], d.subjects[train], len(SHARED_CLASSES), grid=(0.01, 0.1, 1.0), k=3)
    return float(np.mean(train_head(xs[train], y[train], len(SHARED_CLASSES), l2).logits(xt[test]).argmax(1) == y[test]))


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    d = load_kdef(data_root() / "kdef")
    feats = {"points (ratios)": ratio_features(d.points), "LBP": kdef_lbp(d)}
    feats["points + LBP"] = np.hstack([feats["points (ratios)"], feats["LBP"]])
    folds = group_folds(d.subjects, 5)
    women = np.char.startswith(d.subjects.astype(str), "F")
    print("| features | baseline | KDEF subject-disjoint 5-fold CV | women -> men | men -> women |\n|---|---|---|---|---|")
    for name, x in feats.items():
        for relative in (False, True):
            cv = np.mean([_score(d, x, folds != f, folds == f, relative) for f in range(5)])
            wm, mw = _score(d, x, women, ~women, relative), _score(d, x, ~women, women, relative)
            print(f"| {name} | {'subject' if relative else 'none'} | {cv:.1%} | {wm:.1%} | {mw:.1%} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
