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

from plot_curves import PANELS


def read_chunk(argument: str) -> tuple[str, list[dict]]:
    """(label, points with cumulative samples) of one ``CURVE_JSON[#ARM]+PRIOR_SAMPLES`` argument."""
    location, _, prior = argument.rpartition("+")
    path, _, arm = location.partition("#")
    data = json.loads(Path(path).read_text())
    points = next(a["points"] for a in data["arms"] if a["arm"] == arm) if arm else data["points"]
    offset = int(prior)
    return arm or Path(path).stem, [{**point, "samples": offset + point["samples"]} for point in points]


def main(arguments: list[str]) -> None:
    if len(arguments) < 2:
        sys.exit(__doc__)
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on training machines
    from matplotlib import pyplot

    chunks = [read_chunk(argument) for argument in arguments[1:]]
    figure, axes = pyplot.subplots(1, len(PANELS), figsize=(15, 4.5), constrained_layout=True)
    for axis, (key, title) in zip(axes, PANELS):
        for label, points in chunks:
            axis.plot([p["samples"] / 1000 for p in points], [p[key] for p in points], marker=".", label=label)
        axis.set_title(title)
        axis.set_xlabel("cumulative samples seen (thousands)")
        axis.set_ylim(0.9, 1.0)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("held-out AUC (curve set)")
    axes[-1].legend(loc="lower right", fontsize=8)
    figure.savefig(arguments[0], dpi=110)
    print(f"wrote {arguments[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
