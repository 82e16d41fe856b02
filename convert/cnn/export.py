"""PyTorch -> ONNX (opset 17) -> onnx2tf -> TFLite float32 / float16 / full-integer int8, with parity checks.

The int8 calibration set is real crops made by the run-time code path (edge/cnn/crop.py:
detector-style upright crops and tracking crops, then `normalise`), so the quantisation
ranges are those the device will see. Parity is checked through the same
`edge.inference.TFLiteModel` the runtime uses.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convert.cnn.data import sample_style
from convert.cnn.strip_clips import strip_saturating_clips
from edge.cnn.crop import crop_from_box, crop_from_points, normalise, warp_crop
from edge.data import FaceSample, load_image
from edge.geometry import Box
from edge.inference import TFLiteModel
from edge.landmarks68 import interocular

INPUT_NAME = "input"
OUTPUT_NAME = "landmarks"
VARIANTS = ("float32", "float16", "int8")
# onnx2tf output file suffix -> our variant name
_ONNX2TF_FILES = {
    "float32": "_float32.tflite",
    "float16": "_float16.tflite",
    "int8": "_full_integer_quant.tflite",  # int8 in, int8 out: what we ship
    "int8_float_io": "_integer_quant.tflite",  # int8 inside, float in/out: kept for the wrapper's tests
}


@dataclass
class ExportReport:
    files: dict[str, str] = field(default_factory=dict)
    sizes_kb: dict[str, float] = field(default_factory=dict)
    onnx_vs_float32_max_err_pct_of_crop: float = float("nan")
    nme_pct: dict[str, float] = field(default_factory=dict)  # on the parity crops
    int8_vs_float_rel: float = float("nan")
    n_parity_faces: int = 0
    nme_tracking_pct: dict[str, float] = field(default_factory=dict)  # same faces, tracking crops
    int8_clips_removed: int = 0  # no-op clip ops dropped from the int8 graph (convert/cnn/strip_clips.py)
    int8_stripped_max_diff: float = 0.0  # their removal vs the converter's int8 graph, on the parity crops

    def problems(self, max_err_pct: float = 0.1, max_int8_rel: float = 0.10) -> list[str]:
        out = []
        if not self.onnx_vs_float32_max_err_pct_of_crop < max_err_pct:
            out.append(
                f"ONNX vs float32 TFLite differ by {self.onnx_vs_float32_max_err_pct_of_crop:.3f}% of the crop (limit {max_err_pct}%)"
            )
        if self.int8_stripped_max_diff > 1e-6:
            out.append(f"int8 without its no-op clips differs from the converter's int8 by {self.int8_stripped_max_diff:.2g}")
        if self.nme_pct and not self.int8_vs_float_rel <= max_int8_rel:
            out.append(f"int8 NME is {100 * self.int8_vs_float_rel:.1f}% above float (limit {100 * max_int8_rel:.0f}%)")
        return out


def runtime_crops(
    samples: list[FaceSample], size: int, rng: np.random.Generator | None = None, track_share: float = 0.5
) -> tuple[np.ndarray, np.ndarray, list, np.ndarray]:
    """(inputs (n, S, S, 1) float32 exactly as at run time, ground truth (n, 68, 2) frame points, crop specs,
    each face's annotation style (its head index)).

    Without `rng` every crop is the upright ground-truth-box crop; with it, `track_share`
    of them are tracking crops from previous points off by 3% of the face size, as the
    tracker would make them.
    """
    xs, gts, specs, styles = [], [], [], []
    for s in samples:
        img = load_image(s.image_path)
        if img is None:
            continue
        if rng is not None and rng.random() < track_share:
            side = float(np.ptp(s.points, axis=0).mean())
            spec = crop_from_points(s.points + rng.normal(0, 0.03 * side, (68, 2)))
        else:
            spec = crop_from_box(Box.around(s.points))
        xs.append(normalise(warp_crop(img, spec, size)))
        gts.append(s.points)
        specs.append(spec)
        styles.append(sample_style(s))
    return np.stack(xs).astype(np.float32), np.stack(gts).astype(np.float64), specs, np.array(styles, np.int64)


def export_onnx(model, path: Path) -> Path:
    import torch

    size = model.input_size
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, 1, size, size)
    model.eval()
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        opset_version=17,
        dynamo=False,
        do_constant_folding=True,
    )
    return path


def run_onnx2tf(onnx_path: Path, calib: np.ndarray, out_dir: Path, int8: bool = True, verbose: bool = False) -> dict[str, Path]:
    """Convert with onnx2tf; returns variant -> .tflite path inside `out_dir`.

    onnx2tf prints a great deal; its output is swallowed unless `verbose` (and shown when it fails).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import onnx2tf

    out_dir.mkdir(parents=True, exist_ok=True)
    calib_path = out_dir / "calibration.npy"
    np.save(calib_path, calib.astype(np.float32))
    kwargs = dict(
        input_onnx_file_path=str(onnx_path),
        output_folder_path=str(out_dir),
        non_verbose=not verbose,
        verbosity="error" if not verbose else "info",
        output_integer_quantized_tflite=int8,
        quant_type="per-channel",
        input_quant_dtype="int8",
        output_quant_dtype="int8",
    )
    if int8:
        # calibration data is already normalised as at run time: mean 0, std 1
        kwargs["custom_input_op_name_np_data_path"] = [
            [INPUT_NAME, str(calib_path), np.zeros((1, 1, 1, 1), np.float32), np.ones((1, 1, 1, 1), np.float32)]
        ]
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf) if not verbose else contextlib.nullcontext():
            onnx2tf.convert(**kwargs)
    except (Exception, SystemExit) as exc:
        sys.stderr.write(buf.getvalue()[-4000:])
        raise RuntimeError(f"onnx2tf could not convert {onnx_path} ({type(exc).__name__}: {exc}); rerun with --verbose") from None
    stem = onnx_path.stem
    found = {v: out_dir / f"{stem}{suffix}" for v, suffix in _ONNX2TF_FILES.items() if (out_dir / f"{stem}{suffix}").is_file()}
    if "float32" not in found:
        sys.stderr.write(buf.getvalue()[-4000:])
        raise RuntimeError(f"onnx2tf wrote no float32 model into {out_dir}; rerun with --verbose")
    return found


def predict_tflite(model: TFLiteModel, x: np.ndarray) -> np.ndarray:
    """(n, ...) outputs, one invoke per face as at run time: (n, 136 * heads) for a dense head, (n, G, G, C) for pip."""
    return np.stack([model.run(x[i : i + 1])[0][0] for i in range(len(x))])


def nme_from_outputs(out: np.ndarray, gts: np.ndarray, specs: list, size: int, styles: np.ndarray | None = None) -> np.ndarray:
    """Per-face NME; with several heads, each face is read from its own annotation style's head."""
    from edge.cnn.crop import decode_points
    from edge.cnn.pip import decode_pip

    idx = np.zeros(len(out), np.int64) if styles is None else styles
    if out.ndim == 4:  # pip cell maps: decoded as the runtime does
        out = np.stack([decode_pip(o, int(h), size) for o, h in zip(out, idx)])
    heads = out.shape[1] // 136
    if heads > 1:
        out = out.reshape(len(out), heads, 136)[np.arange(len(out)), idx]
    pred = np.stack([decode_points(o, sp, size) for o, sp in zip(out, specs)]).astype(np.float64)
    return np.linalg.norm(pred - gts, axis=-1).mean(-1) / interocular(gts)


def export(
    model,
    out_dir: Path,
    stem: str,
    calib: np.ndarray,
    parity: tuple[np.ndarray, np.ndarray, list, np.ndarray] | None = None,
    tracking: tuple[np.ndarray, np.ndarray, list, np.ndarray] | None = None,
    int8: bool = True,
    verbose: bool = False,
    keep_work: Path | None = None,
) -> ExportReport:
    """Write `<stem>_<variant>.tflite` into `out_dir` and check them against ONNX (and the ground truth)."""
    import onnxruntime as ort

    size = model.input_size
    report = ExportReport()
    work = Path(tempfile.mkdtemp(prefix="edgetrack_cnn_export_")) if keep_work is None else keep_work
    try:
        onnx_path = export_onnx(model, work / f"{stem}.onnx")
        found = run_onnx2tf(onnx_path, calib, work / "tf", int8=int8, verbose=verbose)
        converted_int8 = work / "converted_int8.tflite" if "int8" in found else None
        if converted_int8 is not None:  # kept to check the stripped model against
            shutil.copyfile(found["int8"], converted_int8)
        for variant in ("int8", "int8_float_io"):
            if variant in found:
                report.int8_clips_removed = strip_saturating_clips(found[variant])
        out_dir.mkdir(parents=True, exist_ok=True)
        for variant, src in found.items():
            if variant not in VARIANTS:
                continue
            dst = out_dir / f"{stem}_{variant}.tflite"
            shutil.copyfile(src, dst)
            report.files[variant] = str(dst)
            report.sizes_kb[variant] = round(dst.stat().st_size / 1024, 1)
        # ONNX vs float32 TFLite on real crops (NCHW == NHWC in memory for one channel)
        check = parity[0] if parity is not None else calib[:64]
        sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        ref = np.concatenate([sess.run(None, {INPUT_NAME: check[i : i + 1].transpose(0, 3, 1, 2)})[0] for i in range(len(check))])
        f32 = predict_tflite(TFLiteModel(report.files["float32"]), check)
        report.onnx_vs_float32_max_err_pct_of_crop = float(100 * np.abs(ref - f32).max())
        if parity is not None:
            x, gts, specs, styles = parity
            report.n_parity_faces = len(x)
            for variant, path in report.files.items():
                out = f32 if variant == "float32" else predict_tflite(TFLiteModel(path), x)
                report.nme_pct[variant] = float(100 * nme_from_outputs(out, gts, specs, size, styles).mean())
            if tracking is not None:
                for variant, path in report.files.items():
                    out = predict_tflite(TFLiteModel(path), tracking[0])
                    nme = nme_from_outputs(out, tracking[1], tracking[2], size, tracking[3])
                    report.nme_tracking_pct[variant] = float(100 * nme.mean())
            if "int8" in report.nme_pct:
                report.int8_vs_float_rel = report.nme_pct["int8"] / report.nme_pct["float32"] - 1.0
        if converted_int8 is not None:
            shipped, converted = TFLiteModel(report.files["int8"]), TFLiteModel(converted_int8)
            report.int8_stripped_max_diff = float(np.abs(predict_tflite(shipped, check) - predict_tflite(converted, check)).max())
    finally:
        if keep_work is None:
            shutil.rmtree(work, ignore_errors=True)
    return report


def write_report(report: ExportReport, path: Path, extra: dict | None = None) -> None:
    data = {**report.__dict__, "files": {k: Path(v).name for k, v in report.files.items()}, **(extra or {})}
    path.write_text(json.dumps(data, indent=1) + "\n")
