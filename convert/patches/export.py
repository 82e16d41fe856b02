"""Patch experts -> TFLite: all 68 windows stacked as channels, one depthwise convolution, logistic.

Two files per level: int8 (calibrated on real preprocessed training windows; the runtime
default) and float32 (for comparison). Built from a tf.function, so no Keras is involved.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edge.clm.model import ExpertLevel


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow as tf  # type: ignore
    except ImportError:
        raise RuntimeError("TFLite export needs TensorFlow: pip install '.[convert]'") from None
    return tf


def export_level(level: ExpertLevel, window: int, calibration: np.ndarray, int8_path: Path, float_path: Path) -> tuple[int, int]:
    """Write both models; `calibration` is (N, 68, W, W) preprocessed windows. Returns their sizes in bytes."""
    tf = _tf()
    n = level.filters.shape[0]
    kernel = tf.constant(np.transpose(level.filters, (1, 2, 0))[:, :, :, None].astype(np.float32))  # (P, P, 68, 1)
    bias = tf.constant(level.bias.astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, window, window, n], tf.float32, name="windows")])
    def responses(x):
        return tf.sigmoid(tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "VALID") + bias)

    concrete = responses.get_concrete_function()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], responses)
    float_path.write_bytes(conv.convert())

    calib = np.transpose(calibration, (0, 2, 3, 1)).astype(np.float32)

    def representative():
        for x in calib:
            yield [x[None]]

    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], responses)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    int8_path.write_bytes(conv.convert())
    return int8_path.stat().st_size, float_path.stat().st_size
