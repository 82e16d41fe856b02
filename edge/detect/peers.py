"""`dlib`: dlib's HOG + linear SVM frontal face detector, the reference detector (workstation peer, `eval` only).

It is in the comparison because it is the detector most embedded face projects start from
(and the one dlib's landmark predictor was trained on). It needs `edgetrack[peers]`, never
ships to the device, and frames a face its own way, so its boxes go through their own learned
mapping (`edgetrack train boxmap --detector dlib`) like every other detector's. `upsample`
is dlib's own: each step doubles the image, finding faces down to ~40 px / 2^upsample.
"""

from __future__ import annotations

import numpy as np

from edge.detect.mapping import BoxMapping
from edge.geometry import Box
from edge.imaging import to_grey


class DlibDetector:
    name = "dlib"

    def __init__(self, upsample: int = 1, mapped: bool = True, min_face: int | None = None) -> None:
        try:
            import dlib  # type: ignore
        except ImportError:
            raise RuntimeError("the dlib detector is a workstation peer; pip install 'edgetrack[peers]'") from None
        if mapped and not BoxMapping.fitted(self.name):
            raise RuntimeError("no box mapping fitted for the dlib detector; run `edgetrack train boxmap --detector dlib`")
        self._detector = dlib.get_frontal_face_detector()
        self.upsample = upsample
        self.min_face = min_face  # dlib's own scale range decides; kept so every detector takes the same options
        self.mapping = BoxMapping.load(detector=self.name) if mapped else BoxMapping()

    def detect(self, frame: np.ndarray, max_faces: int = 1) -> list[Box]:
        """Faces best first (dlib's SVM score, squashed to 0..1), through the fitted mapping."""
        rects, scores, _ = self._detector.run(np.ascontiguousarray(to_grey(frame)), self.upsample, 0.0)
        boxes = [Box(r.left(), r.top(), r.width(), r.height(), float(1 / (1 + np.exp(-s)))) for r, s in zip(rects, scores)]
        boxes.sort(key=lambda b: -b.score)
        return [self.mapping.apply(b) for b in boxes[:max_faces]]
