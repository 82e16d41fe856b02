"""The iBUG 68-point markup: regions, eye corners and the mirror permutation.

Everything that indexes landmarks by meaning goes through here, so a change of
markup touches one file.
"""

from __future__ import annotations

import numpy as np

N_POINTS = 68

REGIONS: dict[str, np.ndarray] = {
    "jaw": np.arange(0, 17),
    "brows": np.arange(17, 27),
    "nose": np.arange(27, 36),
    "eyes": np.arange(36, 48),
    "mouth": np.arange(48, 68),
}

# Outer eye corners used for inter-ocular normalisation (0-based).
OUTER_EYE_LEFT = 36
OUTER_EYE_RIGHT = 45
RIGHT_EYE = np.arange(36, 42)  # subject's right eye, image left
LEFT_EYE = np.arange(42, 48)
MOUTH_OUTER = np.arange(48, 60)
MOUTH_INNER = np.arange(60, 68)


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
