"""The device install (`pip install .`) has no workstation stack: edge/ must import without it.

Each check runs in a fresh interpreter whose import system refuses the workstation
packages (and convert/), so a stray top-level import fails here and not on a Pi.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BLOCKED = ("torch", "tensorflow", "tf_keras", "scipy", "onnx", "onnxruntime", "onnx2tf", "onnxscript", "mediapipe", "dlib", "convert")

BLOCKER = textwrap.dedent(
    f"""
    import importlib.abc, sys
    BLOCKED = {BLOCKED!r}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: not in the device install)", name=name)
            return None

    sys.meta_path.insert(0, Block())
    """
)


def run_blocked(code: str, blocked: tuple[str, ...] = BLOCKED) -> subprocess.CompletedProcess:
    blocker = BLOCKER.replace(repr(BLOCKED), repr(blocked))
    return subprocess.run(
        [sys.executable, "-c", blocker + textwrap.dedent(code)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "EDGETRACK_NO_SYSTEM_CONFIG": "1", "HOME": str(REPO)},
    )


def test_every_edge_module_imports_without_the_workstation_stack():
    proc = run_blocked(
        """
        import importlib, json, pkgutil
        import edge
        failed = {}
        names = [m.name for m in pkgutil.walk_packages(edge.__path__, "edge.") if not m.name.endswith("__main__")]
        for name in names:
            try:
                importlib.import_module(name)
            except Exception as exc:  # report every offender, not just the first
                failed[name] = f"{type(exc).__name__}: {exc}"
        print(json.dumps({"modules": len(names), "failed": failed}))
        """
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["modules"] > 50
    assert out["failed"] == {}


def test_command_line_builds_without_workstation_packages_or_numba():
    """`edgetrack --help` and the parser must not pay for numba (~100 MB resident) or any trainer."""
    proc = run_blocked(
        """
        import sys
        from edge.cli import build_parser
        parser, modules = build_parser()
        print(sorted(modules))
        print("numba" in sys.modules, "cv2" in sys.modules)
        """
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == str(sorted(["bench", "eval", "eval-emotion", "export", "run", "stability", "synth", "train"]))
    assert lines[1].split()[0] == "False", "building the command line imported numba"


def test_workstation_commands_name_the_extra_in_one_line():
    """The device wheel ships convert/ (its trainers say what they lack), but none of its packages."""
    proc = run_blocked(
        """
        import sys
        from edge.cli import main
        codes = [main(["train", "cnn", "--epochs", "1"]), main(["train", "clm"]), main(["export", "cnn"])]
        print(codes)
        """,
        blocked=tuple(b for b in BLOCKED if b != "convert"),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[2, 2, 2]"
    errors = [line for line in proc.stderr.splitlines() if line.startswith("edgetrack ")]
    assert len(errors) == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    for line in errors:
        assert "pip install 'edgetrack[convert]'" in line, line


def test_train_target_help_still_lists_its_options():
    proc = subprocess.run(
        [sys.executable, "-m", "edge.cli", "train", "shape", "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "edgetrack train shape" in proc.stdout and "--variance" in proc.stdout
