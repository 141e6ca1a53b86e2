"""Rule resolved_config: the config as the workflow ran it, defaults filled in."""

import yaml

from compress_distill.io import atomic_writer
from compress_distill.provenance import recorded


def main(smk) -> None:
    with recorded(smk), atomic_writer(smk.output[0]) as handle:
        # The config in its own order (the param has its keys sorted, so that reordering the
        # config reruns nothing): the order of teachers and compressors orders tables and colours.
        config = {key: value for key, value in smk.config.items() if key != "regenerate"}
        yaml.safe_dump(config, handle, sort_keys=False)


if __name__ == "__main__":
    main(snakemake)
