"""facexray-forensics: find forged faces by their blending boundary.

An implementation of "Face X-ray for More General Face Forgery Detection"
(Li et al., CVPR 2020) for forensic examiners and researchers.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("facexray-forensics")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
