"""The plugin interface every analysis step of a scan follows.

A plugin is a class that declares what it is and what it handles, then follows
one lifecycle: ``start_up(context)`` once, ``process(item, earlier)`` for each
item, ``shut_down()`` once. It returns a :class:`~facexray_forensics.records.Finding`
and never formats output: renderers do that. A plugin that fails on one item
returns a Finding with a status and a reason instead of raising, so one bad
item never stops a scan.

Third-party plugins register a class under the entry-point group
``facexray_forensics.plugins``; :func:`discover_plugins` finds, checks and
orders them (see :mod:`facexray_forensics.plugins.discovery`).
"""

from __future__ import annotations

import abc
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from facexray_forensics.evidence.decode import DecodeLimits
from facexray_forensics.records import Column, Finding, Item

ENTRY_POINT_GROUP = "facexray_forensics.plugins"
ITEM_KINDS = frozenset({"image", "video", "disk_image", "other"})


@dataclass(frozen=True)
class Setting:
    """A setting that a plugin, or the scan itself, declares (as Volatility 3 plugins declare
    their requirements). The CLI offers it as ``flag``, ``plugins --json`` lists it, and the
    custody log records its value; ``default`` is the one place its default is stated.

    ``kind`` is "int", "float", "text", "choice" (one of ``choices``), "file" or
    "folder" (an existing path; the default may be None: not given). ``runtime``
    marks a setting that changes only speed, which a resume may change.
    """

    name: str
    kind: str
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: int | float | None = None
    runtime: bool = False
    option: str | None = None  # the CLI flag, when not --name-with-dashes

    KINDS = ("int", "float", "text", "choice", "file", "folder")

    @property
    def flag(self) -> str:
        return self.option or "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> Any:
        """``value`` as this setting's kind; ValueError naming the flag and what is wrong."""
        if value is None and self.default is None:
            return None
        try:
            checked = self._coerce(value)
        except (TypeError, ValueError):
            raise ValueError(f"{self.flag}: {value!r} is not {self._expected()}") from None
        if self.minimum is not None and checked < self.minimum:
            raise ValueError(f"{self.flag}: {value!r} is below the minimum {self.minimum}")
        return checked

    def _coerce(self, value: Any) -> Any:
        if isinstance(value, bool):
            raise TypeError("a switch is not a number or a name")
        if self.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError("not a whole number")
            return int(value)
        if self.kind == "float":
            return float(value)
        if self.kind in ("file", "folder"):
            path = os.fsdecode(os.fspath(value))
            if not (os.path.isfile if self.kind == "file" else os.path.isdir)(path):
                raise ValueError(f"no {self.kind} at that path")
            return path
        if not isinstance(value, str) or (self.kind == "choice" and value not in self.choices):
            raise ValueError("not one of the choices")
        return value

    def _expected(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        return {"int": "a whole number", "float": "a number", "text": "text"}.get(self.kind, f"an existing {self.kind}")

    def as_dict(self) -> dict:
        """Plain JSON-able values for listings."""
        return {"name": self.name, "flag": self.flag, "kind": self.kind, "default": self.default, "help": self.help,
                "choices": list(self.choices), "minimum": self.minimum, "runtime": self.runtime}


#: What the scan itself reads, besides its plugins' own settings; every plugin may read these too.
SCAN_SETTINGS = (
    Setting("workers", "int", 0, "Processes for hashing, decoding and face detection; 0 means one per CPU, "
            "1 runs everything in one process.", minimum=0, runtime=True),
    Setting("device", "text", "cpu", "Where the model runs: cpu, cuda or cuda:N.", runtime=True),
    Setting("cluster", "text", None, "Analyse the items on a Dask cluster: tcp://HOST:PORT of a running scheduler "
            "(every worker must see the evidence at the same path), or local:N for N worker processes here. "
            "Needs the cluster extra.", runtime=True),
    Setting("batch_size", "int", 16, "Items per batch of the plugins that run in the main process (the model on a GPU).",
            minimum=1, runtime=True),
    Setting("max_bytes", "int", DecodeLimits.max_bytes, "Refuse to decode pictures larger than this many bytes "
            "(recorded as too_large; still hashed). Videos are decoded as a stream, a few frames at a time, so "
            "their size is not limited: --video-frames and --max-pixels bound what is decoded from them.", minimum=1),
    Setting("known_hashes", "file", None, "Skip files whose MD5, SHA-1 or SHA-256 is in this list (hashdeep "
            "output, NSRL-style CSV, or one hash per line)."),
)


def setting_table(plugins: Sequence[type[Plugin] | Plugin]) -> dict[str, Setting]:
    """Every setting a scan with ``plugins`` reads, by name: :data:`SCAN_SETTINGS`, then each plugin's.

    Two may declare the same setting only identically; a clash raises
    ValueError naming both, so that no flag means two things.
    """
    table = {setting.name: setting for setting in SCAN_SETTINGS}
    owners = dict.fromkeys(table, "the scan")
    for plugin in plugins:
        for setting in plugin.settings:
            if table.setdefault(setting.name, setting) != setting:
                raise ValueError(f"setting {setting.name!r} of plugin {plugin.name} differs from the one "
                                 f"{owners[setting.name]} declares")
            owners.setdefault(setting.name, f"plugin {plugin.name}")
    return table


@dataclass
class ScanContext:
    """What every plugin may read at start-up: settings and shared resources."""

    settings: Mapping[str, Any]
    device: str = "cpu"
    resources: dict[str, Any] = field(default_factory=dict)
    progress: bool = False  # the scan shows progress bars: a plugin's own long steps may show theirs


class Plugin(abc.ABC):
    """Base class of scan plugins.

    ``handles`` lists the item kinds the plugin processes ("image", "video",
    "disk_image", "other"); ``requires`` names the plugins whose findings it
    reads, which run before it and arrive in ``earlier``. ``settings``
    declares what it reads from ``context.settings`` (the scan fills in
    every declared default), and ``columns`` the values (keys of its
    findings' ``values``) that table renderers show as columns of their own.

    Where it runs: a plugin with ``parallel = True`` is pure per item (no
    shared state, picklable, deterministic) and the scan runs it in its
    worker processes, each with its own ``start_up``; the others run in the
    scan's main process, in batches through :meth:`process_batch` (override
    it to batch a model on the CPU or GPU). Once a finding sets a ``status``
    other than "scored", later plugins skip that item.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    handles: ClassVar[frozenset[str]]
    requires: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    parallel: ClassVar[bool] = False
    settings: ClassVar[tuple[Setting, ...]] = ()
    columns: ClassVar[tuple[Column, ...]] = ()

    def start_up(self, context: ScanContext) -> None:
        """Load models and check requirements; raise to refuse to run."""

    @abc.abstractmethod
    def process(self, item: Item, earlier: Mapping[str, Finding]) -> Finding:
        """Analyse one item and return what was found."""

    def process_batch(self, items: list[Item], earlier: list[Mapping[str, Finding]]) -> list[Finding]:
        """Analyse several items at once; the default calls :meth:`process` on each."""
        return [self.process(item, found) for item, found in zip(items, earlier)]

    def runs_in_workers(self, settings: Mapping[str, Any]) -> bool:
        """Whether this scan should run the plugin in its worker processes; ``parallel`` by default.

        A plugin may decide by the settings: the face X-ray model runs in the
        workers on a CPU (every core busy, no batching gain) and batched in
        the main process on a GPU.
        """
        return self.parallel

    def shut_down(self) -> None:
        """Release what start_up took."""


# Re-exported last: discovery checks classes against Plugin, defined above.
from facexray_forensics.plugins.discovery import (  # noqa: E402
    PluginEntry,
    discover_plugins,
    order_plugins,
    plugin_problems,
    select_plugins,
    start_up_problems,
)
