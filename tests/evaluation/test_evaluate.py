"""Evaluation sets from public-domain material, the alpha and Poisson test sets, and the Table 7 report end to end."""

import json

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from skimage.data import astronaut

from facexray_forensics.data.sets import (
    EvaluationSet,
    alpha_blended,
    poisson_blended,
    read_evaluation_set,
    write_evaluation_set,
)
from facexray_forensics.data.split import split_files
from facexray_forensics.evaluation import evaluate, markdown_table, write_report

SIZE = 64


def _ellipse(n, rng):
    axis = np.arange(SIZE) + 0.5
    masks = []
    for _ in range(n):
        cx, cy = rng.uniform(24, 40, 2)
        rx, ry = rng.uniform(10, 18, 2)
        distance = np.sqrt(((axis[None, :] - cx) / rx) ** 2 + ((axis[:, None] - cy) / ry) ** 2)
        masks.append(np.clip((1.2 - distance) / 0.4, 0.0, 1.0))
    return np.stack(masks).astype(np.float32)


@pytest.fixture(scope="module")
def material():
    rng = np.random.default_rng(0)
    face = cv2.resize(astronaut()[20:220, 140:340], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    foreground = np.stack([face, np.ascontiguousarray(face[:, ::-1]), face // 2 + 100])
    background = np.stack([np.ascontiguousarray(face[::-1]), np.clip(face.astype(int) + 40, 0, 255).astype(np.uint8), face])
    real = np.stack([face, np.ascontiguousarray(face[:, ::-1]), face // 2 + 60])
    mask = _ellipse(3, rng)
    m = mask[..., None]
    blended = np.clip(np.rint(m * foreground + (1.0 - m) * background), 0, 255).astype(np.uint8)
    return EvaluationSet(
        foreground, background, mask, blended, real,
        [("a", "b"), ("c", "d"), ("e", "f")], ["g", "h", "i"],
    )


def test_round_trip_and_validation(material, tmp_path):
    write_evaluation_set(tmp_path / "set", material)
    again = read_evaluation_set(tmp_path / "set")
    np.testing.assert_array_equal(again.mask, material.mask)
    assert again.pair_sources == material.pair_sources and again.sources() == set("abcdefghi")
    with pytest.raises(ValueError, match="itself"):
        write_evaluation_set(tmp_path / "bad", EvaluationSet(
            material.foreground, material.background, material.mask, material.blended, material.real,
            [("a", "a"), ("c", "d"), ("e", "f")], ["g", "h", "i"]))
    with pytest.raises(ValueError, match="not a readable"):
        read_evaluation_set(tmp_path)


def test_alpha_set_is_the_stored_blend_with_the_eq2_xray_of_its_mask(material):
    images, xrays = alpha_blended(material)
    np.testing.assert_array_equal(images, material.blended)
    np.testing.assert_allclose(xrays, 4.0 * material.mask * (1.0 - material.mask), atol=1e-6)


def test_poisson_blend_changes_only_the_masked_region_and_its_xray_is_eq2_of_the_softened_mask(material):
    images, xrays = poisson_blended(material)
    binary = (material.mask >= 0.5).astype(np.float32)
    for index in range(3):
        # seamlessClone solves over the mask's bounding box (corners off the mask may shift a little);
        # outside the box nothing changes.
        x, y, width, height = cv2.boundingRect(binary[index].astype(np.uint8))
        box = np.zeros(binary[index].shape, bool)
        box[y - 1 : y + height + 1, x - 1 : x + width + 1] = True
        np.testing.assert_array_equal(images[index][~box], material.background[index][~box])
        inside = binary[index] > 0
        assert np.mean(np.abs(images[index][inside].astype(int) - material.background[index][inside])) > 2
        softened = cv2.GaussianBlur(binary[index], (3, 3), 0, borderType=cv2.BORDER_REFLECT_101)
        np.testing.assert_allclose(xrays[index], 4.0 * softened * (1.0 - softened), atol=1e-5)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    from facexray_forensics.model import ModelCard, create, save_weights

    torch.manual_seed(0)
    model = create("hrnet_w18")
    with torch.no_grad():
        model.xray_head.weight.normal_(0.0, 1e-7)
    directory = tmp_path_factory.mktemp("model")
    save_weights(model.eval(), directory, ModelCard("hrnet_w18"))
    return directory


def test_report_has_the_table_7_rows_and_columns(material, weights, tmp_path):
    from facexray_forensics.model import Predictor, load_weights

    report = evaluate(Predictor(load_weights(weights)), material, pixel_stride=1, progress=False, degradations=("none",))
    assert list(report["rows"]) == ["alpha-blended BI", "Poisson-blended", "Laplacian-blended", "all blended"]
    row = report["rows"]["Poisson-blended"]
    assert row["blended"] == 3 and row["real"] == 3
    assert set(row) >= {"auc", "ap", "eer", "tpr_at_1pct_fpr", "pixel_auc", "iou"}
    assert 0.0 <= row["auc"] <= 1.0
    table = markdown_table(report)
    assert table.splitlines()[0].startswith("| Test set | Blended / real | AUC | AP | EER | TPR @ 1% FPR |")
    assert table.count("\n| ") == 4
    json_path, markdown_path = write_report(report, tmp_path / "out")
    assert json.loads(json_path.read_text())["rows"]["all blended"]["blended"] == 9
    assert markdown_path.read_text() == table


def test_cli_refuses_sources_that_are_not_held_out(material, weights, tmp_path):
    from facexray_forensics.cli import main
    from facexray_forensics.data.split import write_split

    write_evaluation_set(tmp_path / "set", material)
    everything = [(f"{s}.jpg", s) for s in "abcdefghi"]
    split = split_files(everything, 0.5)
    write_split(split, tmp_path / "split.json")
    result = CliRunner().invoke(main, ["model", "evaluate", str(tmp_path / "set"), "--model", str(weights),
                                       "--split", str(tmp_path / "split.json"), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0 and "held-out" in result.output
    result = CliRunner().invoke(main, ["model", "evaluate", str(tmp_path / "set"), "--model", str(weights),
                                       "--out", str(tmp_path / "out"), "--degradations", "jpeg50"])
    assert result.exit_code != 0 and "jpeg50" in result.output
    result = CliRunner().invoke(main, ["model", "evaluate", str(tmp_path / "set"), "--model", str(weights),
                                       "--out", str(tmp_path / "out"), "--degradations", "none, jpeg75"])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "out" / "evaluation.json").read_text())["rows"]
    assert len(rows) == 7 and rows["Laplacian-blended · JPEG q75"]["real"] == 3
    assert (tmp_path / "out" / "evaluation.md").is_file()


def test_cli_default_degradations_are_all_of_them():
    from facexray_forensics.cli.model import _ALL_DEGRADATIONS
    from facexray_forensics.data.sets import DEGRADATIONS

    assert _ALL_DEGRADATIONS == ",".join(DEGRADATIONS)


def test_evaluation_set_from_a_face_index_uses_only_the_given_sources(tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("tiny", Path(__file__).resolve().parents[1] / "train" / "conftest.py")
    tiny = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny)
    index = tiny.write_tiny_index(tmp_path / "index")
    from facexray_forensics.data.sets import evaluation_set_from_index

    item = evaluation_set_from_index(index, ["person1", "person2", "person3"], pairs=3, reals=2, progress=False)
    assert item.sources() <= {"person1", "person2", "person3"}
    assert all(f != b for f, b in item.pair_sources) and len(item.real_sources) == 2
    assert item.blended.shape == (3, 64, 64, 3) and item.mask.max() <= 1.0 and item.mask.max() > 0.5
    write_evaluation_set(tmp_path / "set", item)  # validates
    images, xrays = poisson_blended(read_evaluation_set(tmp_path / "set"))
    assert images.shape == (3, 64, 64, 3) and xrays.max() > 0.5


def test_export_calibrates_a_checkpoint_into_a_loadable_weights_directory(material, tmp_path):
    from pathlib import Path

    from facexray_forensics.cli import main
    from facexray_forensics.model import load_weights
    from facexray_forensics.train import load_config, train

    config = load_config(Path(__file__).resolve().parents[2] / "training" / "configs" / "tiny_cpu.toml")
    config.run.checkpoint_dir = str(tmp_path / "run")
    checkpoint = train(config, max_steps=1, progress=False).checkpoint
    write_evaluation_set(tmp_path / "calibration", material)
    result = CliRunner().invoke(main, ["model", "export", str(checkpoint), str(tmp_path / "weights"),
                                       "--calibration-set", str(tmp_path / "calibration"), "--method", "temperature",
                                       "--mirror-average"])
    assert result.exit_code == 0, result.output
    loaded = load_weights(tmp_path / "weights")
    assert loaded.card.calibration.method == "temperature" and loaded.card.mirror_average
    training = loaded.card.notes["training"]
    assert training["steps_this_chunk"] == 1 and training["samples_seen"] == config.run.batch_size
    assert loaded.card.notes["calibration_set"]["real"] == 3
    assert loaded.card.geometry.size == config.data.image_size and loaded.card.architecture == config.model.name
    thresholds = loaded.card.thresholds
    assert thresholds.inconclusive <= thresholds.moderate <= thresholds.strong
