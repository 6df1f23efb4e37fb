"""--resume after kill -9: nothing lost, nothing repeated, the same JSON, one unbroken custody chain."""

import io
import json
import os
import signal
import subprocess
import sys
import time

from PIL import Image
from skimage import data

from facexray_forensics.custody import verify_log

ITEMS = 12  # enough that a kill after two items lands mid-way even when the others finish fast


def _evidence(root):
    evidence = root / "evidence"
    evidence.mkdir()
    for index in range(ITEMS):
        buffer = io.BytesIO()
        Image.fromarray(data.astronaut()[index * 6 : index * 6 + 300, 90 + index * 6 : 390 + index * 6]).save(buffer, format="JPEG", quality=90)
        (evidence / f"face_{index}.jpg").write_bytes(buffer.getvalue())
    return evidence


def _command(evidence, out, model, *extra):
    return [sys.executable, "-c", "from facexray_forensics.cli import main; main()", "scan", str(evidence),
            "--json", str(out / "scan.json"), "--model", str(model), "--workers", "2", "--batch-size", "1", "--quiet", *extra]


def _differences(first, second, where="items"):
    """Paths at which two JSON values differ."""
    if isinstance(first, dict) and isinstance(second, dict):
        return [path for key in sorted(set(first) | set(second))
                for path in _differences(first.get(key), second.get(key), f"{where}.{key}")]
    if isinstance(first, list) and isinstance(second, list) and len(first) == len(second):
        return [path for index, pair in enumerate(zip(first, second)) for path in _differences(*pair, f"{where}[{index}]")]
    return [] if first == second else [f"{where}: {first!r:.80} != {second!r:.80}"]


def _items(out):
    return json.loads((out / "scan.json").read_text())["items"]


def test_resume_after_kill_gives_the_same_json(tmp_path, random_model):
    evidence = _evidence(tmp_path)
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    whole.mkdir()
    killed.mkdir()
    subprocess.run(_command(evidence, whole, random_model), check=True, capture_output=True)

    # Niced, so that on a busy machine this test's polling below is not starved
    # while the scan races through the remaining items.
    process = subprocess.Popen(_command(evidence, killed, random_model), start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=lambda: os.nice(19))
    journal = killed / "scan.journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") >= 3:  # the header and two items
            break
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)  # the scan and its worker processes, with no chance to clean up
    process.wait()
    done_before = journal.read_bytes().count(b"\n") - 1
    assert 2 <= done_before < ITEMS, "the scan must be killed mid-way"
    assert not (killed / "scan.json").exists()

    resumed = subprocess.run(_command(evidence, killed, random_model, "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert _differences(_items(killed), _items(whole)) == []

    with open(journal) as stream:
        names = [record["name"] for record in [json.loads(line) for line in stream][1:]]
    assert sorted(names) == sorted(set(names)) and len(names) == ITEMS  # none lost, none twice
    log = killed / "scan.custody.jsonl"
    assert verify_log(log).ok
    with open(log) as stream:
        actions = [json.loads(line)["action"] for line in stream]
    assert actions[0] == "scan_started" and "scan_resumed" in actions and actions.count("scan_finished") == 1
    assert set(actions[actions.index("scan_finished") + 1:]) <= {"report_written"}
