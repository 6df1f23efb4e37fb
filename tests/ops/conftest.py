"""Fixtures of the ops tests."""

import numpy as np
import pytest

from facexray_forensics import ops


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20200613)


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = ops.get_threads()
    yield
    ops.set_threads(threads)
