"""One way to make a model by name, in the spirit of timm's ``create_model``.

``create("hrnet_w18")`` gives the Face X-ray network; ``create("hrnet_w18",
features_only=True)`` gives the bare backbone, whose ``feature_info`` says
what it returns. A config file names the model; no experiment copies a backbone.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from facexray_forensics.model.facexray import FaceXray
from facexray_forensics.model.hrnet import WIDTHS, HRNet


def list_models() -> list[str]:
    """Names that :func:`create` accepts."""
    return sorted(WIDTHS)


def create(name: str = "hrnet_w18", features_only: bool = False, init: str | Path | None = None) -> nn.Module:
    """Build a model by name.

    ``features_only`` returns the :class:`HRNet` backbone instead of the full
    :class:`FaceXray`. ``init`` warm-starts the backbone from a local ImageNet
    checkpoint (see :func:`facexray_forensics.model.init.load_backbone`); the
    report of missing and unexpected keys is on ``model.init_report``.
    """
    if name not in WIDTHS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(list_models())}")
    model: nn.Module = HRNet(WIDTHS[name]) if features_only else FaceXray(WIDTHS[name])
    if init is not None:
        from facexray_forensics.model.init import load_backbone

        backbone = model if features_only else model.backbone
        model.init_report = load_backbone(backbone, init)
    return model
