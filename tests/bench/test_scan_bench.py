"""The scan benchmark's images: 640×480, all different, one face each."""

import hashlib

import cv2
import numpy as np

from facexray_forensics.bench.scan import make_images
from facexray_forensics.faces import FaceDetector


def test_images_are_distinct_640_by_480_with_one_face():
    images = make_images(3)
    assert len({hashlib.sha256(image).hexdigest() for image in images}) == 3
    detector = FaceDetector()
    for image in images:
        pixels = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
        assert pixels.shape == (480, 640, 3)
        assert len(detector.detect(np.ascontiguousarray(pixels[:, :, ::-1]))) == 1


def test_compare_runs_each_side_from_its_own_tree(tmp_path):
    import shutil
    from pathlib import Path

    import pytest

    import facexray_forensics
    from facexray_forensics.bench.scan import compare

    package = Path(facexray_forensics.__file__).parent
    other = tmp_path / "other" / "src"
    # Both sides load this tree's model, so the copy leaves the model's weights out, not the detector's.
    def not_needed(folder: str, names: list[str]) -> list[str]:
        model_weights = ["weights"] if Path(folder).name == "model" else []
        return [name for name in names if name in ["__pycache__", *model_weights] or name.endswith(".so")]

    shutil.copytree(package, other / "facexray_forensics", ignore=not_needed)
    lines = []
    result = compare(str(other), rounds=1, images=2, workers=1, progress=lines.append)
    assert result["against"]["source"] == str(other) and result["this"]["source"] == str(package.parent)
    assert len(result["this"]["images_per_s"]) == len(result["against"]["images_per_s"]) == 1 and len(lines) == 2
    assert result["ratio"] == round(result["this"]["median_images_per_s"] / result["against"]["median_images_per_s"], 3)
    with pytest.raises(RuntimeError, match="empty did not provide the package"):  # never this tree in its place
        compare(str(tmp_path / "empty"), rounds=1, images=2, workers=1)


def test_the_cluster_benchmark_sets_the_cluster_beside_the_local_pool():
    import pytest

    pytest.importorskip("distributed")
    from facexray_forensics.bench.scan import cluster_beside_local

    result = cluster_beside_local("local:2", rounds=1, images=3, workers=2)
    assert result["local"] == [result["local_images_per_s"]] and result["on_cluster"] == [result["cluster_images_per_s"]]
    assert result["overhead_ms_per_item"] == round(1000 / result["cluster_images_per_s"] - 1000 / result["local_images_per_s"], 1)
    assert result["coordinator_records_ms_per_item"] > 0 and result["mean_image_bytes"] > 10_000
