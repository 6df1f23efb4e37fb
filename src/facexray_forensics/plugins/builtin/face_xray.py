"""The face X-ray plugin: the model, batched over the faces of many items."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from facexray_forensics.plugins import Plugin, ScanContext
from facexray_forensics.records import FaceResult, Finding, Item, Status


class FaceXrayPlugin(Plugin):
    """Predict each aligned face's X-ray map and calibrated probability, and band it.

    Settings: ``model_dir`` (a weights directory; the packaged default when
    absent), ``device`` and ``batch_size``. ``start_up`` loads and verifies
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

    def start_up(self, context: ScanContext) -> None:
        from facexray_forensics.model import Predictor, default_model_dir, load_weights

        directory = context.settings.get("model_dir") or default_model_dir()
        if directory is None:
            raise ValueError("no model weights are packaged yet: pass --model DIR with a weights directory")
        loaded = load_weights(directory)
        self.predictor = Predictor(loaded, device=context.device, batch_size=int(context.settings.get("batch_size", 16)))
        card = loaded.card.to_dict()
        card.pop("files", None)
        context.resources["model_sha256"] = self.predictor.model_sha256
        context.resources["model_card"] = card

    def process(self, item: Item, earlier: Mapping[str, Finding]) -> Finding:
        return self.process_batch([item], [earlier])[0]

    def process_batch(self, items: list[Item], earlier: list[Mapping[str, Finding]]) -> list[Finding]:
        faces = [found["faces"].data.get("faces", []) for found in earlier]
        crops = [aligned.crop for item_faces in faces for (_, _, _, aligned) in item_faces]
        if crops:
            xrays, probabilities = self.predictor.predict(np.stack(crops))
        position = 0
        findings = []
        for item, item_faces in zip(items, faces):
            results = []
            for frame_index, timestamp, detected, aligned in item_faces:
                probability = float(probabilities[position])
                results.append(
                    FaceResult(
                        box=tuple(float(value) for value in detected.box),
                        landmarks=[(float(x), float(y)) for x, y in detected.landmarks],
                        score=probability,
                        band=self.predictor.band(probability),
                        xray=xrays[position],
                        frame_index=frame_index,
                        timestamp=timestamp,
                        matrix=aligned.matrix,
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
