"""MobileNetV2 trunk (Sandler et al., 2018) as a multi-resolution feature extractor.

Module and parameter names follow torchvision's ``mobilenet_v2`` (``features.N...``),
so torchvision's ImageNet checkpoint loads into it key for key. Only the
inverted-residual trunk is built (``features.0`` to ``features.17``); the
final 1×1 conv to 1280 channels and the classifier belong to ImageNet
classification and are not needed by the X-ray head.

``forward`` returns four maps at strides 4, 8, 16 and 32 (24, 32, 96 and 320
channels): the outputs of ``features.3``, ``.6``, ``.13`` and ``.17``, the last
block of each resolution, which the X-ray head fuses as the paper's NN_b fuses
HRNet's branches.
"""

from __future__ import annotations

import torch
from torch import nn

from facexray_forensics.model.hrnet import FeatureInfo

# (expansion, output channels, blocks, first stride) of each group, as in the paper's Table 2.
_INVERTED_RESIDUAL_GROUPS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                             (6, 160, 3, 2), (6, 320, 1, 1))
_STEM_CHANNELS = 32
# Indices into ``features`` whose outputs are returned, and their strides.
_TAPS = (3, 6, 13, 17)
_TAP_STRIDES = (4, 8, 16, 32)
#: Key prefixes of torchvision's checkpoint that belong to ImageNet classification only.
CLASSIFICATION_ONLY_PREFIXES = ("features.18.", "classifier.")


def _conv_bn_relu6(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                   groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """Expand by 1×1 (unless the expansion is 1), 3×3 depthwise, linear 1×1 projection;
    a residual connection when the shape is kept."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = [] if expansion == 1 else [_conv_bn_relu6(in_channels, hidden, 1)]
        layers += [
            _conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.residual else out


class MobileNetV2Trunk(nn.Module):
    """``forward(x)`` (N×3×H×W, normalised) -> four feature maps, highest resolution first."""

    classification_only_prefixes = CLASSIFICATION_ONLY_PREFIXES

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn_relu6(3, _STEM_CHANNELS, 3, stride=2)]
        channels = _STEM_CHANNELS
        for expansion, out_channels, blocks, stride in _INVERTED_RESIDUAL_GROUPS:
            for block in range(blocks):
                layers.append(InvertedResidual(channels, out_channels, stride if block == 0 else 1, expansion))
                channels = out_channels
        self.features = nn.Sequential(*layers)
        self.feature_info = FeatureInfo(tuple(
            {"num_chs": self._out_channels(tap), "reduction": stride, "module": f"features.{tap}"}
            for tap, stride in zip(_TAPS, _TAP_STRIDES)
        ))
        self._initialise()

    def leading_layers(self, count: int) -> list[nn.Module]:
        """The first ``count`` layers of ``features``, stem first (for freezing them)."""
        if not 0 <= count <= len(self.features):
            raise ValueError(f"the trunk has {len(self.features)} layers; cannot take the first {count}")
        return list(self.features[:count])

    def _out_channels(self, index: int) -> int:
        return self.features[index].conv[-1].num_features

    def _initialise(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in _TAPS:
                outputs.append(x)
        return outputs
