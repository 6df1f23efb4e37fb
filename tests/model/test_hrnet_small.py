"""HRNet configs: timm's two small variants, and the full-size ones left exactly as they were.

The expected key layout comes from :func:`reference_layout`, a plain restatement
of how timm's / the official ``HighResolutionNet`` names and sizes its tensors,
written independently of the module code under test.
"""

import hashlib

import pytest
import torch

from facexray_forensics.model.hrnet import CLASSIFICATION_ONLY_PREFIXES, CONFIGS, HRNet, HRNetConfig, StageConfig

SMALL = ["hrnet_w18_small", "hrnet_w18_small_v2"]


def _conv_bn(prefix: str, conv: str, bn: str, in_channels: int, out_channels: int, kernel: int) -> dict:
    return {
        f"{prefix}{conv}.weight": (out_channels, in_channels, kernel, kernel),
        **{f"{prefix}{bn}.{name}": (out_channels,) for name in ("weight", "bias", "running_mean", "running_var")},
        f"{prefix}{bn}.num_batches_tracked": (),
    }


def _stage1_layout(blocks: int, planes: int) -> dict:
    layout, in_channels = {}, 64
    for block in range(blocks):
        prefix = f"layer1.{block}."
        layout |= _conv_bn(prefix, "conv1", "bn1", in_channels, planes, 1)
        layout |= _conv_bn(prefix, "conv2", "bn2", planes, planes, 3)
        layout |= _conv_bn(prefix, "conv3", "bn3", planes, 4 * planes, 1)
        if in_channels != 4 * planes:
            layout |= _conv_bn(prefix, "downsample.0", "downsample.1", in_channels, 4 * planes, 1)
        in_channels = 4 * planes
    return layout


def _transition_layout(number: int, previous: tuple, current: tuple) -> dict:
    layout = {}
    for branch, channels in enumerate(current):
        if branch >= len(previous):  # the new branch: Sequential(Sequential(conv s2, bn, relu))
            layout |= _conv_bn(f"transition{number}.{branch}.0.", "0", "1", previous[-1], channels, 3)
        elif previous[branch] != channels:
            layout |= _conv_bn(f"transition{number}.{branch}.", "0", "1", previous[branch], channels, 3)
    return layout


def _module_layout(prefix: str, stage: StageConfig) -> dict:
    layout = {}
    for branch, (blocks, channels) in enumerate(zip(stage.blocks, stage.channels)):
        for block in range(blocks):
            block_prefix = f"{prefix}branches.{branch}.{block}."
            for conv in (1, 2):
                layout |= _conv_bn(block_prefix, f"conv{conv}", f"bn{conv}", channels, channels, 3)
    for target, target_channels in enumerate(stage.channels):
        for source, source_channels in enumerate(stage.channels):
            fuse = f"{prefix}fuse_layers.{target}.{source}."
            if source > target:
                layout |= _conv_bn(fuse, "0", "1", source_channels, target_channels, 1)
            for step in range(target - source):  # chains of stride-2 convs, widening at the last
                out_channels = target_channels if step == target - source - 1 else source_channels
                layout |= _conv_bn(f"{fuse}{step}.", "0", "1", source_channels, out_channels, 3)
    return layout


def reference_layout(config: HRNetConfig) -> dict[str, tuple]:
    """Every state_dict key of timm's HighResolutionNet trunk for ``config``, with its shape."""
    layout = _conv_bn("", "conv1", "bn1", 3, 64, 3) | _conv_bn("", "conv2", "bn2", 64, 64, 3)
    layout |= _stage1_layout(config.stage1_blocks, config.stage1_planes)
    previous = (4 * config.stage1_planes,)
    for number, stage in enumerate(config.stages, start=2):
        layout |= _transition_layout(number - 1, previous, stage.channels)
        for module in range(stage.modules):
            layout |= _module_layout(f"stage{number}.{module}.", stage)
        previous = stage.channels
    return layout


def _layout(model: torch.nn.Module) -> dict[str, tuple]:
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def _fingerprint(layout: dict[str, tuple]) -> tuple[int, str]:
    text = "\n".join(f"{key} {list(shape)}" for key, shape in sorted(layout.items()))
    return len(layout), hashlib.sha256(text.encode()).hexdigest()


# Sorted (key, shape) lists of HRNet(width) taken from hrnet.py before configs existed.
FULL_SIZE_FINGERPRINTS = {
    18: (1830, "088eac1b394646717dfb619ac74eee6905be9eecaf57bb88f5477f5c41e095dc"),
    32: (1830, "910d9fefb3554ac213839272e951b825a75123a515264f47ec815dfe969eabf5"),
    48: (1830, "62379f6f5dd9850f8fa0db936dc4660a9566a550c204ac36e6851fac757e9434"),
}


@pytest.mark.parametrize("width", [18, 32, 48])
def test_full_size_layout_is_unchanged(width):
    by_width = HRNet(width)
    by_config = HRNet(CONFIGS[f"hrnet_w{width}"])
    assert _fingerprint(_layout(by_width)) == FULL_SIZE_FINGERPRINTS[width]
    assert _layout(by_config) == _layout(by_width) and by_config.width == width
    # The reference agrees with the pre-change code, so it can be trusted for the small variants.
    assert _fingerprint(reference_layout(CONFIGS[f"hrnet_w{width}"])) == FULL_SIZE_FINGERPRINTS[width]


@pytest.mark.parametrize("name", SMALL)
def test_small_layout_matches_the_reference(name):
    ours, expected = _layout(HRNet(CONFIGS[name])), reference_layout(CONFIGS[name])
    assert sorted(set(expected) - set(ours)) == [] and sorted(set(ours) - set(expected)) == []
    assert ours == expected


def test_w18_small_landmarks():
    state = _layout(HRNet(CONFIGS["hrnet_w18_small"]))
    assert state["layer1.0.downsample.0.weight"] == (128, 64, 1, 1)
    assert "layer1.1.conv1.weight" not in state  # a single bottleneck
    assert state["transition1.0.0.weight"] == (16, 128, 3, 3)  # 128 -> 16 needs its own conv
    assert state["transition1.1.0.0.weight"] == (32, 128, 3, 3)
    assert state["stage2.0.fuse_layers.1.0.0.0.weight"] == (32, 16, 3, 3)
    assert state["stage4.0.fuse_layers.0.3.0.weight"] == (16, 128, 1, 1)
    assert "stage2.0.branches.0.2.conv1.weight" not in state  # two blocks per branch
    assert "stage3.1.branches.0.0.conv1.weight" not in state  # one module per stage


# Trunk only (stem, layer1, transitions, stages 2-4), counted from the code and confirmed by
# reference_layout. HRNet's segmentation/landmark READMEs quote these backbones as ~1.5M and ~3.9M.
# timm's classification models (13.2M, 15.6M) add incre_modules (1.36M / 1.39M),
# downsamp_modules (6.20M), final_layer (2.10M) and the 1000-class classifier (2.05M).
TRUNK_PARAMETERS = {"hrnet_w18_small": 1_477_920, "hrnet_w18_small_v2": 3_860_720}


def _reference_parameter_count(config: HRNetConfig) -> int:
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    layout = reference_layout(config)
    return sum(torch.Size(shape).numel() for key, shape in layout.items() if not key.endswith(buffers))


@pytest.mark.parametrize("name", SMALL)
def test_trunk_parameter_count(name):
    model = HRNet(CONFIGS[name])
    assert sum(parameter.numel() for parameter in model.parameters()) == TRUNK_PARAMETERS[name]
    assert _reference_parameter_count(CONFIGS[name]) == TRUNK_PARAMETERS[name]


@pytest.mark.parametrize("name", SMALL)
def test_outputs_at_128(name):
    model = HRNet(CONFIGS[name]).eval()
    channels = list(CONFIGS[name].stages[-1].channels)
    assert model.feature_info.channels() == channels and model.feature_info.reduction() == [4, 8, 16, 32]
    assert model.width == channels[0]
    with torch.no_grad():
        features = model(torch.rand(2, 3, 128, 128))
    assert [tuple(feature.shape) for feature in features] == [
        (2, count, 128 // stride, 128 // stride) for count, stride in zip(channels, (4, 8, 16, 32))
    ]


@pytest.mark.parametrize("name", SMALL)
def test_gradients_reach_every_parameter(name):
    torch.manual_seed(0)
    model = HRNet(CONFIGS[name]).train()
    features = model(torch.rand(2, 3, 64, 64))
    # Random weights on the outputs: a plain sum would give BN (train mode) near-zero gradients.
    loss = sum((feature * torch.randn_like(feature)).sum() for feature in features)
    loss.backward()
    for key, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), key
        assert parameter.grad.abs().sum() > 0, key


def test_invalid_configs_are_refused():
    with pytest.raises(ValueError, match="width"):
        HRNet(0)
    with pytest.raises(ValueError, match="branches"):
        HRNetConfig(1, 32, (StageConfig(1, (2,), (16,)),) * 3)
    with pytest.raises(ValueError, match="non-positive"):
        HRNetConfig(1, 32, (
            StageConfig(1, (2, 2), (16, 32)),
            StageConfig(0, (2, 2, 2), (16, 32, 64)),
            StageConfig(1, (2, 2, 2, 2), (16, 32, 64, 128)),
        ))


@pytest.mark.parametrize("name", SMALL)
def test_keys_shapes_and_features_equal_timm(name):
    timm = pytest.importorskip("timm", reason="timm is not installed")
    reference = {
        key: shape
        for key, shape in _layout(timm.create_model(name, features_only=True)).items()
        if not key.startswith(CLASSIFICATION_ONLY_PREFIXES)
    }
    ours = HRNet(CONFIGS[name])
    assert _layout(ours) == reference
    # Without the incre head, timm returns the stem (stride 2) and then the four trunk outputs.
    plain = timm.create_model(name, features_only=True, feature_location="", out_indices=(1, 2, 3, 4))
    assert plain.feature_info.channels() == ours.feature_info.channels()
    assert plain.feature_info.reduction() == ours.feature_info.reduction()
