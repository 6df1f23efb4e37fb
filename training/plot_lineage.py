"""Plot the shipped default's learning curve over its chunks, against cumulative samples.

Usage: python training/plot_lineage.py OUT.png CURVE_JSON[#ARM]+PRIOR_SAMPLES ...

Each CURVE_JSON holds one chunk's curve points (``points``, or the arm ``ARM``
of a study file written by plot_curves.py); PRIOR_SAMPLES is what the weights
it continued from had already seen (their card's ``samples_seen``), so the
chunks line up end to end. The panels are those of plot_curves.py, zoomed to
the range the curve set can still tell apart. Needs matplotlib (the ``train``
extra).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from plot_curves import plot


def read_chunk(argument: str) -> dict:
    """One chunk as plot_curves.plot takes an arm: its label and its points at cumulative samples."""
    location, _, prior = argument.rpartition("+")
    path, _, arm = location.partition("#")
    data = json.loads(Path(path).read_text())
    points = next(a["points"] for a in data["arms"] if a["arm"] == arm) if arm else data["points"]
    offset = int(prior)
    return {"arm": arm or Path(path).stem, "points": [{**point, "samples": offset + point["samples"]} for point in points]}


def main(arguments: list[str]) -> None:
    if len(arguments) < 2:
        sys.exit(__doc__)
    plot([read_chunk(argument) for argument in arguments[1:]], Path(arguments[0]),
         xlabel="cumulative samples seen (thousands)", ylim=(0.9, 1.0))
    print(f"wrote {arguments[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
