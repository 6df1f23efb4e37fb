"""Declared settings: each checks its values, the scan fills in defaults once, and clashes are refused."""

import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_plugin_discovery import make_plugin

from facexray_forensics.evidence import DecodeLimits
from facexray_forensics.faces.extract import DetectionSettings
from facexray_forensics.plugins import ENTRY_POINT_GROUP, SCAN_SETTINGS, Setting, discover_plugins, setting_table
from facexray_forensics.plugins.builtin import BUILTIN_PLUGINS, FacesPlugin, FaceXrayPlugin
from facexray_forensics.scan import ScanSettings

CLI = Path(sys.executable).with_name("fxr-forensic")


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        (Setting("n", "int", 1, "h", minimum=0), "12", 12),
        (Setting("n", "int", 1, "h"), 3.0, 3),
        (Setting("x", "float", 0.5, "h"), "0.25", 0.25),
        (Setting("c", "choice", "a", "h", choices=("a", "b")), "b", "b"),
        (Setting("p", "file", None, "h"), None, None),
        (Setting("t", "text", "cpu", "h"), "cuda:1", "cuda:1"),
    ],
)
def test_a_setting_takes_its_kind(setting, value, expected):
    assert setting.check(value) == expected and type(setting.check(value)) is type(expected)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (Setting("min_face", "int", 64, "h", minimum=8), 4, "--min-face: 4 is below the minimum 8"),
        (Setting("min_face", "int", 64, "h"), "many", "--min-face: 'many' is not a whole number"),
        (Setting("min_face", "int", 64, "h"), 2.5, "is not a whole number"),
        (Setting("min_face", "int", 64, "h"), True, "is not a whole number"),
        (Setting("detector", "choice", "auto", "h", choices=("auto", "hog")), "dnn", "is not one of auto, hog"),
        (Setting("model_dir", "folder", None, "h", option="--model"), "/no/such/folder", "--model: '/no/such/folder' is not an existing folder"),
        (Setting("known_hashes", "file", None, "h"), "/", "is not an existing file"),
    ],
)
def test_a_bad_value_is_refused_with_the_flag_and_why(setting, value, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        setting.check(value)


def test_the_scan_fills_in_each_declared_default_from_its_one_source():
    resolved = ScanSettings().for_plugins([FacesPlugin, FaceXrayPlugin])
    # The defaults are those of the records the plugins build: the decoder's limits and the detector's settings.
    assert (resolved["max_bytes"], resolved["max_pixels"], resolved["video_frames"]) == (
        DecodeLimits().max_bytes, DecodeLimits().max_pixels, DecodeLimits().video_frames)
    detection = DetectionSettings()
    assert (resolved["min_face"], resolved["min_confidence"], resolved["detector"]) == (
        detection.min_face, detection.min_confidence, detection.detector)
    assert resolved["model_dir"] is None and resolved["workers"] == 0
    assert set(resolved) == {setting.name for setting in SCAN_SETTINGS} | {
        setting.name for plugin in (FacesPlugin, FaceXrayPlugin) for setting in plugin.settings}


def test_given_settings_win_and_are_checked():
    resolved = ScanSettings(min_face="40", workers=1, device=None).for_plugins([FacesPlugin])
    assert (resolved["min_face"], resolved["workers"], resolved["device"]) == (40, 1, "cpu")
    with pytest.raises(ValueError, match="--min-face: 2 is below the minimum 8"):
        ScanSettings(min_face=2).for_plugins([FacesPlugin])


def test_a_setting_no_plugin_reads_is_refused():
    with pytest.raises(ValueError, match="no plugin of this scan reads min_face"):
        ScanSettings(min_face=40).for_plugins([])


def test_two_plugins_may_share_a_setting_only_identically():
    shared = Setting("model_dir", "folder", None, "weights")
    first = make_plugin("first", settings=(shared,))
    assert setting_table([first, make_plugin("second", settings=(shared,))])["model_dir"] is shared
    other = make_plugin("other", settings=(Setting("model_dir", "text", "x", "a name"),))
    with pytest.raises(ValueError, match="setting 'model_dir' of plugin other differs from the one plugin first declares"):
        setting_table([first, other])
    with pytest.raises(ValueError, match="differs from the one the scan declares"):
        setting_table([make_plugin("greedy", settings=(Setting("workers", "int", 4, "mine"),))])


def test_the_builtin_plugins_declare_one_consistent_table():
    table = setting_table(BUILTIN_PLUGINS)
    assert table["model_dir"].flag == "--model" and table["detector"].choices == ("auto", "hog", "mtcnn", "cnn")
    assert {name for name, setting in table.items() if setting.runtime} == {"workers", "device", "cluster", "batch_size", "model_threads"}


class _EntryPoint:
    """Enough of importlib.metadata.EntryPoint for discovery: a name, a value, a loader."""

    def __init__(self, name, plugin):
        self.name, self.value, self.dist, self._plugin = name, f"tests:{name}", None, plugin

    def load(self):
        return self._plugin


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ((Setting("threshold", "float", 0.5, "h"),), "settings must be named blur_...; got threshold"),
        ((Setting("blur_kernel", "choice", "big", "h", choices=("small",)),), "has a default its own check refuses"),
        ((Setting("blur_kernel", "colour", 1, "h"),), "needs a lower-case name and a kind"),
        ((Setting("blur_a", "int", 1, "h"), Setting("blur_a", "int", 2, "h")), "distinct names"),
        (("blur_a",), "settings must be a tuple of Setting records"),
    ],
)
def test_a_third_party_plugin_with_bad_settings_is_left_out_with_the_reason(settings, reason):
    entries = discover_plugins(BUILTIN_PLUGINS, [_EntryPoint("blur", make_plugin("blur", settings=settings))])
    (blur,) = [entry for entry in entries if entry.name == "blur"]
    assert blur.plugin is None and reason in blur.error
    assert all(entry.error is None for entry in entries if entry.builtin)


def test_a_well_named_third_party_setting_is_listed_and_joins_the_table():
    setting = Setting("blur_sigma", "float", 1.5, "Gaussian sigma", minimum=0.0)
    entries = discover_plugins(BUILTIN_PLUGINS, [_EntryPoint("blur", make_plugin("blur", settings=(setting,)))])
    (blur,) = [entry for entry in entries if entry.name == "blur"]
    assert blur.error is None and blur.as_dict()["settings"] == [{
        "name": "blur_sigma", "flag": "--blur-sigma", "kind": "float", "default": 1.5, "help": "Gaussian sigma",
        "choices": [], "minimum": 0.0, "runtime": False}]
    assert setting_table([entry.plugin for entry in entries if entry.plugin])["blur_sigma"] is setting


def test_the_cli_offers_every_declared_setting_with_its_default():
    assert not list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)), "run without third-party plugins"
    shown = subprocess.run([str(CLI), "scan", "--help"], capture_output=True, text=True, check=True).stdout
    options = {block.split()[0]: " ".join(block.split()) for block in re.split(r"\n(?=  -)", shown) if block.startswith("  -")}
    for setting in setting_table(BUILTIN_PLUGINS).values():
        assert setting.flag in options
        if setting.default is not None:
            assert f"[default: {setting.default}" in options[setting.flag], options[setting.flag]
    listed = json.loads(subprocess.run([str(CLI), "plugins", "--json"], capture_output=True, text=True, check=True).stdout)
    faces = next(entry for entry in listed if entry["name"] == "faces")
    assert [setting["name"] for setting in faces["settings"]] == [setting.name for setting in FacesPlugin.settings]
