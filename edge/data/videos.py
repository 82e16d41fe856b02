"""The unlabelled video clips (data/videos/) and their recorded person-disjoint split, models/splits/videos.json.

The clips serve two jobs that must not see the same people: temporal-consistency training
(`video_clips(dir, "train")`) and the stability measurement of `edgetrack stability` (the val
part). A clip of a person who is also in training would measure a memory, so the split is by
person, recorded once so every run and every trainer uses the same clips.

Person of a clip: the file stem before the first '-', with a session letter right after the
number folded in (`nrc_05s-2.avi` -> `nrc_05`, the same man as `nrc_05-1.avi`); a stem
without '-' is a person of its own (`clm_changeLighting.avi`).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from edge.data.split import split_path

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov", ".webm", ".m4v")
PARTS = ("train", "val", "all")
RULE = "by person: file stem before the first '-', a session letter after the number folded in (nrc_05s -> nrc_05)"
_SESSION = re.compile(r"(\d)[a-z]$")


def clip_person(name: str) -> str:
    """`nrc_05s-2.avi` -> `nrc_05`; `nrc_08-1.avi` -> `nrc_08`; `clm_multi_face.avi` stays `clm_multi_face`."""
    return _SESSION.sub(r"\1", Path(name).stem.split("-", 1)[0])


def list_videos(videos_dir: Path | str) -> list[Path]:
    """Every video file directly in `videos_dir`, by name."""
    d = Path(videos_dir)
    return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


def make_video_split(names: list[str], val_people: list[str], dataset: str = "videos", note: str = "") -> dict:
    """The split as recorded: val = every clip of a person in `val_people`, train = the rest (both by name)."""
    people = {clip_person(n) for n in names}
    unknown = sorted(set(val_people) - people)
    if unknown:
        raise ValueError(f"val people {', '.join(unknown)} have no clip among the {len(names)} given; name people as clip_person() does")
    val = sorted(n for n in names if clip_person(n) in val_people)
    train = sorted(n for n in names if clip_person(n) not in val_people)
    out = {"dataset": dataset, "rule": RULE, "val_people": sorted(val_people), "train": train, "val": val}
    if note:
        out["note"] = note
    return out


def write_video_split(split: dict, path: Path | str) -> Path:
    """Record `split` (from make_video_split) in the same layout as the other files in models/splits/."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(split, indent=0) + "\n")
    return path


def video_clips(videos_dir: Path | str, part: str, *, split: Path | str | None = None) -> list[Path]:
    """Paths of the clips of one part ("train" | "val" | "all") of the recorded split of `videos_dir`, by name.

    The split is models/splits/<folder name>.json (`split` overrides it). "all" on a folder with no
    recorded split is every video file in it, so anyone's own clips can be measured; "train" and
    "val" need the recorded split, and every clip it lists for the part must be there (a partial
    copy of the data would quietly change what is measured or trained on).
    """
    if part not in PARTS:
        raise ValueError(f"video split part must be one of {', '.join(PARTS)}, not {part!r}")
    d = Path(videos_dir)
    if not d.is_dir():
        raise ValueError(f"no video folder at {d}; pass the folder of clips (the data's videos/, or set EDGETRACK_DATA)")
    path = Path(split) if split is not None else split_path(d)
    if not path.is_file():
        if part == "all":
            clips = list_videos(d)
            if not clips:
                raise ValueError(f"{d} holds no video files ({', '.join(VIDEO_SUFFIXES)})")
            return clips
        raise ValueError(f"{d} has no recorded split at {path}; use part 'all', or record one with make_video_split + write_video_split")
    try:
        recorded = json.loads(path.read_text())
        names = list(recorded["train"]) + list(recorded["val"]) if part == "all" else list(recorded[part])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a video split (needs 'train' and 'val' lists of clip names): {exc}") from None
    missing = [n for n in names if not (d / n).is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ValueError(f"{len(missing)} of the {len(names)} {part} clips of {path} are missing from {d}: {shown}; restore them")
    listed = set(recorded["train"]) | set(recorded["val"])
    extra = [p.name for p in list_videos(d) if p.name not in listed]
    if extra:
        log.warning(f"{len(extra)} clips in {d} are in neither part of {path} and are not used: {', '.join(extra[:5])}")
    return sorted(d / n for n in names)
