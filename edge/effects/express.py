"""Expression editing: move each tracked face along the learned emotion directions.

`express:happiness=0.8,surprise=0.3` adds 0.8 of the mean happy expression and 0.3 of the
mean surprised one; a negative weight moves the other way (`happiness=-1`: the corners go
down, the mouth narrows). A direction is the mean change of the shape parameters from a
person's neutral to that expression over the training faces (models/emotion.json,
`edgetrack train emotion`), so 1.0 is a typical posed expression of that kind. The shape
change goes through deform's parameter-offset path (edge/effects/deform.py -> reshape's
warp): the face's own shape and the fit's residual are kept, only the expression moves.
"""

from __future__ import annotations

import numpy as np

from edge.effects import parse_args, parse_float
from edge.effects.deform import DeformEffect
from edge.effects.reshape import shared_model


class ExpressEffect(DeformEffect):
    name = "express"

    def __init__(self, weights: dict[str, float], directions: dict[str, np.ndarray]) -> None:
        model = shared_model()
        change = sum((w * directions[k] for k, w in weights.items()), np.zeros(model.n_params))
        sigmas = change / np.sqrt(model.eigenvalues)  # deform's offsets are in standard deviations
        super().__init__(param_offsets={k: float(s) for k, s in enumerate(sigmas) if s != 0.0})
        self.weights = dict(weights)


def create(args: str) -> ExpressEffect:
    from edge.emotion import EmotionClassifier

    directions = EmotionClassifier.load(shape_model=shared_model()).directions
    usage = f"use express:NAME[=WEIGHT],... with NAME one of {', '.join(directions)} (negative weights: the opposite)"
    pos, kw = parse_args(args)
    weights: dict[str, float] = {}
    for name in pos:
        weights[name.lower()] = 1.0
    for key, value in kw.items():
        weights[key] = parse_float(value, f"weight of {key}", "express")
    for name in weights:
        if name not in directions:
            raise ValueError(f"effect 'express': unknown expression {name!r}; {usage}")
    if not weights:
        raise ValueError(f"effect 'express': no expression given; {usage}")
    return ExpressEffect(weights, directions)
