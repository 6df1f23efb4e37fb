"""Held-out evaluation of the Face X-ray model (paper §5, Table 7 layout), and the source split it rests on.

Public surface::

    class_metrics, xray_metrics, equal_error_rate, tpr_at_fpr
    EvaluationSet, read_evaluation_set, write_evaluation_set, alpha_blended, poisson_blended
    evaluate(predictor, evaluation_set) -> report dict, markdown_table, write_report
    Split, split_files, split_directory, read_split, write_split
"""

from facexray_forensics.evaluation.evaluate import evaluate, markdown_table, score_rows, write_report
from facexray_forensics.evaluation.metrics import class_metrics, equal_error_rate, tpr_at_fpr, xray_metrics
from facexray_forensics.evaluation.sets import (
    EvaluationSet,
    alpha_blended,
    poisson_blended,
    read_evaluation_set,
    write_evaluation_set,
)
from facexray_forensics.evaluation.split import Split, read_split, split_directory, split_files, write_split

__all__ = [
    "EvaluationSet",
    "Split",
    "alpha_blended",
    "class_metrics",
    "equal_error_rate",
    "evaluate",
    "markdown_table",
    "poisson_blended",
    "read_evaluation_set",
    "read_split",
    "score_rows",
    "split_directory",
    "split_files",
    "tpr_at_fpr",
    "write_evaluation_set",
    "write_report",
    "write_split",
    "xray_metrics",
]
