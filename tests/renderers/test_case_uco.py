"""The CASE/UCO export: passes case_validate, and the graph says what the scan found."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scanned_evidence import SCORED, content_of, fat_tools_missing, make_evidence, scan_evidence

from facexray_forensics.renderers.case_uco import render_case_uco

pytestmark = pytest.mark.skipif(fat_tools_missing(), reason="needs dosfstools and mtools (scripts/install-test-tools.sh)")
CASE_VALIDATE = Path(sys.executable).with_name("case_validate")
UCO = "https://ontology.unifiedcyberontology.org/uco/"
INVESTIGATION = "https://ontology.caseontology.org/case/investigation/"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("case")
    contents = make_evidence(root)
    report = scan_evidence(root)
    path = root / "out" / "scan.jsonld"
    render_case_uco(report, path)
    return report, contents, path


@pytest.mark.skipif(not CASE_VALIDATE.exists() and shutil.which("case_validate") is None, reason="needs case-utils (the test extra)")
def test_passes_case_validate(exported):
    """One run of the CASE project's SHACL validator (offline, with its bundled CASE 1.5 ontology)."""
    _, _, path = exported
    command = str(CASE_VALIDATE) if CASE_VALIDATE.exists() else "case_validate"
    result = subprocess.run([command, str(path)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Conforms: True" in result.stdout


def _graph(path):
    import rdflib  # comes with case-utils; an independent JSON-LD reader

    graph = rdflib.Graph()
    graph.parse(path, format="json-ld")
    return graph, rdflib


def test_files_carry_the_hashes_of_their_original_bytes(exported):
    report, contents, path = exported
    graph, rdflib = _graph(path)
    rows = graph.query(
        """SELECT ?name ?method ?value WHERE {
             ?file a observable:File ; core:name ?name ; core:hasFacet ?facet .
             ?facet a observable:ContentDataFacet ; observable:hash ?hash .
             ?hash types:hashMethod ?method ; types:hashValue ?value . }""",
        initNs={"observable": rdflib.Namespace(UCO + "observable/"), "core": rdflib.Namespace(UCO + "core/"),
                "types": rdflib.Namespace(UCO + "types/")},
    )
    found = {}
    for name, method, value in rows:
        found.setdefault(str(name), {})[str(method).lower()] = str(value).lower()
    expected = {
        item.name: {name: hashlib.new(name, content_of(item, contents)).hexdigest() for name in ("md5", "sha1", "sha256")}
        for item in report.items
    }
    assert found == expected


def test_action_links_examiner_tool_files_and_results(exported):
    report, _, path = exported
    graph, rdflib = _graph(path)
    namespaces = {"action": rdflib.Namespace(UCO + "action/"), "core": rdflib.Namespace(UCO + "core/"),
                  "investigation": rdflib.Namespace(INVESTIGATION), "analysis": rdflib.Namespace(UCO + "analysis/")}
    rows = list(graph.query(
        """SELECT ?examiner ?tool ?case WHERE {
             ?investigation a investigation:Investigation ; core:name ?case ; core:object ?action .
             ?action a investigation:InvestigativeAction ; action:performer ?person ; action:instrument ?instrument .
             ?person core:name ?examiner . ?instrument core:name ?tool . }""",
        initNs=namespaces,
    ))
    assert [tuple(map(str, row)) for row in rows] == [("A. Examiner", "facexray-forensics", "2026-117")]
    objects = graph.query("SELECT (COUNT(?file) AS ?n) WHERE { ?action a investigation:InvestigativeAction ; action:object ?file }", initNs=namespaces)
    assert int(next(iter(objects))[0]) == len(report.items)
    scored = list(graph.query(
        """SELECT ?confidence WHERE { ?action action:result ?result . ?result a analysis:AnalyticResult ;
             core:hasFacet/analysis:classification/analysis:classificationConfidence ?confidence . }""",
        initNs=namespaces,
    ))
    assert [float(row[0]) for row in scored] == [pytest.approx(SCORED[1])]


def test_inner_files_are_contained_in_their_image_and_deleted_ones_unallocated(exported):
    _, _, path = exported
    document = json.loads(path.read_text())
    nodes = {node["@id"]: node for node in document["@graph"]}
    relationships = [node for node in nodes.values() if node["@type"] == "core:Relationship"]
    assert len(relationships) == 2
    for relationship in relationships:
        assert relationship["core:kindOfRelationship"] == "Contained_Within"
        assert nodes[relationship["core:target"]["@id"]]["core:name"] == "evidence/card.img"
    statuses = sorted(
        facet["observable:allocationStatus"]
        for node in nodes.values() if node["@type"] == "observable:File"
        for facet in node["core:hasFacet"] if "observable:allocationStatus" in facet
    )
    assert statuses == ["allocated", "unallocated"]
