"""Calibrated probabilities and the verbal bands of the report.

The network's raw score is the logit margin ``z = logit[blended] - logit[real]``
(its softmax probability is ``sigmoid(z)``). A :class:`Calibration` maps ``z``
to a probability that matches observed frequencies on held-out data:

- ``temperature``: ``sigmoid(z / T)``, T fitted by minimum log-loss;
- ``isotonic``: a monotone function of ``z`` (centred isotonic regression on
  scikit-learn's fit), stored as its breakpoints and applied by linear
  interpolation.

Both fits weight the two classes equally (``class_weighting="equal"``): the
calibrated probability is then the one for even prior odds, p / (1 - p) the
likelihood ratio of blended to real at that score, whatever mix of blended and
real faces the held-out set happened to have. (Weighting each face alike would
build the set's own mix, say 2:1, into every probability as a prior.)
Calibrations fitted before this was so read ``"as_sampled"``.

:class:`BandThresholds` cut the calibrated probability into the four bands.
Each cut is set on held-out *real* faces so that a known share of them reaches
it (the false-positive rate): strong at 1%, moderate at 5%, inconclusive at
20%; below the inconclusive cut is "no indication". Both are stored in the
model card beside the weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facexray_forensics.records import Band

#: False-positive rates on real faces at which the inconclusive, moderate and strong bands begin.
BAND_FALSE_POSITIVE_RATES = (0.20, 0.05, 0.01)

CLASS_WEIGHTINGS = ("equal", "as_sampled")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # tanh form: no overflow for large |z|


def _as_scores_and_labels(margins, labels) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(margins, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if z.shape != y.shape or z.size == 0:
        raise ValueError(f"need equally many margins and labels, got {z.size} and {y.size}")
    if not np.all(np.isfinite(z)):
        raise ValueError("margins must be finite")
    if not np.all((y == 0) | (y == 1)) or len(np.unique(y)) < 2:
        raise ValueError("labels must be 0/1 and contain both classes")
    return z, y.astype(np.float64)


@dataclass(frozen=True)
class Calibration:
    """A map from logit margin to calibrated probability; ``method`` is none, temperature or isotonic."""

    method: str = "none"
    temperature: float = 1.0
    isotonic_x: tuple[float, ...] = ()
    isotonic_y: tuple[float, ...] = ()
    #: "equal": fitted with both classes weighted alike (even prior odds); "as_sampled": each face alike.
    class_weighting: str = "equal"

    def __post_init__(self) -> None:
        if self.method not in ("none", "temperature", "isotonic"):
            raise ValueError(f"unknown calibration method {self.method!r}")
        if self.class_weighting not in CLASS_WEIGHTINGS:
            raise ValueError(f"class_weighting must be one of {CLASS_WEIGHTINGS}, got {self.class_weighting!r}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        if self.method == "isotonic" and (len(self.isotonic_x) < 1 or len(self.isotonic_x) != len(self.isotonic_y)):
            raise ValueError("isotonic calibration needs equally many breakpoints in x and y")

    def probability(self, margins) -> np.ndarray:
        """Calibrated probability of "blended" for each logit margin."""
        z = np.asarray(margins, dtype=np.float64)
        if self.method == "isotonic":
            return np.interp(z, self.isotonic_x, self.isotonic_y)
        return _sigmoid(z / self.temperature)

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "temperature": self.temperature,
            "isotonic_x": list(self.isotonic_x),
            "isotonic_y": list(self.isotonic_y),
            "class_weighting": self.class_weighting,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        return cls(
            method=data["method"],
            temperature=float(data.get("temperature", 1.0)),
            isotonic_x=tuple(float(v) for v in data.get("isotonic_x", ())),
            isotonic_y=tuple(float(v) for v in data.get("isotonic_y", ())),
            # Cards written before the field existed were fitted face by face.
            class_weighting=data.get("class_weighting", "as_sampled"),
        )


def class_weights(labels: np.ndarray) -> np.ndarray:
    """Per-face weights giving each class half of the total: even prior odds."""
    positives = labels.sum()
    return np.where(labels == 1, 0.5 / positives, 0.5 / (labels.size - positives))


def fit_temperature(margins, labels) -> Calibration:
    """Temperature scaling: the T minimising the class-weighted log-loss of ``sigmoid(z / T)`` on held-out data."""
    from scipy.optimize import minimize_scalar

    z, y = _as_scores_and_labels(margins, labels)
    weights = class_weights(y)

    def log_loss(log_temperature: float) -> float:
        scaled = z / np.exp(log_temperature)
        # log(1 + exp(-s)) for positives and log(1 + exp(s)) for negatives, overflow-free.
        losses = np.logaddexp(0.0, -scaled) * y + np.logaddexp(0.0, scaled) * (1.0 - y)
        return float(np.sum(weights * losses))

    result = minimize_scalar(log_loss, bounds=(-7.0, 7.0), method="bounded", options={"xatol": 1e-6})
    return Calibration(method="temperature", temperature=float(np.exp(result.x)))


def fit_isotonic(margins, labels) -> Calibration:
    """Centred isotonic regression of the label on the margin, class-weighted, stored as its breakpoints.

    scikit-learn's isotonic fit is a step function: every margin in a pooled
    block gets the block's value, so one plateau can tie dozens of real faces
    whose margins the network still told apart, and a band edge set at 5% of
    them falls to the plateau's top, far below 5% (the shipped chunk-2 card's
    moderate edge flagged 1.9% of its calibration reals). Centring keeps each block's value but places
    it at the block's (weighted) mean margin and interpolates between blocks
    (Oron & Flournoy, 2017): still monotone and as calibrated, but strictly
    increasing between the first and last block, so it keeps the ranking.
    """
    from sklearn.isotonic import IsotonicRegression

    z, y = _as_scores_and_labels(margins, labels)
    weights = class_weights(y)
    order = np.argsort(z, kind="stable")
    z, weights = z[order], weights[order]
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0).fit(z, y[order], sample_weight=weights).predict(z)
    block_starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
    centres = np.add.reduceat(z * weights, block_starts) / np.add.reduceat(weights, block_starts)
    values = fitted[block_starts]
    # The outermost margins keep the end blocks' values, so the tails stay flat, as in the plain fit.
    x = np.r_[z[0], centres, z[-1]]
    p = np.r_[values[0], values, values[-1]]
    keep = np.r_[True, np.diff(x) > 0]
    return Calibration(method="isotonic", isotonic_x=tuple(map(float, x[keep])), isotonic_y=tuple(map(float, p[keep])))


@dataclass(frozen=True)
class BandThresholds:
    """Lower edges of the inconclusive, moderate and strong bands, on the calibrated probability."""

    inconclusive: float
    moderate: float
    strong: float
    false_positive_rates: tuple[float, float, float] = field(default=BAND_FALSE_POSITIVE_RATES)

    def __post_init__(self) -> None:
        if not 0.0 <= self.inconclusive <= self.moderate <= self.strong <= 1.0 + 1e-9:
            raise ValueError(
                f"thresholds must satisfy 0 <= inconclusive <= moderate <= strong <= 1, got "
                f"{self.inconclusive}, {self.moderate}, {self.strong}"
            )

    def band(self, probability: float) -> Band:
        """The verbal band of one calibrated probability."""
        p = float(probability)
        if not np.isfinite(p):
            raise ValueError(f"probability must be finite, got {probability}")
        if p >= self.strong:
            return Band.STRONG
        if p >= self.moderate:
            return Band.MODERATE
        if p >= self.inconclusive:
            return Band.INCONCLUSIVE
        return Band.NO_INDICATION

    def to_dict(self) -> dict:
        return {
            "inconclusive": self.inconclusive,
            "moderate": self.moderate,
            "strong": self.strong,
            "false_positive_rates": list(self.false_positive_rates),
        }

    @classmethod
    def from_dict(cls, data: dict) -> BandThresholds:
        return cls(
            inconclusive=float(data["inconclusive"]),
            moderate=float(data["moderate"]),
            strong=float(data["strong"]),
            false_positive_rates=tuple(float(v) for v in data.get("false_positive_rates", BAND_FALSE_POSITIVE_RATES)),
        )


def threshold_at_false_positive_rate(real_probabilities, rate: float) -> float:
    """The lowest threshold t such that at most ``rate`` of the real faces have probability >= t."""
    p = np.sort(np.asarray(real_probabilities, dtype=np.float64).ravel())[::-1]
    if p.size == 0 or not np.all(np.isfinite(p)):
        raise ValueError("need at least one finite probability of a real face")
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    allowed = int(np.floor(rate * p.size))
    # Everything strictly above the (allowed+1)-th highest score may be flagged; ties with it may not.
    return float(np.nextafter(p[allowed], np.inf))


def fit_band_thresholds(real_probabilities, rates: tuple[float, float, float] = BAND_FALSE_POSITIVE_RATES) -> BandThresholds:
    """Band edges at the given false-positive rates (inconclusive, moderate, strong) on held-out real faces."""
    if not rates[0] >= rates[1] >= rates[2]:
        raise ValueError(f"rates must decrease from inconclusive to strong, got {rates}")
    # An edge just above 1.0 (when a real face scored 1.0) means the band is never reached, as it should.
    edges = [threshold_at_false_positive_rate(real_probabilities, rate) for rate in rates]
    return BandThresholds(*edges, false_positive_rates=tuple(rates))


def calibrate(margins, labels, method: str = "isotonic", rates=BAND_FALSE_POSITIVE_RATES) -> tuple[Calibration, BandThresholds]:
    """Fit a calibration on held-out margins and labels, then the band edges on its real faces' probabilities."""
    z, y = _as_scores_and_labels(margins, labels)
    if method == "isotonic":
        calibration = fit_isotonic(z, y)
    elif method == "temperature":
        calibration = fit_temperature(z, y)
    else:
        raise ValueError(f"method must be 'isotonic' or 'temperature', got {method!r}")
    return calibration, fit_band_thresholds(calibration.probability(z[y == 0]), rates)
