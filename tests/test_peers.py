import numpy as np
import pytest
from media import val_samples

from edge.data import load_image
from edge.evaluate.metrics import nme_interocular
from edge.geometry import Box
from edge.landmarks import make_landmarker

pytestmark = pytest.mark.workstation  # the reference landmarkers: the [peers] extra


@pytest.mark.slow
@pytest.mark.parametrize("name,module", [("dlib", "dlib"), ("mediapipe", "mediapipe")])
def test_peer_landmarkers_find_real_faces(name, module, ytf68):
    pytest.importorskip(module, reason=f"the {name} peer needs the [peers] extra")
    lm = make_landmarker(name)
    errs = []
    for s in val_samples(ytf68, 30):
        res = lm.fit(load_image(s.image_path), Box.around(s.points))
        if np.all(np.isfinite(res.points)):
            errs.append(nme_interocular(res.points, s.points))
    assert len(errs) >= 28
    assert np.median(errs) < 0.10
    # and it beats the floor by far
    floor = make_landmarker("mean")
    mean_errs = [nme_interocular(floor.fit(None, Box.around(s.points)).points, s.points) for s in val_samples(ytf68, 30)]
    assert np.median(errs) < 0.6 * np.median(mean_errs)
