"""Face detector: PyTorch -> ONNX (opset 17) -> onnx2tf -> full-integer int8 TFLite, with parity checks.

The converter is the landmark CNN's (`convert.cnn.export.run_onnx2tf`, no-op clips stripped by
`convert.cnn.strip_clips`); calibration is training scenes normalised as the runtime does.
Checks: ONNX vs float32 TFLite on every output, and detection parity on validation scenes:
the int8 file run through the runtime's own `edge.detect.cnn.CnnDetector` (one scale, the
scene as it is, no box mapping) against the PyTorch model, recall at IoU 0.5 and false
detections per scene at the detector's threshold.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from convert.detector.data import SCENE, SceneCache, build_face_bank, faces_inside, load_negatives, make_scenes, negative_split
from convert.detector.model import OUTPUTS, count_params
from convert.detector.train import decode_outputs, load_checkpoint, match, to_tensor
from convert.training_data import training_samples
from edge.detect.cnn import DEFAULT_MODEL, STRIDES, CnnDetector, non_max_suppression
from edge.paths import models_dir

INPUT_NAME = "input"
OUTPUT_NAMES = [f"{name}{s}" for s in STRIDES for name, _ in OUTPUTS]
WORK = Path("build/detector/export")


def export_onnx(model, path: Path, size: tuple[int, int] = SCENE) -> Path:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    model.eval()
    torch.onnx.export(model, (torch.zeros(1, 1, size[1], size[0]),), str(path), input_names=[INPUT_NAME], output_names=OUTPUT_NAMES,
                      opset_version=17, dynamo=False, do_constant_folding=True)  # fmt: skip
    return path


def _by_shape(arrays: list[np.ndarray]) -> dict[tuple[int, int, int], np.ndarray]:
    """NHWC outputs keyed by (map height, width, channels)."""
    return {(a.shape[1], a.shape[2], a.shape[3]): a for a in arrays}


def scores(dets_per_scene: list[list], cache: SceneCache, threshold: float) -> dict[str, float]:
    h, w = cache.images.shape[1:]
    n_faces = tp = fp = 0
    for dets, faces in zip(dets_per_scene, cache.faces):
        boxes = [d.box for d in dets if d.box.score >= threshold]
        inside = [f.box for f in faces_inside(faces, w, h) if f.size >= 10]
        found, true = match(boxes, inside)
        n_faces += len(inside)
        tp += sum(true)
        fp += len(true) - sum(true)
    return {"recall": round(tp / max(n_faces, 1), 4), "false_per_scene": round(fp / len(cache), 4), "faces": n_faces}


def convert(model, out: Path, calib: np.ndarray, work: Path = WORK, verbose: bool = False) -> tuple[Path, Path, int]:
    """(int8 .tflite written to `out`, the float32 .tflite in `work`, no-op clips removed)."""
    from convert.cnn.export import run_onnx2tf
    from convert.cnn.strip_clips import strip_saturating_clips

    onnx_path = export_onnx(model, work / "detector.onnx")
    found = run_onnx2tf(onnx_path, calib, work / "tf", int8=True, verbose=verbose)
    if "int8" not in found:
        raise RuntimeError(f"onnx2tf wrote no int8 model into {work / 'tf'}; rerun with --verbose")
    removed = strip_saturating_clips(found["int8"])
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(found["int8"], out)
    return out, found["float32"], removed


def parity(model, int8_path: Path, float_path: Path, onnx_path: Path, val: SceneCache, threshold: float = 0.5) -> dict:
    """ONNX vs float32 TFLite (max abs difference per output), and PyTorch vs int8 detections on `val`."""
    import onnxruntime as ort

    from edge.inference import TFLiteModel

    x = to_tensor(val.images[:8]).numpy()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    f32 = TFLiteModel(float_path)
    worst = 0.0
    for i in range(len(x)):
        ref = _by_shape([o.transpose(0, 2, 3, 1) for o in sess.run(None, {INPUT_NAME: x[i : i + 1]})])
        got = _by_shape(f32.run(x[i : i + 1].transpose(0, 2, 3, 1)))
        worst = max(worst, max(float(np.abs(ref[k] - got[k]).max()) for k in ref))
    import torch

    with torch.no_grad():
        torch_dets = []
        for start in range(0, len(val), 64):
            outs = [o.numpy() for o in model(to_tensor(val.images[start : start + 64]))]
            torch_dets += decode_outputs(outs, 0.05)
    det = CnnDetector(int8_path, mapped=False, score_threshold=0.05)
    int8_dets = [non_max_suppression(det._scan(img, 1.0), det.nms_iou) for img in val.images]
    return {
        "onnx_vs_float32_tflite_max_abs": worst,
        "pytorch": scores(torch_dets, val, threshold),
        "int8": scores(int8_dets, val, threshold),
        "threshold": threshold,
        "scenes": len(val),
    }


def export_detector(checkpoint: Path, models: Path | None, data: list[Path] | None, negatives: Path | None, seed: int = 0,
                    limit: int = 0, verbose: bool = False) -> int:  # fmt: skip
    model, ckpt = load_checkpoint(checkpoint)
    out = (models or models_dir()) / DEFAULT_MODEL
    split = negative_split(negatives)
    faces, val_faces = training_samples(data, "train"), training_samples(data, "val")
    negs_train, negs_val = split["train"], split["val"]
    if limit:
        faces, val_faces, negs_train, negs_val = faces[:limit], val_faces[: max(32, limit // 4)], negs_train[:limit], negs_val[:16]
    rng = np.random.default_rng([seed, 7])
    calib_faces = [faces[i] for i in sorted(rng.choice(len(faces), min(600, len(faces)), replace=False))]
    calib_bank = build_face_bank(calib_faces, progress=False)
    calib = make_scenes(min(400, 4 * len(calib_faces)), rng, calib_bank, load_negatives(negs_train, negatives))
    calib_x = to_tensor(calib.images).numpy().transpose(0, 2, 3, 1)
    val = make_scenes(300, np.random.default_rng([seed, 10**6 + 1]), build_face_bank(val_faces, progress=False),
                      load_negatives(negs_val, negatives), texture=0.0)  # fmt: skip
    print(f"converting {checkpoint} ({count_params(model):,} params) to {out}, calibrated on {len(calib)} training scenes", file=sys.stderr)
    int8_path, float_path, removed = convert(model, out, calib_x, verbose=verbose)
    report = parity(model, int8_path, float_path, WORK / "detector.onnx", val)
    report.update({"file": out.name, "bytes": out.stat().st_size, "params": count_params(model), "clips_removed": removed,
                   "checkpoint": str(checkpoint), "train": ckpt["config"], "train_info": ckpt["info"]})  # fmt: skip
    (out.parent / "detector_export.json").write_text(json.dumps(report, indent=1) + "\n")
    p, q = report["pytorch"], report["int8"]
    print(f"  {out.name}: {report['bytes'] / 1024:.1f} KB, {removed} no-op clips removed; ONNX vs float32 TFLite max |diff| "
          f"{report['onnx_vs_float32_tflite_max_abs']:.2g}")  # fmt: skip
    print(f"  val scenes ({report['scenes']}, {p['faces']} faces) at {report['threshold']}: PyTorch recall "
          f"{100 * p['recall']:.1f}%, {p['false_per_scene']:.3f} false/scene; int8 recall {100 * q['recall']:.1f}%, "
          f"{q['false_per_scene']:.3f} false/scene")
    problems = []
    if not report["onnx_vs_float32_tflite_max_abs"] < 1e-2:
        problems.append(f"ONNX and float32 TFLite differ by {report['onnx_vs_float32_tflite_max_abs']:.3g}")
    if q["recall"] < p["recall"] - 0.05:
        problems.append(f"int8 recall {100 * q['recall']:.1f}% is more than 5 points under PyTorch's {100 * p['recall']:.1f}%")
    for pr in problems:
        print(f"edgetrack train detector: parity check failed: {pr}", file=sys.stderr)
    return 1 if problems else 0
