"""The bytes that are hashed are the bytes that are analysed: one read per item, or a hash checked after."""

import hashlib
import io

import numpy as np
from conftest import _encode, astronaut_jpeg
from skimage import data

from facexray_forensics.evidence import FileSource, magic
from facexray_forensics.plugins import ITEM_KINDS, Plugin, ScanContext
from facexray_forensics.plugins.builtin import HashingPlugin
from facexray_forensics.records import Finding, Item, Status
from facexray_forensics.renderers.json import render_json
from facexray_forensics.scan import BUILTIN_PLUGINS, Output, Scan, ScanSettings
from facexray_forensics.scan.executor import analyse_item


class Swapped:
    """A file that another process swaps after its first read: the first open gives ``first``, the later ones ``later``."""

    def __init__(self, first: bytes, later: bytes):
        self.first, self.later, self.opened = first, later, 0

    def __call__(self):
        self.opened += 1
        return io.BytesIO(self.first if self.opened == 1 else self.later)


class Reader(Plugin):
    """Records the SHA-256 of the bytes it was given to analyse."""

    name, version, handles, requires = "reader", "0", ITEM_KINDS, ("hashing",)

    def process(self, item, earlier):
        with item.open() as stream:
            return Finding(self.name, self.version, values={"sha256": hashlib.sha256(stream.read()).hexdigest()})


def _item(content: Swapped, size: int, kind: str = "other") -> Item:
    return Item("evidence/x.bin", kind, None, size, content, {"path": "/nowhere/x.bin"})


def _started(*plugins):
    settings = ScanSettings().for_plugins(plugins)
    for plugin in plugins:
        plugin.start_up(ScanContext(settings=settings))
    return list(plugins)


def test_within_the_limit_every_plugin_reads_the_hashed_bytes():
    content = Swapped(b"first bytes", b"swapped in")
    result = analyse_item(_started(HashingPlugin(), Reader()), _item(content, 11), read_limit=100)
    first = hashlib.sha256(b"first bytes").hexdigest()
    assert result.findings["hashing"].values["sha256"] == first
    assert result.findings["reader"].values["sha256"] == first
    assert content.opened == 1 and "scan" not in result.findings


def test_over_the_limit_a_change_during_analysis_fails_the_item():
    content = Swapped(b"first bytes", b"swapped in")
    result = analyse_item(_started(HashingPlugin(), Reader()), _item(content, 11), read_limit=4)
    changed = result.findings["scan"]
    assert list(result.findings)[0] == "scan"  # first, so it decides the item's outcome
    assert changed.status is Status.UNREADABLE and "changed while it was analysed" in changed.reason
    assert hashlib.sha256(b"first bytes").hexdigest() in changed.reason
    assert hashlib.sha256(b"swapped in").hexdigest() in changed.reason


def test_over_the_limit_an_unchanged_item_is_read_again_and_passes():
    content = Swapped(b"same bytes", b"same bytes")
    result = analyse_item(_started(HashingPlugin(), Reader()), _item(content, 10), read_limit=4)
    assert "scan" not in result.findings and content.opened == 3  # hashing, reader, the check


def test_an_item_only_hashed_is_not_read_twice():
    content = Swapped(b"first bytes", b"swapped in")
    result = analyse_item(_started(HashingPlugin()), _item(content, 11), read_limit=4)
    assert list(result.findings) == ["hashing"] and content.opened == 1


class SwappingSource:
    """A real astronaut photo, swapped for a faceless picture right after it is first read."""

    def __init__(self, root, faceless: bytes):
        self.source, self.faceless = FileSource([root]), faceless
        self.warnings = self.source.warnings

    def items(self):
        for item in self.source.items():
            with item.open() as stream:
                face = stream.read()
            yield Item(item.name, item.kind, item.mime, item.size, Swapped(face, self.faceless), item.origin)


def test_a_file_swapped_after_hashing_is_analysed_as_hashed(tmp_path, random_model):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    face = astronaut_jpeg()
    (evidence / "astronaut.jpg").write_bytes(face)
    faceless = _encode(np.full_like(data.astronaut(), 128), "JPEG", quality=92)
    assert magic.sniff(faceless)[0] == "image"
    report = Scan([evidence], [Output(tmp_path / "scan.json", render_json)], [plugin() for plugin in BUILTIN_PLUGINS],
                  settings=ScanSettings(model_dir=str(random_model), workers=1), sources=[SwappingSource(evidence, faceless)],
                  progress=False).run()
    (item,) = report.items
    assert item.hashes["sha256"] == hashlib.sha256(face).hexdigest()
    assert item.status is Status.SCORED and item.faces  # the faces are the hashed photo's
    # The finish stage reads the file again, meets the swapped bytes, and says so.
    assert item.hashes_after["sha256"] == hashlib.sha256(faceless).hexdigest() and item.hash_verified is False
