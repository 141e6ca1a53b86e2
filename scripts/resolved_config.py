"""Rule resolved_config: the config as the workflow ran it, defaults filled in."""

import yaml

from compress_distill.io import atomic_writer
from compress_distill.provenance import recorded


def main(smk) -> None:
    with recorded(smk), atomic_writer(smk.output[0]) as handle:
        yaml.safe_dump(smk.params.config, handle, sort_keys=False)


if __name__ == "__main__":
    main(snakemake)
