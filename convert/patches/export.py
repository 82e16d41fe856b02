"""Patch experts -> TFLite: all 68 windows stacked as channels, one depthwise convolution, logistic.

Experts with C feature channels (a blend: raw, Sobel and LBP windows of each landmark) take each landmark's
C feature images interleaved along the columns (W x W*C, column x*C + c; `edge.clm.response.stack_channels`)
and a (P, P*C) kernel with column stride C: still one depthwise convolution, whose int32 accumulator sums
the channels before the one requantisation (summing C separately quantised outputs lost the flat maps'
peaks). A MOSSE correlation filter is a (1, P, P) kernel like any other, so every expert type goes
through this one chain.

Two files per level: int8 (calibrated on real preprocessed training windows; the runtime
default) and float32 (for comparison). Built from a tf.function, so no Keras is involved.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from convert.patches.data import WindowSet
from edge.clm.model import ExpertLevel
from edge.clm.preprocessing import normalise_windows
from edge.clm.response import FloatResponses, TFLiteResponses, stack_channels


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow as tf  # type: ignore
    except ImportError:
        raise RuntimeError("TFLite export needs TensorFlow: pip install '.[convert]'") from None
    return tf


def export_level(level: ExpertLevel, window: int, calibration: np.ndarray, int8_path: Path, float_path: Path) -> tuple[int, int]:
    """Write both models; `calibration` is (N, 68, W, W) (or (N, 68, C, W, W)) preprocessed windows. Returns their sizes in bytes."""
    tf = _tf()
    filters = level.filters if level.filters.ndim == 4 else level.filters[:, None]
    n, c, p, _ = filters.shape
    # kernel[u, v*C + c, k, 0] = filters[k, c, u, v]: (P, P*C, 68, 1)
    kernel = tf.constant(np.transpose(filters, (2, 3, 1, 0)).reshape(p, p * c, n)[:, :, :, None].astype(np.float32))
    bias = tf.constant(level.bias.astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, window, window * c, n], tf.float32, name="windows")])
    def responses(x):
        return tf.sigmoid(tf.nn.depthwise_conv2d(x, kernel, [1, 1, c, 1], "VALID") + bias)

    concrete = responses.get_concrete_function()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], responses)
    float_path.write_bytes(conv.convert())

    def representative():
        for x in calibration:
            yield [stack_channels(x)]

    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], responses)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    int8_path.write_bytes(conv.convert())
    return int8_path.stat().st_size, float_path.stat().st_size


def int8_agreement(level: ExpertLevel, preprocessing: str, int8_path: Path, data: WindowSet) -> float:
    """% of responses whose int8 TFLite argmax lies within 1 px (Chebyshev) of the float (numba) reference's,
    over every landmark of every window set in `data` (held-out windows)."""
    ref, lite = FloatResponses(level.filters, level.bias), TFLiteResponses(int8_path)
    r = data.windows.shape[-1] - level.filters.shape[-1] + 1
    hits = []
    for wins in data.windows:
        x = normalise_windows(wins, preprocessing)
        a, b = ref(x).reshape(len(wins), -1).argmax(1), lite(x).reshape(len(wins), -1).argmax(1)
        hits.append(np.maximum(np.abs(a // r - b // r), np.abs(a % r - b % r)) <= 1)
    return 100.0 * float(np.mean(hits))
