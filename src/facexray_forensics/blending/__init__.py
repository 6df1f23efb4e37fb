"""Blended images (BI) from real faces only, paper §3.2, drawn from a face index (:mod:`facexray_forensics.data.index`).

- :mod:`.masks`: landmark convex-hull masks and their region variants.
- :mod:`.config`: ``SamplerConfig``, every knob of both samplers.
- :mod:`.sampler`: the BI sampler (numpy ``draw`` and a torch IterableDataset); its
  augmentations in :mod:`.augment`.
- :mod:`.gpu_sampler`: the same sampler in batches on one torch device (CUDA kernels on a GPU);
  its JPEG in :mod:`.gpu_jpeg`, its hulls and triangulation in :mod:`.gpu_geometry`.
"""
