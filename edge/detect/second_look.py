"""The CNN detector's second look: is this candidate a face? (models/detector_verify.npz)

The network's own score separates faces from the hard face-free photos only so far (at the
score that finds 99% of the validation faces it also fires on about one in five photos of
negatives/). Each candidate it reports is therefore looked at again, levelled by its own
five key points: a GRID x GRID grey crop in which the key points land on TEMPLATE, its
normalised intensities and gradient magnitudes, plus the network's score (as a logit), go
through a small classifier fitted on our detector's own candidates on the training faces
(faces) and the training negatives (not faces) (`convert.detector.second_look`). Its output
is the detection's final score.

The classifier is a tiny convolutional network (three 3x3 convolutions with ReLU and 2x2 max
pooling over the crop's two channels, then a ReLU layer that also sees the score), in numpy:
at the false-detection rate of the perceptron it replaced it lost 0.9% of the calibration
faces instead of 3.6% (on the same network's candidates). One batched pass per frame scores
every candidate. Files without convolutions (the perceptron, and the first version's
logistic regression) still load and run on the flattened, standardised features.
(Adding how well the landmark CNN's points agree with the five key points was tried with the
logistic regression: no fewer false detections on the validation negatives.)
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


def conv3x3_relu_pool(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> (N, H/2, W/2, O): a 3x3 convolution (zero padding 1; weights (O, C, 3, 3) as PyTorch keeps
    them), ReLU, 2x2 max pooling (an odd row or column is dropped, as PyTorch's MaxPool2d does). Channels last:
    the patches come out of the sliding window in the weights' own (C, 3, 3) order, with no transpose per layer
    (half the time of channels first); pooling before the bias and ReLU gives the same result on a quarter of it."""
    n, h, wd, c = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    cols = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2)).reshape(n * h * wd, c * 9)
    y = (cols @ w.reshape(w.shape[0], -1).T).reshape(n, h, wd, -1)
    h2, w2 = h // 2, wd // 2
    y = y[:, : 2 * h2, : 2 * w2].reshape(n, h2, 2, w2, 2, -1).max(axis=(2, 4))
    return np.maximum(y + b, 0.0)


@dataclass(frozen=True)
class SecondLook:
    """A small classifier of candidates. With `convs`: a convolutional network on the crop's two channels, whose
    flattened output and the score's logit go through the dense `layers`; without: a perceptron (or, with one layer,
    the first version's logistic regression) on the standardised features."""

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]  # (weights (n_in, n_out), bias (n_out,)) per dense layer, ReLU between
    mean: np.ndarray
    std: np.ndarray
    threshold: float  # final score at or above which a candidate is a face (chosen when fitted)
    score_floor: float  # network score below which a candidate is not looked at
    convs: tuple[tuple[np.ndarray, np.ndarray], ...] = ()  # (weights (O, C, 3, 3), bias (O,)) per convolution

    def probability(self, feats: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(feats) - self.mean) / self.std
        if self.convs:
            x = z[:, : 2 * GRID * GRID].reshape(-1, 2, GRID, GRID).transpose(0, 2, 3, 1).astype(np.float32)
            for w, b in self.convs:
                x = conv3x3_relu_pool(x, w, b)
            z = np.concatenate([x.transpose(0, 3, 1, 2).reshape(len(z), -1), z[:, -1:]], axis=1)  # PyTorch's flattening order
        for i, (w, b) in enumerate(self.layers):
            z = z @ w + b
            if i + 1 < len(self.layers):
                z = np.maximum(z, 0.0)
        return 1.0 / (1.0 + np.exp(-np.clip(z[:, 0], -30, 30)))

    def look(self, grey: np.ndarray, candidates: list[tuple[np.ndarray, float]]) -> np.ndarray:
        """Final scores of a frame's candidates ((key points, network score) each), in one batched pass."""
        if not candidates:
            return np.zeros(0)
        return self.probability(np.stack([features(grey, k, s) for k, s in candidates]))

    def __call__(self, grey: np.ndarray, key_points: np.ndarray, score: float) -> float:
        return float(self.look(grey, [(key_points, score)])[0])

    def save(self, path: Path, **meta: float) -> None:
        """float16 weights (the scores move by < 1e-3), float32 normalisation."""
        arrays = {f"{k}{i}": v.astype(np.float16) for i, layer in enumerate(self.layers) for k, v in zip("wb", layer)}
        arrays |= {f"c{k}{i}": v.astype(np.float16) for i, layer in enumerate(self.convs) for k, v in zip("wb", layer)}
        np.savez_compressed(path, n_layers=np.array(len(self.layers)), n_convs=np.array(len(self.convs)), mean=self.mean.astype(np.float32),
                            std=self.std.astype(np.float32), threshold=np.array(self.threshold), score_floor=np.array(self.score_floor),
                            **arrays, **{k: np.array(v) for k, v in meta.items()})  # fmt: skip

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
                n_convs = int(z["n_convs"]) if "n_convs" in z else 0
                convs = tuple((z[f"cw{i}"].astype(np.float32), z[f"cb{i}"].astype(np.float32)) for i in range(n_convs))
                return cls(layers, z["mean"].astype(np.float64), z["std"].astype(np.float64), float(z["threshold"]),
                           float(z["score_floor"]), convs)  # fmt: skip
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{path} is not a detector second-look model ({exc}); refit it with `edgetrack train detector`") from None
