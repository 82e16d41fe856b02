"""The face detector network: grey image in, two levels of CenterNet-style maps out.

A MobileNetV2-style backbone (the landmark CNN's blocks, `convert.cnn.model`) down to
stride 16, with heads at stride 8 (small faces) and 16 (large ones). Each head gives three
maps, kept as separate outputs so each gets its own int8 scale: `heat` (1 channel,
face-centre logit), `box` (4: centre offset in the cell, log width and height in strides),
`kps` (10: five key points relative to the centre, in face sizes). Fully convolutional
(conv, depthwise conv, ReLU6/ReLU, add), so the TFLite model runs at any input size that
is a multiple of 16. The stride and level rules are the runtime's (`edge.detect.cnn`).
"""

from __future__ import annotations

import torch
from torch import nn

from convert.cnn.model import ActQuant, InvertedResidual, _conv_bn

# (expand, channels, repeats, first stride) per stage; the stride-8 and stride-16 features feed the heads
STAGES_8 = ((1, 16, 1, 1), (3, 24, 2, 2), (4, 32, 4, 2))
STAGES_16 = ((4, 64, 3, 2), (4, 96, 2, 1))
HEAD_CHANNELS = 48
OUTPUTS = (("heat", 1), ("box", 4), ("kps", 10))


def _stages(cin: int, stages, ch) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = []
    for t, c, n, s in stages:
        cout = ch(c)
        for i in range(n):
            layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
            cin = cout
    return nn.Sequential(*layers), cin


class Head(nn.Module):
    def __init__(self, cin: int, hidden: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(_conv_bn(cin, cin, 3, 1, groups=cin), _conv_bn(cin, hidden, 1, 1, act="relu"))
        self.outs = nn.ModuleList(nn.Conv2d(hidden, n, 1) for _, n in OUTPUTS)
        with torch.no_grad():
            self.outs[0].bias.fill_(-4.6)  # start at P(face) ~ 1%: the focal loss's usual prior
            for o in self.outs[1:]:
                o.weight.mul_(0.1)
                o.bias.zero_()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        y = self.trunk(x)
        return [o(y) for o in self.outs]


class DetectorNet(nn.Module):
    def __init__(self, width: float = 1.0, stages_8=STAGES_8, stages_16=STAGES_16, head_channels: int = HEAD_CHANNELS) -> None:
        super().__init__()
        self.width = width

        def ch(c: int) -> int:
            return max(8, int(round(c * width / 8)) * 8)

        self.in_quant = ActQuant()
        self.stem = _conv_bn(1, ch(16), 3, 2)
        self.to8, c8 = _stages(ch(16), stages_8, ch)
        self.to16, c16 = _stages(c8, stages_16, ch)
        self.head8, self.head16 = Head(c8, ch(head_channels)), Head(c16, ch(head_channels))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x (N, 1, H, W) in [-1, 1] -> [heat8, box8, kps8, heat16, box16, kps16]."""
        f8 = self.to8(self.stem(self.in_quant(x)))
        f16 = self.to16(f8)
        return self.head8(f8) + self.head16(f16)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
