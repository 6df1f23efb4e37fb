"""Held-out evaluation of the Face X-ray model (paper §5, Table 7 layout).

The evaluation sets and the source split it rests on are research data
(:mod:`facexray_forensics.data`); the metrics belong to the model
(:mod:`facexray_forensics.model.metrics`), since training scores its learning curve with them too.

Public surface::

    evaluate(predictor, evaluation_set) -> report dict, markdown_table, score_rows, write_report
"""

from facexray_forensics.evaluation.evaluate import evaluate, markdown_table, score_rows, write_report

__all__ = ["evaluate", "markdown_table", "score_rows", "write_report"]
