"""HRNetV2 backbone (Wang et al., "Deep High-Resolution Representation Learning").

Module and parameter names follow the official ImageNet classification
checkpoints (and timm's ``hrnet_w*`` state dicts), so a checkpoint of that
family loads into :class:`HRNet` key for key. Only the part the X-ray head
needs is built: the stem, ``layer1``, the transitions and stages 2 to 4.
The classification-only parts of those checkpoints (``incre_modules``,
``downsamp_modules``, ``final_layer``, ``classifier``) are listed in
:data:`CLASSIFICATION_ONLY_PREFIXES` and skipped when warm-starting.

Layout for width C (18, 32 or 48): a stride-4 stem of two 3×3 convs, four
bottlenecks (64 -> 256 channels), then stages of 1, 4 and 3 multi-resolution
modules with 2, 3 and 4 branches of C, 2C, 4C and 8C channels, four basic
blocks per branch, and full fusion between branches after every module.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

#: Key prefixes of the ImageNet checkpoints that belong to their classifier only.
CLASSIFICATION_ONLY_PREFIXES = ("incre_modules.", "downsamp_modules.", "final_layer.", "classifier.")

#: Widths of the variants, by registry name.
WIDTHS = {"hrnet_w18": 18, "hrnet_w32": 32, "hrnet_w48": 48}

_STEM_CHANNELS = 64
_BLOCKS_PER_BRANCH = 4
# (number of modules, number of branches) for stages 2, 3 and 4.
_STAGES = ((1, 2), (4, 3), (3, 4))


def _conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
    ]


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a residual connection (channels unchanged)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = _conv_bn(channels, channels, 3)
        self.conv2, self.bn2 = _conv_bn(channels, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + x, inplace=True)


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3, 1×1 expand (×4), with a projected shortcut when the channels change."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int) -> None:
        super().__init__()
        out_channels = planes * self.expansion
        self.conv1, self.bn1 = _conv_bn(in_channels, planes, 1)
        self.conv2, self.bn2 = _conv_bn(planes, planes, 3)
        self.conv3, self.bn3 = _conv_bn(planes, out_channels, 1)
        self.downsample = nn.Sequential(*_conv_bn(in_channels, out_channels, 1)) if in_channels != out_channels else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = F.relu(self.bn2(self.conv2(out)), inplace=True)
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut, inplace=True)


class MultiResolutionModule(nn.Module):
    """Parallel branches of basic blocks, then every branch receives the sum of all others.

    A lower-resolution input reaches a higher-resolution output through a 1×1
    conv, BN and nearest upsampling; a higher-resolution input reaches a lower
    one through a chain of stride-2 3×3 convs (ReLU between, none after the last).
    """

    def __init__(self, channels: list[int]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(*(BasicBlock(width) for _ in range(_BLOCKS_PER_BRANCH))) for width in channels
        )
        self.fuse_layers = nn.ModuleList()
        for target, target_width in enumerate(channels):
            row = nn.ModuleList()
            for source, source_width in enumerate(channels):
                if source > target:
                    row.append(nn.Sequential(*_conv_bn(source_width, target_width, 1)))
                elif source == target:
                    row.append(nn.Identity())
                else:
                    steps = []
                    for step in range(target - source):
                        last = step == target - source - 1
                        layers = _conv_bn(source_width, target_width if last else source_width, 3, stride=2)
                        steps.append(nn.Sequential(*layers) if last else nn.Sequential(*layers, nn.ReLU()))
                    row.append(nn.Sequential(*steps))
            self.fuse_layers.append(row)

    def forward(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        branch_outputs = [branch(x) for branch, x in zip(self.branches, inputs)]
        fused = []
        for target, row in enumerate(self.fuse_layers):
            size = branch_outputs[target].shape[-2:]
            total = branch_outputs[target]
            for source, layer in enumerate(row):
                if source == target:
                    continue
                contribution = layer(branch_outputs[source])
                if source > target:
                    # Interpolating to the exact size (rather than a fixed factor) keeps odd input sizes working.
                    contribution = F.interpolate(contribution, size=size, mode="nearest")
                total = total + contribution
            fused.append(F.relu(total))
        return fused


def _transition(previous: list[int], current: list[int]) -> nn.ModuleList:
    """Adapt the branches of one stage to the next, adding one new stride-2 branch."""
    layers = nn.ModuleList()
    for index, width in enumerate(current):
        if index < len(previous):
            if previous[index] == width:
                layers.append(nn.Identity())
            else:
                layers.append(nn.Sequential(*_conv_bn(previous[index], width, 3), nn.ReLU(inplace=True)))
        else:
            # The official layout wraps the single new stride-2 conv in its own Sequential.
            layers.append(nn.Sequential(nn.Sequential(*_conv_bn(previous[-1], width, 3, stride=2), nn.ReLU(inplace=True))))
    return layers


@dataclass(frozen=True)
class FeatureInfo:
    """What the backbone returns: one entry per resolution, highest first (like timm's ``feature_info``)."""

    entries: tuple[dict, ...]

    def channels(self) -> list[int]:
        return [entry["num_chs"] for entry in self.entries]

    def reduction(self) -> list[int]:
        return [entry["reduction"] for entry in self.entries]

    def __len__(self) -> int:
        return len(self.entries)


class HRNet(nn.Module):
    """HRNetV2 features: ``forward(x)`` returns the four stage-4 maps at strides 4, 8, 16 and 32.

    ``x`` is N×3×H×W, already normalised. ``feature_info.channels()`` is
    ``[C, 2C, 4C, 8C]``.
    """

    def __init__(self, width: int = 18) -> None:
        super().__init__()
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        self.width = width
        self.conv1, self.bn1 = _conv_bn(3, _STEM_CHANNELS, 3, stride=2)
        self.conv2, self.bn2 = _conv_bn(_STEM_CHANNELS, _STEM_CHANNELS, 3, stride=2)
        self.layer1 = nn.Sequential(
            Bottleneck(_STEM_CHANNELS, _STEM_CHANNELS),
            *(Bottleneck(_STEM_CHANNELS * Bottleneck.expansion, _STEM_CHANNELS) for _ in range(_BLOCKS_PER_BRANCH - 1)),
        )
        previous = [_STEM_CHANNELS * Bottleneck.expansion]
        for number, (modules, branches) in enumerate(_STAGES, start=2):
            current = [width * 2**branch for branch in range(branches)]
            setattr(self, f"transition{number - 1}", _transition(previous, current))
            setattr(self, f"stage{number}", nn.Sequential(*(MultiResolutionModule(current) for _ in range(modules))))
            previous = current
        self.feature_info = FeatureInfo(
            tuple(
                {"num_chs": channels, "reduction": 4 * 2**index, "module": f"stage4.{index}"}
                for index, channels in enumerate(previous)
            )
        )
        self._initialise()

    def _initialise(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        x = F.relu(self.bn2(self.conv2(x)), inplace=True)
        branches = [self.layer1(x)]
        for transition, stage in (
            (self.transition1, self.stage2),
            (self.transition2, self.stage3),
            (self.transition3, self.stage4),
        ):
            # A new branch grows from the lowest resolution so far; existing ones pass through.
            branches = [
                branches[index] if isinstance(layer, nn.Identity) else layer(branches[min(index, len(branches) - 1)])
                for index, layer in enumerate(transition)
            ]
            for module in stage:
                branches = module(branches)
        return branches
