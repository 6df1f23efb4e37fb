"""Renderers: each turns a finished :class:`~facexray_forensics.records.ScanReport`
into one output format (PDF, JSON, CSV, ...). They only read records and never
run detection or the model, and they never write into the evidence tree.
"""
