"""read_exif against EXIF that the tests write themselves with Pillow."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import ExifTags, Image

from facexray_forensics.metadata import EDITORS, read_exif
from facexray_forensics.metadata.exif import empty_summary


def _image(width: int = 64, height: int = 48) -> Image.Image:
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def _exif(
    make="Canon",
    model="Canon EOS 5D Mark IV",
    software=None,
    processing_software=None,
    modified="2024:03:04 05:06:07",
    original="2023:01:02 03:04:05",
    digitised="2023:01:02 03:04:06",
    offset_original=None,
    orientation=6,
    size=(4000, 3000),
    gps=None,
) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    if software is not None:
        exif[0x0131] = software
    if processing_software is not None:
        exif[0x000B] = processing_software
    exif[0x0132] = modified
    exif[0x0112] = orientation
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[0x9003] = original
    sub[0x9004] = digitised
    if offset_original is not None:
        sub[0x9011] = offset_original
    sub[0xA002], sub[0xA003] = size
    if gps is not None:
        block = exif.get_ifd(ExifTags.IFD.GPSInfo)
        block[0x0000] = b"\x02\x03\x00\x00"
        (latitude, latitude_ref), (longitude, longitude_ref) = gps
        block[0x0001], block[0x0002] = latitude_ref, latitude
        block[0x0003], block[0x0004] = longitude_ref, longitude
    return exif


def _jpeg(exif: Image.Exif | None = None, extra: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    keywords = {"exif": exif.tobytes()} if exif is not None else {}
    _image().save(buffer, "JPEG", quality=90, **keywords)
    return buffer.getvalue() + extra


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 2)
    return (float(degrees), float(minutes), seconds)


def test_camera_dates_orientation_and_size_match_what_was_written():
    summary = read_exif(_jpeg(_exif(offset_original="+02:00")))
    assert summary["error"] is None
    assert summary["exif_present"] is True
    assert summary["camera_make"] == "Canon"
    assert summary["camera_model"] == "Canon EOS 5D Mark IV"
    assert summary["software"] is None
    assert summary["date_original"] == "2023-01-02T03:04:05+02:00"
    assert summary["date_digitised"] == "2023-01-02T03:04:06"
    assert summary["date_modified"] == "2024-03-04T05:06:07"
    assert (summary["width"], summary["height"]) == (4000, 3000)
    assert summary["orientation"] == 6
    assert "90" in summary["orientation_description"]
    assert summary["gps_present"] is False
    assert summary["gps_latitude"] is None and summary["gps_longitude"] is None
    assert summary["editing_software"] == []


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(48.856700, 2.351400), (-33.868800, 151.209300), (40.712800, -74.006000), (-22.906800, -43.172900)],
)
def test_gps_coordinates_and_hemispheres(latitude, longitude):
    gps = (
        (_dms(abs(latitude)), "N" if latitude >= 0 else "S"),
        (_dms(abs(longitude)), "E" if longitude >= 0 else "W"),
    )
    summary = read_exif(_jpeg(_exif(gps=gps)))
    assert summary["gps_present"] is True
    # The written seconds are rounded to 0.01'' (about 0.3 m).
    assert summary["gps_latitude"] == pytest.approx(latitude, abs=1e-5)
    assert summary["gps_longitude"] == pytest.approx(longitude, abs=1e-5)


def test_gps_block_without_a_fix_is_present_without_coordinates():
    exif = _exif()
    exif.get_ifd(ExifTags.IFD.GPSInfo)[0x0000] = b"\x02\x03\x00\x00"
    summary = read_exif(_jpeg(exif))
    assert summary["gps_present"] is True
    assert summary["gps_latitude"] is None


@pytest.mark.parametrize(
    ("software", "processing", "expected"),
    [
        ("Adobe Photoshop 25.0 (Windows)", None, ["Adobe Photoshop"]),
        ("GIMP 2.10.36", None, ["GIMP"]),
        ("Adobe Lightroom Classic 13.1", "Snapseed 2.0", ["Adobe Lightroom", "Snapseed"]),
        ("FaceApp", None, ["FaceApp"]),
        ("Ver.1.00", None, []),  # a camera's firmware string names no editor
    ],
)
def test_editing_software_is_flagged(software, processing, expected):
    summary = read_exif(_jpeg(_exif(software=software, processing_software=processing)))
    assert summary["software"] == software
    assert summary["processing_software"] == processing
    assert summary["editing_software"] == expected


def test_xmp_creator_tool_is_read_and_flagged():
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'xmp:CreatorTool="Adobe Photoshop Lightroom 6.0 (Macintosh)"/></rdf:RDF></x:xmpmeta>'
    )
    image = _image()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=_exif().tobytes(), xmp=packet)
    summary = read_exif(buffer.getvalue())
    assert summary["creator_tool"] == "Adobe Photoshop Lightroom 6.0 (Macintosh)"
    assert summary["editing_software"] == ["Adobe Lightroom", "Adobe Photoshop"]


def test_png_exif_chunk_is_read():
    buffer = io.BytesIO()
    _image().save(buffer, "PNG", exif=_exif(software="Snapseed").tobytes())
    summary = read_exif(buffer.getvalue())
    assert summary["camera_make"] == "Canon"
    assert summary["editing_software"] == ["Snapseed"]


def test_stream_gives_the_same_summary_as_bytes():
    data = _jpeg(_exif(software="GIMP 2.10"))
    stream = io.BytesIO(data)
    stream.seek(17)  # read from the start whatever the position
    assert read_exif(stream) == read_exif(data)


def test_image_without_exif_gives_the_empty_summary():
    summary = read_exif(_jpeg())
    assert summary == empty_summary()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 10,
        np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        b"\xff\xd8\xff\xe1\xff\xffExif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff",
    ],
    ids=["empty", "zeros", "noise", "broken-exif-header"],
)
def test_bad_input_never_raises(data):
    summary = read_exif(data)
    assert set(summary) == set(empty_summary())
    json.dumps(summary)  # JSON-able whatever happened


def test_every_truncation_of_a_real_exif_jpeg_is_survived():
    data = _jpeg(_exif(software="GIMP", gps=((_dms(10.5), "N"), (_dms(20.25), "E"))))
    for length in range(0, 600, 7):
        summary = read_exif(data[:length])
        assert set(summary) == set(empty_summary())
        json.dumps(summary)


def test_a_parser_failure_is_reported_as_an_error_entry(monkeypatch):
    import exifread

    def explode(*args, **kwargs):
        raise IndexError("tuple index out of range")

    monkeypatch.setattr(exifread, "process_file", explode)
    summary = read_exif(_jpeg(_exif()))
    assert summary["error"].startswith("metadata unreadable: IndexError")
    assert summary["camera_make"] is None


def test_wrong_argument_type_is_a_type_error():
    with pytest.raises(TypeError, match="bytes or a seekable binary stream"):
        read_exif("photo.jpg")


def test_editor_table_keys_are_lower_case():
    assert all(key == key.lower() for key in EDITORS)
