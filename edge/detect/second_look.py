"""The CNN detector's second look: is this candidate a face? (models/detector_verify.npz)

The network's own score separates faces from the hard face-free photos only so far (at the
score that finds 99% of the validation faces it also fires on about one in five photos of
negatives/). Each candidate it reports is therefore looked at again, levelled by its own
five key points: a GRID x GRID grey crop in which the key points land on TEMPLATE, its
normalised intensities and gradient magnitudes, plus the network's score (as a logit), go
through a logistic regression fitted on our detector's own candidates on the training faces
(faces) and the training negatives (not faces) (`convert.detector.second_look`). Its output
is the detection's final score. About 0.05 ms per candidate. (Adding how well the landmark
CNN's points agree with the five key points was tried: fewer false detections on the
calibration part, none fewer on the validation negatives, at one CNN run per candidate.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.geometry import fit_similarity
from edge.imaging import levelled_view
from edge.paths import model_path, require_file

VERIFY_FILE = "detector_verify.npz"
GRID = 24
# where the five key points (eyes, nose tip, mouth corners) land in the crop: eyes 10 px apart, the face filling it
TEMPLATE = np.array([[7.0, 8.5], [17.0, 8.5], [12.0, 13.5], [8.0, 18.0], [16.0, 18.0]])


def features(grey: np.ndarray, key_points: np.ndarray, score: float) -> np.ndarray:
    """(2 GRID^2 + 1,) features of one candidate: the levelled crop's normalised pixels and gradients, the score's logit."""
    sim = fit_similarity(np.asarray(key_points, np.float64), TEMPLATE)  # frame -> crop
    back = sim.inverse()
    c = (GRID - 1) / 2.0
    cx, cy = back.apply(np.array([c, c]))
    side = GRID / max(sim.scale, 1e-6)
    view = levelled_view(grey, float(cx), float(cy), back.angle, side, side, sim.scale)
    crop = view.image if view.image.shape == (GRID, GRID) else cv2.resize(view.image, (GRID, GRID), interpolation=cv2.INTER_AREA)
    x = crop.astype(np.float32)
    x = (x - x.mean()) / (x.std() + 4.0)
    gx, gy = cv2.Sobel(x, cv2.CV_32F, 1, 0), cv2.Sobel(x, cv2.CV_32F, 0, 1)
    mag = np.sqrt(gx * gx + gy * gy)
    mag = mag / (mag.mean() + 1e-3)
    p = float(np.clip(score, 1e-4, 1 - 1e-4))
    return np.concatenate([x.ravel(), mag.ravel(), [np.log(p / (1 - p))]]).astype(np.float32)


@dataclass(frozen=True)
class SecondLook:
    """A small multilayer perceptron on the candidate's features: ReLU hidden layers, a sigmoid out (one layer:
    the logistic regression of the first version, whose files still load)."""

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]  # (weights (n_in, n_out), bias (n_out,)) per layer
    mean: np.ndarray
    std: np.ndarray
    threshold: float  # final score at or above which a candidate is a face (chosen when fitted)
    score_floor: float  # network score below which a candidate is not looked at

    def probability(self, feats: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(feats) - self.mean) / self.std
        for i, (w, b) in enumerate(self.layers):
            z = z @ w + b
            if i + 1 < len(self.layers):
                z = np.maximum(z, 0.0)
        return 1.0 / (1.0 + np.exp(-np.clip(z[:, 0], -30, 30)))

    def __call__(self, grey: np.ndarray, key_points: np.ndarray, score: float) -> float:
        return float(self.probability(features(grey, key_points, score))[0])

    def save(self, path: Path, **meta: float) -> None:
        """float16 weights (the scores move by < 1e-3), float32 normalisation."""
        arrays = {f"{k}{i}": v.astype(np.float16) for i, layer in enumerate(self.layers) for k, v in zip("wb", layer)}
        np.savez_compressed(path, n_layers=np.array(len(self.layers)), mean=self.mean.astype(np.float32), std=self.std.astype(np.float32),
                            threshold=np.array(self.threshold), score_floor=np.array(self.score_floor), **arrays,
                            **{k: np.array(v) for k, v in meta.items()})  # fmt: skip

    @classmethod
    def load(cls, path: Path | str | None = None) -> SecondLook:
        path = require_file(Path(path) if path else model_path(VERIFY_FILE), "detector second-look model",
                            "run `make models` (edgetrack train detector) or pass second_look=False")  # fmt: skip
        try:
            with np.load(path) as z:
                if "weights" in z:  # the first version: one logistic layer
                    layers = ((z["weights"].astype(np.float64)[:, None], np.array([float(z["bias"])])),)
                else:
                    layers = tuple((z[f"w{i}"].astype(np.float64), z[f"b{i}"].astype(np.float64)) for i in range(int(z["n_layers"])))
                return cls(layers, z["mean"].astype(np.float64), z["std"].astype(np.float64), float(z["threshold"]),
                           float(z["score_floor"]))  # fmt: skip
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{path} is not a detector second-look model ({exc}); refit it with `edgetrack train detector`") from None
