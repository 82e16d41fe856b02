"""Workstation-only code (convert/, PyTorch, TensorFlow, ONNX, SciPy) is imported here, when a command runs.

The device install (`pip install .`) has none of those packages; a command that needs them
says in one line which extra brings them instead of failing at import with a traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# top-level packages that only the `convert` extra installs
WORKSTATION_PACKAGES = ("torch", "tensorflow", "tf_keras", "onnx", "onnxruntime", "onnx2tf", "onnxscript", "scipy", "psutil")


def import_workstation(module_name: str, what: str) -> ModuleType:
    """Import `module_name`; a missing workstation package becomes a one-line RuntimeError naming the extra."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in WORKSTATION_PACKAGES:
            raise RuntimeError(
                f"{what} needs the workstation stack ({missing} is not installed); "
                "install it on a workstation: pip install 'edgetrack[convert]'"
            ) from None
        raise
