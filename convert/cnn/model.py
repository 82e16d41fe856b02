"""A compact MobileNetV2-style regressor: grey crop in, 136 numbers (68 points in crop units) per head out.

With several heads, each is one annotation style (ytf68 and 300-W were marked by different
annotators, about 1 px apart): the features are shared, the last layer is not, so one style
does not blur the other.

Inverted residual blocks keep the multiply count low for a Pi; the head flattens the last
small feature map instead of global pooling so the position of each feature survives
(the points are positions). Only ops that convert cleanly through ONNX -> onnx2tf -> int8
TFLite (conv, depthwise conv, batch norm folded, ReLU6/ReLU, add, reshape, dense).
"""

from __future__ import annotations

import torch
from torch import nn


class ActQuant(nn.Module):
    """Fake 8-bit quantisation of an activation (quantisation-aware fine-tuning); identity unless enabled.

    Ranges are running averages of the batches' min/max; the rounding passes gradients
    straight through. Disabled, it exports as nothing. (Min/max over all batches instead
    was tried: it did not make the converter's int8 match the simulation any better.)
    """

    def __init__(self, momentum: float = 0.05) -> None:
        super().__init__()
        self.enabled = False
        self.clamp = False  # export: clip to the learned range instead of fake-quantising (see set_export_clamps)
        self.momentum = momentum
        self.register_buffer("lo", torch.tensor(0.0))
        self.register_buffer("hi", torch.tensor(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            if self.clamp and float(self.hi - self.lo) > 0.0:
                return torch.clamp(x, float(self.lo), float(self.hi))
            return x
        if self.training:
            with torch.no_grad():
                lo, hi = x.min().clamp(max=0.0), x.max().clamp(min=0.0)
                if float(self.hi - self.lo) == 0.0:
                    self.lo.copy_(lo), self.hi.copy_(hi)
                else:
                    self.lo.lerp_(lo, self.momentum), self.hi.lerp_(hi, self.momentum)
        scale = ((self.hi - self.lo) / 255.0).clamp(min=1e-8)
        zero = torch.round(-self.lo / scale)
        q = (torch.clamp(torch.round(x / scale) + zero, 0, 255) - zero) * scale
        return x + (q - x).detach()


def set_fake_quant(model: nn.Module, enabled: bool) -> None:
    for m in model.modules():
        if isinstance(m, ActQuant):
            m.enabled = enabled


def set_export_clamps(model: nn.Module, enabled: bool) -> None:
    """Clip each activation to the range its fake quantiser learned, as a plain op in the exported graph.

    A quantisation-aware fine-tune learns with activations saturating at the running
    min/max; without the clip the float graph never saturates, and the converter's
    calibration then picks wider int8 ranges than the ones trained for. Measured on the
    80 px model (400 val crops): int8 5.41% NME without the clips.
    """
    for m in model.modules():
        if isinstance(m, ActQuant):
            m.clamp = enabled


def _conv_bn(cin: int, cout: int, k: int, stride: int, groups: int = 1, act: str | None = "relu6") -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act == "relu6":
        layers.append(nn.ReLU6(inplace=True))
    elif act == "relu":
        layers.append(nn.ReLU(inplace=True))
    layers.append(ActQuant())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers = [] if expand == 1 else [_conv_bn(cin, hidden, 1, 1)]
        layers += [_conv_bn(hidden, hidden, 3, stride, groups=hidden), _conv_bn(hidden, cout, 1, 1, act=None)]
        self.body = nn.Sequential(*layers)
        self.quant = ActQuant()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return self.quant(x + y) if self.use_res else y


# (expand, channels, repeats, first stride) per stage, MobileNetV2 notation; width scales channels
STAGES = ((1, 16, 1, 1), (4, 24, 2, 2), (4, 32, 3, 2), (4, 64, 3, 2), (4, 96, 2, 1))


class LandmarkNet(nn.Module):
    """`input_size` must be divisible by 16 (four stride-2 steps)."""

    def __init__(
        self,
        input_size: int = 64,
        width: float = 1.0,
        n_points: int = 68,
        stages=STAGES,
        heads: int = 1,
        head: str = "dense",
        mirror: bool = False,
        aux_points: int = 0,
    ) -> None:
        super().__init__()
        if input_size % 16:
            raise ValueError(f"input size {input_size} must be a multiple of 16")
        self.input_size = input_size
        self.width = width
        self.heads = heads  # one 136-number output per annotation style (edge/cnn/styles.py order)
        self.head_kind = head  # dense: flatten + linear; pip: cell scores + offsets (convert/cnn/pip.py)
        # mirror heads: the points of a mirrored face in its annotators' style, mirrored (see `forward`)
        self.mirror_offset = nn.Parameter(torch.zeros(2 * n_points * heads)) if mirror else None

        def ch(c: int) -> int:
            return max(8, int(round(c * width / 8)) * 8)

        c0 = ch(16)
        self.in_quant = ActQuant()
        layers: list[nn.Module] = [_conv_bn(1, c0, 3, 2)]
        cin = c0
        for t, c, n, s in stages:
            cout = ch(c)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        head_c = ch(64)
        # plain ReLU here, not ReLU6: the converter quantises a fused ReLU6 output over its full
        # [0, 6] range, and these features live well under 1, so ReLU6 cost ~10% NME in int8
        layers.append(_conv_bn(cin, head_c, 1, 1, act="relu"))
        self.features = nn.Sequential(*layers)
        cells = (input_size // 16) ** 2
        self.aux_head: nn.Sequential | None = None
        if head == "pip":
            if aux_points:
                raise ValueError("the aflw21 head (--aflw21) goes with the dense head, not pip")
            # the maps leave the int8 model as int8 too: fake-quantised in fine-tuning like every activation
            self.head = nn.Sequential(nn.Conv2d(head_c, n_points * (1 + 2 * heads), 1), ActQuant())
            return
        if head != "dense":
            raise ValueError(f"unknown head {head!r}; choose dense or pip")
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(head_c * cells, 2 * n_points * heads))
        # training only: another markup's points (aflw21's 21) read from the same features, so faces that
        # have only that markup teach the backbone; `forward` (what is exported) never runs it
        self.aux_head = nn.Sequential(nn.Flatten(), nn.Linear(head_c * cells, 2 * aux_points)) if aux_points else None
        with torch.no_grad():  # start at the mean position: the centre of the crop
            for layer in (self.head[1],) + ((self.aux_head[1],) if self.aux_head is not None else ()):
                layer.weight.mul_(0.1)
                layer.bias.fill_(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 1, S, S) in [-1, 1] -> (N, 136 * heads) points in crop units, head after head (dense; with
        `mirror`, (N, 2 * 136 * heads): the straight heads, then the heads for mirrored crops);
        (N, G, G, 68 * (1 + 2 * heads)) cell scores and offsets (pip, decoded by edge/cnn/pip.py)."""
        return self._heads(self.features(self.in_quant(x)))

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`forward` and the training-only aflw21 head's (N, 42) points in crop units (None without it)."""
        feats = self.features(self.in_quant(x))
        return self._heads(feats), (None if self.aux_head is None else self.aux_head(feats))

    def _heads(self, feats: torch.Tensor) -> torch.Tensor:
        out = self.head(feats)
        if self.head_kind == "pip":
            return out.permute(0, 2, 3, 1)  # (N, G, G, C) maps, as TFLite keeps them
        if self.mirror_offset is not None:
            # The annotations are not mirror-symmetric: read as 0-based, a mirrored face's points sit ~1 source
            # pixel to the side of where the mirrored face's own annotators put them (measured: -1.16 px on
            # ytf68, -0.84 px on 300w-train, a flip-trained model's mean x error on its own training faces).
            # A learned constant per style and coordinate, on a second set of heads that mirrored crops are
            # read from, keeps that offset out of the straight heads (and of flip test-time averaging).
            out = torch.cat([out, out + self.mirror_offset], 1)
        return out

    def points(self, out: torch.Tensor) -> torch.Tensor:
        """Network output -> (N, 136 * heads) points in crop units (a pip head's maps decoded)."""
        if self.head_kind == "pip":
            from convert.cnn.pip import pip_decode

            return pip_decode(out, self.heads, self.input_size)
        return out


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
