"""Method and limitations: how the scan reached its scores, what the model cannot see, and the model card."""

from __future__ import annotations

from collections.abc import Mapping

from facexray_forensics.records import ScanReport
from facexray_forensics.renderers.pdf.layout import Layout
from facexray_forensics.renderers.pdf.text import flatten, markup

METHOD = (
    "Every item was hashed (MD5, SHA-1 and SHA-256) from a read-only stream before analysis and again "
    "at the end; the inventory shows whether the two agree. Faces were found by the detector the scan "
    "settings name (by default dlib's HOG detector, then the MTCNN cascade wherever HOG is not sure) and "
    "placed by dlib's 68 landmarks; each was cut to a square {scale:g} times the landmark extent and resized to "
    "{size} by {size} pixels, the input the model was trained on (its card's geometry). The Face X-ray "
    "model (Li et al., CVPR 2020) predicts, for every pixel of that crop, "
    "whether it lies on a blending boundary: the seam left where one face was pasted into another "
    "image. From that map it gives a probability, calibrated on held-out data, that the face was "
    "blended.{mirror} An item's score is the highest over its faces, and its verbal band comes from the model "
    "card's thresholds. Items without a result (no face, face too small, unreadable, unsupported, too "
    "large, known file, and disk images, whose files are items of their own) carry no score, never zero. The heat-map on each item page is the predicted "
    "X-ray drawn back onto the picture: bright where the model sees a boundary."
)

MIRROR = (" Each crop was scored together with its mirror image and the two results averaged, as the "
          "model card sets (its calibration was fitted on those averages).")

LIMITATIONS = (
    "<b>Fully synthetic images.</b> Faces generated whole by GANs or diffusion models, with no "
    "blending step, leave no blending boundary. The model is not built to see them, and a low score "
    "says nothing about them.",
    "<b>Heavy compression.</b> Strong JPEG compression, resizing and re-encoding (social networks, "
    "messaging apps) smooth the boundary and lower the score of a forged face.",
    "<b>Tiny faces and low resolution.</b> Faces below the minimum size are not scored; small faces "
    "are enlarged to the model's input size and carry little evidence.",
    "<b>Extreme poses and unfamiliar faces.</b> Profiles, occlusion, unusual lighting and faces unlike "
    "those of the training data (see the model card) give less reliable results.",
    "<b>Other manipulations.</b> Edits that blend no face region (whole-image filters, expression "
    "edits without a seam) may be missed, and genuine photographs with local retouching or pasted "
    "objects near a face may score high.",
    "<b>Meaning of the probability.</b> It is calibrated on the model card's held-out data. It is not "
    "the probability that this exhibit is forged, which also depends on the circumstances of the case.",
    "<b>A result is an investigative lead, not proof.</b> A high score calls for examination by other "
    "means (source device, provenance, other forensic methods); a low score does not show that an "
    "image is authentic.",
)


def method_section(layout: Layout, report: ScanReport) -> list:
    card = report.model_card if isinstance(report.model_card, Mapping) else {}
    return [
        layout.section("Method and limitations"),
        # A card without geometry (format 1) was trained on 256-pixel crops of 1.3x the landmarks.
        layout.paragraph(METHOD.format(**{"size": 256, "scale": 1.3, **card.get("geometry", {})},
                                       mirror=MIRROR if card.get("mirror_average") else "")),
        layout.section("What the model cannot see", level=1),
        *(layout.paragraph(text, layout.bullet) for text in LIMITATIONS),
        layout.section("Model card: calibration and band thresholds", level=1),
        layout.paragraph(
            "The verbal band of each score comes from these thresholds, and the probability from this "
            "calibration, as recorded in the model card of the model whose SHA-256 is "
            f"<font name='Courier'>{markup(report.model_sha256 or 'not recorded')}</font>."
        ),
        layout.key_values([(key, value) for key, value in flatten(dict(card)) if value is not None]),
    ]
