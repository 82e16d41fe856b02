"""The pixel-in-pixel head: training targets, the torch decoder and the runtime's numpy decoder agree."""

from __future__ import annotations

import numpy as np
import pytest

from edge.cnn.pip import decode_pip, pip_heads


def _maps_for(points: np.ndarray, g: int, size: int, heads: int, head: int) -> np.ndarray:
    """(G, G, C) maps whose best cell and offset put each point exactly at `points` (crop px) in head `head`."""
    n = len(points)
    maps = np.zeros((g, g, n * (1 + 2 * heads)), np.float32)
    cells = points * (size - 1) / size * g  # crop units * (size - 1) px / cell px
    ij = np.clip(np.floor(cells), 0, g - 1).astype(int)
    for k in range(n):
        maps[ij[k, 1], ij[k, 0], k] = 1.0
        base = n + (head * n + k) * 2
        maps[ij[k, 1], ij[k, 0], base : base + 2] = cells[k] - ij[k]
    return maps


def test_numpy_decoder_reads_the_best_cell_and_its_offset():
    rng = np.random.default_rng(0)
    size, g = 96, 6
    pts = rng.uniform(0.05, 0.95, (68, 2))  # crop units
    for heads, head in ((1, 0), (2, 0), (2, 1)):
        maps = _maps_for(pts, g, size, heads, head)
        assert pip_heads(maps.shape[-1]) == heads
        assert np.allclose(decode_pip(maps, head, size).reshape(-1, 2), pts, atol=1e-5)
    assert pip_heads(136) == 0 and pip_heads(68 + 136 * 2) == 2


@pytest.mark.workstation
def test_torch_decoder_and_loss_agree_with_the_runtime():
    torch = pytest.importorskip("torch", reason="training needs the workstation stack: pip install 'edgetrack[convert]'")
    from convert.cnn.pip import pip_decode, pip_loss

    rng = np.random.default_rng(1)
    size, g = 96, 6
    pts = rng.uniform(0.05, 0.95, (68, 2))
    maps = _maps_for(pts, g, size, 2, 1)
    out = torch.from_numpy(maps[None])
    decoded = pip_decode(out, 2, size).numpy().reshape(2, 68, 2)
    assert np.allclose(decoded[1], pts, atol=1e-5)
    target = torch.from_numpy(pts.reshape(1, -1).astype(np.float32))
    assert float(pip_loss(out, target, torch.tensor([1]), 2, size)) < 1e-6  # exact maps, own head: no loss
    assert float(pip_loss(out, target, torch.tensor([0]), 2, size)) > 0.1  # the other head's offsets are empty
