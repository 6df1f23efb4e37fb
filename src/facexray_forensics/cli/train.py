"""``fxr-forensic train CONFIG``: train the Face X-ray model in resumable, time-bounded chunks."""

import json

import click


@click.command("train")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--max-minutes", type=float, default=None, help="Stop (with a checkpoint) before this much time passes.")
@click.option("--max-steps", type=int, default=None, help="Stop after this many steps in this call.")
@click.option("--checkpoint-dir", default=None, help="Override run.checkpoint_dir of the config.")
@click.option("--no-resume", is_flag=True, help="Start afresh even when the checkpoint directory holds a checkpoint.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_command(config, max_minutes, max_steps, checkpoint_dir, no_resume, quiet) -> None:
    """Train from a TOML config, continuing from CHECKPOINT_DIR/latest.pt when it exists.

    Each call trains until the config's total steps, --max-minutes or
    --max-steps, then writes a checkpoint; the next call continues exactly
    where this one stopped. Prints a JSON summary of the call on stdout.
    Under torchrun every process trains on its own data stream (DDP).

    Example: fxr-forensic train training/configs/paper_w18.toml --max-minutes 8
    """
    from facexray_forensics.train import load_config, train

    try:
        settings = load_config(config)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    if checkpoint_dir:
        settings.run.checkpoint_dir = checkpoint_dir
    result = train(settings, max_minutes=max_minutes, max_steps=max_steps, resume=not no_resume, progress=not quiet)
    summary = {
        "step": result.step,
        "finished": result.finished,
        "steps_this_call": len(result.losses),
        "last_loss": result.losses[-1] if result.losses else None,
        "checkpoint": str(result.checkpoint) if result.checkpoint else None,
        "seconds": round(result.seconds, 2),
        "samples_per_s": round(result.samples_per_s, 2),
    }
    import torch.distributed as dist

    if not dist.is_initialized() or dist.get_rank() == 0:
        click.echo(json.dumps(summary, indent=2))
