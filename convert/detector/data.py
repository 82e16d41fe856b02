"""Training scenes for the face detector: annotated faces composited onto face-free photos.

* Faces: every annotated face of the identity split's part (`convert.training_data`) is cut
  once as a grey square patch around its landmark box (PATCH_CONTEXT box sides, so hair,
  neck and some of its own background come along) with a feathered elliptical alpha and
  its 68 points in patch pixels (`FaceBank`).
* Backgrounds: the face-free photos of negatives/, split by groups of 20 consecutive photos
  (near neighbours of a collection look alike), recorded in models/splits/negatives.json;
  hard negatives (places the detector fired on) are drawn more often once mined.
* A scene (`compose`): a background scaled, turned and flipped; in OWN_BACKGROUND of them a
  face in its own photo fills much of the scene; then 0-6 faces at FACE_RANGE pixels, rolled
  up to +-45 degrees (60%) or near upright, mirrored, each with its own light, some occluded
  by a patch of another photo, some cut by the scene's edge; then the whole scene is
  relit, blurred, noised, shrunk and JPEG-compressed at random.
* Labels per face: the levelled landmark box (`Box.around(points, roll)`) and five key points
  (`edge.landmarks68.key_points`); `targets` turns them into the network's maps.

Everything is cv2 warps on small grey images (~0.5 ms a 160x128 scene), drawn from one
numpy Generator, so a seed fixes the scenes. Training generates each epoch's scenes up front
(`SceneCache`) and reuses a fixed validation set.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edge.data import FaceSample, flip_points, load_image
from edge.data.aflw21 import AflwImages, framing_points, load_aflw21_part
from edge.detect.cnn import LEVEL_BAND, LEVEL_SPLIT, STRIDES
from edge.geometry import Box
from edge.imaging import to_grey
from edge.landmarks68 import LEFT_EYE, MOUTH_CORNERS, NOSE_TIP, RIGHT_EYE, key_points, roll
from edge.paths import data_root, models_dir

SCENE = (160, 128)  # (w, h) of a training scene: the base input, padded to a multiple of 16
FACE_RANGE = (8.0, 112.0)  # face size (the levelled landmark box's longer side) in a training scene, px
PATCH_CONTEXT = 2.2  # patch side in landmark-box sides
PATCH_MAX = 192  # px: a patch is stored at most this big (a face of ~87 px)
OWN_BACKGROUND = 0.25  # scenes whose first face comes with its own photo around it
EMPTY = 0.12  # scenes with no face at all
N_FACES_P = (0.30, 0.25, 0.17, 0.12, 0.09, 0.07)  # 1..6 faces
TILTED = 0.6  # faces rolled uniformly within +-MAX_ROLL; the others near upright
MAX_ROLL = 45.0
OCCLUDED = 0.15
HARD_SHARE = 0.3  # backgrounds centred on a mined hard negative, once there are some
TEXTURE_SHARE = 0.15  # scenes with a synthetic face-like texture over part of the background (wallpaper, text, blobs)
NEG_GROUP = 20  # negatives are split in groups of this many consecutive photos


# ---- faces -------------------------------------------------------------------------------


@dataclass
class FaceBank:
    """Grey face patches (square, uint8), their alpha (uint8) and 68 points in patch pixels."""

    patches: list[np.ndarray] = field(default_factory=list)
    alphas: list[np.ndarray] = field(default_factory=list)  # the face: a feathered ellipse where the photo has pixels
    wholes: list[np.ndarray] = field(default_factory=list)  # the whole patch (the face's own background too), feathered
    points: list[np.ndarray] = field(default_factory=list)
    yaws: list[float] = field(default_factory=list)  # AFLW's yaw estimate in degrees; NaN where the folder has none

    def __len__(self) -> int:
        return len(self.patches)


def face_alpha(side: int, points: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """A feathered ellipse around the face (forehead and hair included), where the source photo has pixels."""
    box = Box.around(points)
    s = max(box.w, box.h)
    mask = np.zeros((side, side), np.uint8)
    centre = (int(round(box.cx * 4)), int(round((box.cy - 0.12 * s) * 4)))
    axes = (int(round(0.64 * s * 4)), int(round(0.78 * s * 4)))
    cv2.ellipse(mask, centre, axes, 0.0, 0.0, 360.0, 255, -1, cv2.LINE_AA, shift=2)
    mask = cv2.GaussianBlur(mask, (0, 0), max(0.07 * s, 0.8))
    return np.minimum(mask, valid)


def add_face(bank: FaceBank, grey: np.ndarray, points: np.ndarray, patch_max: int = PATCH_MAX, yaw: float = np.nan) -> None:
    """Cut one face (68 points in `grey`'s pixels) into the bank as a square patch around its landmark box."""
    box = Box.around(points)
    side_src = PATCH_CONTEXT * max(box.w, box.h)
    side = int(min(patch_max, max(16, round(side_src))))
    k = side / side_src
    src, valid_src = grey, np.full(grey.shape, 255, np.uint8)
    pts = np.asarray(points, np.float64)
    if k < 0.7:  # shrink without aliasing, then place
        src = cv2.resize(grey, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        valid_src = cv2.resize(valid_src, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        pts, scale = (pts + 0.5) * k - 0.5, 1.0
    else:
        pts, scale = pts * k, k
    c = Box.around(pts)
    t = np.array([side / 2 - c.cx, side / 2 - c.cy])
    m = np.array([[scale, 0, t[0]], [0, scale, t[1]]])  # the face's box centre lands on the patch centre
    patch = cv2.warpAffine(src, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    valid = cv2.warpAffine(valid_src, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    pts = pts + t
    bank.patches.append(patch)
    bank.points.append(pts.astype(np.float32))
    bank.alphas.append(face_alpha(side, pts, valid))
    inset = np.zeros((side, side), np.uint8)
    e = max(int(0.06 * side), 1)
    inset[e:-e, e:-e] = 255
    bank.wholes.append(np.minimum(cv2.GaussianBlur(inset, (0, 0), max(0.03 * side, 0.8)), valid))
    bank.yaws.append(float(yaw))


def build_face_bank(samples: list[FaceSample], patch_max: int = PATCH_MAX, progress: bool = True) -> FaceBank:
    bank = FaceBank()
    for i, s in enumerate(samples):
        img = load_image(s.image_path)
        if img is None:
            continue
        add_face(bank, to_grey(img), s.points, patch_max)
        if progress and (i + 1) % 1000 == 0:
            print(f"  face patches: {i + 1}/{len(samples)}", file=sys.stderr)
    return bank


def aflw_detector_shape(manual21: np.ndarray, mean68: np.ndarray) -> np.ndarray:
    """68 points standing in for an aflw21 face's own: the mean shape laid on its manual points (the landmark box
    every detector is trained to report), with the five key places moved onto the manual eye centres, nose tip
    and mouth corners where they were marked (so the key points and the roll are the face's own, turned heads
    included)."""
    shape = framing_points(manual21, mean68)
    for place, idx in ((RIGHT_EYE, 7), (LEFT_EYE, 10)):  # AFLW marks the pupil; a 68 eye's centre is its six points' mean
        if np.isfinite(manual21[idx, 0]):
            shape[place] += manual21[idx] - shape[place].mean(0)
    for place, idx in ((NOSE_TIP, 14), (MOUTH_CORNERS[0], 17), (MOUTH_CORNERS[1], 19)):
        if np.isfinite(manual21[idx, 0]):
            shape[place] = manual21[idx]
    return shape


def build_aflw_bank(folder: Path, part: str, bank: FaceBank | None = None, limit: int = 0, patch_max: int = PATCH_MAX,
                    keep: Callable[[str], bool] | None = None) -> FaceBank:  # fmt: skip
    """The aflw21 faces of the recorded split's `part` (those whose name `keep` accepts) added to `bank` (a new one by
    default), every pose kept: the faces the 68-point folders lack (profiles, every age and light)."""
    from edge.shape_model import ShapeModel

    faces = [f for f in load_aflw21_part(folder, part) if keep is None or keep(f.name)][: limit or None]
    mean = ShapeModel.load().mean  # any scale: it is laid on the face by a similarity fit
    bank = FaceBank() if bank is None else bank
    with AflwImages(folder) as reader:
        for i, face in enumerate(faces):
            add_face(bank, reader.read(face.name), aflw_detector_shape(face.points, mean), patch_max, face.yaw_deg)
            if (i + 1) % 2000 == 0:
                print(f"  aflw21 {part} patches: {i + 1}/{len(faces)}", file=sys.stderr)
    return bank


# ---- negatives ---------------------------------------------------------------------------


def negatives_dir() -> Path:
    return data_root() / "negatives" / "images"


def negative_group(name: str) -> str:
    """'neg-0123.jpg' -> 'neg-6' (20 consecutive photos per group); 'UMD_045.jpg' -> 'UMD-2'."""
    stem = Path(name).stem
    head = stem.rstrip("0123456789").rstrip("-_")
    digits = stem[len(stem.rstrip("0123456789")) :]
    return f"{head}-{int(digits) // NEG_GROUP if digits else 0}"


def negative_split(folder: Path | None = None, val_fraction: float = 0.2, seed: int = 0, record: bool = True) -> dict[str, list[str]]:
    """{'train': names, 'val': names}: whole groups go to val by a stable hash; recorded in models/splits/negatives.json."""
    import hashlib

    folder = Path(folder or negatives_dir())
    path = models_dir() / "splits" / "negatives.json"
    names = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp")) if folder.is_dir() else []
    if path.is_file():
        rec = json.loads(path.read_text())
        if sorted(rec["train"] + rec["val"]) == names:
            return {"train": rec["train"], "val": rec["val"]}
    if not names:
        raise ValueError(f"no face-free photos in {folder}; the detector needs ../shared/data/negatives/images")

    def bucket(group: str) -> float:
        return int.from_bytes(hashlib.sha256(f"{seed}:{group}".encode()).digest()[:8], "big") / 2**64

    split: dict[str, list[str]] = {"train": [], "val": []}
    for n in names:
        split["val" if bucket(negative_group(n)) < val_fraction else "train"].append(n)
    if record:
        path.parent.mkdir(parents=True, exist_ok=True)
        rule = f"by group of {NEG_GROUP} consecutive photos (edge: convert.detector.data.negative_group)"
        path.write_text(json.dumps({"dataset": "negatives", "seed": seed, "val_fraction": val_fraction, "rule": rule, **split},
                                   indent=0) + "\n")  # fmt: skip
    return split


def load_negatives(names: list[str], folder: Path | None = None) -> list[np.ndarray]:
    folder = Path(folder or negatives_dir())
    out = []
    for n in names:
        img = load_image(folder / n)
        if img is not None:
            out.append(to_grey(img))
    if not out:
        raise ValueError(f"none of {len(names)} negatives in {folder} could be read")
    return out


# ---- scenes ------------------------------------------------------------------------------


@dataclass
class SceneFace:
    box: Box  # the levelled landmark box (turned by the face's roll), scene pixels
    key_points: np.ndarray  # (5, 2) scene pixels
    upright: Box | None = None  # the plain tight box of the points
    yaw: float = float("nan")  # degrees, where the face's folder gives it (aflw21)

    @property
    def size(self) -> float:
        return max(self.box.w, self.box.h)


def faces_inside(faces: list[SceneFace], w: int, h: int) -> list[SceneFace]:
    """The faces a w x h scene's recall counts: those whose centre is in the scene."""
    return [f for f in faces if 0 <= f.box.cx < w and 0 <= f.box.cy < h]


Hard = list[tuple[int, float, float, float]]  # mined hard negatives: (photo, x, y, size) in photo pixels


def _background(rng: np.random.Generator, negs: list[np.ndarray], w: int, h: int, hard: Hard) -> np.ndarray:
    if hard and rng.random() < HARD_SHARE:  # a place the detector fired on, at about the scale it saw it
        i, hx, hy, hs = hard[int(rng.integers(len(hard)))]
        img = negs[i]
        k = float(np.clip(rng.uniform(0.5, 1.0) * 40.0 / max(hs, 4.0), 0.2, 4.0))
        cx, cy = hx + rng.uniform(-0.3, 0.3) * w / k, hy + rng.uniform(-0.3, 0.3) * h / k
    else:
        img = negs[int(rng.integers(len(negs)))]
        cover = max(w / img.shape[1], h / img.shape[0])
        k = cover * float(np.exp(rng.uniform(0.0, np.log(3.0))))
        cx = rng.uniform(w / (2 * k), max(img.shape[1] - w / (2 * k), w / (2 * k)))
        cy = rng.uniform(h / (2 * k), max(img.shape[0] - h / (2 * k), h / (2 * k)))
    a = np.deg2rad(rng.normal(0, 6)) if rng.random() < 0.3 else 0.0
    flip = -1.0 if rng.random() < 0.5 else 1.0
    c, s = k * np.cos(a), k * np.sin(a)
    m = np.array([[flip * c, -s, 0.0], [flip * s, c, 0.0]])
    m[:, 2] = [w / 2, h / 2] - m[:, :2] @ [cx, cy]
    if k < 0.7:
        img = cv2.GaussianBlur(img, (0, 0), 0.45 / k)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def _texture(rng: np.random.Generator, negs: list[np.ndarray], w: int, h: int) -> np.ndarray:
    """A face-free texture of the kinds a kiosk sees behind people and the photos lack: a small piece of a
    photo repeated as wallpaper, lines of text, or dark blobs in pairs and rows (eyes-and-mouth-like)."""
    kind = rng.integers(3)
    if kind == 0:  # wallpaper: a tile of a photo repeated, every other one mirrored at random
        src = negs[int(rng.integers(len(negs)))]
        t = int(rng.integers(6, 33))
        y, x = int(rng.integers(0, max(src.shape[0] - t, 1))), int(rng.integers(0, max(src.shape[1] - t, 1)))
        tile = src[y : y + t, x : x + t].astype(np.float32)
        if rng.random() < 0.5:
            tile = np.concatenate([tile, tile[:, ::-1]], 1)
        if rng.random() < 0.5:
            tile = np.concatenate([tile, tile[::-1]], 0)
        out = np.tile(tile, (h // tile.shape[0] + 1, w // tile.shape[1] + 1))[:h, :w]
        return (out - out.mean()) * rng.uniform(0.8, 2.0) + rng.uniform(60, 200)
    ink, paper = (rng.uniform(0, 90), rng.uniform(150, 255)) if rng.random() < 0.7 else (rng.uniform(160, 255), rng.uniform(0, 90))
    out = np.full((h, w), paper, np.float32)
    if kind == 1:  # text: lines of random letters and digits
        chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:-@%&"
        scale = rng.uniform(0.25, 1.6)
        step = int(max(30 * scale, 6))
        for y in range(int(rng.integers(step // 2, step + 1)), h + step, step):
            line = "".join(chars[i] for i in rng.integers(len(chars), size=int(rng.integers(3, 40))))
            cv2.putText(out, line, (int(rng.integers(-20, 10)), y), int(rng.choice([0, 1, 2, 3, 4, 6, 7])), scale, float(ink),
                        int(rng.integers(1, 3)), cv2.LINE_AA)  # fmt: skip
        return out
    for _ in range(int(rng.integers(2, 12))):  # blobs: pairs of dots with a bar under some of them
        s = rng.uniform(3, 30)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        gap = s * rng.uniform(1.2, 3.0)
        for dx in (-gap / 2, gap / 2):
            cv2.ellipse(out, (int(cx + dx), int(cy)), (max(int(s / 2), 1), max(int(s * rng.uniform(0.2, 0.6)), 1)), 0, 0, 360,
                        float(ink), -1, cv2.LINE_AA)  # fmt: skip
        if rng.random() < 0.6:
            cv2.line(out, (int(cx - gap / 2), int(cy + gap)), (int(cx + gap / 2), int(cy + gap)), float(ink), max(int(s / 3), 1),
                     cv2.LINE_AA)  # fmt: skip
    return cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 1.5))


def _relight(img: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    x = img.astype(np.float32) / 255.0
    gamma = float(np.exp(rng.normal(0, 0.3 * strength)))
    x = np.power(np.clip(x, 0, 1), gamma)
    x = (x - 0.5) * rng.uniform(1 - 0.4 * strength, 1 + 0.4 * strength) + 0.5 + rng.uniform(-0.15, 0.15) * strength
    return np.clip(x * 255.0, 0, 255)


def _place(rng: np.random.Generator, bank: FaceBank, idx: int, size: float, angle: float, centre: tuple[float, float],
           flip: bool, w: int, h: int, whole: bool = False) -> tuple[tuple[int, int], np.ndarray, np.ndarray, np.ndarray] | None:
    """((x0, y0), face pixels, alpha in 0..1, 68 points) of bank face `idx` warped into a w x h scene: only the
    region the patch covers, from (x0, y0); None when none of it is in the scene. `whole`: the whole patch (the
    face in its own photo), not only the face."""
    patch, pts = bank.patches[idx], bank.points[idx].astype(np.float64)
    alpha = bank.wholes[idx] if whole else bank.alphas[idx]
    if flip:
        patch, alpha = patch[:, ::-1], alpha[:, ::-1]
        pts = flip_points(pts, patch.shape[1])
    box = Box.around(pts)
    k = size / max(box.w, box.h)
    if k < 0.7:  # shrink first (no aliasing), then turn
        patch = cv2.resize(patch, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        pts = (pts + 0.5) * k - 0.5
        box, kk = Box.around(pts), 1.0
    else:
        kk = k
    c, s = kk * np.cos(angle), kk * np.sin(angle)
    m = np.array([[c, -s, 0.0], [s, c, 0.0]])
    m[:, 2] = np.asarray(centre) - m[:, :2] @ [box.cx, box.cy]
    ph, pw = patch.shape
    corners = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float64) @ m[:, :2].T + m[:, 2]
    x0, y0 = (int(max(np.floor(v), 0)) for v in corners.min(0))
    x1, y1 = int(min(np.ceil(corners[:, 0].max()), w)), int(min(np.ceil(corners[:, 1].max()), h))
    pts = pts @ m[:, :2].T + m[:, 2]
    if x1 <= x0 or y1 <= y0:
        return None
    m[:, 2] -= [x0, y0]
    size_roi = (x1 - x0, y1 - y0)
    face = cv2.warpAffine(np.ascontiguousarray(patch), m, size_roi, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    a = cv2.warpAffine(np.ascontiguousarray(alpha), m, size_roi, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return (x0, y0), face.astype(np.float32), a.astype(np.float32) / 255.0, pts


def compose(
    rng: np.random.Generator,
    bank: FaceBank,
    negs: list[np.ndarray],
    size: tuple[int, int] = SCENE,
    face_range: tuple[float, float] = FACE_RANGE,
    hard: Hard | None = None,
    max_faces: int = 6,
    empty: float = EMPTY,
    n_faces: int | None = None,
    own_background: float = OWN_BACKGROUND,
    texture: float = TEXTURE_SHARE,
) -> tuple[np.ndarray, list[SceneFace]]:
    """One grey uint8 scene and its faces (`n_faces` tries to place exactly that many); `texture`: the chance of a
    synthetic texture over part of the background (training only: validation scenes keep to real photos)."""
    w, h = size
    canvas = _relight(_background(rng, negs, w, h, hard or []), rng, 0.6)
    if texture and negs and rng.random() < texture:  # over a rectangle of the background (or all of it)
        tex = _texture(rng, negs, w, h)
        x0, y0 = (int(rng.uniform(0, 0.6) * w), int(rng.uniform(0, 0.6) * h)) if rng.random() < 0.6 else (0, 0)
        canvas[y0:, x0:] = tex[: h - y0, : w - x0]
    faces: list[SceneFace] = []
    placed: list[Box] = []
    n = 0 if rng.random() < empty else int(rng.choice(np.arange(1, len(N_FACES_P) + 1), p=N_FACES_P))
    n = min(n, max_faces) if n_faces is None else n_faces
    lo, hi = face_range
    own = n > 0 and rng.random() < own_background
    for j in range(n):
        for _attempt in range(12):
            idx = int(rng.integers(len(bank)))
            if own and j == 0:  # a big face in its own photo, which fills much of the scene
                fsize = float(np.exp(rng.uniform(np.log(max(lo, 0.15 * min(w, h))), np.log(min(hi, 0.8 * min(w, h))))))
                centre = (rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.75) * h)
            else:
                fsize = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
                m = 0.25 * fsize  # faces may be cut by the edge (a quarter of the face outside, at most)
                centre = (rng.uniform(-m, w + m), rng.uniform(-m, h + m))
            angle = np.deg2rad(rng.uniform(-MAX_ROLL, MAX_ROLL) if rng.random() < TILTED else rng.normal(0, 7))
            approx = Box(centre[0] - fsize / 2, centre[1] - fsize / 2, fsize, fsize)
            if all(approx.iou(p) < 0.12 for p in placed):
                break
        else:
            continue
        got = _place(rng, bank, idx, fsize, float(angle), centre, rng.random() < 0.5, w, h, whole=own and j == 0)
        if got is None:
            continue
        (x0, y0), face, a, pts = got
        rh, rw = a.shape
        face = _relight(face, rng, 0.8)
        if rng.random() < OCCLUDED:  # a patch of another photo over a side of the face (at most about a third)
            fb = Box.around(pts - [x0, y0])
            ow, oh = fb.w * rng.uniform(0.25, 0.5), fb.h * rng.uniform(0.25, 0.55)
            ox = fb.x + (rng.uniform(-0.25, 0.1) if rng.random() < 0.5 else rng.uniform(0.9, 1.25)) * fb.w - ow / 2
            oy = fb.y + rng.uniform(0.0, 1.1) * fb.h - oh / 2
            occ = _background(rng, negs, rw, rh, [])
            om = np.zeros((rh, rw), np.float32)
            cv2.rectangle(om, (int(ox), int(oy)), (int(ox + ow), int(oy + oh)), 1.0, -1)
            face = face * (1 - om) + occ * om
        roi = canvas[y0 : y0 + rh, x0 : x0 + rw]
        roi[:] = roi * (1 - a) + face * a
        r = roll(pts)
        faces.append(SceneFace(Box.around(pts, r), key_points(pts), Box.around(pts), bank.yaws[idx]))
        placed.append(approx)
    canvas = _finish(canvas, rng)
    return canvas, faces


def _finish(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Whole-scene light, blur, resolution, noise and compression."""
    h, w = img.shape
    if rng.random() < 0.3:  # light from one side
        g = np.linspace(-1, 1, w)[None, :] * np.cos(a := rng.uniform(0, 2 * np.pi)) + np.linspace(-1, 1, h)[:, None] * np.sin(a)
        img = img * (1.0 + rng.uniform(0.1, 0.5) * g)
    if rng.random() < 0.5:
        img = _relight(np.clip(img, 0, 255), rng, 0.7)
    if rng.random() < 0.25:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 1.3))
    if rng.random() < 0.15:
        k = rng.uniform(0.4, 0.75)
        small = cv2.resize(img, (max(int(w * k), 8), max(int(h * k), 8)), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        img = img + rng.normal(0, rng.uniform(1.0, 8.0), img.shape)
    out = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.35:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 91))])
        out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out


@dataclass
class SceneCache:
    """Scenes generated up front: images (n, h, w) uint8 and their faces."""

    images: np.ndarray
    faces: list[list[SceneFace]]

    def __len__(self) -> int:
        return len(self.images)


def make_scenes(n: int, rng: np.random.Generator, bank: FaceBank, negs: list[np.ndarray], size: tuple[int, int] = SCENE,
                hard: Hard | None = None, **kw) -> SceneCache:  # fmt: skip
    images = np.empty((n, size[1], size[0]), np.uint8)
    faces = []
    for i in range(n):
        images[i], f = compose(rng, bank, negs, size, hard=hard, **kw)
        faces.append(f)
    return SceneCache(images, faces)


# ---- targets -----------------------------------------------------------------------------


def level_of(size: float) -> tuple[bool, bool]:
    """Which levels (stride 8, stride 16) learn a face of this size (input px): both near the split."""
    return size < LEVEL_SPLIT * LEVEL_BAND, size > LEVEL_SPLIT / LEVEL_BAND


def targets(faces: list[list[SceneFace]], w: int, h: int) -> list[dict[str, np.ndarray]]:
    """Per level: heat (n, gh, gw) Gaussian peaks of 1 at face centres, mask (n, gh, gw) of the centre cells,
    box (n, gh, gw, 4) (offset in the cell, log size in strides), kps (n, gh, gw, 10) (relative to the centre, in
    face sizes)."""
    out = []
    for li, stride in enumerate(STRIDES):
        gh, gw = -(-h // stride), -(-w // stride)
        heat = np.zeros((len(faces), gh, gw), np.float32)
        mask = np.zeros((len(faces), gh, gw), bool)
        box = np.zeros((len(faces), gh, gw, 4), np.float32)
        kps = np.zeros((len(faces), gh, gw, 10), np.float32)
        gy, gx = np.mgrid[0:gh, 0:gw]
        for n, fs in enumerate(faces):
            for f in fs:
                if not level_of(f.size)[li]:
                    continue
                ux, uy = (f.box.cx + 0.5) / stride, (f.box.cy + 0.5) / stride  # centre on pixel edges, in cells
                cx, cy = int(np.floor(ux)), int(np.floor(uy))
                if not (0 <= cx < gw and 0 <= cy < gh):
                    continue
                sigma = max(0.12 * f.size / stride, 0.45)
                heat[n] = np.maximum(heat[n], np.exp(-((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * sigma**2)))
                mask[n, cy, cx] = True
                box[n, cy, cx] = [ux - cx, uy - cy, np.log(f.box.w / stride), np.log(f.box.h / stride)]
                kps[n, cy, cx] = ((f.key_points - [f.box.cx, f.box.cy]) / f.size).ravel()
        out.append({"heat": heat, "mask": mask, "box": box, "kps": kps})
    return out
