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


def _sklearn_blocks(z, labels):
    """scikit-learn's class-weighted isotonic fit, as (weighted mean margin, value) of each pooled block."""
    weights = np.where(labels == 1, 0.5 / labels.sum(), 0.5 / (labels == 0).sum())
    order = np.argsort(z)
    z, labels, weights = z[order], labels[order], weights[order]
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0).fit(z, labels, sample_weight=weights).predict(z)
    blocks = [(np.average(z[fitted == value], weights=weights[fitted == value]), value) for value in np.unique(fitted)]
    return np.array(blocks)


def test_isotonic_takes_scikit_learns_block_values_at_the_block_centres():
    z, labels = _draws(1.0, n=3000, seed=1)
    fitted = fit_isotonic(z, labels)
    blocks = _sklearn_blocks(z, labels)
    np.testing.assert_allclose(fitted.probability(blocks[:, 0]), blocks[:, 1], atol=1e-12)
    # Flat only beyond the outermost blocks' centres; strictly increasing between them.
    inner = np.linspace(blocks[0, 0], blocks[-1, 0], 2001)[1:-1]
    assert np.all(np.diff(fitted.probability(inner)) > 0)
    assert fitted.probability(z.min() - 5) == blocks[0, 1] and fitted.probability(z.max() + 5) == blocks[-1, 1]
    again = Calibration.from_dict(fitted.to_dict())
    np.testing.assert_array_equal(again.probability(inner), fitted.probability(inner))


def test_isotonic_band_edges_flag_their_share_of_the_real_faces():
    # A step function ties whole blocks of reals, so an edge at 5% falls to the top of a plateau
    # and flags far fewer; the centred fit keeps the margins apart and the edges where they were asked.
    rng = np.random.default_rng(3)
    z = np.concatenate([rng.normal(2.5, 1.5, 2000), rng.normal(-2.5, 1.5, 1000)])
    labels = np.r_[np.ones(2000, int), np.zeros(1000, int)]
    fitted = fit_isotonic(z, labels)
    real = fitted.probability(z[labels == 0])
    thresholds = fit_band_thresholds(real)
    for edge, rate in zip((thresholds.inconclusive, thresholds.moderate, thresholds.strong), (0.20, 0.05, 0.01)):
        assert rate - 2.0 / real.size < np.mean(real >= edge) <= rate


@pytest.mark.parametrize("fit", [fit_isotonic, fit_temperature])
@pytest.mark.parametrize("blended_per_real", [0.5, 2.0])
def test_the_calibration_set_mix_is_not_built_in_as_a_prior(fit, blended_per_real):
    # Scores of blended faces ~ N(+2, 2), of real ones ~ N(-2, 2): the likelihood
    # ratio at z is exp(z), so at even prior odds P(blended | z) = sigmoid(z),
    # 0.5 at z = 0, however many of each the calibration set holds.
    rng = np.random.default_rng(5)
    reals = 6000
    blended = int(reals * blended_per_real)
    z = np.concatenate([rng.normal(2.0, 2.0, blended), rng.normal(-2.0, 2.0, reals)])
    labels = np.concatenate([np.ones(blended, int), np.zeros(reals, int)])
    fitted = fit(z, labels)
    assert fitted.class_weighting == "equal"
    probe = np.array([-2.0, 0.0, 2.0])
    np.testing.assert_allclose(fitted.probability(probe), 1.0 / (1.0 + np.exp(-probe)), atol=0.06)


def test_a_card_written_before_class_weighting_reads_as_sampled():
    old = {"method": "temperature", "temperature": 2.0, "isotonic_x": [], "isotonic_y": []}
    assert Calibration.from_dict(old).class_weighting == "as_sampled"
    with pytest.raises(ValueError, match="class_weighting"):
        Calibration(class_weighting="balanced-ish")


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
