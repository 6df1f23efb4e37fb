"""The DFXML export: one ``fileobject`` per item with its hash digests, and the tool as creator.

Digital Forensics XML is what hashing and carving tools exchange (fiwalk,
hashdeep's successors, bulk_extractor). Each item becomes a ``fileobject``
with ``filename``, ``filesize``, for files inside a disk image its
``inode``, allocation flag and times, and ``hashdigest`` elements for MD5,
SHA-1 and SHA-256. The scan's outcome for the item (status, score, band)
rides along in our own namespace, which DFXML readers skip.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ElementTree

from facexray_forensics.records import ItemReport, ScanReport

DFXML_NAMESPACE = "http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML"
DUBLIN_CORE_NAMESPACE = "http://purl.org/dc/elements/1.1/"
FXR_NAMESPACE = "https://facexray-forensics.example/dfxml/1"
DFXML_VERSION = "1.2.0"

_TIMES = (("modified_utc", "mtime"), ("changed_utc", "ctime"), ("accessed_utc", "atime"), ("created_utc", "crtime"))


def _dfxml(tag: str) -> str:
    return f"{{{DFXML_NAMESPACE}}}{tag}"


# Characters XML 1.0 cannot hold at all (file names may contain them): written as \\xNN escapes.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: object) -> str:
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", str(value))


def _child(parent: ElementTree.Element, tag: str, text: object | None = None, **attributes: str) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag, {key: _xml_text(value) for key, value in attributes.items()})
    if text is not None:
        element.text = _xml_text(text)
    return element


def _fileobject(parent: ElementTree.Element, item: ItemReport) -> None:
    fileobject = _child(parent, _dfxml("fileobject"))
    origin = item.origin
    _child(fileobject, _dfxml("filename"), origin.get("inner_path") or origin.get("path") or item.name)
    _child(fileobject, _dfxml("filesize"), item.size)
    if "deleted" in origin:
        _child(fileobject, _dfxml("unalloc" if origin["deleted"] else "alloc"), 1)
    if "inode" in origin:
        _child(fileobject, _dfxml("inode"), origin["inode"])
    for key, tag in _TIMES:
        if origin.get(key):
            _child(fileobject, _dfxml(tag), origin[key])
    for algorithm in ("md5", "sha1", "sha256"):
        if algorithm in item.hashes:
            _child(fileobject, _dfxml("hashdigest"), item.hashes[algorithm], type=algorithm)
    result = {"name": item.name, "status": item.status.value}
    if "image" in origin:
        result.update(image=str(origin["image"]), partition_offset=str(origin["partition_offset"]))
    if item.score is not None:
        result["score"] = repr(float(item.score))
    if item.band is not None:
        result["band"] = item.band.value
    if item.hash_verified is not None:
        result["hash_verified"] = "true" if item.hash_verified else "false"
    element = _child(fileobject, f"{{{FXR_NAMESPACE}}}result", **result)
    if item.reason:
        element.text = _xml_text(item.reason)


def report_tree(report: ScanReport) -> ElementTree.ElementTree:
    """The DFXML document of ``report``."""
    ElementTree.register_namespace("", DFXML_NAMESPACE)
    ElementTree.register_namespace("dc", DUBLIN_CORE_NAMESPACE)
    ElementTree.register_namespace("fxr", FXR_NAMESPACE)
    root = ElementTree.Element(_dfxml("dfxml"), {"version": DFXML_VERSION})
    metadata = _child(root, _dfxml("metadata"))
    _child(metadata, f"{{{DUBLIN_CORE_NAMESPACE}}}type", "Hash List")
    for key, value in (("case", report.case), ("exhibit", report.exhibit), ("examiner", report.examiner)):
        if value:
            _child(metadata, f"{{{FXR_NAMESPACE}}}{key}", value)
    creator = _child(root, _dfxml("creator"), version="1.0")
    _child(creator, _dfxml("program"), "facexray-forensics")
    _child(creator, _dfxml("version"), report.tool_version)
    environment = _child(creator, _dfxml("execution_environment"))
    _child(environment, _dfxml("host"), report.host)
    _child(environment, _dfxml("command_line"), " ".join(report.command_line))
    _child(environment, _dfxml("start_time"), report.started_utc)
    if report.model_sha256:
        _child(creator, f"{{{FXR_NAMESPACE}}}model_sha256", report.model_sha256)
    source = _child(root, _dfxml("source"))
    for root_path in report.evidence:
        _child(source, _dfxml("image_filename"), root_path)
    for item in report.items:
        _fileobject(root, item)
    tree = ElementTree.ElementTree(root)
    ElementTree.indent(tree)
    return tree


def render_dfxml(report: ScanReport, path: str | os.PathLike) -> None:
    """Write ``report`` as DFXML to ``path`` (UTF-8, with an XML declaration)."""
    report_tree(report).write(os.fspath(path), encoding="utf-8", xml_declaration=True)
