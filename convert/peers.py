"""`edgetrack train peers`: learn what the reference landmarkers need to be judged fairly.

- dlib's predictor expects dlib's HOG detector box, not our landmark box: fit the mapping
  landmark box -> dlib box on training faces where dlib's detector finds the face, by the
  one rule of edge.data.matching (the dlib box, mapped to a landmark box, IoU >= 0.3).
- Face Mesh has 468 vertices, not the iBUG 68: for each iBUG point take the mesh vertex
  with the smallest median distance to it (normalised by inter-ocular distance) over
  training faces. Nothing is regressed, so the peer is not improved by our data, only read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from convert.training_data import training_samples
from edge.data import fit_matched, load_image
from edge.detect.haar import BoxMapping
from edge.evaluate.metrics import interocular
from edge.geometry import Box
from edge.landmarks68 import N_POINTS
from edge.paths import models_dir


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, nargs="*", help="data folders (default: both shared folders)")
    p.add_argument("--out", type=Path, default=None, help="models folder (default: models/)")
    p.add_argument("--faces", type=int, default=800, help="training faces to use (spread over the split)")


def _dlib_box_mapping(samples) -> tuple[BoxMapping, int]:
    import dlib  # type: ignore

    detector = dlib.get_frontal_face_detector()
    found, truths = [], []
    for s in samples:
        img = load_image(s.image_path)
        if img is None:
            continue
        rects = detector(img[..., ::-1].copy(), 1)
        found.append([Box(r.left(), r.top(), r.width(), r.height()) for r in rects])
        truths.append(Box.around(s.points))
    # which dlib box is the face: matched through a dlib -> landmark box mapping fitted under the same rule
    _, matched = fit_matched(found, truths, BoxMapping.fit)
    ours = [t for t, m in zip(truths, matched) if m is not None]
    theirs = [m for m in matched if m is not None]
    if not ours:
        raise ValueError(f"dlib's detector found none of the {len(truths)} training faces; check --data")
    return BoxMapping.fit(ours, theirs), len(ours)


def _mediapipe_correspondence(samples) -> tuple[list[int], int, np.ndarray]:
    from edge.landmarks.peers import MediapipeLandmarker

    lm = MediapipeLandmarker(correspondence=list(range(N_POINTS)))
    dists = []  # per face: (468, N_POINTS) normalised distances
    for s in samples:
        img = load_image(s.image_path)
        if img is None:
            continue
        mesh = lm.mesh_points(img, Box.around(s.points))
        if mesh is None:
            continue
        d = np.linalg.norm(mesh[:, None, :] - s.points[None, :, :], axis=-1) / interocular(s.points)
        dists.append(d)
    med = np.median(np.stack(dists), axis=0)  # (468, N_POINTS)
    corr = med.argmin(0)
    return [int(v) for v in corr], len(dists), med[corr, np.arange(N_POINTS)]


def main(args: argparse.Namespace) -> int:
    train = training_samples(args.data, "train")
    step = max(1, len(train) // args.faces)
    subset = train[::step][: args.faces]
    out = (args.out or models_dir()) / "peers.json"
    mapping, n_dlib = _dlib_box_mapping(subset)
    print(f"dlib box mapping from {n_dlib} faces: {mapping}", file=sys.stderr)
    corr, n_mp, err = _mediapipe_correspondence(subset)
    print(f"mediapipe correspondence from {n_mp} faces; median residual per point {100 * np.median(err):.2f}% IOD", file=sys.stderr)
    record = {"dlib_box": mapping.__dict__, "mediapipe68": corr, "faces": {"dlib": n_dlib, "mediapipe": n_mp}}
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"saved {out}", file=sys.stderr)
    return 0
