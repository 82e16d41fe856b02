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

from convert.cnn.data import Augment, FaceCache, _degrade, augmented_batch_with_flips, plain_batch
from convert.cnn.loss import masked_wing_loss, wing_loss
from convert.cnn.model import LandmarkNet, count_params, set_export_clamps, set_fake_quant
from convert.cnn.pip import pip_loss
from edge.cnn.styles import STYLES


@dataclass
class TrainConfig:
    # measured choice (70-epoch base runs, val NME of one look, float; models/cards/cnn.md):
    # 64 px 5.70%, 64 px at width 1.5 5.54%, 80 px 5.37% (one head); 96 px at width 1.25 with two style heads 4.97%
    input_size: int = 96
    width: float = 1.25
    epochs: int = 70
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    wing_w: float = 10.0
    wing_eps: float = 2.0
    seed: int = 0
    qat: bool = False  # fine-tune with fake 8-bit activations so the int8 export keeps float accuracy
    threads: int = 1  # on a shared 2-core box one thread trains ~4x faster than two fighting for cores
    heads: int = 2  # output heads, one per annotation style (edge/cnn/styles.py): 300w and ytf68
    registration_weight: float = 0.0  # weight of the video registration loss (convert/cnn/registration.py); 0 = off
    pair_batch: int = 16  # video frame pairs per step when registration is on
    head: str = "dense"  # dense (flatten + linear) | pip (cell scores + offsets, convert/cnn/pip.py)
    mirror: bool = False  # mirror heads: mirrored crops read from their own heads (the annotations are not mirror-symmetric)
    aux_points: int = 0  # 21: a training-only head for aflw21's own markup (faces without 68 points teach the backbone)
    aux_weight: float = 1.0  # its loss's weight beside the 68-point loss
    stop_after: int = 0  # end after this many epochs of the `epochs`-long schedule (0: run it all)
    manual_repeat: int = 1  # each epoch shows the manually marked 68-point faces this many times (the others once)
    device: str = "cpu"  # torch device the steps run on (resolve_device turns --device auto into one)


def to_tensor(x: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8-range grey crops (n, S, S) -> (n, 1, S, S) in [-1, 1] on `device`, as edge.cnn.crop.normalise does.

    Channels-last memory: measured 229 vs 381 ms per 96 px training step on one core.
    """
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32) * (2.0 / 255.0) - 1.0).unsqueeze(1)
    return t.to(device).contiguous(memory_format=torch.channels_last)


def resolve_device(name: str) -> str:
    """`auto` -> cuda when PyTorch sees a GPU, else cpu (said on stderr); a named device that is not there is an error.

    On a GPU the crops are still augmented by numpy/OpenCV on the CPU (about 10 ms a batch),
    which is then most of a step; the network's own step is milliseconds.
    """
    cuda = torch.cuda.is_available()
    if name == "auto":
        picked = "cuda" if cuda else "cpu"
        why = f"PyTorch sees {torch.cuda.get_device_name(0)}" if cuda else "PyTorch sees no CUDA GPU"
        print(f"training device: auto -> {picked} ({why})", file=sys.stderr)
        return picked
    if name.startswith("cuda") and not cuda:
        raise ValueError(f"--device {name}: PyTorch sees no CUDA GPU here; use --device cpu (or auto)")
    if name != "cpu" and not name.startswith("cuda"):
        raise ValueError(f"--device {name!r}: choose auto, cpu or cuda")
    return name


def head_outputs(pred: torch.Tensor, styles: np.ndarray | None, heads: int, mirrored: np.ndarray | None = None) -> torch.Tensor:
    """(n, 136) of each face's own annotation style's head, from (n, 136 * heads), or with mirror heads
    (n, 2 * 136 * heads) the mirror head of that style for the `mirrored` crops."""
    total = pred.shape[1] // 136
    if total == 1:
        return pred
    idx = np.zeros(len(pred), np.int64) if styles is None else np.asarray(styles, np.int64).copy()
    if mirrored is not None and total == 2 * heads:
        idx = idx + heads * np.asarray(mirrored, np.int64)
    rows = torch.arange(len(pred), device=pred.device)
    return pred.reshape(len(pred), total, -1)[rows, torch.from_numpy(idx).to(pred.device)]


@torch.no_grad()
def validate_by_style(model: LandmarkNet, cache: FaceCache, batch: int = 256) -> tuple[float, dict[int, float]]:
    """Mean inter-ocular NME (fraction) on upright ground-truth-box crops, each face in its own style's head; and per style."""
    model.eval()
    device = next(model.parameters()).device
    errs = []
    for start in range(0, len(cache), batch):
        idx = np.arange(start, min(start + batch, len(cache)))
        x, y, iod = plain_batch(cache, idx)
        styles = None if cache.styles is None else cache.styles[idx]
        pred = head_outputs(model.points(model(to_tensor(x, device))), styles, model.heads).cpu().numpy()
        d = np.linalg.norm((pred - y).reshape(len(idx), -1, 2), axis=-1).mean(-1)
        errs.append(d / iod)
    e = np.concatenate(errs)
    styles = cache.styles if cache.styles is not None else np.zeros(len(e), np.int64)
    return float(e.mean()), {int(k): float(e[styles == k].mean()) for k in np.unique(styles)}


def _sample_field(field: torch.Tensor, pts: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear samples of (n, C, h, h) half-resolution maps at crop-pixel points (n, k, 2) -> (n, k, C)."""
    h = field.shape[-1]
    g = (pts + 0.5) * (h / size) - 0.5  # crop px -> map px (pixel centres)
    grid = (g / (h - 1)) * 2 - 1
    out = torch.nn.functional.grid_sample(field, grid.unsqueeze(2), mode="bilinear", padding_mode="border", align_corners=True)
    return out.squeeze(-1).transpose(1, 2)


def registration_loss(model: LandmarkNet, pairs, rng: np.random.Generator, cfg: TrainConfig, aug: Augment) -> torch.Tensor:
    """Points on the first frame carried by the flow should be the points on the second (every head).

    The carried points are a target (no gradient through the first frame in this step); the
    direction of each pair is drawn at random, so both frames are taught over time. Points
    whose flow fails the forward-backward check are left out.
    """
    from convert.cnn.registration import pair_batch

    n, size = cfg.pair_batch, cfg.input_size
    x, flows, trust = pair_batch(pairs, n, rng, lambda c, r: _degrade(c, r, aug, occlude=False))
    device = next(model.parameters()).device
    pred = model.points(model(to_tensor(x, device))).reshape(2 * n, -1, 2) * (size - 1)
    first, second = pred[:n].detach(), pred[n:]
    flow = torch.from_numpy(flows).permute(0, 3, 1, 2).to(device)
    carried = first + _sample_field(flow, first, size)
    weight = _sample_field(torch.from_numpy(trust).unsqueeze(1).to(device), first, size)[..., 0].gt(0.5).float()
    d = torch.nn.functional.smooth_l1_loss(second, carried, reduction="none", beta=0.5).sum(-1)
    return (d * weight).sum() / weight.sum().clamp(min=1.0)


def save_checkpoint(path: Path, model: LandmarkNet, cfg: TrainConfig, info: dict) -> None:
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}  # loads on a machine without the GPU it trained on
    torch.save({"state_dict": state, "config": asdict(cfg), "info": info}, path)


def load_checkpoint(path: Path | str) -> tuple[LandmarkNet, dict]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found; run `edgetrack train cnn` first or pass --checkpoint")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    cfg = ckpt["config"]
    model = LandmarkNet(
        cfg["input_size"],
        cfg["width"],
        heads=int(cfg.get("heads", 1)),
        head=cfg.get("head", "dense"),
        mirror=bool(cfg.get("mirror")),
        aux_points=int(cfg.get("aux_points", 0)),
    )
    load_weights(model, ckpt["state_dict"])
    set_fake_quant(model, False)  # export and evaluation run the float graph
    set_export_clamps(model, bool(cfg.get("qat")))  # ...saturating where the int8-aware fine-tune learned to
    model.eval()
    return model, ckpt


def load_weights(model: LandmarkNet, state: dict, new_ok: tuple[str, ...] = ()) -> None:
    """Load a state dict; checkpoints from before fake quantisation existed lack only its range buffers
    (and a fine-tune may add the `new_ok` parameters, which start from their initial values, or leave out
    the training-only aflw21 head)."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    # a fine-tune without the training-only aflw21 head drops it
    bad = [k for k in missing if not (k.endswith(".lo") or k.endswith(".hi") or k in new_ok)] + [
        k for k in unexpected if not k.startswith("aux_head.")
    ]
    if bad:
        raise ValueError(f"checkpoint does not fit LandmarkNet({model.input_size}, {model.width}): {bad[:3]}; retrain it")


def train(
    train_cache: FaceCache,
    val_cache: FaceCache,
    cfg: TrainConfig,
    out: Path,
    aug: Augment | None = None,
    init: Path | None = None,
    pairs=None,
) -> dict:
    """Train (from `init`'s weights if given), writing the best-by-validation checkpoint to `out` and a JSON log beside it."""
    aug = aug or Augment()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    model = LandmarkNet(cfg.input_size, cfg.width, heads=cfg.heads, head=cfg.head, mirror=cfg.mirror, aux_points=cfg.aux_points)
    if init is not None:
        start, _ = load_checkpoint(init)
        if (start.input_size, start.width, start.heads) != (cfg.input_size, cfg.width, cfg.heads):
            raise ValueError(
                f"--init {init} is {start.input_size} px width {start.width} with {start.heads} head(s); "
                "pass the same --input-size, --width and --heads"
            )
        load_weights(model, start.state_dict(), new_ok=("mirror_offset", "aux_head.1.weight", "aux_head.1.bias"))
    device = torch.device(cfg.device)
    model = model.to(device, memory_format=torch.channels_last)
    set_fake_quant(model, cfg.qat)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    manual = np.ones(len(train_cache), bool) if train_cache.manual is None else train_cache.manual
    epoch_rows = np.concatenate([np.arange(len(train_cache))] + [np.flatnonzero(manual)] * (cfg.manual_repeat - 1))
    steps_per_epoch = max(1, len(epoch_rows) // cfg.batch)
    total = cfg.epochs * steps_per_epoch
    warmup = min(200, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup)))
    )
    scale = cfg.input_size - 1
    print(
        f"training LandmarkNet {cfg.input_size}x{cfg.input_size} width {cfg.width} on {cfg.device}: {count_params(model):,} params, "
        f"{len(train_cache)} train / {len(val_cache)} val faces, {cfg.epochs} epochs x {steps_per_epoch} steps",
        file=sys.stderr,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    log: list[dict] = []
    best = float("inf")
    t_start = time.perf_counter()
    epochs = min(cfg.stop_after or cfg.epochs, cfg.epochs)
    for epoch in range(epochs):
        model.train()
        order = epoch_rows[rng.permutation(len(epoch_rows))]
        losses = []
        for step in range(steps_per_epoch):
            idx = order[step * cfg.batch : (step + 1) * cfg.batch]
            b = augmented_batch_with_flips(train_cache, idx, rng, aug)
            x, y, flipped = b.x, b.y, b.flipped
            styles = None if train_cache.styles is None else train_cache.styles[idx]
            raw, aux = model.forward_with_aux(to_tensor(x, device))
            target = torch.from_numpy(y).to(device)
            if cfg.head == "pip":
                st = torch.zeros(len(idx), dtype=torch.long) if styles is None else torch.from_numpy(np.asarray(styles, np.int64))
                loss = pip_loss(raw, target, st.to(device), cfg.heads, cfg.input_size)
            else:
                pred = head_outputs(raw, styles, cfg.heads, flipped)
                if b.weights is None:
                    loss = wing_loss(pred * scale, target * scale, cfg.wing_w, cfg.wing_eps)
                else:
                    w = torch.from_numpy(np.repeat(b.weights, 2, axis=1)).to(device)
                    loss = masked_wing_loss(pred * scale, target * scale, w, cfg.wing_w, cfg.wing_eps)
            if aux is not None and b.aux is not None:
                seen = np.isfinite(b.aux)
                aux_target = torch.from_numpy(np.where(seen, b.aux, 0.0).astype(np.float32)).to(device)
                w = torch.from_numpy(seen.astype(np.float32)).to(device)
                loss = loss + cfg.aux_weight * masked_wing_loss(aux * scale, aux_target * scale, w, cfg.wing_w, cfg.wing_eps)
            if pairs is not None:
                loss = loss + cfg.registration_weight * registration_loss(model, pairs, rng, cfg, aug)
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
        nme, by_style = validate_by_style(model, val_cache)
        elapsed = time.perf_counter() - t_start
        eta = elapsed / (epoch + 1) * (epochs - epoch - 1)
        per_style = {STYLES[k]: round(100 * v, 3) for k, v in by_style.items()}
        log.append(
            {
                "epoch": epoch + 1,
                "loss": float(np.mean(losses)),
                "val_nme_pct": 100 * nme,
                "val_nme_pct_by_style": per_style,
                "elapsed_s": round(elapsed, 1),
            }
        )
        improved = nme < best
        if improved:
            best = nme
            save_checkpoint(out, model, cfg, {"epoch": epoch + 1, "val_nme_pct": 100 * nme})
        print(
            f"\r  epoch {epoch + 1}/{cfg.epochs}: loss {np.mean(losses):.3f}, val NME {100 * nme:.2f}%{' *' if improved else ''} "
            f"({', '.join(f'{k} {v:.2f}' for k, v in per_style.items())})"
            f"  [{elapsed / 60:.1f} min, ~{eta / 60:.1f} min left]",
            file=sys.stderr,
        )
        out.with_suffix(".log.json").write_text(json.dumps({"config": asdict(cfg), "augment": asdict(aug), "epochs": log}, indent=1))
    return {"best_val_nme_pct": 100 * best, "params": count_params(model), "minutes": (time.perf_counter() - t_start) / 60}
