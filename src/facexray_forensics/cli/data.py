"""``fxr-forensic data ...``: the research data: real faces indexed, split by source, drawn into evaluation sets and blends."""

import click

from facexray_forensics.cli.echo import emit
from facexray_forensics.cli.errors import usage_errors
from facexray_forensics.faces.detect import METHODS


@click.group()
def data() -> None:
    """Research data: index real faces, split them by source, draw evaluation sets, look at blends.

    Example: fxr-forensic data index ../shared/data local/index
    """


@data.command("index")
@click.argument("real_dir", type=click.Path(exists=True, file_okay=False, readable=True))
@click.argument("index_dir", type=click.Path(file_okay=False, writable=True))
@click.option("--detector", type=click.Choice(METHODS), default="hog", show_default=True,
              help="Face detector: dlib's HOG (fast; the shipped model's faces), auto (HOG then MTCNN), MTCNN, "
                   "or dlib's mmod CNN (slow).")
@click.option("--upsample", type=click.IntRange(0, 3), default=0, show_default=True,
              help="Pyramid upsampling; each step halves the smallest face found (80 px at 0) and costs ~4x.")
@click.option("--min-face", type=click.IntRange(8), default=64, show_default=True,
              help="Ignore faces whose box is smaller than this many pixels (the scan's default).")
@click.option("--min-confidence", type=float, default=0.1, show_default=True,
              help="Ignore detections with a smaller detector score (the scan's default).")
@click.option("--size", type=click.IntRange(64, 1024), default=256, show_default=True,
              help="Side of the aligned crops in pixels: the input size of the model to be trained.")
@click.option("--scale", type=click.FloatRange(1.0, 3.0), default=1.3, show_default=True,
              help="Side of the crop square relative to the landmarks' longer extent.")
@click.option("--source-depth", type=click.IntRange(0), default=2, show_default=True,
              help="Files this many folders deep take their first folders as source id "
                   "(2: SET/PERSON/photo, e.g. lfw/NAME); shallower files and videos are their own source; "
                   "0: every file is its own source.")
@click.option("--video-frames", type=click.IntRange(1), default=8, show_default=True,
              help="Frames sampled evenly from each video.")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Detection processes; the result does not depend on it.")
@click.option("--neighbours", type=click.IntRange(1), default=100, show_default=True,
              help="Nearest faces of other sources kept per face.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def index_command(real_dir, index_dir, detector, upsample, min_face, min_confidence, size, scale, source_depth,
          video_frames, workers, neighbours, as_json) -> None:
    """Detect, align and index every real face in REAL_DIR (photos and videos) into INDEX_DIR.

    Files go through the scan's own face path (decoder, EXIF orientation,
    detector and alignment), so the crops are those a scan gives the model.
    One face per photo or sampled video frame (the largest) is kept. Run it
    again on the same folders to resume an interrupted build. Files that cannot
    be read or hold no face are listed with their reason in INDEX_DIR/manifest.json.

    Example: fxr-forensic data index ../shared/data local/index --workers 2
    """
    from facexray_forensics.data.index import build_index

    try:
        summary = build_index(
            real_dir, index_dir, detector=detector, upsample=upsample, min_face=min_face,
            min_confidence=min_confidence, size=size, scale=scale,
            source_depth=source_depth, video_frames=video_frames, workers=workers, neighbours=neighbours,
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    emit(summary.as_dict(), as_json)


@data.command("split")
@click.argument("real_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("record", type=click.Path(dir_okay=False))
@click.option("--held-out", default=0.1, show_default=True, help="Share of sources held out.")
@click.option("--source-depth", default=2, show_default=True, help="Folders that name a source (as in `data index`).")
@click.option("--no-hashes", is_flag=True, help="Skip the SHA-256 of each file.")
def split_command(real_dir, record, held_out, source_depth, no_hashes) -> None:
    """Split the real faces under REAL_DIR by source into train and held-out, and write the RECORD (JSON).

    Example: fxr-forensic data split ../shared/data training/splits/shared_data.json --held-out 0.1
    """
    from facexray_forensics.data.split import split_directory, write_split

    with usage_errors(ValueError):
        split = split_directory(real_dir, held_out, source_depth, hashes=not no_hashes)
    write_split(split, record)
    counts = split.to_dict()["counts"]
    click.echo(f"train: {counts['train']['files']} files of {counts['train']['sources']} sources; "
               f"held out: {counts['held_out']['files']} files of {counts['held_out']['sources']} sources")


@data.command("evaluation-set")
@click.argument("index_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--split", "split_file", type=click.Path(exists=True, dir_okay=False), required=True,
              help="Split record; only its held-out sources are drawn.")
@click.option("--pairs", default=1000, show_default=True, help="Blended pairs to draw.")
@click.option("--reals", default=1000, show_default=True, help="Real faces to draw.")
@click.option("--seed", default=0, show_default=True, help="Stream of the draws (use another for a calibration set).")
def evaluation_set_command(index_dir, out_dir, split_file, pairs, reals, seed) -> None:
    """Draw an evaluation set from the held-out sources of a face index into OUT_DIR.

    Example: fxr-forensic data evaluation-set data/index data/eval --split training/splits/shared_data.json --seed 1
    """
    from facexray_forensics.data.index import FaceIndex
    from facexray_forensics.data.sets import evaluation_set_from_index, write_evaluation_set
    from facexray_forensics.data.split import HELD_OUT, read_split

    with usage_errors(ValueError, TypeError):
        sources = read_split(split_file).sources(HELD_OUT) & set(FaceIndex(index_dir).source_names)
        if not sources:
            raise ValueError(f"no source of {index_dir} is held out in {split_file}")
        write_evaluation_set(out_dir, evaluation_set_from_index(index_dir, sources, pairs, reals, seed))
    click.echo(f"wrote {pairs} pairs and {reals} real faces from {len(sources)} held-out sources to {out_dir}")


@data.command("blend")
@click.argument("index_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False, writable=True))
@click.option("-n", "--count", type=click.IntRange(1), default=32, show_default=True,
              help="How many samples to write.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True,
              help="Stream seed; sample i of a seed is always the same.")
@click.option("--blend-probability", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Share of blended samples; the rest are real with an all-zero X-ray.")
@click.option("--no-deform", is_flag=True, help="Ablation: no piecewise-affine deformation of the mask.")
@click.option("--no-colour", is_flag=True, help="Ablation: no colour correction of the foreground.")
@click.option("--no-augment", is_flag=True, help="No JPEG, resize, noise, blur, jitter or flip.")
def blend_command(index_dir, out_dir, count, seed, blend_probability, no_deform, no_colour, no_augment) -> None:
    """Draw COUNT BI samples from the face index INDEX_DIR and write them to OUT_DIR.

    Each sample NNNNNN gets NNNNNN_image.png, NNNNNN_mask.png (softened mask,
    16-bit), NNNNNN_xray.png (4·M·(1−M), 16-bit) and NNNNNN_draw.json (how it
    was drawn); contact_sheet.png shows the samples above their X-rays.

    Example: fxr-forensic data blend local/index out/blends -n 64 --seed 1
    """
    from facexray_forensics.blending.export import write_samples
    from facexray_forensics.blending.config import SamplerConfig

    try:
        config = SamplerConfig(blend_probability=blend_probability, deform=not no_deform,
                               colour_correction=not no_colour, augment=not no_augment)
        written = write_samples(index_dir, out_dir, count, seed=seed, config=config)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {len(written)} samples and contact_sheet.png to {out_dir}")
