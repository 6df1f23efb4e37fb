"""The heads: NN_b gives an X-ray in (0, 1) at the input size, NN_c is GAP + FC, input checks."""

import numpy as np
import pytest
import torch

from facexray_forensics.model import create


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    network = create("hrnet_w18")
    # Untrained BN statistics let activations grow without bound in eval mode; measure real ones first.
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None
    with torch.no_grad():
        network.train()(torch.rand(4, 3, 64, 64))
        network.eval()
        network.xray_head.weight.normal_(0.0, 0.05)  # a non-trivial X-ray head (it starts at zero)
        network.xray_head.bias.fill_(-0.5)
    return network


def test_xray_lies_strictly_between_zero_and_one(model):
    with torch.no_grad():
        xray, _ = model(torch.rand(2, 3, 64, 64))
    assert torch.all(xray > 0) and torch.all(xray < 1)
    assert xray.std() > 0


def test_class_head_is_global_average_pool_then_fc(model):
    x = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        xray, logits = model(x)
    pooled = xray.double().numpy().mean(axis=(1, 2, 3))
    weight = model.class_head.weight.detach().double().numpy()  # 2×1
    bias = model.class_head.bias.detach().double().numpy()
    manual = pooled[:, None] * weight[:, 0][None, :] + bias[None, :]
    np.testing.assert_allclose(logits.double().numpy(), manual, rtol=1e-5, atol=1e-6)
    softmax = np.exp(manual) / np.exp(manual).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(torch.softmax(logits, 1).numpy(), softmax, rtol=1e-5, atol=1e-6)


def test_xray_is_the_sigmoid_of_the_logits_and_input_is_normalised_inside(model):
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        xray, _ = model(x)
        xray_logits, _ = model.forward_logits(x)
        # Normalising by hand and feeding the backbone directly gives the same features.
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        features = model.backbone((x - mean) / std)
        reference = model.backbone(model_input := (x - model.mean) / model.std)
    torch.testing.assert_close(xray, torch.sigmoid(xray_logits))
    assert model_input.shape == x.shape
    torch.testing.assert_close(features[0], reference[0])


def test_bad_input_raises(model):
    with pytest.raises(ValueError, match="N×3×H×W"):
        model(torch.rand(3, 64, 64))
    with pytest.raises(TypeError, match="float"):
        model(torch.zeros(1, 3, 64, 64, dtype=torch.uint8))
    with pytest.raises(ValueError, match="at least 32"):
        model(torch.rand(1, 3, 16, 16))


def test_log_pool_head_is_fc_on_log_mean_and_log_brightest_percent():
    torch.manual_seed(1)
    network = create("hrnet_w18_small", class_head="log_pool").eval()
    with torch.no_grad():
        network.class_head.weight.normal_()
        xray = torch.rand(3, 1, 40, 40) ** 4  # mostly dark, a few bright pixels, like a boundary
        logits = network.classify(xray)
    flat = xray.double().numpy().reshape(3, -1)
    brightest = np.sort(flat, axis=1)[:, -16:].mean(axis=1)  # 1 % of 1600 pixels
    features = np.log(np.maximum(np.stack([flat.mean(axis=1), brightest], axis=1), 1e-4))
    weight = network.class_head.weight.detach().double().numpy()
    bias = network.class_head.bias.detach().double().numpy()
    np.testing.assert_allclose(logits.double().numpy(), features @ weight.T + bias, rtol=1e-5, atol=1e-5)


def test_unknown_class_head_is_refused():
    with pytest.raises(ValueError, match="class_head"):
        create("hrnet_w18_small", class_head="max")
