"""The ops benchmark and its CLI command (tiny sizes: this checks the output, not the speed)."""

import json

from click.testing import CliRunner

from facexray_forensics.bench.ops import run
from facexray_forensics.cli import main


def test_run_reports_every_op_and_both_chains():
    result = run(size=32, repeats=2, reference_repeats=1)
    assert result["size"] == 32 and result["threads"] == 1
    assert set(result["ops"]) >= {
        "warp_piecewise_affine",
        "gaussian_blur",
        "colour_transfer",
        "blend",
        "face_xray",
        "soften_mask",
        "blend_with_xray",
    }
    assert all(value > 0 for value in result["ops"].values())
    assert result["chain_ms"] > 0 and result["reference_chain_ms"] > 0 and result["chain_dense_mask_ms"] > 0
    assert abs(result["speedup"] - result["reference_chain_ms"] / result["chain_ms"]) < 0.1
    # Both chains compute the same sample.
    assert result["chain_max_abs_diff"] <= 1e-3


def test_cli_prints_one_json_object():
    outcome = CliRunner().invoke(main, ["bench", "ops", "--size", "24", "--repeats", "1", "--reference-repeats", "1", "--json"])
    assert outcome.exit_code == 0, outcome.output
    result = json.loads(outcome.output)
    assert {"size", "threads", "ops", "chain_ms", "reference_chain_ms", "speedup"} <= set(result)
