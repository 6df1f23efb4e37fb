"""The scan's own plugins, in run order: hashing, disk image, EXIF, faces, face X-ray.

Each is a plain :class:`~facexray_forensics.plugins.Plugin` that takes its
configuration from the :class:`~facexray_forensics.plugins.ScanContext` at
start-up, so the scan and third-party discovery make them the same way:
``[plugin() for plugin in BUILTIN_PLUGINS]``.
"""

from facexray_forensics.plugins.builtin.disk_image import DiskImagePlugin
from facexray_forensics.plugins.builtin.exif import ExifPlugin
from facexray_forensics.plugins.builtin.face_xray import FaceXrayPlugin
from facexray_forensics.plugins.builtin.faces import FacesPlugin
from facexray_forensics.plugins.builtin.hashing import HashingPlugin

BUILTIN_PLUGINS = (HashingPlugin, DiskImagePlugin, ExifPlugin, FacesPlugin, FaceXrayPlugin)

__all__ = ["BUILTIN_PLUGINS", "DiskImagePlugin", "ExifPlugin", "FaceXrayPlugin", "FacesPlugin", "HashingPlugin"]
