"""The scan on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on 127.0.0.1.

The cluster's results must equal the local scan's item for item (statuses,
scores, X-ray maps); a worker killed mid-scan must lose and duplicate
nothing; a scheduler that goes away must end the scan with exit 6 and a
journal that a local --resume completes; evidence a worker cannot see is
that item's "unreadable" outcome, naming the worker and the path; the files
of one E01 are analysed on several workers.
"""

import hashlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from facexray_forensics.custody import verify_log
from facexray_forensics.evidence import FileSource
from facexray_forensics.plugins.builtin import HashingPlugin
from facexray_forensics.records import Status
from facexray_forensics.renderers.json import render_json
from facexray_forensics.samples import evidence_dir
from facexray_forensics.scan import Output, Scan, ScanSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evidence"))  # the disk-image builders

from test_disk_image import TOOLS, _fat_holding, _run  # noqa: E402

pytest.importorskip("distributed")
DISK_TOOLS = all(shutil.which(tool) for tool in TOOLS)

BIN = Path(sys.executable).parent
VIDEO_MEDIA = Path(__file__).resolve().parents[1] / "evidence" / "video_media.py"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A scheduler and workers as subprocesses, always torn down."""

    def __init__(self, workers: int = 2):
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.scheduler = subprocess.Popen([BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port",
                                           self.address.rsplit(":", 1)[1], "--no-dashboard"], **quiet)
        # No nanny: the worker process is the one a test kills, and it stays dead.
        self.workers = [subprocess.Popen([BIN / "dask", "worker", self.address, "--nthreads", "1", "--no-nanny",
                                          "--no-dashboard", "--memory-limit", "0"], **quiet) for _ in range(workers)]
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)

    def close(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


@pytest.fixture
def cluster():
    running = Cluster()
    yield running
    running.close()


def _video_media():
    spec = importlib.util.spec_from_file_location("video_media", VIDEO_MEDIA)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Photos (a real face, blends, a truncated file, no face), a short face video and a FAT card image."""
    root = tmp_path_factory.mktemp("corpus") / "evidence"
    shutil.copytree(evidence_dir(), root)
    (root / "clip.mp4").write_bytes(_video_media().face_video(6))
    card = root / "card.img"
    if shutil.which("mkfs.fat") and shutil.which("mcopy"):
        subprocess.run(["mkfs.fat", "-C", "-n", "CARD", str(card), "4096"], check=True, capture_output=True)
        subprocess.run(["mcopy", "-i", str(card), str(root / "astronaut.jpg"), "::/face.jpg"], check=True, capture_output=True)
    return root


def _scan(evidence, out: Path, *options, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([BIN / "fxr-forensic", "scan", str(evidence), "--json", str(out), "--quiet", *options],
                          capture_output=True, text=True, timeout=timeout)


def _items(path: Path) -> dict:
    return {item["path"]: item for item in json.loads(path.read_text())["items"]}


def test_the_cluster_scan_equals_the_local_scan_item_for_item(cluster, corpus, tmp_path):
    local = _scan(corpus, tmp_path / "local.json")
    remote = _scan(corpus, tmp_path / "cluster.json", "--cluster", cluster.address)
    assert local.returncode == remote.returncode and remote.returncode in (3, 4), remote.stderr
    assert "Traceback" not in remote.stderr
    expected, found = _items(tmp_path / "local.json"), _items(tmp_path / "cluster.json")
    assert found == expected  # statuses, hashes, scores, faces and their X-ray maps, bit for bit
    assert any(item["kind"] == "video" and item["status"] == "scored" for item in found.values())
    document = json.loads((tmp_path / "cluster.json").read_text())
    executor = document["scan"]["settings"]["executor"]
    assert executor["executor"] == "dask" and executor["cluster"] == cluster.address and len(executor["workers"]) == 2
    assert all(worker["version"] for worker in executor["workers"].values())
    records = [json.loads(line) for line in (tmp_path / "cluster.custody.jsonl").read_text().splitlines()]
    analysed = [record["data"] for record in records if record["action"] == "item_analysed"]
    assert len(analysed) == len(found) and all(record["worker"] for record in analysed)
    assert verify_log(tmp_path / "cluster.custody.jsonl").ok


def _many_photos(root: Path, count: int) -> Path:
    """``count`` different files, each the astronaut photo with its own trailing bytes (decoders ignore them)."""
    root.mkdir()
    photo = (evidence_dir() / "astronaut.jpg").read_bytes()
    for index in range(count):
        (root / f"photo_{index:03d}.jpg").write_bytes(photo + index.to_bytes(4, "big"))
    return root


def _wait_for_items(custody: Path, count: int, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if custody.exists() and custody.read_text().count('"item_analysed"') >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the scan did not reach {count} items (exit {process.poll()})")


PHOTOS = 60


def _interrupted_scan(cluster: Cluster, root: Path, interrupt) -> tuple[int, str, Path, Path]:
    """A cluster scan of PHOTOS photos, ``interrupt()`` called once 3 items are recorded: exit status,
    stderr, the evidence folder and the JSON report's path."""
    evidence = _many_photos(root / "evidence", PHOTOS)
    (root / "out").mkdir()
    report = root / "out" / "scan.json"
    scan = subprocess.Popen([BIN / "fxr-forensic", "scan", str(evidence), "--json", str(report), "--quiet",
                             "--cluster", cluster.address], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_items(root / "out" / "scan.custody.jsonl", 3, scan)
        interrupt()
        recorded = (root / "out" / "scan.custody.jsonl").read_text().count('"item_analysed"')
        assert recorded < PHOTOS, "the scan ended before the interruption: nothing was tested"
        _, stderr = scan.communicate(timeout=600)
    finally:
        if scan.poll() is None:
            scan.kill()
    return scan.returncode, stderr, evidence, report


def _every_photo_once(evidence: Path, report: Path) -> None:
    items = json.loads(report.read_text())["items"]
    assert sorted(item["path"] for item in items) == sorted(f"evidence/{path.name}" for path in evidence.iterdir())
    assert all(item["status"] == "scored" for item in items)
    assert verify_log(report.with_name("scan.custody.jsonl")).ok


def test_a_worker_killed_mid_scan_loses_and_duplicates_nothing(cluster, tmp_path):
    status, stderr, evidence, report = _interrupted_scan(
        cluster, tmp_path, lambda: os.kill(cluster.workers[0].pid, signal.SIGKILL))
    assert status == 0, stderr
    _every_photo_once(evidence, report)
    journal = report.with_name("scan.journal.jsonl").read_text().splitlines()[1:]  # after its header
    assert len(journal) == len(list(evidence.iterdir()))


def test_a_scheduler_gone_mid_scan_ends_with_exit_6_and_a_local_resume_completes(cluster, tmp_path):
    def freeze_workers_then_lose_the_scheduler():
        # Frozen workers cannot finish the scan in the moment before the scheduler dies.
        for worker in cluster.workers:
            os.kill(worker.pid, signal.SIGSTOP)
        cluster.scheduler.kill()

    status, stderr, evidence, report = _interrupted_scan(cluster, tmp_path, freeze_workers_then_lose_the_scheduler)
    assert status == 6 and "went away mid-scan" in stderr and "--resume" in stderr, stderr
    assert "Traceback" not in stderr
    resumed = _scan(evidence, report, "--resume", "--workers", "1")
    assert resumed.returncode == 0, resumed.stderr
    _every_photo_once(evidence, report)


def test_an_unreachable_cluster_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "out"
    completed = _scan(evidence_dir() / "coffee.jpg", out / "scan.json", "--cluster", f"tcp://127.0.0.1:{_free_port()}",
                      timeout=300)
    assert completed.returncode == 6 and "cannot start the scan on the cluster" in completed.stderr, completed.stderr
    assert "Traceback" not in completed.stderr and not (out / "scan.custody.jsonl").exists()


def _started_plugins():
    from facexray_forensics.plugins.builtin import BUILTIN_PLUGINS
    from facexray_forensics.scan import ScanSettings
    from facexray_forensics.scan.prepare import start_plugins

    plugins = [plugin() for plugin in BUILTIN_PLUGINS]
    return start_plugins(plugins, ScanSettings(workers=2).for_plugins(plugins))


def test_a_worker_with_another_model_is_refused_with_the_reason():
    from types import SimpleNamespace

    from facexray_forensics.scan.cluster import ScanWorker

    started = _started_plugins()
    expected = started.context.resources["model_sha256"]
    good, other = SimpleNamespace(address="tcp://a"), SimpleNamespace(address="tcp://b")
    ScanWorker(started.workers.blueprints, started.workers.context, expected).setup(good)
    ScanWorker(started.workers.blueprints, started.workers.context, "0" * 64).setup(other)
    assert [plugin.name for plugin in good.fxr_scan[0]] == [plugin.name for plugin in started.workers.blueprints]
    assert not hasattr(other, "fxr_scan") and f"SHA-256 {expected}, not the coordinator's {'0' * 64}" in other.fxr_scan_refusal


def test_a_cluster_of_refused_workers_is_refused_as_a_whole(cluster):
    from facexray_forensics.scan.cluster import DaskExecutor
    from facexray_forensics.scan.executor import ClusterError

    with pytest.raises(ClusterError, match="every worker was refused: .*not the coordinator's 0000"):
        DaskExecutor(cluster.address, _started_plugins().workers, "0" * 64)


class _MovedAwayAfterListing:
    """The items of ``root`` as a FileSource lists them; once the listing is complete, ``hidden`` is moved out."""

    def __init__(self, root: Path, hidden: Path, elsewhere: Path):
        self.files, self.hidden, self.elsewhere = FileSource([root]), hidden, elsewhere
        self.warnings = self.files.warnings

    def items(self):
        yield from self.files.items()
        self.hidden.rename(self.elsewhere)


def test_evidence_a_worker_cannot_see_is_unreadable_naming_the_worker_and_the_path(cluster, tmp_path):
    """The coordinator lists and sniffs every file; one is then moved away before any worker is given it.

    Workers and coordinator share this machine's file system, so a worker
    without the coordinator's view cannot be made here without privileges (a
    mount namespace); but on a cluster the coordinator reads no evidence after
    listing it (analysis and the final rehash run on the workers), so a file
    gone right after its listing is, from the worker's side, exactly a path
    its storage lacks: the open fails with ENOENT. The source moves it at the
    end of its listing, before the scan hands out any item.
    """
    evidence = _many_photos(tmp_path / "evidence", 6)
    hidden = evidence / "photo_002.jpg"
    (tmp_path / "out").mkdir()
    report_path = tmp_path / "out" / "scan.json"
    scan = Scan([evidence], [Output(report_path, render_json)], [HashingPlugin()],
                settings=ScanSettings(cluster=cluster.address), progress=False,
                sources=[_MovedAwayAfterListing(evidence, hidden, tmp_path / "elsewhere.jpg")])
    outcome: dict = {}

    def run():
        try:
            outcome["report"] = scan.run()
        except BaseException as error:  # shown by the assertion below
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=300)
    assert not thread.is_alive(), "the scan hung on evidence its workers cannot see"
    assert "report" in outcome, outcome.get("error")
    items = {item.name: item for item in outcome["report"].items}
    assert len(items) == 6
    gone = items.pop("evidence/photo_002.jpg")
    assert gone.status is Status.UNREADABLE and not gone.hashes
    assert gone.reason.startswith(f"the cluster worker on {socket.gethostname()} (tcp://127.0.0.1:"), gone.reason
    assert f"could not read {hidden}: No such file or directory" in gone.reason, gone.reason
    for name, item in items.items():  # the others go on as usual
        assert item.status is not Status.UNREADABLE, (name, item.reason)
        assert item.hashes["sha256"] == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        assert item.hash_verified
    custody = report_path.with_name("scan.custody.jsonl")
    analysed = {record["data"]["item"]: record["data"] for record in map(json.loads, custody.read_text().splitlines())
                if record["action"] == "item_analysed"}
    assert analysed["evidence/photo_002.jpg"]["reason"] == gone.reason and analysed["evidence/photo_002.jpg"]["worker"]
    assert verify_log(custody).ok

    # Once the storage is there, --resume (here locally) analyses that item again; the others stand.
    (tmp_path / "elsewhere.jpg").rename(hidden)
    resumed = Scan([evidence], [Output(report_path, render_json)], [HashingPlugin()], settings=ScanSettings(workers=1),
                   resume=True, progress=False).run()
    again = {item.name: item for item in resumed.items}
    assert again["evidence/photo_002.jpg"].status is not Status.UNREADABLE and again["evidence/photo_002.jpg"].hash_verified
    assert again["evidence/photo_002.jpg"].hashes["sha256"] == hashlib.sha256(hidden.read_bytes()).hexdigest()
    assert {name: again[name].hashes for name in items} == {name: item.hashes for name, item in items.items()}
    assert verify_log(custody).ok


E01_PHOTOS = 8


@pytest.mark.skipif(not DISK_TOOLS,
                    reason="needs dosfstools, mtools, e2fsprogs and ewf-tools (scripts/install-test-tools.sh)")
def test_the_files_of_one_e01_are_analysed_on_several_workers(cluster, tmp_path):
    """Disk images are expanded into their files when the evidence is listed, so each file is a task of its own."""
    photos = sorted(_many_photos(tmp_path / "photos", E01_PHOTOS).iterdir())
    card = _fat_holding(tmp_path / "card.img", 4096, {f"DCIM/{photo.name}": photo for photo in photos})
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    _run("ewfacquire", "-u", "-q", "-t", evidence / "card", "-c", "none", "-f", "encase6", card)
    local = _scan(evidence, tmp_path / "local.json", "--workers", "1")
    remote = _scan(evidence, tmp_path / "cluster.json", "--cluster", cluster.address)
    assert local.returncode == remote.returncode and "Traceback" not in remote.stderr, remote.stderr
    listed = [item["path"] for item in json.loads((tmp_path / "cluster.json").read_text())["items"]]
    assert len(listed) == len(set(listed)) == E01_PHOTOS + 1  # the E01 and each of its files, once
    expected, found = _items(tmp_path / "local.json"), _items(tmp_path / "cluster.json")
    inner = {name: item for name, item in found.items() if "image_path" in item["origin"]}
    assert sorted(item["origin"]["inner_path"] for item in inner.values()) == [f"/DCIM/{photo.name}" for photo in photos]
    digests = {f"/DCIM/{photo.name}": hashlib.sha256(photo.read_bytes()).hexdigest() for photo in photos}
    assert all(item["sha256"] == digests[item["origin"]["inner_path"]] and item["hash_verified"] for item in inner.values())
    assert found == expected  # hashes, statuses and scores as the local scan found them
    custody = tmp_path / "cluster.custody.jsonl"
    analysed = [record["data"] for record in map(json.loads, custody.read_text().splitlines())
                if record["action"] == "item_analysed"]
    assert sorted(record["item"] for record in analysed) == sorted(listed)
    workers = {record["worker"] for record in analysed if record["item"] in inner}
    assert len(workers) >= 2, workers
    assert verify_log(custody).ok
