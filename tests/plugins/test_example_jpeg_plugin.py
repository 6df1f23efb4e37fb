"""The example third-party plugin (examples/jpeg_quantisation_plugin), installed by pip into a folder of its own.

Its readings are checked against Pillow's and OpenCV's own view of the JPEGs
they wrote: the tables Pillow parses, the quality the encoder was given, and
Pillow's chroma sampling.
"""

import importlib
import io

import cv2
import numpy as np
import pytest
from PIL import Image, JpegImagePlugin
from skimage import data

from facexray_forensics.plugins import ScanContext, discover_plugins, plugin_problems
from facexray_forensics.records import Item
from facexray_forensics.scan import ScanSettings

SUBSAMPLING_NAMES = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}


@pytest.fixture
def example(example_plugin_site, monkeypatch):
    monkeypatch.syspath_prepend(str(example_plugin_site))
    module = importlib.import_module("fxr_jpeg_quantisation")
    yield module
    monkeypatch.delitem(__import__("sys").modules, "fxr_jpeg_quantisation")


def started(example, **given):
    """The example plugin started as a scan would start it, with ``given`` settings."""
    plugin = example.JpegQuantisationPlugin()
    plugin.start_up(ScanContext(settings=ScanSettings(**given).for_plugins([plugin])))
    return plugin


def item_of(payload: bytes, name="evidence.bin") -> Item:
    return Item(name=name, kind="image", mime=None, size=len(payload), open=lambda: io.BytesIO(payload))


def pillow_jpeg(quality, subsampling=2, progressive=False, grey=False) -> bytes:
    pixels = data.astronaut()
    image = Image.fromarray(pixels).convert("L") if grey else Image.fromarray(pixels)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, subsampling=subsampling, progressive=progressive)
    return buffer.getvalue()


def test_entry_point_is_discovered_and_valid(example):
    entries = {entry.name: entry for entry in discover_plugins()}
    entry = entries["jpeg_quantisation"]
    assert entry.error is None and entry.plugin is example.JpegQuantisationPlugin
    assert (entry.source, entry.source_version, entry.handles) == ("fxr-jpeg-quantisation", "0.1.0", ("image",))
    assert plugin_problems(example.JpegQuantisationPlugin) == []


@pytest.mark.parametrize(("quality", "subsampling"), [(5, 2), (31, 0), (50, 1), (75, 2), (96, 0), (100, 2)])
def test_tables_quality_and_sampling_match_pillow(example, quality, subsampling):
    payload = pillow_jpeg(quality, subsampling)
    header = example.read_jpeg_header(io.BytesIO(payload))
    reference = Image.open(io.BytesIO(payload))
    assert header["tables"] == {table_id: list(table) for table_id, table in reference.quantization.items()}
    finding = started(example).process(item_of(payload), {})
    assert finding.reason is None
    assert finding.values["estimated_ijg_quality"] == quality
    assert finding.values["matches_ijg_tables"] is True
    assert finding.values["quantisation_tables"] == len(reference.quantization)
    assert finding.values["chroma_subsampling"] == SUBSAMPLING_NAMES[JpegImagePlugin.get_sampling(reference)]
    assert finding.values["mean_luminance_step"] == pytest.approx(np.mean(reference.quantization[0]), abs=1e-3)
    assert finding.values["coding"] == "baseline"


def test_opencv_quality_is_recovered_and_progressive_and_grey_are_named(example):
    plugin = started(example)
    for quality in (20, 63, 90):
        ok, encoded = cv2.imencode(".jpg", data.astronaut()[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        assert plugin.process(item_of(encoded.tobytes()), {}).values["estimated_ijg_quality"] == quality
    assert plugin.process(item_of(pillow_jpeg(80, progressive=True)), {}).values["coding"] == "progressive"
    grey = plugin.process(item_of(pillow_jpeg(80, grey=True)), {}).values
    assert grey["chroma_subsampling"] == "greyscale" and grey["quantisation_tables"] == 1


def test_non_standard_tables_are_not_called_ijg(example):
    # Pillow accepts custom tables: a camera-like table must not match any IJG quality exactly.
    custom = [[max(1, (row + column) * 3) for row in range(8) for column in range(8)]] * 2
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, "JPEG", qtables=custom)
    values = started(example).process(item_of(buffer.getvalue()), {}).values
    assert values["matches_ijg_tables"] is False and 1 <= values["estimated_ijg_quality"] <= 100
    # The distance is the sum of absolute step differences from that quality's IJG tables (numpy, from Pillow's parse).
    parsed = Image.open(io.BytesIO(buffer.getvalue())).quantization
    bases = {0: example.LUMINANCE_BASE, 1: example.CHROMINANCE_BASE}
    reference = sum(int(np.abs(np.array(parsed[table]) - example.ijg_table(bases[table], values["estimated_ijg_quality"])).sum())
                    for table in (0, 1))
    assert values["ijg_table_distance"] == reference > 0


def test_max_distance_setting_withholds_estimates_from_foreign_tables(example):
    custom = [[max(1, (row + column) * 3) for row in range(8) for column in range(8)]] * 2
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, "JPEG", qtables=custom)
    foreign, libjpeg = item_of(buffer.getvalue()), item_of(pillow_jpeg(75))
    distance = started(example).process(foreign, {}).values["ijg_table_distance"]
    strict = started(example, jpeg_quantisation_max_distance=distance - 1)
    assert strict.process(foreign, {}).values["estimated_ijg_quality"] is None
    assert strict.process(libjpeg, {}).values["estimated_ijg_quality"] == 75  # an exact match is always given
    assert started(example, jpeg_quantisation_max_distance=distance).process(foreign, {}).values["estimated_ijg_quality"]
    with pytest.raises(ValueError, match="--jpeg-quantisation-max-distance: -1 is below the minimum 0"):
        started(example, jpeg_quantisation_max_distance=-1)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "not a JPEG"),
        (b"\x89PNG\r\n\x1a\n" + bytes(40), "not a JPEG"),
        (pillow_jpeg(75)[:40], "cut short"),
        (b"\xff\xd8\xff\xe0", "cut short"),
        (b"\xff\xd8", "ends before its first scan"),
        (b"\xff\xd8\x00\x00", "expected a marker"),
    ],
)
def test_bad_input_gives_a_reason_not_an_exception(example, payload, reason):
    finding = started(example).process(item_of(payload), {})
    assert reason in finding.reason and finding.values == {} and finding.status is None
