"""Detection and localisation metrics (scikit-learn where it has them).

Class: ROC AUC, average precision, equal error rate and TPR at 1% FPR.
Localisation of the X-ray: pixel-level ROC AUC and IoU, with both the true
and the predicted X-ray thresholded at 0.5 (the true X-ray 4·M·(1−M) reaches
0.5 where the mask is between about 0.15 and 0.85, i.e. on the blending boundary).
"""

from __future__ import annotations

import numpy as np

XRAY_THRESHOLD = 0.5
TARGET_FALSE_POSITIVE_RATE = 0.01


def _checked(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length: {y.size} and {s.size}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    if not np.all((y == 0) | (y == 1)) or len(np.unique(y)) < 2:
        raise ValueError("labels must be 0/1 and contain both classes")
    return y.astype(np.int64), s


def equal_error_rate(labels, scores) -> float:
    """The rate where false positives equal false negatives, interpolated linearly on the ROC curve."""
    from sklearn.metrics import roc_curve

    y, s = _checked(labels, scores)
    fpr, tpr, _ = roc_curve(y, s)
    fnr = 1.0 - tpr
    gap = fnr - fpr  # falls from 1 (nothing flagged) to -1 (everything flagged)
    crossing = int(np.argmax(gap <= 0.0))
    if crossing == 0:
        return float(fpr[0])
    fraction = gap[crossing - 1] / (gap[crossing - 1] - gap[crossing])
    return float(fpr[crossing - 1] + fraction * (fpr[crossing] - fpr[crossing - 1]))


def tpr_at_fpr(labels, scores, rate: float = TARGET_FALSE_POSITIVE_RATE) -> float:
    """True-positive rate at the given false-positive rate, interpolated on the ROC curve."""
    from sklearn.metrics import roc_curve

    y, s = _checked(labels, scores)
    fpr, tpr, _ = roc_curve(y, s)
    return float(np.interp(rate, fpr, tpr))


def class_metrics(labels, scores) -> dict[str, float]:
    """AUC, AP, EER and TPR at 1% FPR of scores where higher means "blended" (label 1)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y, s = _checked(labels, scores)
    return {
        "auc": float(roc_auc_score(y, s)),
        "ap": float(average_precision_score(y, s)),
        "eer": equal_error_rate(y, s),
        "tpr_at_1pct_fpr": tpr_at_fpr(y, s),
    }


def xray_metrics(true_xray, predicted_xray, stride: int = 1) -> dict[str, float | None]:
    """Pixel AUC and mean IoU at 0.5 of predicted X-rays (N×H×W) against true ones.

    The AUC pools pixels of all images (every ``stride``-th row and column, to
    bound memory); it is None when the pooled truth has only one class. The
    IoU is averaged over images whose true X-ray has boundary pixels (blended
    ones); None when there are none.
    """
    from sklearn.metrics import roc_auc_score

    truth = np.asarray(true_xray, dtype=np.float32)
    predicted = np.asarray(predicted_xray, dtype=np.float32)
    if truth.shape != predicted.shape or truth.ndim != 3:
        raise ValueError(f"need two N×H×W arrays of one shape, got {truth.shape} and {predicted.shape}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    truth_mask = truth >= XRAY_THRESHOLD
    predicted_mask = predicted >= XRAY_THRESHOLD
    sampled_truth = truth_mask[:, ::stride, ::stride].ravel()
    auc = None
    if sampled_truth.any() and not sampled_truth.all():
        auc = float(roc_auc_score(sampled_truth, predicted[:, ::stride, ::stride].ravel()))
    with_boundary = truth_mask.reshape(len(truth), -1).any(axis=1)
    iou = None
    if with_boundary.any():
        t = truth_mask[with_boundary].reshape(int(with_boundary.sum()), -1)
        p = predicted_mask[with_boundary].reshape(len(t), -1)
        iou = float(np.mean((t & p).sum(axis=1) / (t | p).sum(axis=1)))
    return {"pixel_auc": auc, "iou": iou}
