"""Train the Face X-ray model from a TOML config; works alone or under torchrun.

    python training/train.py training/configs/tiny_cpu.toml --max-minutes 1
    torchrun --nproc-per-node 8 training/train.py training/configs/paper_w18.toml --max-minutes 8

The same as `fxr-forensic model train`; this file exists so torchrun has a script to start.
"""

from facexray_forensics.cli.model import train_command

if __name__ == "__main__":
    train_command()
