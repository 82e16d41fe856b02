import numpy as np
import pytest
from media import val_samples

from edge.data import load_image, match_detection
from edge.detect import available_detectors, make_detector
from edge.detect.haar import BoxMapping
from edge.geometry import Box


def test_registry_names_the_choices():
    assert "haar" in available_detectors()
    with pytest.raises(ValueError, match="choose one of: haar"):
        make_detector("nope")


def test_no_face_in_noise_or_flat_images():
    det = make_detector("haar")
    rng = np.random.default_rng(0)
    assert det.detect(np.full((240, 320, 3), 128, np.uint8)) == []
    assert len(det.detect(rng.integers(0, 255, (240, 320), dtype=np.uint8), max_faces=5)) <= 1


def test_box_mapping_recovers_a_known_mapping():
    rng = np.random.default_rng(0)
    truth = BoxMapping(dx=0.02, dy=0.15, sw=0.85, sh=0.8)
    det = [Box(*rng.uniform([0, 0], [300, 200]), w, w) for w in rng.uniform(40, 150, 50)]
    target = [truth.apply(b) for b in det]
    fit = BoxMapping.fit(det, target)
    np.testing.assert_allclose([fit.dx, fit.dy, fit.sw, fit.sh], [0.02, 0.15, 0.85, 0.8], atol=1e-9)


@pytest.mark.slow
def test_haar_finds_real_faces_and_the_mapping_fits_them(ytf68):
    det = make_detector("haar")
    found, ious = 0, []
    for s in val_samples(ytf68, 60):
        truth = Box.around(s.points)
        best = match_detection(det.detect(load_image(s.image_path), max_faces=5), truth)
        if best is not None:
            found += 1
            ious.append(truth.iou(best))
    assert found >= 50
    assert np.median(ious) > 0.65  # the mapped box is close to the landmark box


def test_several_faces_in_one_frame(ytf68):
    det = make_detector("haar")
    faces = []
    for s in val_samples(ytf68, 40):
        img = load_image(s.image_path)
        if det.detect(img):
            faces.append(cv2_resize(img, 200))
        if len(faces) == 3:
            break
    frame = np.hstack(faces)
    boxes = det.detect(frame, max_faces=5)
    assert len(boxes) == 3
    assert sorted(int(b.cx // 200) for b in boxes) == [0, 1, 2]
    assert len(det.detect(frame, max_faces=2)) == 2


def cv2_resize(img, h):
    import cv2

    return cv2.resize(img, (h, h))
