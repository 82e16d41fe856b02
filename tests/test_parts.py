"""Which part takes which run option is written once, in its registry entry: the entries agree with the factories,
a part gets the options it takes, and one asked of a part that does not take it is a one-line error."""

from __future__ import annotations

import inspect

import pytest

from edge.detect.base import DETECTORS
from edge.landmarks.base import LANDMARKERS
from edge.parts import PartOptions, check_part, make_part


@pytest.mark.parametrize(("registry", "name"), [(r, n) for r in (DETECTORS, LANDMARKERS) for n in r.names() if r.takes(n)])
def test_each_entry_names_keywords_its_factory_takes(registry, name):
    params = inspect.signature(registry.load(name)).parameters
    for option, keyword in registry.takes(name).items():
        assert keyword in params, f"{registry.kind} {name}: {option} -> {keyword}, which its factory does not take"


def test_a_part_gets_what_it_takes_and_whole_run_settings_pass_the_others_by():
    opts = PartOptions(threads=3, min_face=40)
    assert check_part(DETECTORS, "cnn", opts) == {"num_threads": 3, "min_face": 40}
    assert check_part(DETECTORS, "haar", opts) == {"min_face": 40}  # Haar runs on OpenCV's threads
    assert check_part(LANDMARKERS, "mean", PartOptions(threads=2)) == {}
    assert check_part(LANDMARKERS, "cnn", PartOptions(threads=2, style="ytf68")) == {"num_threads": 2, "style": "ytf68"}
    assert make_part(LANDMARKERS, "cnn", PartOptions(threads=2)).model.delegate  # made, with its interpreter


@pytest.mark.parametrize(
    ("name", "opts", "words"),
    [
        ("mean", PartOptions(model="x.npz"), ["--model x.npz", "clm, cnn, cnn+clm", "not of mean", "use clm"]),
        ("clm", PartOptions(delegate="xnnpack"), ["--delegate xnnpack", "cnn, cnn+clm", "not of clm"]),
        ("clm", PartOptions(style="ytf68"), ["--landmark-style ytf68", "not of clm"]),
    ],
)
def test_an_option_asked_of_a_part_that_does_not_take_it_is_one_line(name, opts, words):
    with pytest.raises(ValueError) as err:
        check_part(LANDMARKERS, name, opts)
    assert "\n" not in str(err.value) and all(w in str(err.value) for w in words), err.value
