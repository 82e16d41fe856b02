"""Training loop of the face detector: CenterNet focal loss on the centre maps, L1 on box and key points.

Each epoch composes its own scenes up front (a fresh `SceneCache` from the epoch's seed),
every `mine_every` epochs the detector is run over the training negatives and the places
it fires on become backgrounds of later scenes (hard negatives), and after each epoch a
fixed validation set (validation faces on validation negatives) is scored the way the
runtime decodes (`edge.detect.cnn.decode_level`): recall of faces at IoU 0.5 and false
detections per scene. The checkpoint with the best recall at <= 0.05 false detections per
scene is kept. Everything is seeded; one torch thread.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from convert.cnn.model import set_export_clamps, set_fake_quant
from convert.detector.data import SCENE, FaceBank, Hard, SceneCache, SceneFace, faces_inside, make_scenes, targets
from convert.detector.model import DetectorNet, count_params
from edge.data.matching import RECALL_IOU, box_iou, greedy_pairs
from edge.detect.cnn import STRIDES, Detection, decode_level, non_max_suppression
from edge.geometry import Box

FP_BUDGET = 0.05  # false detections per scene at which recall is read for model selection


@dataclass
class TrainConfig:
    width: float = 1.0
    epochs: int = 18  # 14,646 faces (aflw21 included): fewer, larger epochs
    scenes_per_epoch: int = 10240
    batch: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    kps_weight: float = 2.0
    seed: int = 0
    threads: int = 1
    qat: bool = False
    mine_every: int = 3  # epochs between hard-negative mining runs (0 = never)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images.astype(np.float32) * (2.0 / 255.0) - 1.0).unsqueeze(1)


def focal_loss(logits: torch.Tensor, heat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """CenterNet's penalty-reduced focal loss: (summed loss, number of centres)."""
    pos = heat.eq(1.0).float()
    log_p, log_q = F.logsigmoid(logits), F.logsigmoid(-logits)
    p = torch.sigmoid(logits)
    pos_loss = -(log_p * (1 - p) ** 2 * pos).sum()
    neg_loss = -(log_q * p**2 * (1 - heat) ** 4 * (1 - pos)).sum()
    return pos_loss + neg_loss, pos.sum()


def detection_loss(
    outputs: list[torch.Tensor], faces: list[list[SceneFace]], h: int, w: int, kps_weight: float
) -> tuple[torch.Tensor, dict]:
    total_focal, total_pos, total_box, total_kps = 0.0, 0.0, 0.0, 0.0
    for li, t in enumerate(targets(faces, w, h)):
        heat_out, box_out, kps_out = outputs[3 * li : 3 * li + 3]
        heat = torch.from_numpy(t["heat"]).unsqueeze(1)
        fl, npos = focal_loss(heat_out, heat)
        total_focal, total_pos = total_focal + fl, total_pos + npos
        mask = torch.from_numpy(t["mask"])
        if mask.any():
            pb = box_out.permute(0, 2, 3, 1)[mask]
            pk = kps_out.permute(0, 2, 3, 1)[mask]
            total_box = total_box + F.smooth_l1_loss(pb, torch.from_numpy(t["box"][t["mask"]]), beta=0.05, reduction="sum")
            total_kps = total_kps + F.smooth_l1_loss(pk, torch.from_numpy(t["kps"][t["mask"]]), beta=0.02, reduction="sum")
    n = max(float(total_pos), 1.0)
    loss = (total_focal + total_box + kps_weight * total_kps) / n
    parts = {"focal": total_focal, "box": total_box, "kps": total_kps}
    return loss, {k: float(v.detach() if torch.is_tensor(v) else v) / n for k, v in parts.items()}


def decode_outputs(outputs: list[np.ndarray], threshold: float, nms_iou: float = 0.35) -> list[list[Detection]]:
    """Per image of a batch (outputs NCHW, as torch gives them): detections in input pixels, unmapped."""
    out = []
    for i in range(outputs[0].shape[0]):
        found = []
        for li, stride in enumerate(STRIDES):
            heat, box, kps = (o[i].transpose(1, 2, 0) for o in outputs[3 * li : 3 * li + 3])
            for score, (cx, cy, bw, bh), k in decode_level(heat[..., 0], box, kps, stride, threshold):
                angle = float(np.arctan2(k[1, 1] - k[0, 1], k[1, 0] - k[0, 0]))
                found.append(Detection(Box(cx - bw / 2, cy - bh / 2, bw, bh, score, angle), k))
        out.append(non_max_suppression(found, nms_iou))
    return out


def match(dets: list[Box], faces: list[Box]) -> tuple[list[bool], list[bool]]:
    """(per face: found, per detection: true) by greedy IoU >= RECALL_IOU, best scores first."""
    order = sorted(range(len(dets)), key=lambda i: -dets[i].score)
    found, true = [False] * len(faces), [False] * len(dets)
    for di, fi in zip(order, greedy_pairs([dets[i] for i in order], faces, box_iou, RECALL_IOU)):
        if fi >= 0:
            found[fi], true[di] = True, True
    return found, true


def recall_at_budget(scores_true: list[tuple[float, bool]], n_faces: int, n_scenes: int, budget: float = FP_BUDGET) -> tuple[float, float]:
    """(recall, score threshold) at the lowest threshold whose false detections stay within budget per scene."""
    ranked = sorted(scores_true, key=lambda st: -st[0])
    tp = fp = 0
    best, thr = 0.0, 1.0
    for score, ok in ranked:
        if ok:
            tp += 1
        else:
            fp += 1
            if fp > budget * n_scenes:
                break
        best, thr = tp / max(n_faces, 1), score
    return best, thr


@torch.no_grad()
def validate(model: DetectorNet, cache: SceneCache, batch: int = 64) -> dict:
    """Recall at IoU 0.5 and false detections per scene at 0.5; recall within the false-detection budget."""
    model.eval()
    h, w = cache.images.shape[1:]
    scored: list[tuple[float, bool]] = []
    n_faces = tp = fp = 0
    for start in range(0, len(cache), batch):
        outs = [o.numpy() for o in model(to_tensor(cache.images[start : start + batch]))]
        for dets, faces in zip(decode_outputs(outs, 0.05), cache.faces[start : start + batch]):
            inside = [f.box for f in faces_inside(faces, w, h) if f.size >= 10]
            found, true = match([d.box for d in dets], inside)
            n_faces += len(inside)
            scored += [(d.box.score, t) for d, t in zip(dets, true)]
            tp += sum(t for d, t in zip(dets, true) if d.box.score >= 0.5)
            fp += sum(not t for d, t in zip(dets, true) if d.box.score >= 0.5)
    rec, thr = recall_at_budget(scored, n_faces, len(cache))
    return {"recall_at_0.5": tp / max(n_faces, 1), "false_per_scene_at_0.5": fp / len(cache), "recall_at_budget": rec,
            "threshold_at_budget": thr, "faces": n_faces}  # fmt: skip


@torch.no_grad()
def mine_hard_negatives(model: DetectorNet, negs: list[np.ndarray], threshold: float = 0.3, limit: int = 4000) -> Hard:
    """Places on the face-free photos where the detector fires: (photo, x, y, face size) in photo pixels."""
    model.eval()
    hard = []
    for i, img in enumerate(negs):
        for scale in (0.5, 1.0):
            h, w = img.shape
            rh, rw = max(16, int(round(h * scale / 16)) * 16), max(16, int(round(w * scale / 16)) * 16)
            x = cv2.resize(img, (rw, rh), interpolation=cv2.INTER_AREA)
            outs = [o.numpy() for o in model(to_tensor(x[None]))]
            for d in decode_outputs(outs, threshold)[0]:
                b = d.box
                hard.append((d.box.score, i, b.cx * w / rw, b.cy * h / rh, max(b.w, b.h) * w / rw))
    hard.sort(key=lambda t: -t[0])
    return [(i, x, y, s) for _, i, x, y, s in hard[:limit]]


def save_checkpoint(path: Path, model: DetectorNet, cfg: TrainConfig, info: dict) -> None:
    torch.save({"state_dict": model.state_dict(), "config": asdict(cfg), "info": info}, path)


def load_checkpoint(path: Path | str) -> tuple[DetectorNet, dict]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found; run `edgetrack train detector` first or pass --checkpoint")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    model = DetectorNet(ckpt["config"]["width"])
    missing, unexpected = model.load_state_dict(ckpt["state_dict"], strict=False)
    if [k for k in missing if not k.endswith((".lo", ".hi"))] or unexpected:
        raise ValueError(f"checkpoint {path} does not fit DetectorNet(width={model.width}); retrain it")
    set_fake_quant(model, False)
    set_export_clamps(model, bool(ckpt["config"].get("qat")))
    model.eval()
    return model, ckpt


def train(
    bank: FaceBank, negs: list[np.ndarray], val: SceneCache, cfg: TrainConfig, out: Path, init: Path | None = None
) -> dict:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    model = DetectorNet(cfg.width)
    if init is not None:
        start, _ = load_checkpoint(init)
        if start.width != cfg.width:
            raise ValueError(f"--init {init} has width {start.width}; pass the same --width")
        model.load_state_dict(start.state_dict(), strict=False)
    set_fake_quant(model, cfg.qat)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.scenes_per_epoch // cfg.batch
    total = cfg.epochs * steps
    warmup = min(300, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup)))
    )
    w, h = SCENE
    print(f"training DetectorNet width {cfg.width}: {count_params(model):,} params, {len(bank)} faces, {len(negs)} negatives, "
          f"{cfg.epochs} epochs x {steps} steps of {cfg.batch} scenes {w}x{h}", file=sys.stderr)  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    log: list[dict] = []
    best = -1.0
    hard: Hard = []
    if init is not None and cfg.mine_every:  # a fine-tune starts from its network's own false alarms, not from none
        hard = mine_hard_negatives(model, negs)
    t_start = time.perf_counter()
    for epoch in range(cfg.epochs):
        rng = np.random.default_rng([cfg.seed, epoch])
        t0 = time.perf_counter()
        cache = make_scenes(cfg.scenes_per_epoch, rng, bank, negs, hard=hard)
        gen_s = time.perf_counter() - t0
        model.train()
        order = rng.permutation(len(cache))
        parts: dict[str, list[float]] = {"loss": [], "focal": [], "box": [], "kps": []}
        for step in range(steps):
            idx = order[step * cfg.batch : (step + 1) * cfg.batch]
            outputs = model(to_tensor(cache.images[idx]))
            loss, info = detection_loss(outputs, [cache.faces[i] for i in idx], h, w, cfg.kps_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            parts["loss"].append(float(loss.detach()))
            for k, v in info.items():
                parts[k].append(v)
            if step % 25 == 0:
                print(f"\r  epoch {epoch + 1}/{cfg.epochs} step {step + 1}/{steps} loss {np.mean(parts['loss']):.3f}", end="",
                      file=sys.stderr, flush=True)  # fmt: skip
        mined = ""
        if cfg.mine_every and (epoch + 1) % cfg.mine_every == 0 and epoch + 1 < cfg.epochs:
            hard = mine_hard_negatives(model, negs)
            mined = f", {len(hard)} hard negatives"
        v = validate(model, val)
        elapsed = time.perf_counter() - t_start
        row = {"epoch": epoch + 1, **{k: round(float(np.mean(x)), 4) for k, x in parts.items()}, **v,
               "scene_gen_s": round(gen_s, 1), "elapsed_s": round(elapsed, 1), "hard_negatives": len(hard)}  # fmt: skip
        log.append(row)
        improved = v["recall_at_budget"] > best
        if improved:
            best = v["recall_at_budget"]
            save_checkpoint(out, model, cfg, {"epoch": epoch + 1, **v})
        eta = elapsed / (epoch + 1) * (cfg.epochs - epoch - 1)
        print(f"\r  epoch {epoch + 1}/{cfg.epochs}: loss {row['loss']:.3f} (box {row['box']:.3f}, kps {row['kps']:.3f}); val recall "
              f"{100 * v['recall_at_0.5']:.1f}% at 0.5 with {v['false_per_scene_at_0.5']:.3f} false/scene, "
              f"{100 * v['recall_at_budget']:.1f}% within {FP_BUDGET}/scene{' *' if improved else ''}{mined}"
              f"  [{elapsed / 60:.1f} min, ~{eta / 60:.1f} left]", file=sys.stderr)  # fmt: skip
        out.with_suffix(".log.json").write_text(json.dumps({"config": asdict(cfg), "epochs": log}, indent=1))
    return {"best_recall_at_budget": best, "params": count_params(model), "minutes": (time.perf_counter() - t_start) / 60}
