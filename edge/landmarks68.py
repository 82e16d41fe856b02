"""The iBUG 68-point markup: named point groups, the inter-ocular distance and the mirror permutation.

Everything that indexes landmarks by meaning goes through here, so a change of
markup touches one file. Indices are 0-based. "Right" and "left" are the subject's:
the right eye (36-41) is on the image left of an unmirrored frontal face, and every
left/right pair below lists the subject's right side first. The group arrays are
read-only: index with them, never write into them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

N_POINTS = 68


def _group(*idx: int) -> np.ndarray:
    a = np.array(idx, dtype=np.int64)
    a.setflags(write=False)
    return a


def _span(start: int, stop: int) -> np.ndarray:
    return _group(*range(start, stop))


# ---- jaw: the face outline from the right ear's side round the chin to the left ear's side
JAW = _span(0, 17)
CHIN = 8  # the jaw's lowest point
CHEEKS = _group(2, 14)  # jaw points at cheek height (right, left)

# ---- brows, each from its outer end to its inner end
RIGHT_BROW = _span(17, 22)
LEFT_BROW = _span(22, 27)  # inner end 22, outer end 26
BROWS = _span(17, 27)
BROW_ANCHORS = _group(17, 19, 21, 24, 26)  # ends and middles across both brows (the warp raises the forehead above them)

# ---- nose
NOSE = _span(27, 36)
NOSE_BRIDGE = _span(27, 31)  # from its root between the eyes down to the tip
NOSE_ROOT = 27
NOSE_TIP = 30
NOSTRILS = _span(31, 36)  # the base of the nose, right wing (31) to left wing (35)
NOSE_BASE = 33  # the middle of the base, under the tip

# ---- eyes: outer corner, two upper-lid points, inner corner, two lower-lid points
RIGHT_EYE = _span(36, 42)  # 36 outer corner, 39 inner corner (subject's right eye, image left)
LEFT_EYE = _span(42, 48)  # 42 inner corner, 45 outer corner
EYES = _span(36, 48)
# Outer eye corners, the inter-ocular normalisation; named by image side (36 is image left).
OUTER_EYE_LEFT = 36
OUTER_EYE_RIGHT = 45
OUTER_EYE_CORNERS = _group(OUTER_EYE_LEFT, OUTER_EYE_RIGHT)
EYE_CORNERS = _group(36, 39, 42, 45)  # image left to right
LID_PAIRS = np.array([[37, 41], [38, 40], [43, 47], [44, 46]])  # each upper-lid point and the lower-lid point below it
LID_PAIRS.setflags(write=False)
UPPER_LIDS = LID_PAIRS[:, 0]

# ---- mouth: outer contour 48-59 (corner, upper lip, corner, lower lip), inner contour 60-67
MOUTH = _span(48, 68)
MOUTH_OUTER = _span(48, 60)
MOUTH_INNER = _span(60, 68)
MOUTH_CORNERS = _group(48, 54)  # outer (right, left)
INNER_MOUTH_CORNERS = _group(60, 64)
UPPER_LIP_TOP = 51  # the middle of the upper lip's outer edge
LOWER_LIP_BOTTOM = 57  # the middle of the lower lip's outer edge
LOWER_LIP_MIDDLE = _group(56, 57, 58)  # the outer lower lip away from the corners
UPPER_INNER_LIP = _group(61, 62, 63)  # the inner upper lip between the inner corners
LOWER_INNER_LIP = _group(65, 66, 67)
INNER_LIP_PAIRS = np.array([[61, 67], [62, 66], [63, 65]])  # each upper inner-lip point and the lower one facing it
INNER_LIP_PAIRS.setflags(write=False)
UPPER_INNER_CONTOUR = _span(60, 65)  # inner corner to inner corner along the upper lip


class MouthSide(NamedTuple):
    """One side of the mouth: its corners and the lip points next to them."""

    corner: int  # outer corner
    inner_corner: int
    upper: int  # outer upper lip, next to the corner
    lower: int  # outer lower lip, next to the corner
    lower_2: int  # outer lower lip, second from the corner
    inner_upper: int  # inner upper lip, next to the inner corner
    inner_lower: int  # inner lower lip, next to the inner corner


MOUTH_RIGHT = MouthSide(48, 60, 49, 59, 58, 61, 67)
MOUTH_LEFT = MouthSide(54, 64, 53, 55, 56, 63, 65)

REGIONS: dict[str, np.ndarray] = {
    "jaw": JAW,
    "brows": BROWS,
    "nose": NOSE,
    "eyes": EYES,
    "mouth": MOUTH,
}


def interocular(points: np.ndarray) -> np.floating | np.ndarray:
    """Outer-eye-corner distance (points 36 and 45), the NME normaliser: a scalar of the points'
    dtype for one (68, 2) shape, an (N,) array for (N, 68, 2) shapes."""
    p = np.asarray(points)
    return np.linalg.norm(p[..., OUTER_EYE_LEFT, :] - p[..., OUTER_EYE_RIGHT, :], axis=-1)


def eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of each eye's six points: (right eye, left eye), each (..., 2); the right eye is image left."""
    p = np.asarray(points)
    return p[..., RIGHT_EYE, :].mean(-2), p[..., LEFT_EYE, :].mean(-2)


# The five key points a face detector finds: both eye centres, the nose tip, both outer mouth corners (image left first).
N_KEY_POINTS = 5


def key_points(points: np.ndarray) -> np.ndarray:
    """(..., 5, 2): image-left eye centre, image-right eye centre, nose tip, image-left and image-right mouth corner."""
    p = np.asarray(points, dtype=np.float64)
    right, left = eye_centres(p)
    corner_r, corner_l = MOUTH_CORNERS
    return np.stack([right, left, p[..., NOSE_TIP, :], p[..., corner_r, :], p[..., corner_l, :]], axis=-2)


def roll(points: np.ndarray) -> float:
    """The head's roll in radians: the angle of the line from the image-left eye centre to the
    image-right one (0 = eyes level; positive turns the face clockwise on screen, y down)."""
    right, left = eye_centres(np.asarray(points, dtype=np.float64))
    d = left - right
    return float(np.arctan2(d[1], d[0]))


def _flip_permutation() -> np.ndarray:
    pairs = (
        [(i, 16 - i) for i in range(8)]  # jaw
        + [(17 + i, 26 - i) for i in range(5)]  # brows
        + [(31, 35), (32, 34)]  # nostrils
        + [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
        + [(48, 54), (49, 53), (50, 52), (59, 55), (58, 56)]  # outer lip
        + [(60, 64), (61, 63), (67, 65)]  # inner lip
    )
    perm = np.arange(N_POINTS)
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return perm


# After mirroring x, point i of the flipped face is point FLIP_PERMUTATION[i] of the original.
FLIP_PERMUTATION = _flip_permutation()
