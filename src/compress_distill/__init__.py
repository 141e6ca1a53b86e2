"""compress-distill: reasoning-trace compression for efficient distillation, as a Snakemake workflow."""

__version__ = "0.1.0"
