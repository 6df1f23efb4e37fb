"""Fixtures for plugin tests: the example third-party plugin, installed for real."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE_PROJECT = Path(__file__).resolve().parents[2] / "examples" / "jpeg_quantisation_plugin"


@pytest.fixture(scope="session")
def example_plugin_site(tmp_path_factory) -> Path:
    """A folder holding the example plugin as pip installs it (package + dist-info with its entry point).

    It is built from examples/jpeg_quantisation_plugin/pyproject.toml by pip, offline and into its
    own target folder, so the venv is untouched; put the folder on sys.path or
    PYTHONPATH to "install" it. A copy of the project is built so that no
    build folders land in the source tree.
    """
    root = tmp_path_factory.mktemp("example_plugin")
    project = shutil.copytree(EXAMPLE_PROJECT, root / "project")
    site = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(site), str(project)],
        check=True,
        capture_output=True,
    )
    return site
