"""One lazy registry picks every part by name: each name resolves, unknown names are one line, nothing loads early."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge.cli import COMMANDS
from edge.commands.train import TARGETS
from edge.detect.base import DETECTORS
from edge.displays import DISPLAYS, make_display
from edge.effects import EFFECTS
from edge.landmarks.base import LANDMARKERS
from edge.registry import Registry
from edge.sources import SOURCES, ImageFolderSource, make_source

REPO = Path(__file__).resolve().parents[1]

REGISTRIES = {"detector": DETECTORS, "landmarker": LANDMARKERS, "effect": EFFECTS, "source": SOURCES, "display": DISPLAYS}


def test_a_table_names_its_parts_in_order_with_help_and_forms():
    reg = Registry("codec", {"json": ("json:dumps", "JSON text"), "mod": "json"}, example="e.g. --codec json")
    assert reg.names() == ["json", "mod"] and "json" in reg and "yaml" not in reg
    assert reg.help("json") == "JSON text" and reg.help("mod") == ""
    assert reg.make("json", [1, 2]) == "[1, 2]"
    assert reg.load("mod") is sys.modules["json"]  # a target without ':factory' is the module itself
    with pytest.raises(ValueError, match=r"^unknown codec 'yaml'; choose one of: json, mod \(e\.g\. --codec json\)$"):
        reg.make("yaml")


def test_spec_forms_say_which_schemes_take_a_rest():
    reg = Registry("display", {"auto": ("m:a", "auto"), "fb": ("m:f", "fb[:/dev/fbN]"), "file": ("m:v", "file:PATH")})
    assert reg.split("auto") == ("auto", None) and reg.split("auto:x") is None
    assert reg.split("fb") == ("fb", None) and reg.split("fb:/dev/fb1") == ("fb", "/dev/fb1")
    assert reg.split("file") is None and reg.split("file:C:/a.mp4") == ("file", "C:/a.mp4")
    assert reg.split("hologram") is None
    assert reg.forms() == "auto, fb[:/dev/fbN] or file:PATH"


@pytest.mark.parametrize("kind,name", [(k, n) for k, reg in REGISTRIES.items() for n in reg.names()])
def test_every_registered_name_resolves_to_a_callable_factory(kind, name):
    factory = REGISTRIES[kind].load(name)
    assert callable(factory), (kind, name, factory)


@pytest.mark.parametrize("kind,name", [("command", n) for n in COMMANDS] + [("target", n) for n in TARGETS])
def test_every_command_and_train_target_is_a_module_with_add_arguments_and_main(kind, name):
    reg = COMMANDS if kind == "command" else TARGETS
    try:
        module = reg.load(name)
    except RuntimeError as exc:  # the device install: a trainer that needs torch/scipy says so in one line
        assert kind == "target" and "pip install 'edgetrack[convert]'" in str(exc)
        pytest.skip(str(exc))
    assert callable(module.add_arguments) and callable(module.main), (kind, name)
    assert reg.help(name)  # `edgetrack --help` and `train --help` list each with its line


@pytest.mark.parametrize("kind", list(REGISTRIES))
def test_an_unknown_name_is_one_line_naming_the_choices(kind):
    reg = REGISTRIES[kind]
    with pytest.raises(ValueError) as err:
        reg.make("bogus")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"unknown {kind} 'bogus'; choose one of: ")
    assert all(n in msg for n in reg.names())


def test_specs_not_in_any_form_keep_their_not_understood_line(tmp_path):
    for spec in ("carrier-pigeon", "auto:1", "images", "v4l2"):  # a scheme without the ':rest' its form needs, or one extra
        with pytest.raises(ValueError, match=r"not understood; use auto, picamera2\[:N\], v4l2:N, /dev/videoN, file:PATH, "):
            make_source(spec)
    display_forms = r"auto, fb\[:/dev/fbN\], sdl, http\[:PORT\], file:PATH or none$"
    for spec in ("hologram", "sdl:1", "file", "none:x"):
        with pytest.raises(ValueError, match=rf"^display '.+' not understood; use {display_forms}"):
            make_display(spec)
    (tmp_path / "images").mkdir()
    assert isinstance(make_source(str(tmp_path / "images")), ImageFolderSource)  # a plain folder is still an image folder
    assert make_source("synthetic").scenario == "default" and make_source("synthetic:still").scenario == "still"
    assert make_display("fb", fb_device="/dev/fb3").device == Path("/dev/fb3") and make_display("fb:/dev/fb1").device == Path("/dev/fb1")


def _imported_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    r = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


def test_naming_a_part_imports_only_its_module():
    mods = _imported_after("from edge.landmarks import make_landmarker\nmake_landmarker('mean')")
    assert "edge.landmarks.mean" in mods
    assert not {"edge.landmarks.cnn", "edge.landmarks.clm", "edge.landmarks.peers", "edge.inference"} & mods
    mods = _imported_after("from edge.detect import make_detector\nimport edge.landmarks")
    assert "edge.detect.haar" not in mods  # the table names it; nothing imports it until it is made
    mods = _imported_after("from edge.effects import make_effect\nmake_effect('landmarks:2')")
    assert "edge.effects.landmarks" in mods and not {"edge.effects.swap", "edge.effects.mask", "edge.effects.signals"} & mods
    mods = _imported_after("from edge.cli import build_parser\nbuild_parser()")
    assert "edge.commands.train" in mods and not {m.split(".")[0] for m in mods} & {"convert", "torch", "scipy"}
