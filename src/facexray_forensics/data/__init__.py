"""Research data, shared by training and evaluation: real faces indexed, split by source, and drawn into test sets.

- :mod:`.index`: the on-disk face index (crops, landmarks, source ids) and its builder.
- :mod:`.split`: the train / held-out split of real faces by source, recorded as a file.
- :mod:`.sets`: held-out evaluation sets (blend pairs and real faces) and their degradations.
"""
