"""Blended images (BI) from real faces only, paper §3.2, drawn from a face index (:mod:`facexray_forensics.data.index`).

- :mod:`.neighbours`: the nearest-other-source neighbour table.
- :mod:`.masks`: landmark convex-hull masks and their region variants.
- :mod:`.sampler`: the BI sampler (numpy ``draw`` and a torch IterableDataset).
- :mod:`.gpu_sampler`: the same sampler in batches on one torch device (CUDA kernels on a GPU).
"""
