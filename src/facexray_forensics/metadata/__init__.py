"""Metadata of evidence items: EXIF read with exifread, as plain dicts.

Nothing here decodes pixels or writes anything; every function takes bytes or
a binary stream and returns JSON-able values.
"""

from facexray_forensics.metadata.exif import EDITORS, read_exif

__all__ = ["EDITORS", "read_exif"]
