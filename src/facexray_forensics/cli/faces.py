"""``fxr-forensic faces ...``: build the face index the blending sampler draws from."""

import json

import click

from facexray_forensics.faces.detect import METHODS


@click.group()
def faces() -> None:
    """Work with real faces: detect, align and index them.

    Example: fxr-forensic faces index ../shared/data local/index
    """


@faces.command("index")
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
def index(real_dir, index_dir, detector, upsample, min_face, min_confidence, size, scale, source_depth,
          video_frames, workers, neighbours, as_json) -> None:
    """Detect, align and index every real face in REAL_DIR (photos and videos) into INDEX_DIR.

    Files go through the scan's own face path (decoder, EXIF orientation,
    detector and alignment), so the crops are those a scan gives the model.
    One face per photo or sampled video frame (the largest) is kept. Run it
    again on the same folders to resume an interrupted build. Files that cannot
    be read or hold no face are listed with their reason in INDEX_DIR/manifest.json.

    Example: fxr-forensic faces index ../shared/data local/index --workers 2
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
    result = summary.as_dict()
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        for key, value in result.items():
            click.echo(f"{key:>14}: {value}")
