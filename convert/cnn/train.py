"""Training loop: AdamW + cosine schedule on Wing loss, validation NME each epoch, best checkpoint kept.

Everything that decides the result is seeded (torch, numpy generator), and the data
order comes from that generator, so a rerun with the same data reproduces the model
up to floating-point summation order.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from convert.cnn.data import Augment, FaceCache, augmented_batch, plain_batch
from convert.cnn.loss import wing_loss
from convert.cnn.model import LandmarkNet, count_params, set_export_clamps, set_fake_quant


@dataclass
class TrainConfig:
    # measured choice (70-epoch base runs, val NME, same ~19 min each since augmentation dominates a step):
    # 64 px 5.70%, 64 px at width 1.5 5.54%, 80 px 5.37%
    input_size: int = 80
    width: float = 1.0
    epochs: int = 70
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    wing_w: float = 10.0
    wing_eps: float = 2.0
    seed: int = 0
    qat: bool = False  # fine-tune with fake 8-bit activations so the int8 export keeps float accuracy
    threads: int = 1  # on a shared 2-core box one thread trains ~4x faster than two fighting for cores


def to_tensor(x: np.ndarray) -> torch.Tensor:
    """uint8-range grey crops (n, S, S) -> (n, 1, S, S) in [-1, 1], as edge.cnn.crop.normalise does."""
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32) * (2.0 / 255.0) - 1.0).unsqueeze(1)


@torch.no_grad()
def validate(model: LandmarkNet, cache: FaceCache, batch: int = 256) -> float:
    """Mean inter-ocular NME (fraction) on upright ground-truth-box crops."""
    model.eval()
    errs = []
    for start in range(0, len(cache), batch):
        idx = np.arange(start, min(start + batch, len(cache)))
        x, y, iod = plain_batch(cache, idx)
        pred = model(to_tensor(x)).numpy()
        d = np.linalg.norm((pred - y).reshape(len(idx), -1, 2), axis=-1).mean(-1)
        errs.append(d / iod)
    return float(np.concatenate(errs).mean())


def save_checkpoint(path: Path, model: LandmarkNet, cfg: TrainConfig, info: dict) -> None:
    torch.save({"state_dict": model.state_dict(), "config": asdict(cfg), "info": info}, path)


def load_checkpoint(path: Path | str) -> tuple[LandmarkNet, dict]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found; run `edgetrack train cnn` first or pass --checkpoint")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    cfg = ckpt["config"]
    model = LandmarkNet(cfg["input_size"], cfg["width"])
    load_weights(model, ckpt["state_dict"])
    set_fake_quant(model, False)  # export and evaluation run the float graph
    set_export_clamps(model, bool(cfg.get("qat")))  # ...saturating where the int8-aware fine-tune learned to
    model.eval()
    return model, ckpt


def load_weights(model: LandmarkNet, state: dict) -> None:
    """Load a state dict; checkpoints from before fake quantisation existed lack only its range buffers."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    bad = [k for k in missing if not (k.endswith(".lo") or k.endswith(".hi"))] + list(unexpected)
    if bad:
        raise ValueError(f"checkpoint does not fit LandmarkNet({model.input_size}, {model.width}): {bad[:3]}; retrain it")


def train(
    train_cache: FaceCache, val_cache: FaceCache, cfg: TrainConfig, out: Path, aug: Augment | None = None, init: Path | None = None
) -> dict:
    """Train (from `init`'s weights if given), writing the best-by-validation checkpoint to `out` and a JSON log beside it."""
    aug = aug or Augment()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    model = LandmarkNet(cfg.input_size, cfg.width)
    if init is not None:
        start, _ = load_checkpoint(init)
        if (start.input_size, start.width) != (cfg.input_size, cfg.width):
            raise ValueError(f"--init {init} is {start.input_size} px width {start.width}; pass the same --input-size and --width")
        load_weights(model, start.state_dict())
    set_fake_quant(model, cfg.qat)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, len(train_cache) // cfg.batch)
    total = cfg.epochs * steps_per_epoch
    warmup = min(200, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup)))
    )
    scale = cfg.input_size - 1
    print(
        f"training LandmarkNet {cfg.input_size}x{cfg.input_size} width {cfg.width}: {count_params(model):,} params, "
        f"{len(train_cache)} train / {len(val_cache)} val faces, {cfg.epochs} epochs x {steps_per_epoch} steps",
        file=sys.stderr,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    log: list[dict] = []
    best = float("inf")
    t_start = time.perf_counter()
    for epoch in range(cfg.epochs):
        model.train()
        order = rng.permutation(len(train_cache))
        losses = []
        for step in range(steps_per_epoch):
            idx = order[step * cfg.batch : (step + 1) * cfg.batch]
            x, y = augmented_batch(train_cache, idx, rng, aug)
            pred = model(to_tensor(x))
            loss = wing_loss(pred * scale, torch.from_numpy(y) * scale, cfg.wing_w, cfg.wing_eps)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            if step % 20 == 0:
                print(
                    f"\r  epoch {epoch + 1}/{cfg.epochs} step {step + 1}/{steps_per_epoch} loss {np.mean(losses):.3f}",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
        nme = validate(model, val_cache)
        elapsed = time.perf_counter() - t_start
        eta = elapsed / (epoch + 1) * (cfg.epochs - epoch - 1)
        log.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_nme_pct": 100 * nme, "elapsed_s": round(elapsed, 1)})
        improved = nme < best
        if improved:
            best = nme
            save_checkpoint(out, model, cfg, {"epoch": epoch + 1, "val_nme_pct": 100 * nme})
        print(
            f"\r  epoch {epoch + 1}/{cfg.epochs}: loss {np.mean(losses):.3f}, val NME {100 * nme:.2f}%{' *' if improved else ''}"
            f"  [{elapsed / 60:.1f} min, ~{eta / 60:.1f} min left]",
            file=sys.stderr,
        )
        out.with_suffix(".log.json").write_text(json.dumps({"config": asdict(cfg), "augment": asdict(aug), "epochs": log}, indent=1))
    return {"best_val_nme_pct": 100 * best, "params": count_params(model), "minutes": (time.perf_counter() - t_start) / 60}
