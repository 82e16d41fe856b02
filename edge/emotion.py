"""Emotion from the 68 points: a logistic regression on the shape model's parameters (as clmtrackr's).

Features of one face: its similarity-normalised PCA shape parameters in standard deviations
(`ShapeModel.fit`), plus the raw expression measures of edge/signals.py (eye openings, lip gap,
mouth width and corner lift, brow height). Two heads, trained by `edgetrack train emotion`
(convert/emotion.py) and shipped in models/emotion.json:

* `absolute`: the face's own features (a face never seen before);
* `relative`: the features minus the same person's neutral (a per-person baseline), which takes
  away what is that person's face rather than their expression.

At run time the baseline is the track's running median of its features (`NeutralBaseline`):
people look neutral most of the time, so the median of the last seconds is their resting face;
until a track has enough samples the absolute head answers. `EmotionStage` keeps one baseline
per track and puts `{"label", "scores"}` on each `TrackedFace`.

The model also carries one direction per expression in shape-parameter space (the mean change
from a person's neutral to that expression), which `--effect express` moves faces along.
Numpy only: this is the device runtime.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.faces import TrackedFace
from edge.geometry import Box
from edge.paths import model_path, require_file
from edge.shape_model import ShapeModel
from edge.signals import raw_measures

MODEL_FILE = "emotion.json"
LABELS = ("anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness", "surprise")
# the raw measures of edge.signals used as features (roll and yaw are pose, not expression)
SIGNAL_FEATURES = ("ear_left", "ear_right", "mouth_gap", "mouth_width", "mouth_lift", "brow")
# one Procrustes alignment to the mean, then the projection: the modes are orthogonal to the similarity
# directions, so more alternations change the parameters by ~1e-15 (and cost 2.5x)
SHAPE_FIT_ITERATIONS = 1
STILL_PAD = 0.25  # a photo is padded by this share of its size each side before detection


def shape_fingerprint(model: ShapeModel) -> str:
    """Which shape model the parameters (and so the classifier's weights) belong to."""
    return hashlib.sha1(np.ascontiguousarray(model.components, dtype=np.float32).tobytes()).hexdigest()[:12]


def face_features(points: np.ndarray, model: ShapeModel, signals: bool = True) -> np.ndarray:
    """Feature vector of one face (68, 2): shape parameters in standard deviations [+ the signal measures]."""
    _, params = model.fit(np.asarray(points, dtype=np.float64), n_iter=SHAPE_FIT_ITERATIONS)
    z = params / np.sqrt(model.eigenvalues)
    if not signals:
        return z
    m = raw_measures(points)
    return np.concatenate([z, [m[k] for k in SIGNAL_FEATURES]])


def fit_still(image: np.ndarray, detector, landmarker, pad: float = STILL_PAD) -> tuple[np.ndarray, bool]:
    """(68 points, found) for the largest face of a photo. The photo is padded (edge pixels repeated)
    first: the Haar cascade needs some context and misses faces cropped tight to the brows and chin.
    With no detection the landmarker starts from the box covering the photo (`found` False)."""
    h, w = image.shape[:2]
    p = int(round(pad * max(h, w)))
    padded = cv2.copyMakeBorder(image, p, p, p, p, cv2.BORDER_REPLICATE)
    boxes = detector.detect(padded, 1)
    box = boxes[0] if boxes else Box(p, p, w, h)
    points = np.asarray(landmarker.fit(padded, box).points, dtype=np.float64) - p
    return points, bool(boxes)


def scores(y: np.ndarray, pred: np.ndarray, classes: tuple[str, ...] | list[str]) -> dict:
    """Accuracy, per-class recall and the confusion matrix (rows: truth, columns: predicted) of label indices."""
    k = len(classes)
    conf = np.zeros((k, k), dtype=int)
    np.add.at(conf, (np.asarray(y), np.asarray(pred)), 1)
    recall = {c: round(float(conf[i, i] / max(conf[i].sum(), 1)), 3) for i, c in enumerate(classes)}
    return {"n": int(len(y)), "accuracy": round(float(np.mean(np.asarray(y) == np.asarray(pred))), 3), "recall": recall,
            "confusion": conf.tolist()}  # fmt: skip


def format_scores(title: str, s: dict, classes: tuple[str, ...] | list[str], chance: float | None = None) -> str:
    short = [c[:5] for c in classes]
    chance = 1 / len(classes) if chance is None else chance
    lines = [f"{title}: accuracy {s['accuracy']:.3f} on {s['n']} faces (chance {chance:.3f})"]
    lines.append("  recall  " + "  ".join(f"{c}={s['recall'][c]:.2f}" for c in classes))
    lines.append("  truth \\ predicted " + " ".join(f"{c:>6}" for c in short))
    for c, row in zip(short, s["confusion"]):
        lines.append(f"  {c:>17} " + " ".join(f"{v:>6}" for v in row))
    return "\n".join(lines)


@dataclass(frozen=True)
class Head:
    """A multinomial logistic regression on standardised features."""

    mean: np.ndarray  # (D,)
    scale: np.ndarray  # (D,)
    weights: np.ndarray  # (K, D)
    bias: np.ndarray  # (K,)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        logits = self.weights @ ((x - self.mean) / self.scale) + self.bias
        e = np.exp(logits - logits.max())
        return e / e.sum()

    def to_json(self) -> dict:
        r = lambda a: np.round(np.asarray(a, dtype=np.float64), 6).tolist()  # noqa: E731
        return {"mean": r(self.mean), "scale": r(self.scale), "weights": r(self.weights), "bias": r(self.bias)}

    @classmethod
    def from_json(cls, d: dict) -> Head:
        return cls(*(np.asarray(d[k], dtype=np.float64) for k in ("mean", "scale", "weights", "bias")))


class EmotionClassifier:
    def __init__(
        self,
        labels: list[str],
        heads: dict[str, Head],
        directions: dict[str, np.ndarray],
        signals: bool = True,
        shape_model: ShapeModel | None = None,
        info: dict | None = None,
    ) -> None:
        self.labels = list(labels)
        self.heads = heads
        self.directions = directions  # label -> shape-parameter change from neutral (model units, not sigmas)
        self.signals = signals
        self.model = shape_model or ShapeModel.load()
        self.info = info or {}

    def features(self, points: np.ndarray) -> np.ndarray:
        return face_features(points, self.model, self.signals)

    def classify(self, points: np.ndarray, baseline: np.ndarray | None = None) -> tuple[str, dict[str, float]]:
        """(label, {label: probability}) for one face (68, 2). `baseline`: the same person's neutral,
        as points (68, 2) or as features (`features(neutral_points)`, what NeutralBaseline holds);
        with it the relative head answers, without it the absolute one."""
        return self.classify_features(self.features(points), baseline)

    def classify_features(self, x: np.ndarray, baseline: np.ndarray | None = None) -> tuple[str, dict[str, float]]:
        if baseline is None:
            p = self.heads["absolute"].probabilities(x)
        else:
            base = np.asarray(baseline, dtype=np.float64)
            if base.shape == (self.model.n_points, 2):
                base = self.features(base)
            p = self.heads["relative"].probabilities(x - base)
        k = int(np.argmax(p))
        return self.labels[k], {lab: float(v) for lab, v in zip(self.labels, p)}

    def direction(self, label: str) -> np.ndarray:
        """Shape-parameter change (model units) from a person's neutral to `label`'s mean expression."""
        if label not in self.directions:
            raise ValueError(f"no learned direction for {label!r}; the model has {', '.join(self.directions)}")
        return self.directions[label]

    def save(self, path: Path) -> None:
        out = {
            "labels": self.labels,
            "features": {"shape_params_sigmas": self.model.n_params, "signals": list(SIGNAL_FEATURES) if self.signals else []},
            "shape_model": {"n_params": self.model.n_params, "fingerprint": shape_fingerprint(self.model)},
            "heads": {name: head.to_json() for name, head in self.heads.items()},
            "directions": {k: np.round(v, 6).tolist() for k, v in self.directions.items()},
            **self.info,
        }
        Path(path).write_text(json.dumps(out, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path | str | None = None, shape_model: ShapeModel | None = None) -> EmotionClassifier:
        path = Path(path) if path else model_path(MODEL_FILE)
        require_file(path, "emotion model", "run `edgetrack train emotion` (or `make models`) to build it")
        try:
            d = json.loads(path.read_text())
            heads = {name: Head.from_json(h) for name, h in d["heads"].items()}
            labels, fingerprint = d["labels"], d["shape_model"]["fingerprint"]
            signals = bool(d["features"]["signals"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not an emotion model ({exc}); rebuild it with `edgetrack train emotion`") from None
        model = shape_model or ShapeModel.load()
        if fingerprint != shape_fingerprint(model):
            raise ValueError(f"{path} was trained on another shape model; retrain it with `edgetrack train emotion`")
        directions = {k: np.asarray(v, dtype=np.float64) for k, v in d.get("directions", {}).items()}
        info = {k: v for k, v in d.items() if k not in ("labels", "features", "shape_model", "heads", "directions")}
        return cls(labels, heads, directions, signals, model, info)


class NeutralBaseline:
    """One person's resting face: the running median of their features over the last `window` samples.

    A sample is taken every `every` frames, and the median is recomputed only then, so the
    per-frame cost is one comparison. `value` is None until `warmup` samples are in."""

    def __init__(self, window: int = 150, every: int = 3, warmup: int = 10) -> None:
        self.samples: deque[np.ndarray] = deque(maxlen=window)
        self.every, self.warmup = every, warmup
        self.frames = 0
        self.value: np.ndarray | None = None

    def update(self, x: np.ndarray) -> np.ndarray | None:
        if self.frames % self.every == 0:
            self.samples.append(np.asarray(x, dtype=np.float64))
            if len(self.samples) >= self.warmup:
                self.value = np.median(np.stack(self.samples), axis=0)
        self.frames += 1
        return self.value


class EmotionStage:
    """The pipeline's emotion step: classify every tracked face against its own track's baseline."""

    def __init__(self, classifier: EmotionClassifier | None = None, **baseline_args) -> None:
        self.classifier = classifier or EmotionClassifier.load()
        self.baseline_args = baseline_args
        self.baselines: dict[int, NeutralBaseline] = {}

    def apply(self, faces: list[TrackedFace]) -> None:
        live = set()
        for face in faces:
            live.add(face.id)
            x = self.classifier.features(face.points)
            base = self.baselines.setdefault(face.id, NeutralBaseline(**self.baseline_args))
            label, scores = self.classifier.classify_features(x, base.update(x))
            face.emotion = {"label": label, "scores": scores}
        for gone in set(self.baselines) - live:  # a track that ended does not come back under the same id
            del self.baselines[gone]

    def reset(self) -> None:
        self.baselines.clear()
