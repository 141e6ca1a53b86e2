"""Rule bundle: the reproducibility archive (see compress_distill.bundle for its layout)."""

from pathlib import Path

from compress_distill.bundle import build_bundle
from compress_distill.provenance import recorded


def main(smk) -> None:
    with recorded(smk):
        counts = build_bundle(
            out=smk.output[0],
            results=Path(smk.input.config).parent,  # results/config.yaml
            config=smk.config,
            workflow_dir=Path(smk.scriptdir).parent,
            include_large=smk.params.include_large,
        )
        print(counts)


if __name__ == "__main__":
    main(snakemake)
