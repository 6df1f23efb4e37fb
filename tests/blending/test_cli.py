"""The CLI: data index, data blend (PNG files and the X-ray/mask relation), bench bi."""

import json

import cv2
import numpy as np
from click.testing import CliRunner
from skimage import data

from facexray_forensics.cli import main


def test_blend_writes_consistent_files(astronaut_index, tmp_path):
    out = tmp_path / "blends"
    result = CliRunner().invoke(main, ["data", "blend", str(astronaut_index), str(out), "-n", "10", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert (out / "contact_sheet.png").is_file()
    sheet = cv2.imread(str(out / "contact_sheet.png"))
    assert sheet.shape[1] == 8 * 128 and sheet.shape[0] == 2 * 256
    labels = []
    for number in range(10):
        draw = json.loads((out / f"{number:06d}_draw.json").read_text())
        image = cv2.imread(str(out / f"{number:06d}_image.png"))
        mask = cv2.imread(str(out / f"{number:06d}_mask.png"), cv2.IMREAD_UNCHANGED)
        xray = cv2.imread(str(out / f"{number:06d}_xray.png"), cv2.IMREAD_UNCHANGED)
        assert image.shape == (256, 256, 3) and mask.dtype == np.uint16 and xray.dtype == np.uint16
        softened = mask / 65535.0
        # The saved X-ray is Eq. 2 of the saved softened mask (16-bit rounding only).
        np.testing.assert_allclose(xray / 65535.0, 4 * softened * (1 - softened), atol=1e-4)
        labels.append(draw["label"])
        if draw["label"] == 0:
            assert not xray.any() and not mask.any()
        else:
            assert xray.max() > 0.9 * 65535
            assert draw["background_source"] != draw["foreground_source"]
    assert set(labels) == {0, 1}
    # Same seed, same files.
    again = tmp_path / "again"
    CliRunner().invoke(main, ["data", "blend", str(astronaut_index), str(again), "-n", "3", "--seed", "2"])
    for name in ("000002_image.png", "000002_xray.png", "000002_draw.json"):
        assert (again / name).read_bytes() == (out / name).read_bytes()


def test_faces_index_command(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    cv2.imwrite(str(real / "a.png"), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(real / "b.png"), cv2.cvtColor(np.ascontiguousarray(data.astronaut()[:, ::-1]), cv2.COLOR_RGB2BGR))
    # The scan's outcomes, through the scan's decoder: a JPEG cut short, and bytes that are no picture.
    jpeg = cv2.imencode(".jpg", cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))[1].tobytes()
    (real / "c.jpg").write_bytes(jpeg[:200])
    (real / "d.jpg").write_bytes(b"broken")
    result = CliRunner().invoke(main, ["data", "index", str(real), str(tmp_path / "index"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{"):])
    assert summary["faces"] == 2 and summary["sources"] == 2 and summary["failures"] == {"unreadable": 1, "unsupported": 1}
    inside = CliRunner().invoke(main, ["data", "index", str(real), str(real / "index")])
    assert inside.exit_code == 1 and "inside" in inside.output


def test_bench_bi(astronaut_index):
    result = CliRunner().invoke(main, ["bench", "bi", "--index", str(astronaut_index), "--samples", "40", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["samples_per_s"] > 0 and report["samples"] == 40
    missing = CliRunner().invoke(main, ["bench", "bi", "--index", "/nonexistent/index"])
    assert missing.exit_code == 1 and "data index" in missing.output
