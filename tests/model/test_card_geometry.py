"""The model card carries the class head and the input geometry; format-1 cards still read."""

import json

import pytest

from facexray_forensics.faces.extract import CropGeometry
from facexray_forensics.model import ModelCard, create, load_weights, save_weights
from facexray_forensics.model.weight_files import CARD_NAME, read_card


def test_geometry_and_head_round_trip_through_the_card(tmp_path):
    model = create("hrnet_w18_small", class_head="log_pool")
    card = ModelCard("hrnet_w18_small", class_head="log_pool", geometry=CropGeometry(size=128, scale=1.3))
    save_weights(model, tmp_path / "m", card)
    loaded = load_weights(tmp_path / "m")
    assert loaded.card.geometry == CropGeometry(size=128, scale=1.3)
    assert loaded.model.class_head_kind == "log_pool" and loaded.model.architecture == "hrnet_w18_small"
    assert read_card(tmp_path / "m").geometry.size == 128


def test_a_card_that_misnames_the_head_is_refused(tmp_path):
    with pytest.raises(ValueError, match="class head"):
        save_weights(create("hrnet_w18_small"), tmp_path / "m", ModelCard("hrnet_w18_small", class_head="log_pool"))
    with pytest.raises(ValueError, match="mobilenetv2_100"):
        save_weights(create("mobilenetv2_100"), tmp_path / "n", ModelCard("hrnet_w18_small"))


def test_format_1_cards_read_as_256_pixel_crops_with_the_paper_head(tmp_path):
    save_weights(create("hrnet_w18_small"), tmp_path / "m", ModelCard("hrnet_w18_small"))
    path = tmp_path / "m" / CARD_NAME
    data = json.loads(path.read_text())
    data["format"] = 1
    del data["geometry"], data["class_head"]
    path.write_text(json.dumps(data))
    card = read_card(tmp_path / "m")
    assert card.geometry == CropGeometry(size=256, scale=1.3) and card.class_head == "gap"
    data["format"] = 7
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="format"):
        read_card(tmp_path / "m")
