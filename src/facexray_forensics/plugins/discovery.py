"""Finding, checking and ordering scan plugins.

Built-in plugins are passed in by the scan; third-party ones come from the
entry-point group :data:`~facexray_forensics.plugins.ENTRY_POINT_GROUP`. A
plugin that fails to import or breaks the interface becomes an entry with an
``error`` that says why, never an exception: one broken package must not stop
an examiner's scan or hide the other plugins.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from facexray_forensics.plugins import ENTRY_POINT_GROUP, ITEM_KINDS, Plugin, ScanContext, Setting, setting_table
from facexray_forensics.records import Column

_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
BUILTIN_SOURCE = "facexray-forensics"


@dataclass(frozen=True)
class PluginEntry:
    """One plugin as discovery found it.

    ``plugin`` is the class when it passed every check, else None and
    ``error`` says what is wrong. ``source`` names the distribution that
    provides it; ``entry_point`` is ``module:Class`` as registered.
    """

    name: str
    version: str
    handles: tuple[str, ...]
    requires: tuple[str, ...]
    description: str
    source: str
    source_version: str | None
    entry_point: str
    builtin: bool
    plugin: type[Plugin] | None
    error: str | None = None
    settings: tuple[Setting, ...] = ()
    columns: tuple[Column, ...] = ()

    def as_dict(self) -> dict:
        """Plain JSON-able values for listings."""
        return {
            "name": self.name,
            "version": self.version,
            "handles": list(self.handles),
            "requires": list(self.requires),
            "description": self.description,
            "source": self.source,
            "source_version": self.source_version,
            "entry_point": self.entry_point,
            "builtin": self.builtin,
            "error": self.error,
            "settings": [setting.as_dict() for setting in self.settings],
            "columns": [{"name": column.name, "type": column.type.__name__, "help": column.help} for column in self.columns],
        }


def plugin_problems(candidate: object) -> list[str]:
    """Say everything that stops ``candidate`` from being a usable plugin class.

    An empty list means it subclasses :class:`Plugin`, implements ``process``
    and declares a valid name, version, ``handles`` and ``requires``.
    """
    if not inspect.isclass(candidate):
        return [f"{candidate!r} is not a class"]
    if not issubclass(candidate, Plugin):
        return [f"{candidate.__qualname__} does not subclass facexray_forensics.plugins.Plugin"]
    problems = []
    if inspect.isabstract(candidate):
        missing = ", ".join(sorted(candidate.__abstractmethods__))
        problems.append(f"{candidate.__qualname__} does not implement {missing}")
    name = getattr(candidate, "name", None)
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        problems.append(
            f"name must be lower-case letters, digits and underscores, starting with a letter; got {name!r}"
        )
    version = getattr(candidate, "version", None)
    if not isinstance(version, str) or not version.strip():
        problems.append(f"version must be a non-empty string; got {version!r}")
    handles = getattr(candidate, "handles", None)
    if (
        isinstance(handles, str)
        or not isinstance(handles, (set, frozenset, tuple, list))
        or not handles
        or not all(kind in ITEM_KINDS for kind in handles)
    ):
        problems.append(f"handles must be a non-empty set of {sorted(ITEM_KINDS)}; got {handles!r}")
    requires = getattr(candidate, "requires", None)
    if isinstance(requires, str) or not isinstance(requires, (tuple, list)) or not all(
        isinstance(required, str) for required in requires
    ):
        problems.append(f"requires must be a tuple of plugin names; got {requires!r}")
    problems.extend(_setting_problems(getattr(candidate, "settings", None)))
    columns = getattr(candidate, "columns", None)
    if not isinstance(columns, tuple) or not all(
        isinstance(column, Column) and column.type in Column.TYPES for column in columns
    ) or len({column.name for column in columns}) != len(columns):
        problems.append(f"columns must be a tuple of Column records with distinct names and a type of "
                        f"{', '.join(kind.__name__ for kind in Column.TYPES)}; got {columns!r}")
    return problems


def _setting_problems(settings: object) -> list[str]:
    """What is wrong with a plugin's declared ``settings``: each must be a valid :class:`Setting`."""
    if not isinstance(settings, tuple) or not all(isinstance(setting, Setting) for setting in settings):
        return [f"settings must be a tuple of Setting records; got {settings!r}"]
    problems = []
    if len({setting.name for setting in settings}) != len(settings):
        problems.append("settings must have distinct names")
    for setting in settings:
        if not _NAME_PATTERN.match(setting.name) or setting.kind not in Setting.KINDS:
            problems.append(f"setting {setting.name!r} needs a lower-case name and a kind of {', '.join(Setting.KINDS)}")
            continue
        try:
            setting.check(setting.default)
        except ValueError as error:
            problems.append(f"setting {setting.name!r} has a default its own check refuses ({error})")
    return problems


def _entry(
    plugin: object,
    *,
    fallback_name: str,
    source: str,
    source_version: str | None,
    entry_point: str,
    builtin: bool,
    error: str | None = None,
) -> PluginEntry:
    problems = [error] if error else plugin_problems(plugin)

    def declared(attribute: str, default):
        value = getattr(plugin, attribute, default)
        return value if isinstance(value, type(default)) else default

    name = declared("name", "")
    handles = getattr(plugin, "handles", ())
    requires = getattr(plugin, "requires", ())
    return PluginEntry(
        name=name if _NAME_PATTERN.match(name) else fallback_name,
        version=declared("version", ""),
        handles=tuple(sorted(handles)) if isinstance(handles, (set, frozenset, tuple, list)) else (),
        requires=tuple(requires) if isinstance(requires, (tuple, list)) else (),
        description=declared("description", ""),
        source=source,
        source_version=source_version,
        entry_point=entry_point,
        builtin=builtin,
        plugin=None if problems else plugin,
        error="; ".join(problems) if problems else None,
        settings=() if problems else plugin.settings,
        columns=() if problems else plugin.columns,
    )


def _from_entry_point(entry_point: importlib.metadata.EntryPoint) -> PluginEntry:
    distribution = getattr(entry_point, "dist", None)
    source = distribution.name if distribution is not None else "unknown distribution"
    source_version = distribution.version if distribution is not None else None
    common = dict(
        fallback_name=entry_point.name,
        source=source,
        source_version=source_version,
        entry_point=entry_point.value,
        builtin=False,
    )
    try:
        plugin = entry_point.load()
    except Exception as error:  # a third-party import may fail in any way; report, never crash
        return _entry(None, error=f"could not be loaded: {type(error).__name__}: {error}", **common)
    return _entry(plugin, **common)


def order_plugins(entries: Iterable[PluginEntry]) -> list[PluginEntry]:
    """Put usable plugins in an order where each runs after those it requires.

    The given order is kept wherever ``requires`` allows. A plugin whose
    requirement is missing or broken, or that sits in a cycle, becomes broken
    with a reason. Broken entries follow the usable ones.
    """
    entries = list(entries)
    usable = {entry.name: entry for entry in entries if entry.error is None}
    broken = [entry for entry in entries if entry.error is not None]
    # Missing requirements spread: a plugin needing a broken one is broken too.
    changed = True
    while changed:
        changed = False
        for name, entry in list(usable.items()):
            missing = [required for required in entry.requires if required not in usable]
            if missing:
                del usable[name]
                broken.append(_broken(entry, f"requires {', '.join(map(repr, missing))}, which is not available"))
                changed = True
    ordered: list[PluginEntry] = []
    placed: set[str] = set()
    pending = list(usable.values())
    while pending:
        ready = next((entry for entry in pending if set(entry.requires) <= placed), None)
        if ready is None:
            cycle = " -> ".join(entry.name for entry in pending)
            broken.extend(_broken(entry, f"requires form a cycle among: {cycle}") for entry in pending)
            break
        ordered.append(ready)
        placed.add(ready.name)
        pending.remove(ready)
    return ordered + broken


def _broken(entry: PluginEntry, error: str) -> PluginEntry:
    return PluginEntry(**{**entry.__dict__, "plugin": None, "error": error})


def discover_plugins(
    builtins: Sequence[type[Plugin]] = (),
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
) -> list[PluginEntry]:
    """List every plugin, built-in and third-party, usable ones first in run order.

    ``builtins`` are the scan's own plugin classes; ``entry_points`` defaults
    to those installed in the group ``facexray_forensics.plugins``. A
    third-party plugin that reuses a name already taken is reported broken,
    and so is one whose settings are not named after it (``<name>_...``,
    so that its flags cannot take the scan's) or that clash with a setting
    already declared.
    """
    from facexray_forensics import __version__

    if entry_points is None:
        entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    found = [
        _entry(
            plugin,
            fallback_name=getattr(plugin, "__name__", "builtin"),
            source=BUILTIN_SOURCE,
            source_version=__version__,
            entry_point=f"{plugin.__module__}:{plugin.__qualname__}",
            builtin=True,
        )
        for plugin in builtins
    ]
    third_party = sorted(
        (_from_entry_point(entry_point) for entry_point in entry_points),
        key=lambda entry: (entry.name, entry.source),
    )
    taken = {entry.name: entry.source for entry in found if entry.error is None}
    for entry in third_party:
        problem = _third_party_problem(entry, taken, [entry.plugin for entry in found if entry.plugin is not None])
        if problem:
            entry = _broken(entry, problem)
        elif entry.error is None:
            taken[entry.name] = entry.source
        found.append(entry)
    return order_plugins(found)


def _third_party_problem(entry: PluginEntry, taken: dict[str, str], accepted: list[type[Plugin]]) -> str | None:
    """Why a usable third-party entry cannot join the plugins ``accepted`` so far, or None."""
    if entry.error is not None:
        return None
    if entry.name in taken:
        return f"the name {entry.name!r} is already used by {taken[entry.name]}"
    foreign = [setting.name for setting in entry.settings if not setting.name.startswith(f"{entry.name}_")]
    if foreign:
        return f"settings must be named {entry.name}_...; got {', '.join(foreign)}"
    try:
        setting_table([*accepted, entry.plugin])
    except ValueError as error:
        return str(error)
    return None


def select_plugins(
    entries: Sequence[PluginEntry],
    only: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> list[type[Plugin]]:
    """Choose the plugin classes a scan runs, in run order.

    By default every usable plugin runs. ``only`` restricts the run to the
    named plugins and what they require; ``exclude`` drops plugins. Naming an
    unknown or broken plugin, or excluding one that a running plugin
    requires, raises ValueError with the reason.
    """
    by_name = {entry.name: entry for entry in entries}
    for name in [*only, *exclude]:
        if name not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise ValueError(f"no plugin named {name!r}; installed plugins: {known}")
    for name in only:
        if by_name[name].error is not None:
            raise ValueError(f"plugin {name!r} cannot run: {by_name[name].error}")
    chosen = {entry.name for entry in entries if entry.error is None}
    if only:
        chosen = set()
        stack = list(only)
        while stack:
            name = stack.pop()
            if name not in chosen:
                chosen.add(name)
                stack.extend(by_name[name].requires)
    for name in exclude:
        dependants = sorted(
            entry.name for entry in entries if entry.name in chosen and name in entry.requires
        )
        if dependants:
            raise ValueError(f"cannot leave out plugin {name!r}: {', '.join(dependants)} require it")
        chosen.discard(name)
    return [entry.plugin for entry in entries if entry.name in chosen and entry.plugin is not None]


def start_up_problems(plugins: Sequence[type[Plugin]], context: ScanContext) -> dict[str, str | None]:
    """Start each plugin up and shut it down again; map its name to why it failed, or None.

    This is the check a front end (the Autopsy module, an examiner before a
    long scan) runs to learn whether a scan can start: the face X-ray plugin,
    for one, loads and verifies its model here.
    """
    problems: dict[str, str | None] = {}
    for plugin_class in plugins:
        try:
            plugin = plugin_class()
            plugin.start_up(context)
            plugin.shut_down()
        except Exception as error:  # any failure is the answer, not a crash
            problems[plugin_class.name] = f"{type(error).__name__}: {error}"
        else:
            problems[plugin_class.name] = None
    return problems
