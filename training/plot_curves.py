"""Collect the learning curves of training runs into one JSON file and one PNG plot.

Usage: python training/plot_curves.py OUT_STEM RUN_DIR[:MINUTES] ...

Each RUN_DIR holds the ``curve.jsonl`` that training writes when
``run.curve_every`` is set, and the ``latest.pt`` whose config names the
arm; ``:MINUTES`` keeps only the points within that much training time (the
study's equal budget, when a run went on longer). Writes OUT_STEM.json (every
arm's config and points) and OUT_STEM.png (class AUC, alpha- and
Poisson-blended, and X-ray pixel AUC against samples seen). Needs matplotlib
(the ``train`` extra).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PANELS = (("alpha_auc", "class AUC, alpha-blended"), ("poisson_auc", "class AUC, Poisson-blended"),
          ("pixel_auc", "X-ray pixel AUC"))


def read_arm(argument: str) -> dict:
    """One arm: its name, training config and curve points (within its time budget, if given)."""
    from facexray_forensics.train.checkpoint import load_checkpoint

    directory, _, minutes = argument.partition(":")
    run = Path(directory)
    points = [json.loads(line) for line in (run / "curve.jsonl").read_text().splitlines() if line.strip()]
    if minutes:
        points = [p for p in points if p["train_seconds"] <= 60 * float(minutes)]
    config = load_checkpoint(run / "latest.pt")["config"]
    return {"arm": run.name, "minutes_budget": float(minutes) if minutes else None,
            "model": config["model"], "learning_rate": config["optim"]["learning_rate"],
            "batch_size": config["run"]["batch_size"], "image_size": config["data"]["image_size"],
            "points": points}


def plot(arms: list[dict], path: Path, xlabel: str = "samples seen (thousands)",
         ylim: tuple[float, float] = (0.0, 1.0)) -> None:
    """One panel per metric of PANELS, one line per arm (``arm``: its label, ``points``: its curve)."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on training machines
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(1, len(PANELS), figsize=(15, 4.5), constrained_layout=True)
    for axis, (key, title) in zip(axes, PANELS):
        for arm in arms:
            samples = [p["samples"] / 1000 for p in arm["points"]]
            axis.plot(samples, [p[key] for p in arm["points"]], marker=".", label=arm["arm"])
        axis.set_title(title)
        axis.set_xlabel(xlabel)
        axis.set_ylim(*ylim)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("held-out AUC")
    axes[-1].legend(loc="lower right", fontsize=8)
    figure.savefig(path, dpi=110)


def main(arguments: list[str]) -> None:
    if len(arguments) < 2:
        sys.exit(__doc__)
    stem = Path(arguments[0])
    arms = [read_arm(argument) for argument in arguments[1:]]
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps({"arms": arms}, indent=1) + "\n")
    plot(arms, stem.with_suffix(".png"))
    print(f"wrote {stem.with_suffix('.json')} and {stem.with_suffix('.png')}")


if __name__ == "__main__":
    main(sys.argv[1:])
