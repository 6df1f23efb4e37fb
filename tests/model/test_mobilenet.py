"""The MobileNetV2 trunk: torchvision's key layout, the four strides, and the offline ImageNet start."""

import pytest
import torch

from facexray_forensics.model import create
from facexray_forensics.model.mobilenet import CLASSIFICATION_ONLY_PREFIXES
from facexray_forensics.model.registry import MOBILENET_V2_IMAGENET, pretrained_weights
from facexray_forensics.model.warm_start import read_state_dict

# MobileNetV2 of Sandler et al., Table 2: (expansion t, channels c, repeats n, stride s).
_PAPER_TABLE = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1))


def _expected_layout() -> dict[str, tuple[int, ...]]:
    """Every weight shape of features.0-17, written out from the paper's table in torchvision's naming."""
    shapes = {"features.0.0.weight": (32, 3, 3, 3)}
    bn = lambda prefix, n: {f"{prefix}.{k}": (n,) for k in ("weight", "bias", "running_mean", "running_var")}
    shapes.update(bn("features.0.1", 32))
    index, channels = 1, 32
    for t, c, n, _ in _PAPER_TABLE:
        for _ in range(n):
            hidden, p, layer = channels * t, f"features.{index}.conv", 0
            if t != 1:
                shapes[f"{p}.0.0.weight"] = (hidden, channels, 1, 1)
                shapes.update(bn(f"{p}.0.1", hidden))
                layer = 1
            shapes[f"{p}.{layer}.0.weight"] = (hidden, 1, 3, 3)
            shapes.update(bn(f"{p}.{layer}.1", hidden))
            shapes[f"{p}.{layer + 1}.weight"] = (c, hidden, 1, 1)
            shapes.update(bn(f"{p}.{layer + 2}", c))
            index, channels = index + 1, c
    return shapes


def test_trunk_has_torchvision_names_and_the_paper_shapes():
    state = create("mobilenetv2_100", features_only=True).state_dict()
    shapes = {key: tuple(value.shape) for key, value in state.items() if not key.endswith("num_batches_tracked")}
    assert shapes == _expected_layout()


def test_four_strides_with_their_channels_at_128():
    model = create("mobilenetv2_100").eval()
    assert model.backbone.feature_info.channels() == [24, 32, 96, 320]
    with torch.no_grad():
        features = model.backbone(torch.rand(2, 3, 128, 128))
        xray, logits = model(torch.rand(2, 3, 128, 128))
    assert [tuple(f.shape[1:]) for f in features] == [(24, 32, 32), (32, 16, 16), (96, 8, 8), (320, 4, 4)]
    assert xray.shape == (2, 1, 128, 128) and logits.shape == (2, 2)


def test_residual_only_where_the_shape_is_kept():
    trunk = create("mobilenetv2_100", features_only=True)
    residual = [block.residual for block in trunk.features[1:]]
    # First block of each group changes channels or stride; the repeats keep both.
    expected = [repeat > 0 for _, _, n, _ in _PAPER_TABLE for repeat in range(n)]
    assert residual == expected


def test_offline_imagenet_weights_load_key_for_key():
    if pretrained_weights("mobilenetv2_100") is None:
        pytest.fail("mobilenetv2_100 lost its pretrained entry")
    try:
        path = MOBILENET_V2_IMAGENET.path()
    except ValueError as error:
        pytest.skip(str(error))
    model = create("mobilenetv2_100", pretrained=True)
    report = model.init_report
    assert report.missing == () and report.unexpected == ()
    assert all(key.startswith(CLASSIFICATION_ONLY_PREFIXES) for key in report.ignored) and report.ignored
    checkpoint = read_state_dict(path)
    torch.testing.assert_close(model.backbone.features[17].conv[2].weight, checkpoint["features.17.conv.2.weight"])


def test_models_without_offline_weights_say_so():
    with pytest.raises(ValueError, match="no offline pretrained weights"):
        create("hrnet_w18_small", pretrained=True)
    with pytest.raises(ValueError, match="not both"):
        create("mobilenetv2_100", pretrained=True, init="x.pth")
