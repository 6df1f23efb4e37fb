"""A worker process that dies on one item costs that item, not the scan."""

import os
import signal

from facexray_forensics.plugins import ITEM_KINDS, Plugin
from facexray_forensics.records import Finding
from facexray_forensics.renderers.json import render_json
from facexray_forensics.scan import Output, Scan, ScanSettings


class Killer(Plugin):
    """Dies the way a decoder crashing on hostile input would: SIGKILL, no exception, no clean-up."""

    name, version, handles, parallel = "killer", "0", ITEM_KINDS, True

    def process(self, item, earlier):
        if item.name.endswith("poison.bin"):
            os.kill(os.getpid(), signal.SIGKILL)
        return Finding(self.name, self.version, values={"seen": True})


def test_a_dying_worker_marks_only_its_item(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    names = ["a.bin", "b.bin", "poison.bin", "c.bin", "d.bin", "e.bin"]
    for name in names:
        (evidence / name).write_bytes(name.encode())
    report = Scan([evidence], [Output(tmp_path / "scan.json", render_json)], [Killer()],
                  settings=ScanSettings(workers=2), progress=False).run()
    items = {item.name: item for item in report.items}
    assert sorted(items) == sorted(f"evidence/{name}" for name in names)
    poisoned = items["evidence/poison.bin"]
    assert poisoned.status.value == "unreadable" and "worker process died" in poisoned.reason
    for name in names:
        if name != "poison.bin":
            assert items[f"evidence/{name}"].findings["killer"].values == {"seen": True}
