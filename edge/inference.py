"""The one TFLite interpreter wrapper every model in the project runs through.

It takes `ai_edge_litert` or `tflite_runtime` (whichever is installed; TensorFlow's own
interpreter only as a workstation last resort), loads a delegate by name with a CPU
(XNNPACK) fallback and a clear message when it is missing, and hides input quantisation
and output dequantisation behind float arrays.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import numpy as np

# name -> (shared library, default options)
DELEGATES: dict[str, tuple[str, dict[str, str]]] = {
    "edgetpu": ("libedgetpu.so.1", {}),
    "gpu": ("libtensorflowlite_gpu_delegate.so", {}),
    "armnn": ("libarmnnDelegate.so", {"backends": "CpuAcc,CpuRef", "logging-severity": "warning"}),
}


def _runtime() -> tuple[Any, Any, str]:
    """(Interpreter class, load_delegate function, module name) of the first runtime found."""
    try:
        from ai_edge_litert import interpreter as mod  # type: ignore

        return mod.Interpreter, mod.load_delegate, "ai_edge_litert"
    except ImportError:
        pass
    try:
        from tflite_runtime import interpreter as mod  # type: ignore

        return mod.Interpreter, mod.load_delegate, "tflite_runtime"
    except ImportError:
        pass
    try:
        import tensorflow as tf  # type: ignore

        return tf.lite.Interpreter, tf.lite.experimental.load_delegate, "tensorflow"
    except ImportError:
        pass
    raise RuntimeError("no TFLite runtime installed; pip install ai-edge-litert (or tflite-runtime on Python <= 3.11)")


def load_delegate_by_name(spec: str, options: dict[str, str] | None = None) -> tuple[Any | None, str]:
    """(delegate or None for the CPU, human description). A delegate the user named that cannot be
    loaded is a one-line ValueError: running on the CPU instead would hide a misconfigured board."""
    if spec in ("", "cpu", "xnnpack", None):
        return None, "cpu (XNNPACK)"
    _, load_delegate, _ = _runtime()
    library, defaults = DELEGATES.get(spec, (spec, {}))
    opts = {**defaults, **(options or {})}
    try:
        # find the library first: a runtime Delegate built on a missing library prints a
        # spurious traceback from its destructor on top of our one-line message
        ctypes.CDLL(library)
        return load_delegate(library, opts), f"{spec} ({library})"
    except (ValueError, OSError, RuntimeError) as exc:
        first = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(
            f"delegate '{spec}' cannot be loaded ({library}: {first}); install its library or drop --delegate to run on the CPU"
        ) from None


class TFLiteModel:
    """A loaded .tflite file: float arrays in, float arrays out, whatever its quantisation."""

    def __init__(self, path: Path | str, num_threads: int = 1, delegate: str = "cpu", delegate_options: dict[str, str] | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"model file {self.path} not found; run `make models` or pass the right --model path")
        interpreter_cls, _, self.runtime = _runtime()
        delegate_obj, self.delegate = load_delegate_by_name(delegate, delegate_options)
        kwargs: dict[str, Any] = {"model_path": str(self.path), "num_threads": int(num_threads)}
        if delegate_obj is not None:
            kwargs["experimental_delegates"] = [delegate_obj]
        try:
            self.interpreter = interpreter_cls(**kwargs)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            first = " ".join(str(exc).split())
            if delegate_obj is not None:
                raise ValueError(f"delegate '{delegate}' cannot run {self.path} ({first}); drop --delegate to run on the CPU") from None
            raise ValueError(f"model file {self.path} is not a valid TFLite model ({first}); re-export it or fix --model") from None
        self.inputs = self.interpreter.get_input_details()
        self.outputs = self.interpreter.get_output_details()
        self.num_threads = num_threads

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.inputs[0]["shape"])

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(self.inputs[0]["dtype"])

    def describe(self) -> str:
        return f"{self.path.name} [{self.input_dtype.name}] on {self.delegate}, {self.num_threads} thread(s), {self.runtime}"

    @staticmethod
    def _quantise(x: np.ndarray, detail: dict) -> np.ndarray:
        dtype = np.dtype(detail["dtype"])
        if dtype.kind in "iu":
            scale, zero = detail["quantization"]
            if scale == 0:
                return x.astype(dtype)
            info = np.iinfo(dtype)
            return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)
        return x.astype(dtype, copy=False)

    @staticmethod
    def _dequantise(y: np.ndarray, detail: dict) -> np.ndarray:
        if np.dtype(detail["dtype"]).kind in "iu":
            scale, zero = detail["quantization"]
            if scale != 0:
                return (y.astype(np.float32) - zero) * scale
        return y.astype(np.float32, copy=False)

    def run(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """Invoke once; inputs in the model's own layout (NHWC for converted CNNs), as float."""
        if len(inputs) != len(self.inputs):
            raise ValueError(f"{self.path.name} takes {len(self.inputs)} input(s), got {len(inputs)}")
        for x, detail in zip(inputs, self.inputs):
            x = np.asarray(x, dtype=np.float32)
            if tuple(x.shape) != tuple(detail["shape"]):
                self.interpreter.resize_tensor_input(detail["index"], list(x.shape))
                self.interpreter.allocate_tensors()
                self.inputs = self.interpreter.get_input_details()
                self.outputs = self.interpreter.get_output_details()
                detail = next(d for d in self.inputs if d["index"] == detail["index"])
            self.interpreter.set_tensor(detail["index"], self._quantise(x, detail))
        self.interpreter.invoke()
        return [self._dequantise(self.interpreter.get_tensor(d["index"]), d) for d in self.outputs]
