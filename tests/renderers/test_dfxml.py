"""The DFXML export: well-formed, one fileobject per item, digests of the original bytes."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ElementTree

import pytest
from scanned_evidence import SCORED, content_of, fat_tools_missing, make_evidence, scan_evidence

from facexray_forensics.renderers.dfxml import DFXML_NAMESPACE, FXR_NAMESPACE, render_dfxml

pytestmark = pytest.mark.skipif(fat_tools_missing(), reason="needs dosfstools and mtools (scripts/install-test-tools.sh)")
NS = {"d": DFXML_NAMESPACE, "fxr": FXR_NAMESPACE}


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    root = tmp_path_factory.mktemp("dfxml")
    contents = make_evidence(root)
    report = scan_evidence(root)
    path = root / "out" / "scan.dfxml"
    render_dfxml(report, path)
    return report, contents, path


def test_dfxml_is_well_formed_with_the_tool_as_creator(scanned):
    report, _, path = scanned
    root = ElementTree.parse(path).getroot()  # expat: raises on anything not well-formed
    assert root.tag == f"{{{DFXML_NAMESPACE}}}dfxml"
    assert root.findtext("d:creator/d:program", namespaces=NS) == "facexray-forensics"
    assert root.findtext("d:creator/d:version", namespaces=NS) == report.tool_version
    assert root.findtext("d:creator/d:execution_environment/d:command_line", namespaces=NS) == "fxr-forensic scan evidence"
    assert path.read_bytes().startswith(b"<?xml")


def test_each_item_has_the_digests_of_its_original_bytes(scanned):
    report, contents, path = scanned
    objects = ElementTree.parse(path).getroot().findall("d:fileobject", NS)
    assert len(objects) == len(report.items) == 6
    for item, element in zip(report.items, objects):
        data = content_of(item, contents)
        digests = {digest.get("type"): digest.text for digest in element.findall("d:hashdigest", NS)}
        assert digests == {name: hashlib.new(name, data).hexdigest() for name in ("md5", "sha1", "sha256")}
        assert int(element.findtext("d:filesize", namespaces=NS)) == len(data)
        result = element.find("fxr:result", NS)
        assert result.get("status") == item.status.value
    deleted = [element for element in objects if element.find("d:unalloc", NS) is not None]
    assert [element.findtext("d:filename", namespaces=NS) for element in deleted] == ["/_one.bin"]
    inner = [element for element in objects if element.find("d:inode", NS) is not None]
    assert len(inner) == 2


def test_scores_and_awkward_names_survive(scanned):
    _, _, path = scanned
    results = {element.get("name"): element for element in ElementTree.parse(path).getroot().iter(f"{{{FXR_NAMESPACE}}}result")}
    name, score, band = SCORED
    assert float(results[name].get("score")) == score and results[name].get("band") == band.value
    assert "evidence/bell\\x07name.txt" in results
