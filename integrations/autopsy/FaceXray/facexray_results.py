# -*- coding: utf-8 -*-
"""Plain helpers of the Face X-ray Autopsy module: settings, the command line, the scan's JSON.

Nothing here touches Autopsy or Java, so the same code runs under Jython 2.7
(inside Autopsy) and under CPython 3 (in tests). Autopsy cannot load numpy
or torch, so the module never analyses pixels itself: it runs the
``fxr-forensic`` command line and reads back the JSON report.
"""

from __future__ import print_function

import json
import os

SETTINGS_FILE = "facexray_settings.json"
# Environment variables win over the settings file, which wins over the defaults.
ENVIRONMENT = {
    "cli": "FXR_AUTOPSY_CLI",
    "model_dir": "FXR_AUTOPSY_MODEL",
    "device": "FXR_AUTOPSY_DEVICE",
}
DEFAULTS = {"cli": None, "model_dir": None, "device": "cpu"}

MEDIA_TYPES = frozenset([
    "image/jpeg", "image/png", "image/webp", "image/bmp", "image/x-ms-bmp", "image/tiff", "image/gif",
])
MEDIA_EXTENSIONS = frozenset(["jpg", "jpeg", "jpe", "jfif", "png", "webp", "bmp", "dib", "tif", "tiff", "gif"])
# Types that say nothing about the content: fall back to the name's extension.
UNDECIDED_TYPES = frozenset([None, "", "application/octet-stream"])

FLAGGED_BANDS = frozenset(["strong", "moderate"])
# Exit codes of `fxr-forensic scan` that mean the scan finished and wrote its reports.
FINISHED_EXIT_CODES = frozenset([0, 3, 4])


def load_settings(module_directory, environment):
    """The module's settings: defaults, then facexray_settings.json beside the module, then the environment.

    Raises ValueError when the settings file is not a JSON object.
    """
    settings = dict(DEFAULTS)
    path = os.path.join(module_directory, SETTINGS_FILE)
    if os.path.isfile(path):
        with open(path) as stream:
            try:
                stored = json.load(stream)
            except ValueError as error:
                raise ValueError("%s is not valid JSON: %s" % (path, error))
        if not isinstance(stored, dict):
            raise ValueError("%s must hold a JSON object" % path)
        for key in DEFAULTS:
            if stored.get(key):
                settings[key] = stored[key]
    for key, variable in ENVIRONMENT.items():
        if environment.get(variable):
            settings[key] = environment[variable]
    return settings


def find_executable(configured, search_path, windows):
    """The full path of the fxr-forensic program, or None.

    ``configured`` is a path from the settings (used as given when it is a
    file); otherwise each folder of ``search_path`` is tried, as a shell would.
    """
    if configured:
        return configured if os.path.isfile(configured) else None
    names = ["fxr-forensic.exe", "fxr-forensic"] if windows else ["fxr-forensic"]
    for folder in (search_path or "").split(os.pathsep):
        for name in names:
            candidate = os.path.join(folder, name)
            if folder and os.path.isfile(candidate) and (windows or os.access(candidate, os.X_OK)):
                return candidate
    return None


def is_media(mime_type, extension):
    """Whether the scan can read a file: by Autopsy's detected type, else by the name's extension."""
    if mime_type not in UNDECIDED_TYPES:
        return mime_type in MEDIA_TYPES
    return (extension or "").lower() in MEDIA_EXTENSIONS


def exported_name(object_id, extension):
    """The name of a file's copy in the temp folder: its object id, so results map back without doubt."""
    extension = "".join(character for character in (extension or "") if character.isalnum())[:8]
    return "%d.%s" % (object_id, extension or "bin")


def object_id_of(path):
    """The object id encoded in an exported copy's name, or None for any other name."""
    stem = os.path.basename(path.replace("\\", "/")).split(".")[0]
    return int(stem) if stem.isdigit() else None


def check_command(cli, settings):
    """The command that asks the CLI whether every plugin, the model included, can start."""
    command = [cli, "plugins", "--check", "--json", "--device", settings["device"]]
    if settings.get("model_dir"):
        command += ["--model", settings["model_dir"]]
    return command


def check_problem(output_text, exit_code, error_text=""):
    """Why the CLI cannot scan, from the output and error text of ``plugins --check --json``; None when it can."""
    try:
        plugins = json.loads(output_text)
    except ValueError:
        said = (error_text.strip() or output_text.strip())[-400:]
        return "fxr-forensic did not answer as expected (exit code %s): %s" % (exit_code, said)
    by_name = dict((plugin.get("name"), plugin) for plugin in plugins if isinstance(plugin, dict))
    if "face_xray" not in by_name:
        return "fxr-forensic has no face_xray plugin"
    problems = ["%s: %s" % (name, plugin["error"]) for name, plugin in sorted(by_name.items())
                if plugin.get("builtin") and plugin.get("error")]
    return "; ".join(problems) or None


def scan_command(cli, evidence, output_directory, settings, case_name=None, examiner=None, exhibit=None,
                 single=False):
    """The scan's command line and the paths it will write, as (command, outputs).

    ``outputs`` maps "json", "report" and "xrays" (the X-ray image index) to
    paths inside ``output_directory``. ``single`` says the evidence is one
    picture: the scan then runs in one process instead of starting a pool.
    """
    outputs = {
        "json": os.path.join(output_directory, "facexray.json"),
        "report": os.path.join(output_directory, "facexray.pdf"),
        "xrays": os.path.join(output_directory, "xrays.json"),
    }
    command = [cli, "scan", evidence, "--json", outputs["json"], "--report", outputs["report"],
               "--xray-images", outputs["xrays"], "--device", settings["device"]]
    if settings.get("model_dir"):
        command += ["--model", settings["model_dir"]]
    if single:
        command += ["--workers", "1"]
    for option, value in (("--case", case_name), ("--examiner", examiner), ("--exhibit", exhibit)):
        if value:
            command += [option, value]
    return command, outputs


def read_items(json_path):
    """The item records of a scan's JSON report, each reduced to what the module posts.

    Each is a dict with path, object_id, status, reason, score, band, faces
    (count) and sha256. Raises ValueError when the file is not a scan report.
    """
    with open(json_path) as stream:
        document = json.load(stream)
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise ValueError("%s is not a fxr-forensic scan report" % json_path)
    scan = document.get("scan") or {}
    records = []
    for item in document["items"]:
        records.append({
            "path": item.get("path"),
            "object_id": object_id_of(item.get("path") or ""),
            "status": item.get("status"),
            "reason": item.get("reason"),
            "score": item.get("score"),
            "band": item.get("band"),
            "faces": len(item.get("faces") or []),
            "sha256": item.get("sha256"),
            "model_sha256": scan.get("model_sha256"),
        })
    return records


def read_xray_images(index_path):
    """Map each item path to the absolute path of its strongest face's X-ray image.

    The index is the JSON file ``fxr-forensic scan --xray-images`` writes;
    image paths in it are relative to the index's folder. A missing index
    gives an empty map: the scan writes one only when it scored a face.
    """
    if not os.path.isfile(index_path):
        return {}
    with open(index_path) as stream:
        index = json.load(stream)
    folder = os.path.dirname(os.path.abspath(index_path))
    images = {}
    for entry in index.get("items", []):
        faces = entry.get("faces") or []
        if faces:
            strongest = max(faces, key=lambda face: face.get("score") or 0.0)
            images[entry.get("path")] = os.path.join(folder, strongest["image"])
    return images


def significance(record):
    """The Autopsy score's significance name for an item record, or None when nothing is posted.

    Strong and moderate bands are likely notable; "no indication" is likely
    none; an inconclusive band is unknown. Items without a score (no face,
    unreadable, ...) get no analysis result.
    """
    if record["score"] is None:
        return None
    if record["band"] in FLAGGED_BANDS:
        return "LIKELY_NOTABLE"
    if record["band"] == "no indication":
        return "LIKELY_NONE"
    return "UNKNOWN"


def justification(record):
    """One sentence an examiner reads beside the result."""
    return ("Face X-ray: highest calibrated probability of a blended face %.3f (%s) over %d face%s. "
            "An investigative lead, not proof." % (record["score"], record["band"], record["faces"],
                                                   "" if record["faces"] == 1 else "s"))
