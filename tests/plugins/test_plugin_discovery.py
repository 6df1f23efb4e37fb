"""Plugin discovery: interface checks, entry-point loading, ordering and selection."""

import textwrap

import pytest

from facexray_forensics.plugins import (
    ENTRY_POINT_GROUP,
    Plugin,
    ScanContext,
    discover_plugins,
    order_plugins,
    plugin_problems,
    select_plugins,
    start_up_problems,
)
from facexray_forensics.records import Column, Finding


def make_plugin(name, requires=(), handles=frozenset({"image"}), version="1.0", columns=(), settings=()):
    """A minimal valid plugin class with the given declarations."""

    def process(self, item, earlier):
        return Finding(plugin=self.name, version=self.version)

    return type(
        f"Plugin_{name}",
        (Plugin,),
        {"name": name, "version": version, "handles": handles, "requires": requires, "columns": columns, "settings": settings,
         "process": process},
    )


def test_valid_plugin_has_no_problems():
    assert plugin_problems(make_plugin("good")) == []


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        (42, "is not a class"),
        (dict, "does not subclass"),
        (type("Abstract", (Plugin,), {"name": "a", "version": "1", "handles": frozenset({"image"})}), "process"),
        (make_plugin("Capital"), "name must be"),
        (make_plugin("empty_version", version=" "), "version must be"),
        (make_plugin("string_kinds", handles="image"), "handles must be"),
        (make_plugin("unknown_kind", handles=frozenset({"audio"})), "handles must be"),
        (make_plugin("no_kinds", handles=frozenset()), "handles must be"),
        (make_plugin("string_requires", requires="hashing"), "requires must be"),
        (make_plugin("column_names", columns=("camera",)), "columns must be"),
        (make_plugin("column_type", columns=(Column("size", bytes, "raw"),)), "columns must be"),
        (make_plugin("column_twice", columns=(Column("a", int, "x"), Column("a", str, "y"))), "columns must be"),
    ],
)
def test_broken_plugin_is_described(candidate, expected):
    problems = plugin_problems(candidate)
    assert problems and expected in "; ".join(problems)


def test_order_follows_requires_and_keeps_given_order_otherwise():
    exif = make_plugin("exif", requires=("hashing",))
    face = make_plugin("face_xray", requires=("hashing", "exif"))
    hashing = make_plugin("hashing")
    other = make_plugin("other")
    names = [entry.name for entry in discover_plugins([face, other, exif, hashing], entry_points=[])]
    assert names.index("hashing") < names.index("exif") < names.index("face_xray")
    assert names.index("other") < names.index("exif")  # nothing holds it back
    assert all(entry.error is None for entry in discover_plugins([face, other, exif, hashing], entry_points=[]))


def test_missing_requirement_and_cycle_are_errors_not_exceptions():
    lonely = make_plugin("lonely", requires=("absent",))
    needs_lonely = make_plugin("needs_lonely", requires=("lonely",))
    left = make_plugin("left", requires=("right",))
    right = make_plugin("right", requires=("left",))
    fine = make_plugin("fine")
    entries = {entry.name: entry for entry in discover_plugins([lonely, needs_lonely, left, right, fine], entry_points=[])}
    assert entries["fine"].error is None and entries["fine"].plugin is not None
    assert "'absent'" in entries["lonely"].error
    assert "'lonely'" in entries["needs_lonely"].error  # broken requirements spread
    assert "cycle" in entries["left"].error and "cycle" in entries["right"].error
    ordered = order_plugins(entries.values())
    assert ordered[0].name == "fine" and all(entry.error for entry in ordered[1:])


@pytest.fixture
def third_party(tmp_path, monkeypatch):
    """An installed-looking distribution (dist-info + modules on sys.path) with good and broken plugins."""
    package = tmp_path / "tp_plugins_demo"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from facexray_forensics.plugins import Plugin
            from facexray_forensics.records import Column, Finding

            class Good(Plugin):
                name = "tp_good"
                version = "2.5"
                handles = frozenset({"image", "video"})
                description = "a good one"
                def process(self, item, earlier):
                    return Finding(self.name, self.version, values={"seen": item.name})

            class NotAPlugin:
                name = "tp_not"

            class Clash(Good):
                name = "hashing"
            """
        )
    )
    (package / "explodes.py").write_text("raise RuntimeError('boom at import')\n")
    dist_info = tmp_path / "tp_plugins_demo-2.5.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: tp-plugins-demo\nVersion: 2.5\n")
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n"
        "tp_good = tp_plugins_demo:Good\n"
        "tp_not = tp_plugins_demo:NotAPlugin\n"
        "tp_clash = tp_plugins_demo:Clash\n"
        "tp_explodes = tp_plugins_demo.explodes:Anything\n"
        "tp_missing = tp_plugins_demo:DoesNotExist\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for module in ("tp_plugins_demo", "tp_plugins_demo.explodes"):
        monkeypatch.delitem(__import__("sys").modules, module, raising=False)


def test_entry_points_are_loaded_checked_and_attributed(third_party):
    hashing = make_plugin("hashing")
    entries = {entry.entry_point.split(":")[-1]: entry for entry in discover_plugins([hashing])}
    good = entries["Good"]
    assert good.error is None and good.plugin.name == "tp_good"
    assert (good.source, good.source_version, good.version) == ("tp-plugins-demo", "2.5", "2.5")
    assert good.handles == ("image", "video") and not good.builtin
    assert "does not subclass" in entries["NotAPlugin"].error
    assert "already used by facexray-forensics" in entries["Clash"].error
    assert "RuntimeError: boom at import" in entries["Anything"].error
    assert "could not be loaded" in entries["DoesNotExist"].error
    assert entries["Plugin_hashing"].builtin and entries["Plugin_hashing"].error is None


def test_select_plugins_closes_over_requires_and_refuses_bad_names():
    hashing = make_plugin("hashing")
    exif = make_plugin("exif", requires=("hashing",))
    extra = make_plugin("extra")
    broken = make_plugin("broken", requires=("absent",))
    entries = discover_plugins([hashing, exif, extra, broken], entry_points=[])
    assert select_plugins(entries) == [hashing, exif, extra]
    assert select_plugins(entries, only=["exif"]) == [hashing, exif]
    assert select_plugins(entries, exclude=["extra"]) == [hashing, exif]
    with pytest.raises(ValueError, match="exif require"):
        select_plugins(entries, exclude=["hashing"])
    with pytest.raises(ValueError, match="no plugin named 'nope'"):
        select_plugins(entries, only=["nope"])
    with pytest.raises(ValueError, match="cannot run"):
        select_plugins(entries, only=["broken"])


def test_start_up_problems_reports_each_failure_and_shuts_down_the_rest():
    calls = []

    def start_up(self, context):
        calls.append(("start", self.name, context.settings["model_dir"]))
        if self.name == "needs_model":
            raise ValueError("no model weights here")

    def shut_down(self):
        calls.append(("stop", self.name))

    fine = type("Fine", (make_plugin("fine"),), {"start_up": start_up, "shut_down": shut_down})
    needs_model = type("NeedsModel", (make_plugin("needs_model"),), {"start_up": start_up, "shut_down": shut_down})
    context = ScanContext(settings={"model_dir": "/weights"})
    assert start_up_problems([fine, needs_model], context) == {
        "fine": None, "needs_model": "ValueError: no model weights here"}
    assert calls == [("start", "fine", "/weights"), ("stop", "fine"), ("start", "needs_model", "/weights")]
