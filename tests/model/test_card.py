"""Model cards: notes and evaluation merge into the verified card; the Markdown shows what the JSON says."""

import hashlib
import json

import torch
from click.testing import CliRunner

from facexray_forensics.cli import main
from facexray_forensics.model import BandThresholds, ModelCard, create, load_weights, save_weights


def test_model_card_command_merges_and_renders(tmp_path):
    torch.manual_seed(0)
    directory = tmp_path / "weights"
    written = save_weights(create("hrnet_w18"), directory, ModelCard("hrnet_w18", thresholds=BandThresholds(0.3, 0.6, 0.9),
                                                                      notes={"purpose": "test"}, mirror_average=True))
    evaluation = {"rows": {"alpha-blended BI": {"blended": 10, "real": 12, "auc": 0.875, "ap": 0.5, "eer": 0.125,
                                                "tpr_at_1pct_fpr": 0.25, "pixel_auc": 0.9, "iou": 0.0625}}}
    (tmp_path / "evaluation.json").write_text(json.dumps(evaluation))
    (tmp_path / "notes.json").write_text(json.dumps({"training_data": {"sets": "LFW"}, "purpose": "replaced"}))
    result = CliRunner().invoke(main, ["model", "card", str(directory), "--notes", str(tmp_path / "notes.json"),
                                       "--evaluation", str(tmp_path / "evaluation.json")])
    assert result.exit_code == 0, result.output
    loaded = load_weights(directory)  # the shards and their hashes are untouched, so it still verifies
    assert loaded.card.files == written.files
    assert loaded.card.notes == {"purpose": "replaced", "training_data": {"sets": "LFW"}, "evaluation": evaluation}
    markdown = (directory / "MODEL_CARD.md").read_text()
    card_sha256 = hashlib.sha256((directory / "model_card.json").read_bytes()).hexdigest()
    assert card_sha256 == loaded.sha256 and card_sha256 in markdown
    assert "| alpha-blended BI | 10 / 12 | 87.50 | 50.00 | 12.50 | 25.00 | 90.00 | 6.25 |" in markdown
    assert "| strong | 0.9 |" in markdown and "**sets**: LFW" in markdown
    assert "256×256 RGB crops, a square 1.3× the landmark extent" in markdown and "mirror image and the two averaged" in markdown
    for name, digest in written.files.items():
        assert f"| {name} | `{digest}` |" in markdown
