"""The kiosk unit, checked by systemd's own tools where they are installed: `systemd-analyze verify`
is clean for our unit and `systemd-analyze security --offline=true` puts its exposure at 2.5 or
below. Both run on a copy in a temporary folder (no root, nothing installed, seconds at most)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "systemd" / "edgetrack.service"
MAX_EXPOSURE = 2.5
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (apt-get install systemd)")


def directives(text: str) -> dict[str, list[str]]:
    """Key -> every value it is given (a key may repeat, e.g. DeviceAllow=)."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def unit_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointed at an executable that exists here (verify checks it), same arguments."""
    exe = tmp_path / "edgetrack"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    text = UNIT.read_text()
    new, n = re.subn(r"^ExecStart=\S+", f"ExecStart={exe}", text, flags=re.M)
    assert n == 1, "the unit should have exactly one ExecStart= line"
    out = tmp_path / "edgetrack.service"
    out.write_text(new)
    return out


def analyze(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=60)


def exposure(unit: Path) -> float:
    r = analyze("security", "--offline=true", "--no-pager", str(unit))
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
    assert m, f"no 'Overall exposure level' line (rc {r.returncode}):\n{r.stdout}\n{r.stderr}"
    return float(m.group(1))


@needs_analyze
def test_unit_verifies_without_warnings(tmp_path):
    unit = unit_copy(tmp_path)
    r = analyze("verify", "--man=no", str(unit))
    # verify also reports on other units of the host; only lines about ours count
    ours = [ln for ln in (r.stdout + r.stderr).splitlines() if "edgetrack" in ln]
    assert not ours, "\n".join(ours)
    assert r.returncode == 0, r.stderr


@needs_analyze
def test_verify_catches_a_bad_directive(tmp_path):
    """The check above can fail: a misspelt key in a copy of the unit is reported."""
    unit = unit_copy(tmp_path)
    unit.write_text(unit.read_text().replace("ProtectProc=invisible", "ProtectProc=invisible\nProtectProcs=yes"))
    r = analyze("verify", "--man=no", str(unit))
    assert any("ProtectProcs" in ln for ln in r.stderr.splitlines()), r.stderr


@needs_analyze
def test_security_exposure_at_most_2_5(tmp_path):
    got = exposure(unit_copy(tmp_path))
    assert got <= MAX_EXPOSURE, f"systemd-analyze security --offline=true: exposure {got} > {MAX_EXPOSURE}"


@needs_analyze
def test_exposure_rises_without_the_hardening(tmp_path):
    """The exposure figure responds to the unit: stripping the sandbox lines makes it worse."""
    unit = unit_copy(tmp_path)
    hardened = exposure(unit)
    keep = ("Type=", "ExecStart=", "User=", "Group=", "[")
    bare = "\n".join(ln for ln in unit.read_text().splitlines() if ln.startswith(keep))
    unit.write_text(bare + "\n")
    assert exposure(unit) > hardened + 2


def test_unit_has_the_kiosk_and_sandbox_settings():
    d = directives(UNIT.read_text())
    one = {k: v[-1] for k, v in d.items()}
    assert one["Type"] == "notify" and one["Restart"] == "on-failure" and "WatchdogSec" in d
    assert one["SupplementaryGroups"] == "video render"
    assert d["SystemCallFilter"][0] == "@system-service"
    assert one["SystemCallErrorNumber"] == "EPERM"  # a call outside the list fails, it does not kill the kiosk
    assert one["IPAddressDeny"] == "any" and one["IPAddressAllow"] == "localhost"
    assert one["ProtectProc"] == "invisible"
    assert set(one["RestrictAddressFamilies"].split()) >= {"AF_UNIX", "AF_INET", "AF_INET6"}  # sd_notify, http on loopback
    assert one["DevicePolicy"] == "closed"
    cameras_and_screens = {"char-video4linux", "char-media", "char-dma_heap", "/dev/vchiq", "char-drm", "char-fb"}
    assert {a.split()[0] for a in d["DeviceAllow"]} >= cameras_and_screens
    assert one["CapabilityBoundingSet"] == "" and one["AmbientCapabilities"] == "" and one["UMask"] == "0077"
    # what would break the kiosk: JIT (numba, XNNPACK), the camera/screen groups, the loopback page, the devices
    for key in ("MemoryDenyWriteExecute", "PrivateUsers", "PrivateNetwork", "PrivateDevices"):
        assert one.get(key, "no") in ("no", "false", "0"), key
    # numba's cache must be writable under ProtectSystem=strict: it must sit in the unit's CacheDirectory
    assert one["ProtectSystem"] == "strict"
    env = dict(e.split("=", 1) for v in d["Environment"] for e in v.split())
    assert env["NUMBA_CACHE_DIR"].startswith(f"/var/cache/{one['CacheDirectory']}/")
    # the deprecated udev-settle is gone from every dependency
    assert "udev-settle" not in " ".join(d.get("After", []) + d.get("Wants", []) + d.get("Requires", []))
