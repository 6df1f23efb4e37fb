"""Calibration (temperature, isotonic) and the band thresholds at fixed false-positive rates."""

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from facexray_forensics.model import BandThresholds, Calibration, fit_band_thresholds, fit_isotonic, fit_temperature
from facexray_forensics.records import Band


def _draws(temperature, n=20000, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 4.0, n)
    labels = (rng.random(n) < 1.0 / (1.0 + np.exp(-z / temperature))).astype(int)
    return z, labels


def test_temperature_recovers_the_generating_temperature():
    z, labels = _draws(2.5)
    fitted = fit_temperature(z, labels)
    assert fitted.method == "temperature"
    assert abs(fitted.temperature - 2.5) < 0.25
    np.testing.assert_allclose(fitted.probability([0.0, 2.5]), [0.5, 1.0 / (1.0 + np.exp(-2.5 / fitted.temperature))])


def test_isotonic_matches_scikit_learn():
    z, labels = _draws(1.0, n=3000, seed=1)
    fitted = fit_isotonic(z, labels)
    reference = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(z, labels)
    probe = np.linspace(-20, 20, 501)
    np.testing.assert_allclose(fitted.probability(probe), reference.predict(probe), atol=1e-12)
    assert np.all(np.diff(fitted.probability(probe)) >= 0)
    again = Calibration.from_dict(fitted.to_dict())
    np.testing.assert_array_equal(again.probability(probe), fitted.probability(probe))


def test_band_thresholds_hold_their_false_positive_rates():
    real = np.random.default_rng(2).random(1000)
    thresholds = fit_band_thresholds(real)
    for edge, rate in zip((thresholds.inconclusive, thresholds.moderate, thresholds.strong), (0.20, 0.05, 0.01)):
        flagged = np.mean(real >= edge)
        assert rate - 2.0 / len(real) < flagged <= rate
    assert thresholds.inconclusive < thresholds.moderate < thresholds.strong
    assert thresholds.band(thresholds.strong) is Band.STRONG
    assert thresholds.band(np.nextafter(thresholds.strong, 0)) is Band.MODERATE
    assert thresholds.band(thresholds.moderate) is Band.MODERATE
    assert thresholds.band(thresholds.inconclusive) is Band.INCONCLUSIVE
    assert thresholds.band(0.0) is Band.NO_INDICATION
    assert BandThresholds.from_dict(thresholds.to_dict()) == thresholds


def test_ties_never_push_the_false_positive_rate_over():
    real = np.array([0.9] * 5 + [0.1] * 95)  # 5% of reals tie at the top
    thresholds = fit_band_thresholds(real)
    assert np.mean(real >= thresholds.strong) == 0.0  # 1% allows one face, but the five cannot be split
    assert np.mean(real >= thresholds.moderate) <= 0.05


def test_invalid_settings_raise():
    with pytest.raises(ValueError):
        BandThresholds(0.9, 0.5, 0.95)
    with pytest.raises(ValueError):
        Calibration(method="platt")
    with pytest.raises(ValueError):
        fit_temperature([0.0, 1.0], [1, 1])
    with pytest.raises(ValueError):
        BandThresholds(0.1, 0.2, 0.3).band(float("nan"))
