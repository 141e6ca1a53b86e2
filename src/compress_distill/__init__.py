"""compress-distill: reasoning-trace compression for distillation, as a Snakemake workflow."""

__version__ = "0.1.0"
