"""Write the MTCNN weights that faces.mtcnn loads, from the facenet-pytorch wheel, as one safetensors file.

Usage: pip install --no-deps facenet-pytorch==2.6.0
       python scripts/convert_mtcnn_weights.py src/facexray_forensics/faces/weights/mtcnn.safetensors

The wheel holds the three stages as torch state dicts (read here with weights_only=True);
the package ships them as safetensors, whose SHA-256 this prints for faces/mtcnn.py's
WEIGHTS_SHA256. Run once per upstream release; the scan never needs the wheel.
"""

import hashlib
import importlib.util
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file


def main(target: str) -> None:
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None:
        sys.exit("facenet-pytorch is not installed (pip install --no-deps facenet-pytorch==2.6.0)")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    tensors = {}
    for stage in ("pnet", "rnet", "onet"):
        state = torch.load(data / f"{stage}.pt", map_location="cpu", weights_only=True)
        tensors.update({f"{stage}.{name}": value.contiguous() for name, value in state.items()})
    save_file(tensors, target, metadata={"source": "facenet-pytorch 2.6.0 data/{pnet,rnet,onet}.pt", "licence": "MIT"})
    print(hashlib.sha256(Path(target).read_bytes()).hexdigest())


if __name__ == "__main__":
    main(sys.argv[1])
