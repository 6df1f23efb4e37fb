"""The Face X-ray network: HRNetV2 features, the X-ray head NN_b and the class head NN_c (paper §4).

NN_b: the four resolutions are upsampled to the highest one (64×64 for a
256×256 input), concatenated, mapped to one channel by a 1×1 conv and
bilinearly upsampled to the input size; a sigmoid makes the X-ray.
NN_c: global average pooling of the predicted X-ray, then a fully connected
layer to two logits (real, blended); softmax gives the probability.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from facexray_forensics.model.hrnet import HRNet

# ImageNet statistics: the backbone's warm-start checkpoints were trained on inputs normalised by them.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class FaceXray(nn.Module):
    """``forward(x)`` with x N×3×H×W float in [0, 1] -> (X-ray N×1×H×W in (0, 1), logits N×2).

    Index 1 of the logits is "blended". ``forward_logits`` returns the X-ray
    before its sigmoid, which the loss needs for a numerically safe BCE.
    """

    def __init__(self, width: int = 18) -> None:
        super().__init__()
        self.backbone = HRNet(width)
        self.xray_head = nn.Conv2d(sum(self.backbone.feature_info.channels()), 1, kernel_size=1)
        self.class_head = nn.Linear(1, 2)
        # Start from a flat X-ray of 0.5: the random backbone's large features would otherwise saturate the sigmoid.
        nn.init.zeros_(self.xray_head.weight)
        nn.init.zeros_(self.xray_head.bias)
        # Not persistent: fixed constants, kept out of weights files and checkpoints.
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def width(self) -> int:
        return self.backbone.width

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
        """NN_c: global average pooling of the X-ray, then FC to two logits."""
        return self.class_head(xray.mean(dim=(2, 3)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xray_logits, class_logits = self.forward_logits(x)
        return torch.sigmoid(xray_logits), class_logits
