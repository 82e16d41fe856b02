"""Drop the clip ops of an int8 TFLite model where 8-bit saturation already does the clipping.

The exported graph clips each activation at the range the int8-aware fine-tune learned
(`convert.cnn.model.set_export_clamps`), so calibration gives every tensor that range.
In the int8 model each clip then sits between two tensors with the same scale and zero
point, and its bound lies at (or beyond) the edge of what int8 can hold: it changes
nothing, yet it costs time, because XNNPACK does not take int8 MINIMUM/MAXIMUM and the
graph falls apart into pieces (measured on the 80 px CNN, 1 thread: 0.42 ms with the
clips, 0.12 ms without). Only clips that are provably no-ops are removed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_CLIPS = {"MINIMUM", "MAXIMUM", "RELU", "RELU_N1_TO_1", "RELU6"}


def _quant(tensor) -> tuple[float, int] | None:
    q = tensor.quantization
    if q is None or q.scale is None or len(q.scale) != 1:
        return None
    return float(q.scale[0]), int(q.zeroPoint[0])


def _int8_range(tensor) -> tuple[float, float] | None:
    q = _quant(tensor)
    if q is None:
        return None
    scale, zero = q
    return (-128 - zero) * scale, (127 - zero) * scale


def _constant(model, subgraph, index: int) -> float | None:
    """The single value of a constant operand (dequantised), else None."""
    tensor = subgraph.tensors[index]
    data = model.buffers[tensor.buffer].data if tensor.buffer < len(model.buffers) else None
    if data is None or len(data) == 0:
        return None
    raw = np.frombuffer(bytes(data), dtype=np.int8 if _quant(tensor) else np.float32)
    values = raw.astype(np.float64)
    q = _quant(tensor)
    if q is not None:
        values = (values - q[1]) * q[0]
    return float(values.min()) if values.size and np.all(values == values.flat[0]) else None


def strip_saturating_clips(src: Path, dst: Path | None = None) -> int:
    """Rewrite `src` (int8 TFLite) without its no-op clips; returns how many were removed."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils as fu

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = fu.read_model(str(src))
    removed = 0
    for sg in model.subgraphs:
        keep, rename = [], {}
        for op in sg.operators:
            code = model.operatorCodes[op.opcodeIndex]
            name = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "")
            inp = rename.get(int(op.inputs[0]), int(op.inputs[0])) if len(op.inputs) else -1
            if name in _CLIPS and len(op.outputs) == 1 and _no_op_clip(model, sg, op, name, inp):
                rename[int(op.outputs[0])] = inp
                removed += 1
                continue
            op.inputs = np.array([rename.get(int(i), int(i)) for i in op.inputs], dtype=np.int32)
            keep.append(op)
        sg.operators = keep
        for i in sg.outputs:  # a graph output keeps its name when a clip before it goes
            if int(i) in rename:
                sg.tensors[rename[int(i)]].name = sg.tensors[int(i)].name
        sg.outputs = np.array([rename.get(int(i), int(i)) for i in sg.outputs], dtype=np.int32)
    fu.write_model(model, str(dst or src))
    return removed


def _no_op_clip(model, sg, op, name: str, inp: int) -> bool:
    t_in, t_out = sg.tensors[inp], sg.tensors[int(op.outputs[0])]
    if _quant(t_in) is None or _quant(t_in) != _quant(t_out) or t_in.type != t_out.type:
        return False
    lo, hi = _int8_range(t_out)  # type: ignore[misc]
    step = _quant(t_out)[0]  # type: ignore[index]
    if name == "MINIMUM" or name == "MAXIMUM":
        if len(op.inputs) != 2:
            return False
        c = _constant(model, sg, int(op.inputs[1]))
        if c is None:
            return False
        return c >= hi - step if name == "MINIMUM" else c <= lo + step
    bounds = {"RELU": (0.0, np.inf), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}[name]
    return lo >= bounds[0] - step and hi <= bounds[1] + step
