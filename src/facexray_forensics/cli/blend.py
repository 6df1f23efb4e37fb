"""``fxr-forensic blend``: write blended-image (BI) samples for inspection."""

import click


@click.command("blend")
@click.argument("index_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False, writable=True))
@click.option("-n", "--count", type=click.IntRange(1), default=32, show_default=True,
              help="How many samples to write.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True,
              help="Stream seed; sample i of a seed is always the same.")
@click.option("--blend-probability", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Share of blended samples; the rest are real with an all-zero X-ray.")
@click.option("--no-deform", is_flag=True, help="Ablation: no piecewise-affine deformation of the mask.")
@click.option("--no-colour", is_flag=True, help="Ablation: no colour correction of the foreground.")
@click.option("--no-augment", is_flag=True, help="No JPEG, resize, noise, blur, jitter or flip.")
def blend(index_dir, out_dir, count, seed, blend_probability, no_deform, no_colour, no_augment) -> None:
    """Draw COUNT BI samples from the face index INDEX_DIR and write them to OUT_DIR.

    Each sample NNNNNN gets NNNNNN_image.png, NNNNNN_mask.png (softened mask,
    16-bit), NNNNNN_xray.png (4·M·(1−M), 16-bit) and NNNNNN_draw.json (how it
    was drawn); contact_sheet.png shows the samples above their X-rays.

    Example: fxr-forensic blend local/index out/blends -n 64 --seed 1
    """
    from facexray_forensics.blending.export import write_samples
    from facexray_forensics.blending.sampler import SamplerConfig

    try:
        config = SamplerConfig(blend_probability=blend_probability, deform=not no_deform,
                               colour_correction=not no_colour, augment=not no_augment)
        written = write_samples(index_dir, out_dir, count, seed=seed, config=config)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {len(written)} samples and contact_sheet.png to {out_dir}")
