"""The CASE/UCO export: the scan as JSON-LD in the Cyber-investigation Analysis Standard Expression.

One graph holds the investigation (the case), the examiner, the tool, one
``observable:File`` per item with its hashes (and, for files inside a disk
image, its allocation status and a "Contained_Within" relationship to the
image), the investigative action that ran the scan and, as the action's
results, one analytic result per item: its status and, when scored, the band
and calibrated probability as an artifact classification.

Node identifiers are name-based UUIDs of the scan's start time, case and
item name, so the same scan always gives the same graph. The output
validates with case-utils' ``case_validate`` (CASE 1.5).
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

from facexray_forensics.records import ItemReport, ScanReport

CONTEXT = {
    "kb": "http://example.org/kb/",
    "analysis": "https://ontology.unifiedcyberontology.org/uco/analysis/",
    "action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "investigation": "https://ontology.caseontology.org/case/investigation/",
    "observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
    "types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

_HASH_NAMES = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256"}
_TIMES = {"modified_utc": "modifiedTime", "accessed_utc": "accessedTime", "changed_utc": "metadataChangeTime",
          "created_utc": "observableCreatedTime"}


def _typed(value: Any, datatype: str) -> dict[str, str]:
    return {"@type": datatype, "@value": str(value)}


def _decimal(value: float) -> dict[str, str]:
    return _typed(format(float(value), ".6f"), "xsd:decimal")


class _Identifiers:
    """Stable node identifiers: uuid5 of the scan's identity and a local key."""

    def __init__(self, report: ScanReport):
        self._namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"fxr-scan:{report.started_utc}:{report.case}:{report.host}")

    def __call__(self, kind: str, key: str = "") -> str:
        return f"kb:{kind}-{uuid.uuid5(self._namespace, f'{kind}:{key}')}"


def _file_node(item: ItemReport, node_id: str, identifier: _Identifiers) -> dict[str, Any]:
    origin = item.origin
    path = origin.get("inner_path") or origin.get("path") or item.name
    file_facet: dict[str, Any] = {
        "@id": identifier("file-facet", item.name),
        "@type": "observable:FileFacet",
        "observable:fileName": os.path.basename(path.rstrip("/")) or path,
        "observable:filePath": path,
        "observable:sizeInBytes": _typed(item.size, "xsd:integer"),
    }
    if "deleted" in origin:
        file_facet["observable:allocationStatus"] = "unallocated" if origin["deleted"] else "allocated"
    for key, name in _TIMES.items():
        if origin.get(key):
            file_facet[f"observable:{name}"] = _typed(origin[key], "xsd:dateTime")
    facets = [file_facet]
    if item.hashes:
        facets.append(
            {
                "@id": identifier("content-facet", item.name),
                "@type": "observable:ContentDataFacet",
                "observable:sizeInBytes": _typed(item.size, "xsd:integer"),
                "observable:hash": [
                    {
                        "@id": identifier("hash", f"{item.name}:{algorithm}"),
                        "@type": "types:Hash",
                        "types:hashMethod": _HASH_NAMES[algorithm],  # xsd:string since UCO 1.4
                        "types:hashValue": _typed(item.hashes[algorithm], "xsd:hexBinary"),
                    }
                    for algorithm in ("md5", "sha1", "sha256")
                    if algorithm in item.hashes
                ],
            }
        )
    return {"@id": node_id, "@type": "observable:File", "core:name": item.name, "core:hasFacet": facets}


def _statement(item: ItemReport) -> str:
    text = f"{item.name}: {item.status.value}"
    if item.score is not None:
        text += f", calibrated probability of a blended face {item.score:.4f} ({item.band.value if item.band else 'no band'})"
    if item.reason:
        text += f"; {item.reason}"
    if item.hash_verified is False:
        text += "; HASHES CHANGED DURING THE SCAN"
    return text


def _result_node(item: ItemReport, node_id: str, file_id: str, action_id: str, identifier: _Identifiers) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@id": node_id,
        "@type": "analysis:AnalyticResult",
        "core:name": f"face X-ray result for {item.name}",
        "core:statement": _statement(item),
        "analysis:originatingAnalysis": {"@id": action_id},
        "analysis:resultContent": {"@id": file_id},
    }
    if item.score is not None and item.band is not None:
        node["core:hasFacet"] = [
            {
                "@id": identifier("classification-facet", item.name),
                "@type": "analysis:ArtifactClassificationResultFacet",
                "analysis:classification": [
                    {
                        "@id": identifier("classification", item.name),
                        "@type": "analysis:ArtifactClassification",
                        "analysis:class": f"blended face: {item.band.value}",
                        "analysis:classificationConfidence": _decimal(item.score),
                    }
                ],
            }
        ]
    return node


def report_graph(report: ScanReport) -> dict[str, Any]:
    """The JSON-LD document of ``report``."""
    identifier = _Identifiers(report)
    investigation_id = identifier("investigation")
    action_id = identifier("investigative-action")
    tool_id = identifier("tool")
    examiner_id = identifier("examiner") if report.examiner else None
    file_ids = {item.name: identifier("file", item.name) for item in report.items}
    graph: list[dict[str, Any]] = []

    tool = {
        "@id": tool_id,
        "@type": "tool:AnalyticTool",
        "core:name": "facexray-forensics",
        "tool:version": report.tool_version,
        "tool:toolType": "face forgery detection (Face X-ray, blending boundary)",
        "core:description": f"fxr-forensic; model SHA-256 {report.model_sha256 or 'none'}",
    }
    graph.append(tool)
    if examiner_id:
        graph.append({"@id": examiner_id, "@type": "identity:Person", "core:name": report.examiner})

    results = []
    for item in report.items:
        file_id = file_ids[item.name]
        graph.append(_file_node(item, file_id, identifier))
        image = item.origin.get("image")
        if image in file_ids:
            graph.append(
                {
                    "@id": identifier("relationship", item.name),
                    "@type": "core:Relationship",
                    "core:source": {"@id": file_id},
                    "core:target": {"@id": file_ids[image]},
                    "core:kindOfRelationship": "Contained_Within",
                    "core:isDirectional": True,
                }
            )
        result_id = identifier("result", item.name)
        graph.append(_result_node(item, result_id, file_id, action_id, identifier))
        results.append({"@id": result_id})

    provenance_id = identifier("provenance-record")
    provenance = {
        "@id": provenance_id,
        "@type": "investigation:ProvenanceRecord",
        "core:description": "The evidence items the scan examined, hashed before and after analysis.",
        "core:object": [{"@id": file_id} for file_id in file_ids.values()],
    }
    if report.exhibit:
        provenance["investigation:exhibitNumber"] = report.exhibit
    if file_ids:
        graph.append(provenance)
        results.insert(0, {"@id": provenance_id})

    action: dict[str, Any] = {
        "@id": action_id,
        "@type": ["investigation:InvestigativeAction", "analysis:Analysis"],
        "core:name": "face X-ray triage scan",
        "core:description": " ".join(report.command_line) or "fxr-forensic scan",
        "action:startTime": _typed(report.started_utc, "xsd:dateTime"),
        "action:instrument": {"@id": tool_id},
        "action:object": [{"@id": file_id} for file_id in file_ids.values()],
        "action:result": results,
    }
    if report.finished_utc:
        action["action:endTime"] = _typed(report.finished_utc, "xsd:dateTime")
    if examiner_id:
        action["action:performer"] = {"@id": examiner_id}
    graph.append(action)

    investigation = {
        "@id": investigation_id,
        "@type": "investigation:Investigation",
        "core:name": report.case or "unnamed case",
        "investigation:focus": "forged (blended) faces in images and videos",
        "core:object": [{"@id": node["@id"]} for node in graph],
    }
    return {"@context": CONTEXT, "@graph": [investigation, *graph]}


def render_case_uco(report: ScanReport, path: str | os.PathLike) -> None:
    """Write ``report`` as CASE/UCO JSON-LD to ``path``."""
    text = json.dumps(report_graph(report), indent=2, ensure_ascii=False)
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as stream:
        stream.write(text + "\n")
