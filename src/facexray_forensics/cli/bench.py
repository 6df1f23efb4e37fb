"""``fxr-forensic bench ...``: benchmarks that print one JSON object each."""

import click

from facexray_forensics.cli.echo import emit


@click.group()
def bench() -> None:
    """Measure speed. Each subcommand prints one JSON object on stdout.

    Example: fxr-forensic bench ops --size 256 --json
    """


@bench.command("ops")
@click.option("--size", default=256, show_default=True, help="Image side in pixels.")
@click.option("--repeats", default=200, show_default=True, help="Timed runs of each op and of our chain.")
@click.option("--reference-repeats", default=20, show_default=True, help="Timed runs of the reference chain.")
@click.option("--kernel-size", default=11, show_default=True, help="Odd size of the mask blur.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench_ops(size, repeats, reference_repeats, kernel_size, as_json):
    """Median ms of each blending op and of the per-sample chain on one thread, against
    the scikit-image + OpenCV + numpy chain timed in the same run.

    Example: fxr-forensic bench ops --size 256 --json
    """
    from facexray_forensics.bench.ops import run

    emit(run(size, repeats, reference_repeats, kernel_size), as_json)


@bench.command("train")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              default="training/configs/default_cpu_chunk7.toml", show_default=True,
              help="Training config to time (by default the one that trained the shipped default model last).")
@click.option("--index", "index_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Face index: run the config's BI sampler in the loop (else synthetic blends).")
@click.option("--model", default=None, help="Override model.name.")
@click.option("--batch", type=int, default=None, help="Override run.batch_size.")
@click.option("--size", type=int, default=None, help="Override data.image_size.")
@click.option("--device", default=None, help="Override run.device: cpu, cuda or cuda:N.")
@click.option("--steps", default=10, show_default=True, help="Timed steps.")
@click.option("--warmup", default=3, show_default=True, help="Untimed steps first.")
@click.option("--no-bf16", is_flag=True, help="Override run.bf16: train in float32.")
@click.option("--no-channels-last", is_flag=True, help="Override run.channels_last: keep NCHW.")
@click.option("--compile", "compile_", is_flag=True, help="Override run.compile: torch.compile the model.")
@click.option("--compile-mode", default=None, help="Override run.compile_mode, e.g. reduce-overhead.")
@click.option("--no-anchor", is_flag=True, help="Skip the HRNetV2-W18-at-256 anchor.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench_train(config_path, index_dir, model, batch, size, device, steps, warmup, no_bf16, no_channels_last,
                compile_, compile_mode, no_anchor, as_json):
    """Training samples per second of a config, beside HRNetV2-W18 at 256 in the same run.

    Example: fxr-forensic bench train --index local/index128 --json
    """
    from facexray_forensics.train import load_config
    from facexray_forensics.bench.train import run

    try:
        config = load_config(config_path)
        for section, key, value in (("model", "name", model), ("run", "batch_size", batch),
                                    ("data", "image_size", size), ("run", "device", device),
                                    ("run", "bf16", False if no_bf16 else None),
                                    ("run", "channels_last", False if no_channels_last else None),
                                    ("run", "compile", True if compile_ else None),
                                    ("run", "compile_mode", compile_mode)):
            if value is not None:
                setattr(getattr(config, section), key, value)
        config.validate()
        emit(run(config, index_dir, steps, warmup, anchor=not no_anchor), as_json)
    except ValueError as error:
        raise click.ClickException(str(error)) from error


@bench.command("bi")
@click.option("--index", "index_dir", default="local/index", show_default=True,
              type=click.Path(file_okay=False), help="Face index to draw from (fxr-forensic data index).")
@click.option("--samples", default=2000, show_default=True, type=click.IntRange(1), help="Timed samples.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0), help="Stream seed.")
@click.option("--device", default="cpu", show_default=True,
              help="cpu: the per-sample CPU sampler; cuda (or cuda:N): the batched GPU sampler.")
@click.option("--batch", default=1024, show_default=True, type=click.IntRange(1),
              help="Samples per batch of the GPU sampler.")
@click.option("--jpeg", type=click.Choice(["auto", "nvjpeg", "dct"]), default="auto", show_default=True,
              help="JPEG augmentation of the GPU sampler: nvJPEG, the DCT model, or nvJPEG where available.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench_bi(index_dir, samples, seed, device, batch, jpeg, as_json):
    """End-to-end BI samples per second (key samples_per_s): on the CPU in one process with
    the time per stage, or with --device cuda in batches on the GPU.

    Example: fxr-forensic bench bi --index local/index --json
    Example: fxr-forensic bench bi --index local/index --device cuda --json
    """
    try:
        if device == "cpu":
            from facexray_forensics.bench.bi import run

            result = run(index_dir, samples=samples, seed=seed)
        else:
            from facexray_forensics.bench.gpu import run_sampler

            result = run_sampler(index_dir, device, batch=batch, batches=max(1, samples // batch),
                                 seed=seed, jpeg=jpeg)
            result["samples_per_s"] = result["sampler_samples_per_s"]
    except ValueError as error:
        raise click.ClickException(f"{error} (build one with: fxr-forensic data index REAL_DIR {index_dir})")
    emit(result, as_json)


@bench.command("gpu")
@click.option("--index", "index_dir", default="local/index", show_default=True,
              type=click.Path(file_okay=False), help="Face index for the sampler.")
@click.option("--device", default="cuda", show_default=True, help="cuda, cuda:N or cpu.")
@click.option("--batch", default=1024, show_default=True, type=click.IntRange(1), help="Samples per batch.")
@click.option("--repeats", default=20, show_default=True, type=click.IntRange(1), help="Timed batches of each kind.")
@click.option("--jpeg", type=click.Choice(["auto", "nvjpeg", "dct"]), default="auto", show_default=True,
              help="JPEG augmentation of the sampler.")
@click.option("--write", "results_dir", default=None, type=click.Path(file_okay=False),
              help="Also write the JSON to DIR/<device name>.json, e.g. benchmarks/results.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench_gpu(index_dir, device, batch, repeats, jpeg, results_dir, as_json):
    """Samples per second of the batched ops chain (key ops_samples_per_s) and of the whole
    GPU BI sampler with draws and augmentation (key sampler_samples_per_s) on one device.

    Example: fxr-forensic bench gpu --index local/index --json --write benchmarks/results
    """
    from facexray_forensics.bench.gpu import run

    try:
        result = run(index_dir, device, batch=batch, repeats=repeats, jpeg=jpeg, results_dir=results_dir)
    except ValueError as error:
        raise click.ClickException(str(error))
    emit(result, as_json)


@bench.command("scan")
@click.option("--images", default=32, show_default=True, type=click.IntRange(min=2), help="How many 640×480 single-face JPEGs to scan.")
@click.option("--model", "model_dir", default=None, type=click.Path(file_okay=False, exists=True), help="Weights directory. Default: the packaged model, else random weights of the same size.")
@click.option("--device", default="cpu", show_default=True, help="Where the model runs: cpu, cuda or cuda:N.")
@click.option("--workers", default=0, show_default=True, type=click.IntRange(min=0), help="Decoding and detection processes; 0 means one per CPU.")
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1), help="Items per model batch.")
@click.option("--against", type=click.Path(file_okay=False, exists=True), default=None,
              help="Also scan with the project in this src folder (another checkout, e.g. a git worktree of an earlier commit), alternating with this tree, and report both medians and their ratio.")
@click.option("--cluster", default=None, help="Also scan on this Dask cluster (tcp://HOST:PORT or local:N), alternating with the local pool, and report both, the overhead per item and the coordinator's record time per item.")
@click.option("--rounds", default=3, show_default=True, type=click.IntRange(min=1), help="With --against or --cluster: runs of each side.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench_scan(images, model_dir, device, workers, batch_size, against, cluster, rounds, as_json):
    """Images a second through the whole scan, end to end (key images_per_s): hashing,
    decoding, face detection with landmarks, alignment, the model, custody log, journal,
    re-hashing and the JSON report, with milliseconds per image for each stage.

    With --against, each round scans in a fresh process for this tree and for
    the other, in alternating order, with the same weights (key ratio: this
    tree's median images/s over the other's).

    \b
    Examples:
      fxr-forensic bench scan --json
      git worktree add /tmp/before <commit> && fxr-forensic bench scan --against /tmp/before/src --json
      fxr-forensic bench scan --cluster local:2 --json
    """
    from facexray_forensics.bench.scan import cluster_beside_local, compare, run

    if against and cluster:
        raise click.UsageError("give --against or --cluster, not both")
    if cluster:
        emit(cluster_beside_local(cluster, rounds, images, model_dir, device, workers, batch_size,
                                  progress=lambda line: click.echo(line, err=True)), as_json)
    elif against:
        emit(compare(against, rounds, images, model_dir, device, workers, batch_size,
                     progress=lambda line: click.echo(line, err=True)), as_json)
    else:
        emit(run(images, model_dir, device, workers, batch_size), as_json)


@bench.command("video")
@click.option("--seconds", default=60.0, show_default=True, type=click.FloatRange(min=1.0), help="Length of the 720p clip made for the run.")
@click.option("--frames", default=None, type=click.IntRange(min=1), help="Frames sampled per video. Default: the scan's (32).")
@click.option("--model", "model_dir", default=None, type=click.Path(file_okay=False, exists=True), help="Weights directory. Default: the packaged model, else random weights of the same size.")
@click.option("--device", default="cpu", show_default=True, help="Where the model runs: cpu, cuda or cuda:N.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench_video(seconds, frames, model_dir, device, as_json):
    """Seconds a scan spends per minute of 720p H.264 video at the default sampling
    (key seconds_per_minute), with the time per stage and, for comparison, the time to
    decode every frame.

    Example: fxr-forensic bench video --json
    """
    from facexray_forensics.bench.video import run
    from facexray_forensics.evidence import DEFAULT_VIDEO_FRAMES

    emit(run(seconds, frames or DEFAULT_VIDEO_FRAMES, model_dir, device), as_json)


@bench.command("neighbours")
@click.option("--faces", default=100_000, show_default=True, type=click.IntRange(2), help="Synthetic faces.")
@click.option("--k", default=100, show_default=True, type=click.IntRange(1), help="Neighbours per face.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench_neighbours(faces, k, as_json):
    """Time the neighbour table (k nearest faces of other sources) on synthetic landmarks.

    Example: fxr-forensic bench neighbours --faces 100000 --json
    """
    from facexray_forensics.bench.neighbours import run

    emit(run(faces, k), as_json)


@bench.command("faces")
@click.option("--frames", default=200, show_default=True, type=click.IntRange(1), help="Composite frames, one real face each.")
@click.option("--resolution", type=click.Choice(["720p", "1080p", "4k"]), default="1080p", show_default=True, help="Frame size.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0), help="Seed of the frames, faces and conditions.")
@click.option("--data", "data_dir", default="../shared/data", show_default=True, type=click.Path(file_okay=False),
              help="Folder of the real face photos (lfw/ and helen/ are used).")
@click.option("--min-face", type=click.IntRange(min=8), default=None,
              help="The face path's minimum face (box side, pixels). Default 32: the 40-63 px bin is measured too.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench_faces(frames, resolution, seed, data_dir, min_face, as_json):
    """Face recall of --detector auto beside hog on the same composites: real faces pasted
    into generated frames at widths 40-600 px, plain, mask-occluded, rotated or motion-blurred,
    JPEG-coded; recall at IoU >= 0.4 by width and condition, false detections and ms per frame.

    Example: fxr-forensic bench faces --resolution 1080p --json
    """
    from facexray_forensics.bench.faces import DEFAULT_MIN_FACE, run

    try:
        emit(run(frames, resolution, seed, data_dir, min_face or DEFAULT_MIN_FACE), as_json)
    except FileNotFoundError as error:
        raise click.ClickException(str(error))
