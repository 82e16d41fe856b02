"""Fit the detector's second look (`edge.detect.second_look`) on our own detector's candidates.

Candidates: the shipped network (no second look, network score >= SCORE_FLOOR) run as the
runtime runs it over the training part of both annotated folders (each photo, and mirrored),
over training scenes composited as for the network (tilted, small, degraded faces), and over
the training negatives as they are, scaled up 2x, and made into 640x480 scenes as the
network's backgrounds are (scaled, turned, relit, noised, JPEG). A candidate is a face when its box
overlaps a face's landmark box at IoU >= 0.4, not a face when it overlaps none at 0.2
(in between: left out). Faces and negatives are split once more, by identity and by photo
group, 80 / 20: the regression (L2 logistic, L-BFGS) is fitted on the 80 and the final-score
threshold chosen on the 20 (`calibrate`: the fewest false detections per face-free photo that
still finds all but MISS_BUDGET of the faces); the validation split is not used.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import cv2
import numpy as np

from convert.detector.data import FaceBank, build_face_bank, compose, load_negatives, make_scenes, negative_group, negative_split
from convert.training_data import training_samples
from edge.data import identity_of, load_image
from edge.detect.cnn import CnnDetector
from edge.detect.second_look import VERIFY_FILE, SecondLook, features
from edge.geometry import Box
from edge.imaging import to_grey
from edge.paths import models_dir

SCORE_FLOOR = 0.25  # candidates below this network score are not looked at
MISS_BUDGET = 0.0075  # share of calibration faces the chosen threshold may lose (inside the 1% target, with room)
L2 = 1.0


def _held(name: str) -> bool:
    """One in five identities / photo groups is held out for choosing the threshold."""
    return int.from_bytes(hashlib.sha256(f"second-look:{name}".encode()).digest()[:8], "big") / 2**64 < 0.2


def _candidates(det: CnnDetector, grey: np.ndarray, faces: list[Box]) -> tuple[list[np.ndarray], list[int], float]:
    """(features, labels 1 / 0, best face-candidate score or 0) of one image's candidates."""
    feats, labels, best = [], [], 0.0
    for d in det.detect_with_key_points(grey, 64):
        iou = max((d.box.iou(f) for f in faces), default=0.0)
        if iou >= 0.4:
            labels.append(1)
            best = max(best, d.box.score)
        elif iou < 0.2:
            labels.append(0)
        else:
            continue
        feats.append(features(grey, d.key_points, d.box.score))
    return feats, labels, best


def collect(det: CnnDetector, limit: int = 0, seed: int = 0) -> dict[str, dict[str, list]]:
    """{'fit' | 'calib': {'X', 'y', 'face_best' (per calibration face: its best candidate's features or None),
    'neg_images'}}."""
    parts: dict[str, dict[str, list]] = {k: {"X": [], "y": [], "faces": [], "neg": []} for k in ("fit", "calib")}
    faces = training_samples(None, "train")[: limit or None]
    for i, s in enumerate(faces):
        img = load_image(s.image_path)
        if img is None:
            continue
        grey = to_grey(img)
        part = parts["calib" if _held(identity_of(s.name)) else "fit"]
        for flip in (False, True):
            g = np.ascontiguousarray(grey[:, ::-1]) if flip else grey
            pts = s.points.copy()
            if flip:
                pts[:, 0] = g.shape[1] - 1 - pts[:, 0]
            f, y, _ = _candidates(det, g, [Box.around(pts)])
            part["X"] += f
            part["y"] += y
            if not flip:  # a calibration face: its face candidates' features, to score thresholds on
                part["faces"].append([x for x, yy in zip(f, y) if yy == 1])
        if (i + 1) % 1000 == 0:
            print(f"  second look: {i + 1}/{len(faces)} training photos", file=sys.stderr)
    names = negative_split()["train"][: limit or None]
    rng = np.random.default_rng([seed, 30])
    for name, img in zip(names, load_negatives(names)):
        part = parts["calib" if _held(negative_group(name)) else "fit"]
        scaled = cv2.resize(img, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR)
        relit = compose(rng, FaceBank(), [img], (640, 480), empty=1.0)[0]  # scaled, turned, relit, noised, compressed
        for g in (img, scaled, relit):
            f, y, _ = _candidates(det, g, [])
            part["X"] += f
            part["y"] += y
            part["neg"].append(f)
    # composited training scenes: tilted, small, occluded, degraded faces (fit part only)
    bank = build_face_bank(faces, progress=False)
    negs = load_negatives([n for n in names if not _held(negative_group(n))])
    rng = np.random.default_rng([seed, 31])
    scenes = make_scenes(min(3000, 8 * len(faces)), rng, bank, negs, size=(320, 256), face_range=(16.0, 220.0))
    for img, fs in zip(scenes.images, scenes.faces):
        f, y, _ = _candidates(det, img, [sf.box for sf in fs] + [sf.upright for sf in fs if sf.upright is not None])
        parts["fit"]["X"] += f
        parts["fit"]["y"] += y
    return parts


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    from scipy.optimize import minimize

    mean, std = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / std
    w_pos = 0.5 / max(y.mean(), 1e-6)  # balanced classes
    w_neg = 0.5 / max(1 - y.mean(), 1e-6)
    sw = np.where(y == 1, w_pos, w_neg) / len(y)

    def loss(theta):
        w, b = theta[:-1], theta[-1]
        t = z @ w + b
        lp = -np.logaddexp(0, -t)  # log sigmoid
        lq = -np.logaddexp(0, t)
        val = -(sw * (y * lp + (1 - y) * lq)).sum() + 0.5 * l2 * (w @ w) / len(y)
        p = 1 / (1 + np.exp(-t))
        g = sw * (p - y)
        return val, np.concatenate([z.T @ g + l2 * w / len(y), [g.sum()]])

    res = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return res.x[:-1], float(res.x[-1]), mean, std


def calibrate(model: SecondLook, calib: dict[str, list]) -> tuple[float, dict]:
    """The final-score threshold: fewest false detections per face-free photo that still finds all but MISS_BUDGET of the faces."""
    face_best = np.array([model.probability(np.stack(f)).max() if f else 0.0 for f in calib["faces"]])
    neg_p = [model.probability(np.stack(f)) if f else np.zeros(0) for f in calib["neg"]]
    best_t, rows = 0.5, {}
    for t in np.round(np.arange(0.02, 0.96, 0.01), 2):
        miss = float((face_best < t).mean())
        fp = float(sum((p >= t).sum() for p in neg_p) / max(len(neg_p), 1))
        rows[float(t)] = (miss, fp)
    ok = [t for t, (miss, _) in rows.items() if miss <= MISS_BUDGET]
    best_t = max(ok) if ok else min(rows)
    return best_t, {"threshold": best_t, "calib_miss": rows[best_t][0], "calib_false_per_negative": rows[best_t][1],
                    "calib_faces": len(face_best), "calib_negative_images": len(neg_p)}  # fmt: skip


def fit_second_look(models: Path | None = None, limit: int = 0, seed: int = 0) -> SecondLook:
    det = CnnDetector(mapped=False, score_threshold=SCORE_FLOOR, second_look=False)
    print(f"second look: collecting candidates of {det.path.name} (network score >= {SCORE_FLOOR})", file=sys.stderr)
    parts = collect(det, limit, seed)
    x, y = np.stack(parts["fit"]["X"]), np.array(parts["fit"]["y"], np.float64)
    print(f"  fitting on {int(y.sum())} face and {int(len(y) - y.sum())} non-face candidates", file=sys.stderr)
    w, b, mean, std = fit_logistic(x, y)
    model = SecondLook(w, b, mean, std, 0.5, SCORE_FLOOR)
    t, info = calibrate(model, parts["calib"])
    model = SecondLook(w, b, mean, std, t, SCORE_FLOOR)
    out = (models or models_dir()) / VERIFY_FILE
    meta = {k: float(v) for k, v in info.items() if k != "threshold"}
    model.save(out, fit_faces=float(y.sum()), fit_non_faces=float(len(y) - y.sum()), **meta)
    print(f"  second look -> {out}: threshold {t:.2f} (calibration: {100 * info['calib_miss']:.2f}% of {info['calib_faces']} faces "
          f"lost, {info['calib_false_per_negative']:.3f} false detections per face-free photo)", file=sys.stderr)  # fmt: skip
    return model
