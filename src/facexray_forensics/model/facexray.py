"""The Face X-ray network: multi-resolution features, the X-ray head NN_b and the class head NN_c (paper §4).

NN_b: the backbone's four resolutions are upsampled to the highest one
(stride 4), concatenated, mapped to one channel by a 1×1 conv and bilinearly
upsampled to the input size; a sigmoid makes the X-ray. The backbone is the
paper's HRNetV2, or a CPU-light trunk whose four strides are fused the same way.

NN_c sits on the predicted X-ray. Two forms (:data:`CLASS_HEADS`):

- ``"gap"``, the paper's: global average pooling of the X-ray, then a fully
  connected layer to two logits (real, blended);
- ``"log_pool"``: the same layer on the logarithms of two poolings of the
  X-ray, its mean and the mean of its brightest 1 % of pixels. A blended
  face's X-ray covers a thin boundary, so its mean is small; on a log scale
  the layer needs weights near 1 instead of in the hundreds. It starts from
  what an X-ray means (brighter is more likely blended, see
  :data:`_LOG_POOL_START`), so only the threshold and the balance of the two
  poolings are left to learn: Adam moves a weight by about the learning
  rate a step, so a randomly signed start would take thousands of steps
  to turn round.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# ImageNet statistics: the trunks' pretrained weights were trained on inputs normalised by them.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

CLASS_HEADS = ("gap", "log_pool")
_BRIGHTEST_FRACTION = 0.01
_LOG_FLOOR = 1e-4
# The log_pool head's start: margin = log(mean) + log(brightest) - log(0.02 * 0.3), i.e. even odds
# for an X-ray averaging 0.02 with its brightest pixels at 0.3, a thin boundary of a blend.
_LOG_POOL_START = 0.02 * 0.3


class FaceXray(nn.Module):
    """``forward(x)`` with x N×3×H×W float in [0, 1] -> (X-ray N×1×H×W in (0, 1), logits N×2).

    ``backbone`` returns four maps, highest resolution first, and describes
    them in ``feature_info``. Index 1 of the logits is "blended".
    ``forward_logits`` returns the X-ray before its sigmoid, which the loss
    needs for a numerically safe BCE. ``architecture`` is the registry name.
    """

    def __init__(self, backbone: nn.Module, architecture: str, class_head: str = "gap") -> None:
        super().__init__()
        if class_head not in CLASS_HEADS:
            raise ValueError(f"class_head must be one of {CLASS_HEADS}, got {class_head!r}")
        self.backbone = backbone
        self.architecture = architecture
        self.class_head_kind = class_head
        self.xray_head = nn.Conv2d(sum(backbone.feature_info.channels()), 1, kernel_size=1)
        self.class_head = nn.Linear(1 if class_head == "gap" else 2, 2)
        # Start from a flat X-ray of 0.5: the random backbone's large features would otherwise saturate the sigmoid.
        nn.init.zeros_(self.xray_head.weight)
        nn.init.zeros_(self.xray_head.bias)
        if class_head == "log_pool":
            with torch.no_grad():
                self.class_head.weight.copy_(torch.tensor([[-0.5, -0.5], [0.5, 0.5]]))
                half = -0.5 * float(torch.log(torch.tensor(_LOG_POOL_START)))
                self.class_head.bias.copy_(torch.tensor([-half, half]))
        # Not persistent: fixed constants, kept out of weights files and checkpoints.
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (X-ray logits N×1×H×W, class logits N×2)."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected an N×3×H×W batch, got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"expected a float tensor in [0, 1], got {x.dtype}")
        height, width = x.shape[-2:]
        if height < 32 or width < 32:
            raise ValueError(f"input must be at least 32×32 (the backbone's stride), got {height}×{width}")
        features = self.backbone((x - self.mean) / self.std)
        size = features[0].shape[-2:]
        stacked = torch.cat(
            [features[0]] + [F.interpolate(f, size=size, mode="bilinear", align_corners=False) for f in features[1:]],
            dim=1,
        )
        xray_logits = F.interpolate(self.xray_head(stacked), size=(height, width), mode="bilinear", align_corners=False)
        class_logits = self.classify(torch.sigmoid(xray_logits))
        return xray_logits, class_logits

    def classify(self, xray: torch.Tensor) -> torch.Tensor:
        """NN_c on the X-ray (N×1×H×W): see the module docstring."""
        pooled = xray.float().mean(dim=(2, 3))
        if self.class_head_kind == "gap":
            return self.class_head(pooled)
        flat = xray.float().flatten(1)
        brightest = flat.topk(max(1, round(_BRIGHTEST_FRACTION * flat.shape[1])), dim=1).values.mean(dim=1, keepdim=True)
        return self.class_head(torch.log(torch.cat([pooled, brightest], dim=1).clamp_min(_LOG_FLOOR)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xray_logits, class_logits = self.forward_logits(x)
        return torch.sigmoid(xray_logits), class_logits
