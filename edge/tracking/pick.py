"""`--landmarker auto`: the best landmarker whose model files are present (cnn, else clm, else mean)."""

from __future__ import annotations

from edge.landmarks import Landmarker, make_landmarker

AUTO_ORDER = ("cnn", "clm", "mean")


def _make(name: str, threads: int, delegate: str, model: str) -> Landmarker:
    kwargs: dict = {}
    if name != "mean":
        kwargs["num_threads"] = threads
    if name.startswith("cnn") and delegate:
        kwargs["delegate"] = delegate
    if model:
        kwargs["model_path"] = model
    try:
        return make_landmarker(name, **kwargs)
    except TypeError:  # a landmarker without thread / delegate settings
        kwargs.pop("num_threads", None)
        kwargs.pop("delegate", None)
        return make_landmarker(name, **kwargs)


def pick_landmarker(name: str = "auto", threads: int = 1, delegate: str = "", model: str = "") -> tuple[Landmarker, str]:
    """The landmarker and a line saying which one and why."""
    if name != "auto":
        return _make(name, threads, delegate, model), f"landmarker: {name}"
    why = []
    for cand in AUTO_ORDER:
        try:
            lm = _make(cand, threads, delegate, model if cand != "mean" else "")
            skipped = f" ({'; '.join(why)})" if why else ""
            return lm, f"landmarker: auto -> {cand}{skipped}"
        except FileNotFoundError as exc:
            why.append(f"{cand}: no model ({str(exc).split(';')[0].split(' at ')[-1]})")
        except ImportError:
            why.append(f"{cand}: not in this build")
        except (ValueError, RuntimeError) as exc:
            why.append(f"{cand}: {str(exc).splitlines()[0][:100]}")
    raise RuntimeError("no landmarker could be made: " + "; ".join(why))
