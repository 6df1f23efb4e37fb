"""``fxr-forensic model ...``: train a model, export it with its card, and evaluate it on held-out faces."""

import json
from pathlib import Path

import click

from facexray_forensics.cli.errors import usage_errors


@click.group()
def model() -> None:
    """The model's life: train it, export a checkpoint as weights, write its card, evaluate it held out.

    Example: fxr-forensic model evaluate data/eval --out out/eval
    """


_ALL_DEGRADATIONS = "none,jpeg60,jpeg75,jpeg90,h264crf23,h264crf30,downup"  # the keys of data.sets.DEGRADATIONS


def _degradation_names(ctx, param, value: str) -> tuple[str, ...]:
    from facexray_forensics.data.sets import DEGRADATIONS

    names = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = [name for name in names if name not in DEGRADATIONS]
    if unknown:
        raise click.BadParameter(f"unknown {','.join(unknown)}; choose from {','.join(DEGRADATIONS)}")
    if not names:
        raise click.BadParameter("name at least one degradation")
    return names


def held_out_set(directory: str, split_file: str | None):
    """The evaluation set in ``directory``; with a split record, ValueError unless all its sources are held out."""
    from facexray_forensics.data.sets import read_evaluation_set
    from facexray_forensics.data.split import read_split

    item = read_evaluation_set(directory)
    if split_file:
        read_split(split_file).check_held_out(sorted(item.sources()))
    return item


def json_file(path: str | None):
    """The JSON value in the file at ``path``; None without a path (the option was not given)."""
    return json.loads(Path(path).read_text()) if path else None


@model.command("train")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--max-minutes", type=float, default=None, help="Stop (with a checkpoint) before this much time passes.")
@click.option("--max-steps", type=int, default=None, help="Stop after this many steps in this call.")
@click.option("--checkpoint-dir", default=None, help="Override run.checkpoint_dir of the config.")
@click.option("--no-resume", is_flag=True, help="Start afresh even when the checkpoint directory holds a checkpoint.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_command(config, max_minutes, max_steps, checkpoint_dir, no_resume, quiet) -> None:
    """Train from a TOML config, continuing from CHECKPOINT_DIR/latest.pt when it exists.

    Each call trains until the config's total steps, --max-minutes or
    --max-steps, then writes a checkpoint; the next call continues exactly
    where this one stopped. Prints a JSON summary of the call on stdout.
    Under torchrun every process trains on its own data stream (DDP).

    Example: fxr-forensic model train training/configs/paper_w18.toml --max-minutes 8
    """
    from facexray_forensics.train import load_config, train

    with usage_errors(ValueError):
        settings = load_config(config)
    if checkpoint_dir:
        settings.run.checkpoint_dir = checkpoint_dir
    result = train(settings, max_minutes=max_minutes, max_steps=max_steps, resume=not no_resume, progress=not quiet)
    summary = {
        "step": result.step,
        "finished": result.finished,
        "steps_this_call": len(result.losses),
        "last_loss": result.losses[-1] if result.losses else None,
        "checkpoint": str(result.checkpoint) if result.checkpoint else None,
        "seconds": round(result.seconds, 2),
        "samples_per_s": round(result.samples_per_s, 2),
    }
    import torch.distributed as dist

    if not dist.is_initialized() or dist.get_rank() == 0:
        click.echo(json.dumps(summary, indent=2))


@model.command("export")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--calibration-set", type=click.Path(exists=True, file_okay=False), required=True,
              help="Held-out evaluation-set directory to fit the calibration and band edges on.")
@click.option("--split", "split_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Split record; every source of the calibration set must be held out in it.")
@click.option("--method", type=click.Choice(["isotonic", "temperature"]), default="isotonic", show_default=True)
@click.option("--notes", "notes_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSON file of model-card notes (training data, limits, time, ...).")
@click.option("--mirror-average", is_flag=True,
              help="Score every crop with its mirror image and average the two (twice the model's work).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
def export_command(checkpoint, out_dir, calibration_set, split_file, method, notes_file, mirror_average,
                   device) -> None:
    """Write a training CHECKPOINT as a weights directory OUT_DIR (safetensors shards and model card).

    The calibration and the band edges (20%, 5% and 1% false positives on the
    real faces) are fitted on --calibration-set and stored in the card.

    Example: fxr-forensic model export runs/paper_w18/latest.pt weights/ --calibration-set data/calibration
    """
    from facexray_forensics.model.export import export_model

    with usage_errors(ValueError, TypeError):
        item = held_out_set(calibration_set, split_file)
        card = export_model(checkpoint, out_dir, item, method, json_file(notes_file), device, mirror_average)
    click.echo(json.dumps({"directory": out_dir, "files": card.files, "thresholds": card.thresholds.to_dict()}, indent=2))


@model.command("card")
@click.argument("weights_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--notes", "notes_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSON file of model-card notes to merge (top-level keys replace).")
@click.option("--evaluation", "evaluation_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="evaluation.json written by fxr-forensic model evaluate for this model.")
def card_command(weights_dir, notes_file, evaluation_file) -> None:
    """Merge notes and a held-out evaluation into WEIGHTS_DIR's model card, and write MODEL_CARD.md beside it.

    The weights files are untouched; the card, and so the model's SHA-256 as
    scans record it, changes. Run it before a model ships, never after.

    Example: fxr-forensic model card weights/ --notes notes.json --evaluation out/eval/evaluation.json
    """
    from facexray_forensics.model.card import update_card, write_markdown

    with usage_errors(ValueError, KeyError, TypeError):
        update_card(weights_dir, json_file(notes_file), json_file(evaluation_file))
    click.echo(f"wrote {write_markdown(weights_dir)}")


@model.command("evaluate")
@click.argument("evaluation_set", type=click.Path(exists=True, file_okay=False))
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Weights directory (default: the packaged model).")
@click.option("--split", "split_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Split record; every source of the set must be held out in it.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Directory for evaluation.json and evaluation.md.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--batch-size", default=32, show_default=True, help="Crops per forward pass.")
@click.option("--pixel-stride", default=4, show_default=True, help="Use every Nth row and column for the pixel AUC.")
@click.option("--degradations", default=_ALL_DEGRADATIONS, show_default=True, callback=_degradation_names,
              help="Comma-separated degradations of blended and real faces alike, one row per blend method each.")
def evaluate_command(evaluation_set, model_dir, split_file, out_dir, device, batch_size, pixel_stride,
                     degradations) -> None:
    """Evaluate a model on the held-out EVALUATION_SET directory (blend pairs, masks and real faces).

    Reports, for alpha-blended BI, Poisson-blended and Laplacian-blended faces
    against real ones, each undegraded and after each of --degradations (JPEG
    quality 60/75/90, H.264 CRF 23/30, down-up scaling ×0.5, applied to the
    real faces too), AUC, AP, EER and TPR at 1% FPR, and the X-ray's pixel AUC
    and IoU at 0.5, laid out like the paper's Table 7, as JSON and Markdown.

    Example: fxr-forensic model evaluate data/eval --model weights/ --split training/splits/shared_data.json --out out/eval
    """
    from facexray_forensics.evaluation import evaluate, write_report
    from facexray_forensics.model import Predictor, default_model_dir, load_weights

    directory = model_dir or default_model_dir()
    if directory is None:
        raise click.UsageError("no packaged model yet; pass --model DIR")
    with usage_errors(ValueError, TypeError):
        item = held_out_set(evaluation_set, split_file)
        predictor = Predictor(load_weights(directory, device), device, batch_size)
    report = evaluate(predictor, item, pixel_stride=pixel_stride, degradations=degradations)
    json_path, markdown_path = write_report(report, out_dir)
    click.echo(markdown_path.read_text())
    click.echo(f"wrote {json_path} and {markdown_path}")
