"""One face path for the scan and the index: the same decoder (EXIF orientation), detector cuts and crops."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from facexray_forensics.data.index import FaceIndex, build_index
from facexray_forensics.evidence import DecodeLimits, FileSource
from facexray_forensics.faces import FaceDetector, align_face
from facexray_forensics.faces.extract import CropGeometry, DetectionSettings, FaceExtractor
from facexray_forensics.plugins import ScanContext
from facexray_forensics.plugins.builtin import FacesPlugin
from facexray_forensics.scan import ScanSettings

# EXIF orientation 6: the stored pixels are turned 90° anticlockwise; a viewer turns them back clockwise.
_ROTATE_90_CW = 6


def _jpeg(rgb: np.ndarray, orientation: int | None = None) -> bytes:
    stream = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    Image.fromarray(rgb).save(stream, format="JPEG", quality=95, exif=exif.tobytes())
    return stream.getvalue()


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    upright = np.ascontiguousarray(data.astronaut())
    (root / "upright.jpg").write_bytes(_jpeg(upright))
    # Stored sideways with the tag that makes a viewer show it upright, as phone cameras write.
    (root / "tagged.jpg").write_bytes(_jpeg(np.ascontiguousarray(np.rot90(upright, 1)), _ROTATE_90_CW))
    return root


def test_crop_geometry_round_trips_and_rejects_nonsense():
    geometry = CropGeometry(size=128, scale=1.3)
    assert CropGeometry.from_dict(geometry.to_dict()) == geometry
    for bad in ({"size": 100}, {"scale": 0.5}, {"normalisation": "none"}):
        with pytest.raises(ValueError):
            CropGeometry(**bad)


def test_extractor_crop_is_align_face_of_the_detected_landmarks(photos):
    item = next(FileSource([photos / "upright.jpg"]).items())
    extractor = FaceExtractor(DetectionSettings(), CropGeometry(size=128, scale=1.5))
    frames = list(extractor.item_faces(item, DecodeLimits()))
    assert len(frames) == 1 and frames[0].crops
    rgb = np.asarray(Image.open(photos / "upright.jpg").convert("RGB"))
    face = max(FaceDetector().detect(rgb), key=lambda f: f.confidence)
    expected = align_face(rgb, face.landmarks, size=128, scale=1.5)
    np.testing.assert_array_equal(frames[0].crops[0].aligned.crop, expected.crop)
    side = (face.landmarks.max(0) - face.landmarks.min(0)).max()
    assert frames[0].crops[0].aligned.matrix[0, 0] == pytest.approx(128 / (1.5 * side), rel=1e-5)


def test_index_and_scan_give_the_same_crop_of_an_exif_rotated_photo(photos, tmp_path):
    build_index(photos, tmp_path / "index", size=128, neighbours=1, progress=False)
    index = FaceIndex(tmp_path / "index")
    assert index.paths == ["tagged.jpg", "upright.jpg"]
    # EXIF orientation applied: the tagged file gives the upright face (chin below the nose bridge),
    # at the place the untagged one does (the two differ only by JPEG coding of other block grids).
    chin, bridge = 8, 27
    assert index.landmarks[0][chin, 1] > index.landmarks[0][bridge, 1] + 20
    np.testing.assert_allclose(index.landmarks[0], index.landmarks[1], atol=3.0)
    plugin = FacesPlugin()
    plugin.start_up(ScanContext(settings=ScanSettings().for_plugins([FacesPlugin])))
    plugin.extractor.geometry = CropGeometry(size=128)
    finding = plugin.process(next(FileSource([photos / "tagged.jpg"]).items()), {})
    largest = max(finding.crops, key=lambda crop: crop.area)
    np.testing.assert_array_equal(largest.aligned.crop, index.crops[0])


def test_faces_stage_takes_its_geometry_from_the_model_card(tmp_path):
    from facexray_forensics.model import ModelCard, create, save_weights

    save_weights(create("hrnet_w18_small"), tmp_path / "model",
                 ModelCard("hrnet_w18_small", geometry=CropGeometry(size=96, scale=1.4)))
    plugin = FacesPlugin()
    plugin.start_up(ScanContext(settings=ScanSettings(model_dir=str(tmp_path / "model")).for_plugins([FacesPlugin])))
    assert plugin.extractor.geometry == CropGeometry(size=96, scale=1.4)
    rgb = np.ascontiguousarray(data.astronaut())
    encoded = cv2.imencode(".png", rgb[:, :, ::-1])[1].tobytes()
    (tmp_path / "a.png").write_bytes(encoded)
    finding = plugin.process(next(FileSource([tmp_path / "a.png"]).items()), {})
    assert {crop.aligned.crop.shape for crop in finding.crops} == {(96, 96, 3)}
