"""Weights on disk: exact round trip, sharding under the limit, SHA-256 refusal, and the Predictor."""

import json

import numpy as np
import pytest
import torch

from facexray_forensics.model import (
    BandThresholds,
    Calibration,
    ModelCard,
    Predictor,
    create,
    default_model_dir,
    load_weights,
    save_weights,
)
from facexray_forensics.model import weight_files
from facexray_forensics.records import Band


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(1)
    model = create("hrnet_w18").eval()
    with torch.no_grad():
        model.xray_head.weight.normal_(0.0, 1e-8)
        model.class_head.weight.fill_(3.0)
    directory = tmp_path_factory.mktemp("weights")
    card = ModelCard(
        "hrnet_w18",
        calibration=Calibration(method="temperature", temperature=2.0),
        thresholds=BandThresholds(0.3, 0.6, 0.9),
        notes={"purpose": "test"},
    )
    written = save_weights(model, directory, card)
    return model, directory, written


def test_round_trip_is_exact_and_files_stay_under_16_mib(saved):
    model, directory, written = saved
    loaded = load_weights(directory)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key
    assert loaded.card.calibration.temperature == 2.0 and loaded.card.notes == {"purpose": "test"}
    shards = sorted(directory.glob("*.safetensors"))
    assert len(shards) == len(written.files) >= 3  # W18 is about 38 MB of float32
    assert all(path.stat().st_size <= 16 * 1024 * 1024 for path in shards)
    card = json.loads((directory / "model_card.json").read_text())
    import hashlib

    for path in shards:
        assert card["files"][path.name] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_modified_file_is_rejected_naming_it(saved, tmp_path):
    _, directory, written = saved
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in directory.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    victim = copy / sorted(written.files)[1]
    data = bytearray(victim.read_bytes())
    data[-10] ^= 0x01
    victim.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=victim.name):
        load_weights(copy)
    victim.unlink()
    with pytest.raises(ValueError, match="missing"):
        load_weights(copy)


def test_writing_over_an_existing_model_is_refused(saved):
    model, directory, written = saved
    with pytest.raises(ValueError, match="already holds"):
        save_weights(model, directory, written)


def test_sharding_respects_a_smaller_limit(saved, tmp_path, monkeypatch):
    model = saved[0]
    monkeypatch.setattr(weight_files, "MAX_SHARD_BYTES", 2 * 1024 * 1024)
    monkeypatch.setattr(weight_files, "_HEADER_ALLOWANCE", 64 * 1024)
    written = save_weights(model, tmp_path / "small", ModelCard("hrnet_w18"))
    sizes = [(tmp_path / "small" / name).stat().st_size for name in written.files]
    assert len(sizes) > 10 and max(sizes) <= 2 * 1024 * 1024
    assert torch.equal(load_weights(tmp_path / "small").model.xray_head.weight, model.xray_head.weight)


def test_predictor_applies_the_card_calibration_and_bands(saved):
    model, directory, _ = saved
    predictor = Predictor(load_weights(directory), batch_size=2)
    crops = np.random.default_rng(0).integers(0, 256, size=(3, 64, 64, 3), dtype=np.uint8)
    xray, probability = predictor.predict(crops)
    assert xray.shape == (3, 64, 64) and xray.dtype == np.float32 and probability.shape == (3,)
    with torch.no_grad():
        reference_xray, logits = model(torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255.0)
    margin = (logits[:, 1] - logits[:, 0]).double().numpy()
    np.testing.assert_allclose(probability, 1.0 / (1.0 + np.exp(-margin / 2.0)), rtol=1e-4)
    np.testing.assert_allclose(xray, reference_xray[:, 0].numpy(), atol=1e-4)  # batches of 2 vs 3
    assert predictor.band(0.95) is Band.STRONG and predictor.band(0.1) is Band.NO_INDICATION
    assert len(predictor.model_sha256) == 64
    with pytest.raises(TypeError, match="uint8"):
        predictor.predict(crops.astype(np.float32))
    with pytest.raises(ValueError, match="N×H×W×3"):
        predictor.predict(crops[0])


def test_mirror_average_scores_each_crop_with_its_mirror_image(tmp_path):
    torch.manual_seed(2)
    model = create("mobilenetv2_100", class_head="log_pool").eval()
    with torch.no_grad():
        model.xray_head.weight.normal_(0.0, 1.0)
    card = save_weights(model, tmp_path / "weights", ModelCard("mobilenetv2_100", class_head="log_pool",
                                                               mirror_average=True))
    loaded = load_weights(tmp_path / "weights")
    assert loaded.card.mirror_average and json.loads((tmp_path / "weights" / "model_card.json").read_text())["mirror_average"]
    crops = np.random.default_rng(3).integers(0, 256, size=(3, 64, 64, 3), dtype=np.uint8)
    xray, margin = Predictor(loaded, batch_size=2).margins(crops)

    def plain(images):
        with torch.no_grad():
            maps, logits = model(torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0)
        return maps[:, 0].numpy(), (logits[:, 1] - logits[:, 0]).double().numpy()

    straight, mirrored = plain(crops), plain(crops[:, :, ::-1])
    np.testing.assert_allclose(margin, (straight[1] + mirrored[1]) / 2, atol=1e-4)
    np.testing.assert_allclose(xray, (straight[0] + mirrored[0][:, :, ::-1]) / 2, atol=1e-4)
    assert np.abs(xray - straight[0]).max() > 1e-2  # the mirror changed something to average
    older = dict(card.to_dict(), format=2)
    del older["mirror_average"]
    assert not ModelCard.from_dict(older).mirror_average


def test_no_default_model_until_one_ships():
    directory = default_model_dir()
    assert directory is None or (directory / "model_card.json").is_file()
