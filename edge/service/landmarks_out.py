"""`--landmarks-out FILE`: one JSON line per frame, appended, whole lines only, size-bounded.

Made for a device left alone for months:
- a run appends and never truncates, so a restart keeps every earlier line; when the file does
  not end in a newline (a power cut mid-line) the first new line starts on a line of its own;
- each line goes out in one unbuffered write, so a reader tailing the file sees whole lines;
- past `max_mb` the file is rotated: FILE -> FILE.1 -> ... -> FILE.KEEP, the oldest dropped;
- a full disk (or quota, size limit, I/O error) ends the run with one line saying how many lines
  were written and what to do, after cutting the file back to its last whole line.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

FULL = {errno.ENOSPC, errno.EDQUOT}


def frame_record(index: int, t: float, faces: list) -> dict[str, Any]:
    """One frame's record: its number, media time (s) and faces (`TrackedFace.to_json`): a --landmarks-out line
    and a /faces event are this dict, written by `record_line`."""
    return {"frame": int(index), "t": round(float(t), 4), "faces": [f.to_json() for f in faces]}


def record_line(record: dict[str, Any]) -> str:
    """The record as one compact JSON line, without its newline (the file and the feed write the same text)."""
    return json.dumps(record, separators=(",", ":"))


class LandmarksWriter:
    def __init__(self, path: str | Path, max_mb: float = 64.0, keep: int = 3) -> None:
        self.path = Path(path)
        self.max_bytes = int(max_mb * 1024 * 1024) if max_mb > 0 else 0
        self.keep = max(1, int(keep))
        self.fd: int | None = None
        self.regular = False  # rotation and cutting back apply to regular files (not /dev/null, a FIFO)
        self.size = 0  # bytes in the file up to the end of its last whole line
        self.lines = 0  # lines written by this writer
        self.rotated = 0
        self.pending = b""  # a newline owed to a partial last line found at open
        self.active = True  # a runtime output that always takes the record

    def open(self) -> LandmarksWriter:
        try:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            st = os.fstat(self.fd)
        except OSError as exc:
            self.fd = None
            raise RuntimeError(f"cannot open --landmarks-out {self.path} ({exc.strerror}); point --landmarks-out elsewhere") from None
        self.regular = stat.S_ISREG(st.st_mode)
        self.size = st.st_size if self.regular else 0
        self.pending = b"\n" if self.regular and self.size and not self._ends_with_newline() else b""
        return self

    def _ends_with_newline(self) -> bool:
        try:
            with self.path.open("rb") as f:
                f.seek(self.size - 1)
                return f.read(1) == b"\n"
        except OSError:
            return True  # cannot read it back: do not add anything

    def write(self, record: dict[str, Any]) -> None:
        line = (record_line(record) + "\n").encode()
        if self.regular and self.max_bytes and self.size and self.size + len(self.pending) + len(line) > self.max_bytes:
            self._rotate()
        data = self.pending + line
        view = memoryview(data)
        done = 0
        try:
            while done < len(data):
                n = os.write(self.fd, view[done:])
                if n <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                done += n
        except OSError as exc:
            self._cut_back()
            raise RuntimeError(self._why(exc)) from None
        self.size += len(data)
        self.pending = b""
        self.lines += 1

    def _cut_back(self) -> None:
        """Drop the part of a line that went out before the write failed: the file ends on a whole line."""
        if self.regular and self.fd is not None:
            try:
                os.ftruncate(self.fd, self.size)
            except OSError:
                pass

    def _why(self, exc: OSError) -> str:
        done = f"{self.lines} lines written"
        if exc.errno in FULL:
            return f"disk full writing {self.path}: {done}; free space or point --landmarks-out elsewhere"
        if exc.errno == errno.EFBIG:
            return f"file size limit reached writing {self.path}: {done}; set --landmarks-out-max-mb below it or write elsewhere"
        if exc.errno == errno.EIO:
            return f"I/O error writing {self.path}: {done}; check the disk (dmesg) or point --landmarks-out elsewhere"
        return f"cannot write {self.path} ({exc.strerror}): {done}; point --landmarks-out elsewhere"

    def _rotate(self) -> None:
        """FILE.(K-1) -> FILE.K (the oldest FILE.K goes), ..., FILE -> FILE.1, then a new empty FILE."""
        self._close_fd()
        name = self.path.name
        try:
            for i in range(self.keep - 1, 0, -1):
                older = self.path.with_name(f"{name}.{i}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{name}.{i + 1}"))
            os.replace(self.path, self.path.with_name(f"{name}.1"))
        except OSError as exc:
            raise RuntimeError(
                f"cannot rotate {self.path} ({exc.strerror}): {self.lines} lines written; "
                "check the folder or point --landmarks-out elsewhere"
            ) from None
        self.rotated += 1
        self.open()
        self.pending = b""  # a fresh file: nothing owed

    def _close_fd(self) -> None:
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            if self.regular:
                os.fsync(fd)  # a power cut after a run (or a rotation) keeps what it wrote
        except OSError:
            pass
        try:
            os.close(fd)
        except OSError:
            pass

    def close(self) -> None:
        self._close_fd()

    def __enter__(self) -> LandmarksWriter:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()
