"""``fxr-forensic evaluate`` and ``fxr-forensic split``: held-out evaluation and the source split behind it."""

import click

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


@click.command("evaluate")
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

    Example: fxr-forensic evaluate data/eval --model weights/ --split training/splits/shared_data.json --out out/eval
    """
    from facexray_forensics.data.sets import read_evaluation_set
    from facexray_forensics.data.split import read_split
    from facexray_forensics.evaluation import evaluate, write_report
    from facexray_forensics.model import Predictor, default_model_dir, load_weights

    directory = model_dir or default_model_dir()
    if directory is None:
        raise click.UsageError("no packaged model yet; pass --model DIR")
    try:
        item = read_evaluation_set(evaluation_set)
        if split_file:
            read_split(split_file).check_held_out(sorted(item.sources()))
        predictor = Predictor(load_weights(directory, device), device, batch_size)
    except (ValueError, TypeError) as error:
        raise click.UsageError(str(error)) from error
    report = evaluate(predictor, item, pixel_stride=pixel_stride, degradations=degradations)
    json_path, markdown_path = write_report(report, out_dir)
    click.echo(markdown_path.read_text())
    click.echo(f"wrote {json_path} and {markdown_path}")


@click.command("split")
@click.argument("real_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("record", type=click.Path(dir_okay=False))
@click.option("--held-out", default=0.1, show_default=True, help="Share of sources held out.")
@click.option("--source-depth", default=2, show_default=True, help="Folders that name a source (as in `faces index`).")
@click.option("--no-hashes", is_flag=True, help="Skip the SHA-256 of each file.")
def split_command(real_dir, record, held_out, source_depth, no_hashes) -> None:
    """Split the real faces under REAL_DIR by source into train and held-out, and write the RECORD (JSON).

    Example: fxr-forensic split ../shared/data training/splits/shared_data.json --held-out 0.1
    """
    from facexray_forensics.data.split import split_directory, write_split

    try:
        split = split_directory(real_dir, held_out, source_depth, hashes=not no_hashes)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    write_split(split, record)
    counts = split.to_dict()["counts"]
    click.echo(f"train: {counts['train']['files']} files of {counts['train']['sources']} sources; "
               f"held out: {counts['held_out']['files']} files of {counts['held_out']['sources']} sources")


@click.command("export")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--calibration-set", type=click.Path(exists=True, file_okay=False), required=True,
              help="Held-out evaluation-set directory to fit the calibration and band edges on.")
@click.option("--split", "split_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Split record; every source of the calibration set must be held out in it.")
@click.option("--method", type=click.Choice(["isotonic", "temperature"]), default="isotonic", show_default=True)
@click.option("--notes", "notes_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSON file of model-card notes (training data, limits, time, ...).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
def export_command(checkpoint, out_dir, calibration_set, split_file, method, notes_file, device) -> None:
    """Write a training CHECKPOINT as a weights directory OUT_DIR (safetensors shards and model card).

    The calibration and the band edges (20%, 5% and 1% false positives on the
    real faces) are fitted on --calibration-set and stored in the card.

    Example: fxr-forensic export runs/paper_w18/latest.pt weights/ --calibration-set data/calibration
    """
    import json

    from facexray_forensics.data.sets import read_evaluation_set
    from facexray_forensics.data.split import read_split
    from facexray_forensics.model.export import export_model

    try:
        item = read_evaluation_set(calibration_set)
        if split_file:
            read_split(split_file).check_held_out(sorted(item.sources()))
        notes = json.loads(open(notes_file).read()) if notes_file else None
        card = export_model(checkpoint, out_dir, item, method, notes, device)
    except (ValueError, TypeError) as error:
        raise click.UsageError(str(error)) from error
    click.echo(json.dumps({"directory": out_dir, "files": card.files, "thresholds": card.thresholds.to_dict()}, indent=2))


@click.command("model-card")
@click.argument("weights_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--notes", "notes_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSON file of model-card notes to merge (top-level keys replace).")
@click.option("--evaluation", "evaluation_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="evaluation.json written by fxr-forensic evaluate for this model.")
def model_card_command(weights_dir, notes_file, evaluation_file) -> None:
    """Merge notes and a held-out evaluation into WEIGHTS_DIR's model card, and write MODEL_CARD.md beside it.

    The weights files are untouched; the card, and so the model's SHA-256 as
    scans record it, changes. Run it before a model ships, never after.

    Example: fxr-forensic model-card weights/ --notes notes.json --evaluation out/eval/evaluation.json
    """
    import json

    from facexray_forensics.model.card import update_card, write_markdown

    try:
        notes = json.loads(open(notes_file).read()) if notes_file else None
        evaluation = json.loads(open(evaluation_file).read()) if evaluation_file else None
        update_card(weights_dir, notes, evaluation)
    except (ValueError, KeyError, TypeError) as error:
        raise click.UsageError(str(error)) from error
    click.echo(f"wrote {write_markdown(weights_dir)}")


@click.command("evaluation-set")
@click.argument("index_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--split", "split_file", type=click.Path(exists=True, dir_okay=False), required=True,
              help="Split record; only its held-out sources are drawn.")
@click.option("--pairs", default=1000, show_default=True, help="Blended pairs to draw.")
@click.option("--reals", default=1000, show_default=True, help="Real faces to draw.")
@click.option("--seed", default=0, show_default=True, help="Stream of the draws (use another for a calibration set).")
def evaluation_set_command(index_dir, out_dir, split_file, pairs, reals, seed) -> None:
    """Draw an evaluation set from the held-out sources of a face index into OUT_DIR.

    Example: fxr-forensic evaluation-set data/index data/eval --split training/splits/shared_data.json --seed 1
    """
    from facexray_forensics.data.index import FaceIndex
    from facexray_forensics.data.sets import evaluation_set_from_index, write_evaluation_set
    from facexray_forensics.data.split import HELD_OUT, read_split

    try:
        sources = read_split(split_file).sources(HELD_OUT) & set(FaceIndex(index_dir).source_names)
        if not sources:
            raise ValueError(f"no source of {index_dir} is held out in {split_file}")
        write_evaluation_set(out_dir, evaluation_set_from_index(index_dir, sources, pairs, reals, seed))
    except (ValueError, TypeError) as error:
        raise click.UsageError(str(error)) from error
    click.echo(f"wrote {pairs} pairs and {reals} real faces from {len(sources)} held-out sources to {out_dir}")
