"""Metrics against scikit-learn and independent formulas on toy input."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from facexray_forensics.model.metrics import class_metrics, equal_error_rate, tpr_at_fpr, xray_metrics


def _toy(seed=0, n=400):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    scores = rng.normal(labels * 1.2, 1.0)
    return labels, scores


def test_auc_and_ap_equal_scikit_learn_and_the_rank_formulas():
    labels, scores = _toy()
    metrics = class_metrics(labels, scores)
    assert metrics["auc"] == roc_auc_score(labels, scores)
    assert metrics["ap"] == average_precision_score(labels, scores)
    positives, negatives = scores[labels == 1], scores[labels == 0]
    mann_whitney = np.mean(positives[:, None] > negatives[None, :])
    assert metrics["auc"] == pytest.approx(mann_whitney, abs=1e-12)
    order = np.argsort(-scores)
    hits = labels[order] == 1
    precision_at_hits = np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)
    assert metrics["ap"] == pytest.approx(precision_at_hits.mean(), abs=1e-12)


def test_eer_and_tpr_at_1pct_on_overlapping_uniforms():
    # Real scores uniform on [0, 1], blended on [0.5, 1.5]: FPR(t) = 1 - t, FNR(t) = t - 0.5,
    # so the EER is 0.25 (at t = 0.75) and at FPR 1% (t = 0.99) the TPR is 0.51.
    real = np.linspace(0.0, 1.0, 4001)
    blended = np.linspace(0.5, 1.5, 4001)
    labels = np.r_[np.zeros(real.size), np.ones(blended.size)]
    scores = np.r_[real, blended]
    assert equal_error_rate(labels, scores) == pytest.approx(0.25, abs=1e-3)
    assert tpr_at_fpr(labels, scores, 0.01) == pytest.approx(0.51, abs=1e-3)
    separable = class_metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert separable["auc"] == 1.0 and separable["eer"] == 0.0 and separable["tpr_at_1pct_fpr"] == 1.0


def test_eer_agrees_with_a_threshold_scan():
    labels, scores = _toy(seed=1, n=2000)
    thresholds = np.sort(scores)
    fpr = np.array([np.mean(scores[labels == 0] >= t) for t in thresholds])
    fnr = np.array([np.mean(scores[labels == 1] < t) for t in thresholds])
    best = np.argmin(np.abs(fpr - fnr))
    assert equal_error_rate(labels, scores) == pytest.approx((fpr[best] + fnr[best]) / 2, abs=2e-3)


def test_xray_metrics_equal_scikit_learn_and_numpy_iou():
    rng = np.random.default_rng(3)
    truth = np.zeros((3, 16, 16), np.float32)
    truth[0, 4:10, 4:10] = 0.9
    truth[1, 2:6, 8:14] = 0.7
    truth[1, 6, 8] = 0.3  # below 0.5: not boundary
    predicted = np.clip(truth + rng.normal(0, 0.3, truth.shape), 0, 1).astype(np.float32)
    metrics = xray_metrics(truth, predicted)
    assert metrics["pixel_auc"] == roc_auc_score((truth >= 0.5).ravel(), predicted.ravel())
    ious = []
    for t, p in zip(truth[:2] >= 0.5, predicted[:2] >= 0.5):  # image 2 has no boundary
        ious.append(np.logical_and(t, p).sum() / np.logical_or(t, p).sum())
    assert metrics["iou"] == pytest.approx(np.mean(ious))
    strided = xray_metrics(truth, predicted, stride=2)
    assert strided["pixel_auc"] == roc_auc_score((truth[:, ::2, ::2] >= 0.5).ravel(), predicted[:, ::2, ::2].ravel())
    empty = xray_metrics(np.zeros((1, 4, 4)), np.zeros((1, 4, 4)))
    assert empty == {"pixel_auc": None, "iou": None}


def test_bad_input_raises():
    with pytest.raises(ValueError, match="both classes"):
        class_metrics([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="length"):
        class_metrics([0, 1], [0.2])
    with pytest.raises(ValueError, match="finite"):
        class_metrics([0, 1], [0.2, np.nan])
    with pytest.raises(ValueError, match="N×H×W"):
        xray_metrics(np.zeros((2, 4, 4)), np.zeros((2, 4, 5)))
