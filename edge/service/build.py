"""The one function that makes a tracking pipeline from run options: `build_pipeline(cfg)`.

Everything that tracks faces gets its pipeline here, so what is measured is what runs:
`edgetrack run`, `bench`, the soak, `stability`, the tracking evaluation and the Python API
(`edge.FaceTracker`). Each of them then adds only what is its own around the pipeline: a source,
a display and outputs (edge/service/runtime.py) or nothing at all (the API is handed its images).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from edge.config import RunConfig
from edge.displays.overlay import overlay_mode
from edge.effects import make_effects
from edge.service.pipeline import Pipeline
from edge.signals import compute_signals
from edge.smooth import Smoothing, SmoothParams
from edge.sources.orient import Orientation
from edge.tracking import Tracker, pick_detector, pick_landmarker

log = logging.getLogger(__name__)


def set_threads(n: int) -> None:
    """OpenCV, numba and BLAS threads: one by default, so a Pi keeps cores for the camera and screen.

    BLAS (numpy's OpenBLAS) reads its thread count when numpy loads, long before this runs, so it is set through
    threadpoolctl: the detector's second look multiplies small matrices, and with a busy second core its two BLAS
    threads took 19.0 ms per 640x480 frame against 10.0 ms with one (median, 20 face-free scenes x 5)."""
    import cv2
    from threadpoolctl import threadpool_limits

    cv2.setNumThreads(n)
    threadpool_limits(limits=n)
    os.environ["OMP_NUM_THREADS"] = str(n)
    if "numba" not in sys.modules:
        os.environ["NUMBA_NUM_THREADS"] = str(n)
    else:
        import numba

        numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))


def describe_delegate(landmarker: Any, asked: str) -> str:
    """What actually runs the model: the TFLite wrapper's delegate when there is one (it may have fallen back)."""
    model = getattr(landmarker, "model", None)
    for obj in (model, landmarker):
        name = getattr(obj, "delegate", None)
        if isinstance(name, str) and name:
            return name
    return "numpy/OpenCV" if model is None else (asked or "cpu")


def emotion_stage():
    """The per-track emotion step, or None (said once) when models/emotion.json is absent or does not fit the shape model."""
    from edge.emotion import EmotionStage

    try:
        return EmotionStage()
    except (FileNotFoundError, ValueError) as exc:
        log.info(f"emotion: off ({exc})")
        return None


def build_pipeline(cfg: RunConfig) -> Pipeline:
    """orient -> detect / track -> smooth -> signals -> emotion -> effects -> overlay, from the options in `cfg`.

    Reads only the pipeline's own options (landmarker, model, style, delegate, detector, max_faces,
    threads, smoothing, effects, overlay, mirror, rotate, ...); source, display and output options are
    the caller's. Says which landmarker and detector `auto` picked, and why, through logging."""
    set_threads(cfg.threads)
    landmarker, why = pick_landmarker(cfg.landmarker, cfg.threads, cfg.delegate, cfg.model, cfg.landmark_style)
    log.info(why)
    detector, why = pick_detector(cfg.detector, cfg.detector_min_face, cfg.threads)
    log.info(why)
    tracker = Tracker(landmarker, detector, cfg.max_faces, cfg.redetect_score, cfg.detect_every, cfg.verify_every)
    params = SmoothParams(cfg.smooth_min_cutoff, cfg.smooth_beta, cfg.smooth_pose_min_cutoff, cfg.smooth_pose_beta)
    delegate = describe_delegate(landmarker, cfg.delegate)
    return Pipeline(
        tracker,
        smoothing=Smoothing(params, flow=cfg.smooth_flow) if cfg.smooth else None,
        signals=compute_signals,
        effects=make_effects(cfg.effect),
        orient=Orientation(cfg.mirror, cfg.rotate),  # applied to each frame as captured
        overlay=overlay_mode(cfg.overlay),
        info=f"{landmarker.name} / {delegate}",
        emotion=emotion_stage(),
        delegate=delegate,
    )
