"""The loss against a hand computation, the learning-rate schedule, and config files."""

from pathlib import Path

import numpy as np
import pytest
import torch

from facexray_forensics.train import config_from_dict, face_xray_loss, load_config
from facexray_forensics.train.loop import learning_rate_factor

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"


def test_loss_equals_hand_computation():
    generator = torch.Generator().manual_seed(0)
    xray_logits = torch.randn(3, 1, 8, 8, generator=generator) * 3
    target = torch.rand(3, 1, 8, 8, generator=generator)
    class_logits = torch.randn(3, 2, generator=generator)
    labels = torch.tensor([1, 0, 1])
    total, parts = face_xray_loss(xray_logits, class_logits, target, labels, xray_weight=100.0)

    p = 1.0 / (1.0 + np.exp(-xray_logits.double().numpy()))
    b = target.double().numpy()
    bce = np.mean(-(b * np.log(p) + (1.0 - b) * np.log(1.0 - p)))
    logits = class_logits.double().numpy()
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    ce = -np.mean(log_softmax[np.arange(3), labels.numpy()])
    assert total.item() == pytest.approx(100.0 * bce + ce, rel=1e-5)
    assert parts["bce"].item() == pytest.approx(bce, rel=1e-5)
    assert parts["ce"].item() == pytest.approx(ce, rel=1e-5)


def test_learning_rate_is_flat_then_falls_linearly_to_zero_over_the_last_quarter():
    factor = learning_rate_factor(total_steps=100, decay_fraction=0.25)
    assert [factor(s) for s in (0, 50, 74)] == [1.0, 1.0, 1.0]
    assert factor(75) == 1.0 and factor(80) == pytest.approx(20 / 25) and factor(99) == pytest.approx(1 / 25)
    assert factor(100) == 0.0
    assert learning_rate_factor(10, 0.0)(9) == 1.0


def test_paper_config_has_the_paper_settings():
    config = load_config(CONFIGS / "paper_w18.toml")
    assert config.model.name == "hrnet_w18"
    assert config.loss.xray_weight == 100.0
    assert config.optim.learning_rate == 2e-4 and config.optim.decay_fraction == 0.25
    assert config.run.batch_size == 32 and config.data.image_size == 256
    assert config.run.bf16 and config.run.channels_last


def test_tiny_config_loads_and_bad_configs_raise(tmp_path):
    assert load_config(CONFIGS / "tiny_cpu.toml").run.device == "cpu"
    with pytest.raises(ValueError, match="unknown key"):
        config_from_dict({"optim": {"learning_rat": 1e-3}})
    with pytest.raises(ValueError, match="unknown section"):
        config_from_dict({"optimiser": {}})
    with pytest.raises(ValueError, match="must be float"):
        config_from_dict({"optim": {"learning_rate": "fast"}})
    with pytest.raises(ValueError, match="model.name"):
        config_from_dict({"model": {"name": "hrnet_w99"}})
    broken = tmp_path / "broken.toml"
    broken.write_text("[optim\n")
    with pytest.raises(ValueError, match="broken.toml"):
        load_config(broken)


def test_sampler_section_reaches_the_bi_sampler():
    from facexray_forensics.blending.config import SamplerConfig

    config = load_config(CONFIGS / "default_cpu_chunk2.toml")
    assert config.sampler.blend_methods == ("alpha", "laplacian", "poisson")
    assert config.sampler.h264_probability == 0.2 and config.sampler.jpeg_quality == (30, 95)
    assert config.model.init and not config.model.pretrained
    assert load_config(CONFIGS / "default_cpu.toml").sampler == SamplerConfig()
    with pytest.raises(ValueError, match="unknown key"):
        config_from_dict({"sampler": {"blend_method": ["alpha"]}})
    with pytest.raises(ValueError, match="blend_methods"):
        config_from_dict({"sampler": {"blend_methods": ["alpha", "feather"], "blend_method_weights": [1.0, 1.0]}})
    with pytest.raises(ValueError, match="GPU sampler"):
        config_from_dict({"data": {"source": "gpu", "index": "x"}, "sampler": {"h264_probability": 0.5}})
