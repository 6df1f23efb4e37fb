"""The face X-ray plugin: the model on each face; batched over many items on a GPU, in the workers on a CPU."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from facexray_forensics.plugins import Plugin, ScanContext, Setting
from facexray_forensics.records import FaceResult, Finding, Item, Status


#: Declared by the faces plugin too: the model's card sets the geometry of the crops it scores.
MODEL_DIR = Setting("model_dir", "folder", None, "Weights directory (safetensors + model card). Default: the packaged model.",
                    option="--model")


def _workers(settings: Mapping) -> int:
    return settings["workers"] or os.cpu_count() or 1


def on_cpu(settings: Mapping) -> bool:
    """Whether the settings put the model on the CPU."""
    return settings["device"].split(":")[0] == "cpu"


def model_threads(settings: Mapping) -> int:
    """CPU threads for one copy of the model: ``model_threads`` when set, else the cores shared out.

    With worker processes each running its own copy, each gets its share of
    the cores (one each on a 2-core machine); in a single process it gets
    them all. More threads than cores make OpenMP threads wait on each other,
    which on a busy 2-core machine was several times slower than one thread.
    """
    if settings["model_threads"]:
        return settings["model_threads"]
    cores, workers = os.cpu_count() or 1, _workers(settings)
    return cores if workers <= 1 else max(1, cores // workers)


class FaceXrayPlugin(Plugin):
    """Predict each aligned face's X-ray map and calibrated probability, and band it.

    Besides its declared settings it reads the scan's ``device``, ``workers``
    and ``batch_size``. ``start_up`` loads and verifies
    the weights and publishes ``model_sha256`` and ``model_card`` (the card
    without its file list) in ``context.resources`` for the custody log and
    the report.

    A video's faces are joined into tracks across its sampled frames and each
    track is scored robustly (:mod:`facexray_forensics.scoring.tracks`); the
    video's score is the best track's, stated on the finding, and each face
    carries its track number.
    """

    name = "face_xray"
    version = "1.0.0"
    handles = frozenset({"image", "video"})
    requires = ("faces",)
    description = "Face X-ray (Li et al., CVPR 2020): blending-boundary map and calibrated probability per face."
    settings = (
        MODEL_DIR,
        Setting("model_threads", "int", 0, "CPU threads for the model; 0 means the cores the worker processes leave "
                "free (at least one).", minimum=0, runtime=True),
    )

    def start_up(self, context: ScanContext) -> None:
        import torch

        from facexray_forensics.model import Predictor, default_model_dir, load_weights

        directory = context.settings["model_dir"] or default_model_dir()
        if directory is None:
            raise ValueError("no model weights are packaged yet: pass --model DIR with a weights directory")
        loaded = load_weights(directory)
        if torch.device(context.device).type == "cpu":
            torch.set_num_threads(model_threads(context.settings))
        self.predictor = Predictor(loaded, device=context.device, batch_size=context.settings["batch_size"])
        card = loaded.card.to_dict()
        card.pop("files", None)
        context.resources["model_sha256"] = self.predictor.model_sha256
        context.resources["model_card"] = card

    def runs_in_workers(self, settings: Mapping) -> bool:
        """On a CPU with several workers, each worker runs the model on its own items: all cores stay
        busy and no OpenMP threads fight. On a GPU the model runs batched in the main process."""
        return on_cpu(settings) and _workers(settings) > 1

    def process(self, item: Item, earlier: Mapping[str, Finding]) -> Finding:
        return self.process_batch([item], [earlier])[0]

    def process_batch(self, items: list[Item], earlier: list[Mapping[str, Finding]]) -> list[Finding]:
        faces = [found["faces"].crops for found in earlier]
        crops = [face.aligned.crop for item_faces in faces for face in item_faces]
        if crops:
            xrays, probabilities = self.predictor.predict(np.stack(crops))
        position = 0
        findings = []
        for item, item_faces in zip(items, faces):
            results = []
            for face in item_faces:
                probability = float(probabilities[position])
                results.append(
                    FaceResult(
                        box=tuple(float(value) for value in face.detected.box),
                        landmarks=[(float(x), float(y)) for x, y in face.detected.landmarks],
                        score=probability,
                        band=self.predictor.band(probability),
                        xray=xrays[position],
                        frame_index=face.frame_index,
                        timestamp=face.timestamp,
                        matrix=face.aligned.matrix,
                    )
                )
                position += 1
            best = max((face.score for face in results), default=None)
            finding = Finding(
                self.name,
                self.version,
                values={"faces_scored": len(results), "max_probability": best},
                status=Status.SCORED,
                faces=results,
            )
            if item.kind == "video" and results:
                self._score_video(finding)
            findings.append(finding)
        return findings

    def _score_video(self, finding: Finding) -> None:
        from facexray_forensics.scoring import assign_tracks, score_tracks, video_score

        faces = finding.faces
        for face, track in zip(faces, assign_tracks([face.frame_index for face in faces], [face.box for face in faces])):
            face.track = track
        tracks = score_tracks([face.track for face in faces], [face.score for face in faces], [face.timestamp for face in faces])
        finding.score = video_score(tracks)
        finding.band = self.predictor.band(finding.score)
        finding.values["tracks"] = [track.as_dict() for track in tracks]
