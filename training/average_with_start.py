"""Average a chunk's checkpoint with the shipped weights it continued from, for export.

Usage: python training/average_with_start.py CHECKPOINT OUT.pt [--share 0.5]

A chunk that continues from the shipped default moves away from it; the average of the two
(a weight soup) kept chunk 3's clean-blend figures and gained chunk 4's H.264 ones on the
calibration set. OUT.pt is exported like any checkpoint (training/ship_default.py).
"""

import argparse

from facexray_forensics.train.checkpoint import average_with_start, save_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("out")
    parser.add_argument("--share", type=float, default=0.5, help="weight of the chunk's own weights (0 to 1)")
    arguments = parser.parse_args()
    save_checkpoint(arguments.out, average_with_start(arguments.checkpoint, arguments.share))
    print(f"wrote {arguments.out}: {arguments.share} of {arguments.checkpoint}, the rest from its start")


if __name__ == "__main__":
    main()
