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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from facexray_forensics.records import Column, Finding, Item

ENTRY_POINT_GROUP = "facexray_forensics.plugins"
ITEM_KINDS = frozenset({"image", "video", "disk_image", "other"})


@dataclass
class ScanContext:
    """What every plugin may read at start-up: settings and shared resources."""

    settings: Mapping[str, Any]
    device: str = "cpu"
    resources: dict[str, Any] = field(default_factory=dict)


class Plugin(abc.ABC):
    """Base class of scan plugins.

    ``handles`` lists the item kinds the plugin processes ("image", "video",
    "disk_image", "other"); ``requires`` names the plugins whose findings it
    reads, which run before it and arrive in ``earlier``. ``columns``
    declares the values (keys of its findings' ``values``) that table
    renderers show as columns of their own.

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
