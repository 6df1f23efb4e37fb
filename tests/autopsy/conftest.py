"""Fixtures for the Autopsy module tests: Jython, the stub jar, a random-weights model."""

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
MODULE_DIR = HERE.parents[1] / "integrations" / "autopsy" / "FaceXray"
STUBS = HERE / "stubs"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed; scripts/install-test-tools.sh (make test-tools) installs it")
    return path


@pytest.fixture(scope="session")
def jython() -> str:
    return _tool("jython")


@pytest.fixture(scope="session")
def stubs_jar(tmp_path_factory) -> Path:
    """The stub Autopsy/TSK classes of tests/autopsy/stubs, compiled with javac into one jar."""
    javac, jar = _tool("javac"), _tool("jar")
    root = tmp_path_factory.mktemp("stubs")
    classes = root / "classes"
    sources = sorted(str(path) for path in STUBS.rglob("*.java"))
    subprocess.run([javac, "-nowarn", "-d", str(classes), *sources], check=True, capture_output=True)
    archive = root / "autopsy-stubs.jar"
    subprocess.run([jar, "cf", str(archive), "-C", str(classes), "."], check=True, capture_output=True)
    return archive
