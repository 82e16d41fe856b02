"""The learned detector (`--detector cnn`) on the face-free validation photos: false detections pinned at 1.2x the
model card's figure, so a detector that sees faces in walls and furniture 20 % more often fails. On a kiosk a false
face is a short-lived track drawn on the background."""

from __future__ import annotations

import json

import cv2
import pytest

from edge.data import load_image
from edge.paths import data_root, models_dir

NEGATIVES = data_root() / "negatives" / "images"
CARD_FALSE_PER_PHOTO = 0.0192  # models/cards/detector.md: false detections per validation negative, as they are (10 / 520)


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.skipif(not NEGATIVES.is_dir(), reason=f"face-free photos {NEGATIVES} are absent (set EDGETRACK_DATA or add ../shared/data)")
def test_learned_detector_false_detections_on_face_free_photos():
    from edge.detect import make_detector

    if not (models_dir() / "detector_int8.tflite").is_file():
        pytest.skip("models/detector_int8.tflite not built (edgetrack train detector)")
    names = json.loads((models_dir() / "splits" / "negatives.json").read_text())["val"]
    assert len(names) == 520  # the recorded split the card was measured on
    det = make_detector("cnn")
    false = 0
    for name in names:  # as convert.detector.evaluate reads them: grey photos, handed over as BGR
        grey = cv2.cvtColor(load_image(NEGATIVES / name), cv2.COLOR_BGR2GRAY)
        false += len(det.detect(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), 8))
    per_photo = false / len(names)  # measured 10 / 520 = 0.0192 (the first version: 47 / 520 = 0.090)
    assert per_photo < 1.2 * CARD_FALSE_PER_PHOTO, f"{false} false detections on {len(names)} face-free photos ({per_photo:.3f} each)"
