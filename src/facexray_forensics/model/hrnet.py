"""HRNetV2 backbone (Wang et al., "Deep High-Resolution Representation Learning").

Module and parameter names follow the official ImageNet classification
checkpoints (and timm's ``hrnet_w*`` state dicts), so a checkpoint of that
family loads into :class:`HRNet` key for key. Only the part the X-ray head
needs is built: the stem, ``layer1``, the transitions and stages 2 to 4.
The classification-only parts of those checkpoints (``incre_modules``,
``downsamp_modules``, ``final_layer``, ``classifier``) are listed in
:data:`CLASSIFICATION_ONLY_PREFIXES` and skipped when warm-starting.

Every variant has a stride-4 stem of two 3×3 convs (64 channels), a stage 1
of bottlenecks (``layer1``), then stages 2 to 4 of multi-resolution modules
with 2, 3 and 4 branches of basic blocks and full fusion between branches
after every module; :class:`HRNetConfig` holds what varies. The paper's
HRNetV2-W{18,32,48} (width C) use four 64-plane bottlenecks and stages of 1, 4
and 3 modules with four blocks per branch and C, 2C, 4C, 8C channels. timm's
``hrnet_w18_small`` and ``hrnet_w18_small_v2`` (HRNet-W18-Small-v1 and -v2)
are shallower and, for v1, narrower; see :data:`CONFIGS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

#: Key prefixes of the ImageNet checkpoints that belong to their classifier only.
CLASSIFICATION_ONLY_PREFIXES = ("incre_modules.", "downsamp_modules.", "final_layer.", "classifier.")

#: Widths of the full-size variants, by registry name.
WIDTHS = {"hrnet_w18": 18, "hrnet_w32": 32, "hrnet_w48": 48}

_STEM_CHANNELS = 64


@dataclass(frozen=True)
class StageConfig:
    """One of stages 2 to 4: how many modules, and per branch its basic blocks and channels."""

    modules: int
    blocks: tuple[int, ...]
    channels: tuple[int, ...]


@dataclass(frozen=True)
class HRNetConfig:
    """What varies between HRNet variants: the bottlenecks of stage 1 and stages 2, 3 and 4."""

    stage1_blocks: int
    stage1_planes: int
    stages: tuple[StageConfig, StageConfig, StageConfig]

    def __post_init__(self) -> None:
        # The forward pass and feature_info rely on one new branch per stage, four branches in the end.
        if len(self.stages) != 3:
            raise ValueError(f"expected stages 2, 3 and 4, got {len(self.stages)} stages")
        for branches, stage in enumerate(self.stages, start=2):
            if not len(stage.blocks) == len(stage.channels) == branches:
                raise ValueError(f"stage {branches} needs {branches} branches, got {stage}")
            if min(stage.modules, *stage.blocks, *stage.channels) <= 0:
                raise ValueError(f"stage {branches} has a non-positive size: {stage}")
        if min(self.stage1_blocks, self.stage1_planes) <= 0:
            raise ValueError("stage 1 needs a positive number of blocks and planes")


def full_config(width: int) -> HRNetConfig:
    """The paper's HRNetV2-W``width``."""
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    return HRNetConfig(
        stage1_blocks=4,
        stage1_planes=64,
        stages=tuple(
            StageConfig(modules, (4,) * branches, tuple(width * 2**branch for branch in range(branches)))
            for modules, branches in ((1, 2), (4, 3), (3, 4))
        ),
    )


#: Every HRNet the registry builds, by registry name (the small ones as in timm's ``cfg_cls``).
CONFIGS: dict[str, HRNetConfig] = {
    **{name: full_config(width) for name, width in WIDTHS.items()},
    "hrnet_w18_small": HRNetConfig(
        stage1_blocks=1,
        stage1_planes=32,
        stages=(
            StageConfig(1, (2, 2), (16, 32)),
            StageConfig(1, (2, 2, 2), (16, 32, 64)),
            StageConfig(1, (2, 2, 2, 2), (16, 32, 64, 128)),
        ),
    ),
    "hrnet_w18_small_v2": HRNetConfig(
        stage1_blocks=2,
        stage1_planes=64,
        stages=(
            StageConfig(1, (2, 2), (18, 36)),
            StageConfig(3, (2, 2, 2), (18, 36, 72)),
            StageConfig(2, (2, 2, 2, 2), (18, 36, 72, 144)),
        ),
    ),
}


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

    def __init__(self, blocks: tuple[int, ...], channels: tuple[int, ...]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(*(BasicBlock(width) for _ in range(count))) for count, width in zip(blocks, channels)
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


def _transition(previous: tuple[int, ...], current: tuple[int, ...]) -> nn.ModuleList:
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

    ``config`` is an :class:`HRNetConfig` (see :data:`CONFIGS`) or, as before,
    the width C of the paper's HRNetV2-W{C}. ``x`` is N×3×H×W, already
    normalised. ``feature_info.channels()`` is the stage-4 branch channels
    (``[C, 2C, 4C, 8C]`` for the full-size variants); ``width`` is the first of them.
    """

    # Checkpoint keys that the warm start reports as ignored rather than unexpected.
    classification_only_prefixes = CLASSIFICATION_ONLY_PREFIXES

    def __init__(self, config: HRNetConfig | int = 18) -> None:
        super().__init__()
        self.config = full_config(config) if isinstance(config, int) else config
        self.width = self.config.stages[0].channels[0]
        self.conv1, self.bn1 = _conv_bn(3, _STEM_CHANNELS, 3, stride=2)
        self.conv2, self.bn2 = _conv_bn(_STEM_CHANNELS, _STEM_CHANNELS, 3, stride=2)
        self.layer1 = self._stage1(self.config.stage1_blocks, self.config.stage1_planes)
        previous = (self.config.stage1_planes * Bottleneck.expansion,)
        for number, stage in enumerate(self.config.stages, start=2):
            setattr(self, f"transition{number - 1}", _transition(previous, stage.channels))
            modules = (MultiResolutionModule(stage.blocks, stage.channels) for _ in range(stage.modules))
            setattr(self, f"stage{number}", nn.Sequential(*modules))
            previous = stage.channels
        self.feature_info = FeatureInfo(
            tuple(
                {"num_chs": channels, "reduction": 4 * 2**index, "module": f"stage4.{index}"}
                for index, channels in enumerate(previous)
            )
        )
        self._initialise()

    @staticmethod
    def _stage1(blocks: int, planes: int) -> nn.Sequential:
        out_channels = planes * Bottleneck.expansion
        return nn.Sequential(
            Bottleneck(_STEM_CHANNELS, planes),
            *(Bottleneck(out_channels, planes) for _ in range(blocks - 1)),
        )

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
