"""Images a second through the whole scan: 640×480 single-face JPEGs, end to end.

The images are made here from scikit-image's public-domain astronaut (her
face shifted across a plain backdrop, so every file differs). They are
scanned by :class:`facexray_forensics.scan.Scan` with the built-in
plugins: hashing, EXIF, decoding, face detection with 68 landmarks,
alignment, the model batched in the main process, the custody log and the
journal, the second hashing pass and the JSON report. The model is the
packaged one, or HRNet-W18 with random weights (the same computation) while
none is shipped. Alongside, the detector and the model are timed alone in
this process, and the model's floating-point work per face is counted, to
say where the time goes.

:func:`compare` runs the same benchmark on this tree and on another
checkout of the project, alternating in fresh processes on one machine.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from facexray_forensics.bench.timing_model import timing_model

WIDTH, HEIGHT = 640, 480


def make_images(count: int) -> list[bytes]:
    """``count`` different 640×480 JPEGs, each with the astronaut's one face."""
    import cv2
    from PIL import Image
    from skimage import data

    face = cv2.resize(data.astronaut()[0:300, 60:420], (336, 280), interpolation=cv2.INTER_AREA)
    images = []
    for index in range(count):
        canvas = np.empty((HEIGHT, WIDTH, 3), np.uint8)
        canvas[:] = (70 + index % 50, 90, 110)
        x = round((WIDTH - face.shape[1]) * index / max(1, count - 1))
        y = (HEIGHT - face.shape[0]) // 2
        canvas[y : y + face.shape[0], x : x + face.shape[1]] = face
        buffer = io.BytesIO()
        Image.fromarray(canvas).save(buffer, format="JPEG", quality=90)
        images.append(buffer.getvalue())
    return images


def _time_alone(images: list[bytes], model_dir: str, device: str, batch_size: int) -> dict:
    """Per-image milliseconds of detection and of the model, each alone in this process."""
    import cv2

    from facexray_forensics.faces import FaceDetector, align_face
    from facexray_forensics.model import Predictor, load_weights

    detector = FaceDetector()
    pixels = [cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1].copy() for image in images[:8]]
    start, cpu_start = time.perf_counter(), time.process_time()
    faces = [detector.detect(frame) for frame in pixels]
    detect_ms = (time.perf_counter() - start) * 1000 / len(pixels)
    detect_cpu_ms = (time.process_time() - cpu_start) * 1000 / len(pixels)
    predictor = Predictor(load_weights(model_dir), device=device, batch_size=batch_size)
    geometry = predictor.card.geometry
    crops = np.stack([align_face(frame, found[0].landmarks, size=geometry.size, scale=geometry.scale).crop
                      for frame, found in zip(pixels, faces) if found])
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        predictor.predict(crops[:1])  # also the warm-up: first-call allocations
    start, cpu_start = time.perf_counter(), time.process_time()
    predictor.predict(crops)
    model_ms = (time.perf_counter() - start) * 1000 / len(crops)
    model_cpu_ms = (time.process_time() - cpu_start) * 1000 / len(crops)
    return {
        "detect_landmarks_ms_per_image": round(detect_ms, 1),
        # CPU time does not grow when other programs share the cores, so it measures the work itself;
        # all cores busy with detection and the model alone cannot go faster than this.
        "detect_landmarks_cpu_ms_per_image": round(detect_cpu_ms, 1),
        "model_cpu_ms_per_face": round(model_cpu_ms, 1),
        "cpu_bound_images_per_s": round((os.cpu_count() or 1) * 1000 / (detect_cpu_ms + model_cpu_ms), 2),
        "model_ms_per_face": round(model_ms, 1),
        "model_gflop_per_face": round(counter.get_total_flops() / 1e9, 2),  # multiply and add counted apart
        "model_batch": int(min(batch_size, len(crops))),
        "model_input": f"{geometry.size}x{geometry.size}",
        "torch_threads": torch.get_num_threads(),
    }


def run(images: int = 32, model_dir: str | None = None, device: str = "cpu", workers: int = 0, batch_size: int = 16,
        cluster: str | None = None) -> dict:
    """Scan ``images`` generated JPEGs (on ``cluster`` when given) and return throughput and time per stage."""
    from facexray_forensics.plugins.builtin import BUILTIN_PLUGINS
    from facexray_forensics.renderers.json import render_json
    from facexray_forensics.scan import Output, Scan, ScanSettings, ScanTimings

    if images < 2:
        raise ValueError(f"images must be at least 2, got {images}")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="fxr-bench-scan-") as scratch:
        scratch = Path(scratch)
        evidence = scratch / "evidence"
        evidence.mkdir()
        contents = make_images(images)
        for index, content in enumerate(contents):
            (evidence / f"face_{index:04d}.jpg").write_bytes(content)
        out = scratch / "out"
        out.mkdir()
        directory, model_source = timing_model(model_dir, scratch)
        timings = ScanTimings()
        settings = ScanSettings(model_dir=directory, device=device, workers=workers, batch_size=batch_size, cluster=cluster)
        report = Scan([evidence], [Output(out / "scan.json", render_json)], [plugin() for plugin in BUILTIN_PLUGINS],
                      settings=settings, timings=timings, progress=False).run()
        alone = _time_alone(contents, directory, device, batch_size)
    stages = timings.stages
    per_image = {f"{stage}_ms_per_image": round(seconds * 1000 / images, 1) for stage, seconds in sorted(stages.items())}
    faces = sum(len(item.faces) for item in report.items)
    return {
        "images": images,
        "image_size": f"{WIDTH}x{HEIGHT}",
        "mean_image_bytes": round(sum(map(len, contents)) / images),
        # Steady state: from the first finished item to the last, once the workers are up.
        "images_per_s": round((images - 1) / (stages["items"] - stages["first_item"]), 2),
        "images_per_s_with_startup": round(images / timings.wall, 2),
        "wall_s": round(timings.wall, 2),
        "startup_s": round(stages["startup"], 2),
        "scored": report.summary["scored"],
        "faces": faces,
        "workers": workers or os.cpu_count(),
        "cpus": os.cpu_count(),
        # Other work on the machine slows every stage; the 1-minute load before and after the run.
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "device": device,
        "batch_size": batch_size,
        "model": model_source,
        **per_image,
        **alone,
    }


# Runs one benchmark in a fresh process; with a source folder, that folder's package is imported
# instead of this install's (an editable install's redirecting finder is set aside), and only the
# compiled ops (_core) still come from this install.
_ONE_RUN = """
import json, sys
source, compiled, arguments = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
if source:
    sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "ScikitBuildRedirectingFinder"]
    sys.path.insert(0, source)
    import facexray_forensics
    facexray_forensics.__path__.append(compiled)
import facexray_forensics
from facexray_forensics.bench.scan import run
print(json.dumps({"package": facexray_forensics.__path__[0], **run(**arguments)}))
"""


def _one_run(source: str, arguments: dict) -> dict:
    compiled = os.path.dirname(importlib.util.find_spec("facexray_forensics._core").origin)
    completed = subprocess.run([sys.executable, "-c", _ONE_RUN, source, compiled, json.dumps(arguments)],
                               capture_output=True, text=True)
    if completed.returncode:
        raise RuntimeError(f"the benchmark of {source or 'this tree'} failed:\n{completed.stderr[-2000:]}")
    result = json.loads(completed.stdout.splitlines()[-1])
    if source and not Path(result["package"]).resolve().is_relative_to(Path(source).resolve()):
        raise RuntimeError(f"{source} did not provide the package (it came from {result['package']})")
    return result


def _commit(folder: str) -> str | None:
    completed = subprocess.run(["git", "-C", folder, "rev-parse", "HEAD"], capture_output=True, text=True)
    return completed.stdout.strip() or None


def _alternating(rounds: int, sides: dict[str, Callable[[], dict]], progress: Callable[[str], None]) -> dict[str, list[dict]]:
    """Each side's benchmark ``rounds`` times, the order flipped every round so neither always runs first."""
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    for round_index in range(rounds):
        for side in list(sides) if round_index % 2 == 0 else list(sides)[::-1]:
            runs[side].append(sides[side]())
            progress(f"round {round_index + 1}/{rounds}: {side} {runs[side][-1]['images_per_s']} images/s")
    return runs


def _median_rate(runs: list[dict]) -> float:
    return statistics.median(result["images_per_s"] for result in runs)


def cluster_beside_local(cluster: str, rounds: int = 3, images: int = 32, model_dir: str | None = None,
                         device: str = "cpu", workers: int = 0, batch_size: int = 16, progress=lambda line: None) -> dict:
    """The scan on ``cluster`` and on the local pool, ``rounds`` times each in alternating order: medians of
    images_per_s, the cluster path's overhead per item, and what a scaling model needs (the coordinator's
    journal and custody time per item, the bytes each image brings from storage)."""
    runs = _alternating(rounds, {
        "local": lambda: run(images, model_dir, device, workers, batch_size),
        "cluster": lambda: run(images, model_dir, device, workers, batch_size, cluster),
    }, progress)
    median = {side: _median_rate(runs[side]) for side in runs}
    records_ms = statistics.median(result["records_ms_per_image"] for result in runs["cluster"])
    return {
        "benchmark": "scan on a cluster beside the local pool", "cluster": cluster, "rounds": rounds, "images": images,
        "local_images_per_s": median["local"], "cluster_images_per_s": median["cluster"],
        "ratio": round(median["cluster"] / median["local"], 3),
        "overhead_ms_per_item": round(1000 / median["cluster"] - 1000 / median["local"], 1),
        # The coordinator alone writes the fsynced journal line and custody records of every item.
        "coordinator_records_ms_per_item": records_ms,
        "coordinator_items_per_s_ceiling": round(1000 / records_ms, 1) if records_ms else None,
        "mean_image_bytes": runs["cluster"][0]["mean_image_bytes"],
        "workers": runs["cluster"][0]["workers"], "cpus": os.cpu_count(),
        "local": [result["images_per_s"] for result in runs["local"]],
        "on_cluster": [result["images_per_s"] for result in runs["cluster"]],
        "load_average": [result["load_average"] for side in runs for result in runs[side]],
    }


def compare(against: str, rounds: int = 3, images: int = 32, model_dir: str | None = None, device: str = "cpu",
            workers: int = 0, batch_size: int = 16, progress=lambda line: None) -> dict:
    """This tree's scan against the one in ``against`` (another checkout's ``src`` folder), ``rounds``
    times each, alternating which goes first; medians of images_per_s and their ratio (this / that).

    Both sides scan with the same weights: ``model_dir``, else this tree's packaged model.
    """
    from facexray_forensics.model import default_model_dir

    model = model_dir or default_model_dir()
    arguments = {"images": images, "model_dir": None if model is None else str(model), "device": device,
                 "workers": workers, "batch_size": batch_size}
    sides = {"this": "", "against": os.path.abspath(against)}
    runs = _alternating(rounds, {side: partial(_one_run, source, arguments) for side, source in sides.items()}, progress)
    medians = {side: _median_rate(runs[side]) for side in runs}
    source = str(Path(__file__).resolve().parents[2])
    return {
        "benchmark": "scan", "rounds": rounds, **arguments,
        "this": {"source": source, "commit": _commit(source), "median_images_per_s": medians["this"],
                 "images_per_s": [run["images_per_s"] for run in runs["this"]]},
        "against": {"source": sides["against"], "commit": _commit(sides["against"]),
                    "median_images_per_s": medians["against"],
                    "images_per_s": [run["images_per_s"] for run in runs["against"]]},
        "ratio": round(medians["this"] / medians["against"], 3),
        "load_average": [run["load_average"] for side in ("this", "against") for run in runs[side]],
        "cpus": os.cpu_count(),
    }
