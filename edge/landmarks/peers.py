"""Reference landmarkers from other projects, for side-by-side evaluation only.

- `dlib`: the 68-point ERT shape predictor shipped in face-recognition-models. It was
  trained on dlib's own HOG detector boxes, so our landmark box is mapped to the box it
  expects (a mapping learned by `edgetrack train peers`).
- `mediapipe`: Face Mesh (468 points) on a crop around the box, reduced to the 68 iBUG
  points through the mesh vertex that best corresponds to each (also learned by
  `edgetrack train peers`, recorded in models/peers.json).

Both are optional (`pip install .[peers]`); a missing package is a one-line error.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import cv2
import numpy as np

from edge.detect.haar import BoxMapping
from edge.geometry import Box
from edge.imaging import to_grey
from edge.landmarks.base import BoxTracking, LandmarkResult
from edge.landmarks68 import N_POINTS
from edge.paths import model_path

PEERS_FILE = "peers.json"
MEDIAPIPE_CONTEXT = 2.0  # crop side in units of the landmark box: Face Mesh wants the whole head


def load_peer_config(path: Path | None = None) -> dict:
    path = path or model_path(PEERS_FILE)
    return json.loads(Path(path).read_text()) if Path(path).is_file() else {}


def dlib_predictor_path() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the dlib peer needs face-recognition-models; pip install 'edgetrack[peers]'")
    return Path(spec.submodule_search_locations[0]) / "models" / "shape_predictor_68_face_landmarks.dat"


def _rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(frame[..., :3], cv2.COLOR_BGR2RGB)


class DlibLandmarker(BoxTracking):
    name = "dlib"

    def __init__(self, box_mapping: BoxMapping | None = None, **_: object) -> None:
        try:
            import dlib  # type: ignore
        except ImportError:
            raise RuntimeError("the dlib peer needs dlib; pip install 'edgetrack[peers]'") from None
        self._dlib = dlib
        self.predictor = dlib.shape_predictor(str(dlib_predictor_path()))
        cfg = load_peer_config().get("dlib_box")
        self.box_mapping = box_mapping or (BoxMapping(**cfg) if cfg else BoxMapping())

    def fit(self, frame: np.ndarray, box: Box) -> LandmarkResult:
        b = self.box_mapping.apply(box)
        rect = self._dlib.rectangle(int(round(b.x)), int(round(b.y)), int(round(b.x + b.w)), int(round(b.y + b.h)))
        shape = self.predictor(to_grey(frame), rect)
        pts = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
        return LandmarkResult(pts, score=1.0)


def crop_around(frame: np.ndarray, box: Box, context: float, min_side: int = 192) -> tuple[np.ndarray, float, float, float]:
    """Square crop of side context*max(w,h) around the box, upscaled to at least `min_side`.

    Returns (crop, x0, y0, scale) with frame = crop / scale + (x0, y0)."""
    side = context * max(box.w, box.h)
    x0, y0 = box.cx - side / 2, box.cy - side / 2
    scale = max(1.0, min_side / side)
    out = int(round(side * scale))
    m = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], dtype=np.float64)
    crop = cv2.warpAffine(frame, m, (out, out), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop, x0, y0, scale


class MediapipeLandmarker(BoxTracking):
    name = "mediapipe"

    def __init__(self, correspondence: list[int] | None = None, **_: object) -> None:
        # mediapipe pulls in TensorFlow when it is installed; keep its start-up chatter off the console
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("GLOG_minloglevel", "2")
        try:
            from mediapipe.python.solutions import face_mesh  # type: ignore
        except ImportError:
            raise RuntimeError(
                "the mediapipe peer needs mediapipe==0.10.21 (later versions ship no model); pip install 'edgetrack[peers]'"
            ) from None
        self.mesh = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=3, refine_landmarks=False, min_detection_confidence=0.3)
        corr = correspondence or load_peer_config().get("mediapipe68")
        if corr is None:
            raise FileNotFoundError(f"{model_path(PEERS_FILE)} has no mediapipe68 correspondence; run `edgetrack train peers`")
        self.correspondence = np.asarray(corr, dtype=np.int64)

    def mesh_points(self, frame: np.ndarray, box: Box) -> np.ndarray | None:
        """All 468 mesh vertices (frame pixels) of the face nearest the box centre, or None."""
        crop, x0, y0, scale = crop_around(frame, box, MEDIAPIPE_CONTEXT)
        result = self.mesh.process(_rgb(crop))
        if not result.multi_face_landmarks:
            return None
        side = crop.shape[0]
        faces = [np.array([[p.x * side, p.y * side] for p in f.landmark], dtype=np.float64) for f in result.multi_face_landmarks]
        centre = np.array([side / 2, side / 2])
        best = min(faces, key=lambda f: np.linalg.norm(f.mean(0) - centre))
        return best / scale + [x0, y0]

    def fit(self, frame: np.ndarray, box: Box) -> LandmarkResult:
        mesh = self.mesh_points(frame, box)
        if mesh is None:
            return LandmarkResult(np.full((N_POINTS, 2), np.nan, np.float32), score=0.0)
        return LandmarkResult(mesh[self.correspondence].astype(np.float32), score=1.0)
