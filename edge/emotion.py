"""Emotion from the 68 points: a calibrated logistic regression on expression measures that carry across faces.

Features of one face (`face_features`, the blocks a model names):
* `ratios`: ratios and angles of the points (edge/emotion_features.py: eyelid opening over eye
  width, lip-corner lift over mouth width, brow height over eye width, ...), which depend little
  on a face's build, its landmarker or its annotators (issue 22);
* `shape`: the similarity-normalised PCA shape parameters in standard deviations and `signals`:
  the raw measures of edge/signals.py (the model shipped before issue 22; still loadable, so it can
  be scored against the new one).

Two heads, trained by `edgetrack train emotion` (convert/emotion.py), shipped in models/emotion.json:
* `absolute`: the face's own features (a face never seen before);
* `relative`: the features minus the same person's neutral (a per-person baseline), which takes
  away what is that person's face (and their landmarker's style) rather than their expression.
Each head carries a temperature fitted on faces of people it was not trained on, so its scores are
probabilities; a face whose top probability is under the model's `uncertain_below` is labelled
"uncertain" instead of with a confident wrong guess (its scores still say what it leaned to).

At run time the baseline is the track's running median of its features (`NeutralBaseline`):
people look neutral most of the time, so the median of the last seconds is their resting face;
until a track has enough samples the absolute head answers. `EmotionStage` keeps one baseline
per track and puts `{"label", "scores", "head"}` on each `TrackedFace`.

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

from edge.emotion_features import RATIO_FEATURES, ratio_features
from edge.emotion_metrics import format_scores, scores  # noqa: F401  (re-exported: callers score through edge.emotion)
from edge.faces import TrackedFace
from edge.geometry import Box
from edge.paths import model_path, require_file
from edge.shape_model import ShapeModel
from edge.signals import raw_measures

MODEL_FILE = "emotion.json"
LABELS = ("anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness", "surprise")
UNCERTAIN = "uncertain"  # the label of a face whose top probability is under the model's uncertain_below
# the raw measures of edge.signals used as features (roll and yaw are pose, not expression)
SIGNAL_FEATURES = ("ear_left", "ear_right", "mouth_gap", "mouth_width", "mouth_lift", "brow")
FEATURE_BLOCKS = ("ratios", "shape", "signals")
# one Procrustes alignment to the mean, then the projection: the modes are orthogonal to the similarity
# directions, so more alternations change the parameters by ~1e-15 (and cost 2.5x)
SHAPE_FIT_ITERATIONS = 1
STILL_PAD = 0.25  # a photo is padded by this share of its size each side before detection


def shape_fingerprint(model: ShapeModel) -> str:
    """Which shape model the parameters (and so the classifier's weights) belong to."""
    return hashlib.sha1(np.ascontiguousarray(model.components, dtype=np.float32).tobytes()).hexdigest()[:12]


def check_blocks(blocks: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The feature blocks, checked: a misspelt name is one line, not a model with missing features."""
    blocks = tuple(blocks)
    bad = [b for b in blocks if b not in FEATURE_BLOCKS]
    if bad or not blocks:
        raise ValueError(f"emotion features {', '.join(bad) or '(none)'}: unknown; use some of {', '.join(FEATURE_BLOCKS)}")
    return blocks


def feature_names(blocks: tuple[str, ...], model: ShapeModel) -> list[str]:
    """One name per feature, in the order `face_features` returns them."""
    names: list[str] = []
    for b in blocks:
        names += (
            list(RATIO_FEATURES)
            if b == "ratios"
            else [f"shape{i}" for i in range(model.n_params)]
            if b == "shape"
            else list(SIGNAL_FEATURES)
        )
    return names


def face_features(points: np.ndarray, model: ShapeModel, blocks: tuple[str, ...] = ("ratios",)) -> np.ndarray:
    """Feature vector of one face (68, 2): the named blocks, concatenated."""
    parts = []
    for b in blocks:
        if b == "ratios":
            parts.append(ratio_features(points))
        elif b == "shape":
            _, params = model.fit(np.asarray(points, dtype=np.float64), n_iter=SHAPE_FIT_ITERATIONS)
            parts.append(params / np.sqrt(model.eigenvalues))
        else:
            m = raw_measures(points)
            parts.append(np.array([m[k] for k in SIGNAL_FEATURES]))
    return np.concatenate(parts)


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


@dataclass(frozen=True)
class Head:
    """A multinomial logistic regression on standardised features; its logits are divided by `temperature`
    (fitted on people it was not trained on) before the softmax."""

    mean: np.ndarray  # (D,)
    scale: np.ndarray  # (D,)
    weights: np.ndarray  # (K, D)
    bias: np.ndarray  # (K,)
    temperature: float = 1.0

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Uncalibrated logits of one face (D,) -> (K,) or of a batch (N, D) -> (N, K)."""
        return ((x - self.mean) / self.scale) @ self.weights.T + self.bias

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = self.logits(x) / self.temperature
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    def to_json(self) -> dict:
        r = lambda a: np.round(np.asarray(a, dtype=np.float64), 6).tolist()  # noqa: E731
        return {"mean": r(self.mean), "scale": r(self.scale), "weights": r(self.weights), "bias": r(self.bias),
                "temperature": round(float(self.temperature), 4)}  # fmt: skip

    @classmethod
    def from_json(cls, d: dict) -> Head:
        arrays = (np.asarray(d[k], dtype=np.float64) for k in ("mean", "scale", "weights", "bias"))
        return cls(*arrays, temperature=float(d.get("temperature", 1.0)))


@dataclass(frozen=True)
class Answer:
    """One face's emotion: the label shown (a class or "uncertain"), the top class, the probabilities, which head."""

    label: str
    top: str
    scores: dict[str, float]
    head: str


class EmotionClassifier:
    def __init__(
        self,
        labels: list[str],
        heads: dict[str, Head],
        directions: dict[str, np.ndarray],
        blocks: tuple[str, ...] = ("ratios",),
        shape_model: ShapeModel | None = None,
        info: dict | None = None,
        uncertain_below: float = 0.0,
    ) -> None:
        self.labels = list(labels)
        self.heads = heads
        self.directions = directions  # label -> shape-parameter change from neutral (model units, not sigmas)
        self.blocks = check_blocks(blocks)
        self.model = shape_model or ShapeModel.load()
        self.info = info or {}
        self.uncertain_below = float(uncertain_below)

    def features(self, points: np.ndarray) -> np.ndarray:
        return face_features(points, self.model, self.blocks)

    def classify(self, points: np.ndarray, baseline: np.ndarray | None = None) -> tuple[str, dict[str, float]]:
        """(label, {label: probability}) for one face (68, 2). `baseline`: the same person's neutral,
        as points (68, 2) or as features (`features(neutral_points)`, what NeutralBaseline holds);
        with it the relative head answers, without it the absolute one. The label is "uncertain"
        when the top probability is under `uncertain_below`."""
        a = self.answer(self.features(points), baseline)
        return a.label, a.scores

    def classify_features(self, x: np.ndarray, baseline: np.ndarray | None = None) -> tuple[str, dict[str, float]]:
        a = self.answer(x, baseline)
        return a.label, a.scores

    def answer(self, x: np.ndarray, baseline: np.ndarray | None = None) -> Answer:
        """The full answer for one face's features (which head answered included)."""
        if baseline is None:
            head = "absolute"
            p = self.heads[head].probabilities(x)
        else:
            base = np.asarray(baseline, dtype=np.float64)
            if base.shape == (self.model.n_points, 2):
                base = self.features(base)
            head = "relative"
            p = self.heads[head].probabilities(x - base)
        k = int(np.argmax(p))
        top = self.labels[k]
        label = top if p[k] >= self.uncertain_below else UNCERTAIN
        return Answer(label, top, {lab: float(v) for lab, v in zip(self.labels, p)}, head)

    def direction(self, label: str) -> np.ndarray:
        """Shape-parameter change (model units) from a person's neutral to `label`'s mean expression."""
        if label not in self.directions:
            raise ValueError(f"no learned direction for {label!r}; the model has {', '.join(self.directions)}")
        return self.directions[label]

    def save(self, path: Path) -> None:
        out = {
            "labels": self.labels,
            "features": {"blocks": list(self.blocks), "names": feature_names(self.blocks, self.model)},
            "uncertain_below": self.uncertain_below,
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
            feats = d["features"]
            # the model shipped before issue 22: shape parameters [+ signal measures], no block list
            blocks = tuple(feats["blocks"]) if "blocks" in feats else ("shape", "signals") if feats["signals"] else ("shape",)
            blocks = check_blocks(blocks)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not an emotion model ({exc}); rebuild it with `edgetrack train emotion`") from None
        model = shape_model or ShapeModel.load()
        if fingerprint != shape_fingerprint(model):
            raise ValueError(f"{path} was trained on another shape model; retrain it with `edgetrack train emotion`")
        directions = {k: np.asarray(v, dtype=np.float64) for k, v in d.get("directions", {}).items()}
        skip = ("labels", "features", "shape_model", "heads", "directions", "uncertain_below")
        info = {k: v for k, v in d.items() if k not in skip}
        return cls(labels, heads, directions, blocks, model, info, float(d.get("uncertain_below", 0.0)))


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
            a = self.classifier.answer(x, base.update(x))
            face.emotion = {"label": a.label, "scores": a.scores, "head": a.head}
        for gone in set(self.baselines) - live:  # a track that ended does not come back under the same id
            del self.baselines[gone]

    def reset(self) -> None:
        self.baselines.clear()
