"""The HRNetV2 backbone: shapes per width, the official checkpoint key layout, and warm starts."""

from fractions import Fraction

import pytest
import torch

from facexray_forensics.model import create, list_models
from facexray_forensics.model.hrnet import CLASSIFICATION_ONLY_PREFIXES


def test_registry_lists_the_paper_family_and_the_cpu_members():
    assert list_models() == ["hrnet_w18", "hrnet_w18_small", "hrnet_w18_small_v2", "hrnet_w32", "hrnet_w48",
                             "mobilenetv2_100"]
    with pytest.raises(ValueError, match="unknown model"):
        create("resnet50")


@pytest.mark.parametrize("name, width", [("hrnet_w18", 18), ("hrnet_w32", 32), ("hrnet_w48", 48)])
def test_shapes_per_width_small_input(name, width):
    model = create(name).eval()
    backbone = model.backbone
    assert backbone.feature_info.channels() == [width, 2 * width, 4 * width, 8 * width]
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        features = backbone(x)
        xray, logits = model(x)
    for feature, channels, reduction in zip(features, backbone.feature_info.channels(), backbone.feature_info.reduction()):
        assert feature.shape == (2, channels, 64 // reduction, 64 // reduction)
    assert xray.shape == (2, 1, 64, 64) and logits.shape == (2, 2)


def test_features_only_is_the_bare_backbone():
    backbone = create("hrnet_w18", features_only=True)
    assert not hasattr(backbone, "xray_head") and len(backbone.feature_info) == 4


def test_face_xray_shapes_at_256_for_w18():
    model = create("hrnet_w18").eval()
    with torch.no_grad():
        xray, logits = model(torch.rand(1, 3, 256, 256))
    assert xray.shape == (1, 1, 256, 256) and logits.shape == (1, 2)


def test_key_layout_matches_the_official_checkpoints():
    # Facts of the official HRNet-W18 ImageNet layout: the stem, the bottleneck shortcut, the
    # doubly-nested new-branch transition, and both directions of fusion.
    state = create("hrnet_w18", features_only=True).state_dict()
    expected = {
        "conv1.weight": (64, 3, 3, 3),
        "conv2.weight": (64, 64, 3, 3),
        "layer1.0.downsample.0.weight": (256, 64, 1, 1),
        "layer1.3.conv3.weight": (256, 64, 1, 1),
        "transition1.0.0.weight": (18, 256, 3, 3),
        "transition1.1.0.0.weight": (36, 256, 3, 3),
        "transition2.2.0.0.weight": (72, 36, 3, 3),
        "transition3.3.0.0.weight": (144, 72, 3, 3),
        "stage2.0.branches.1.3.conv2.weight": (36, 36, 3, 3),
        "stage2.0.fuse_layers.0.1.0.weight": (18, 36, 1, 1),
        "stage3.3.fuse_layers.2.0.1.0.weight": (72, 18, 3, 3),
        "stage4.2.fuse_layers.3.0.0.0.weight": (18, 18, 3, 3),
        "stage4.2.fuse_layers.3.0.2.0.weight": (144, 18, 3, 3),
        "stage4.2.fuse_layers.3.0.2.1.running_var": (144,),
    }
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, key
    assert "transition2.0.0.weight" not in state  # unchanged branches pass through
    assert not any(key.startswith(CLASSIFICATION_ONLY_PREFIXES) for key in state)


@pytest.mark.parametrize("name", ["hrnet_w18", "hrnet_w48"])
def test_keys_and_shapes_equal_timm(name):
    timm = pytest.importorskip("timm", reason="timm is not installed (it is on the GPU machine)")
    reference = {
        key: tuple(value.shape)
        for key, value in timm.create_model(name, pretrained=False).state_dict().items()
        if not key.startswith(CLASSIFICATION_ONLY_PREFIXES)
    }
    ours = {key: tuple(value.shape) for key, value in create(name, features_only=True).state_dict().items()}
    assert sorted(set(reference) - set(ours)) == [] and sorted(set(ours) - set(reference)) == []
    assert ours == reference


def _imagenet_like_checkpoint(backbone):
    state = {f"module.{key}": value.clone() + 1.0 for key, value in backbone.state_dict().items() if value.is_floating_point()}
    state["module.classifier.weight"] = torch.zeros(1000, 2048)
    state["module.final_layer.0.weight"] = torch.zeros(2048, 1024, 1, 1)
    return state


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_warm_start_loads_backbone_and_ignores_classifier(tmp_path, suffix):
    source = create("hrnet_w18", features_only=True)
    state = _imagenet_like_checkpoint(source)
    path = tmp_path / f"imagenet{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k.removeprefix("module."): v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save({"state_dict": state}, path)
    model = create("hrnet_w18", init=path)
    report = model.init_report
    assert set(report.ignored) == {"classifier.weight", "final_layer.0.weight"}
    assert report.unexpected == ()
    assert all(key.endswith("num_batches_tracked") for key in report.missing)
    loaded = model.backbone.state_dict()
    assert torch.equal(loaded["stage4.0.branches.3.0.conv1.weight"], state["module.stage4.0.branches.3.0.conv1.weight"])


def test_warm_start_rejects_wrong_width_and_pickles(tmp_path):
    path = tmp_path / "w32.pth"
    torch.save(create("hrnet_w32", features_only=True).state_dict(), path)
    with pytest.raises(ValueError, match="shape"):
        create("hrnet_w18", init=path)

    evil = tmp_path / "evil.pth"
    torch.save({"x": Fraction(1, 3)}, evil)  # any class outside torch's allow-list stands for a payload
    with pytest.raises(ValueError, match="weights-only"):
        create("hrnet_w18", init=evil)
