"""Rule verify: extract each final answer, check it with Math-Verify, keep the correct traces."""

from compress_distill.provenance import recorded
from compress_distill.verify import verify_shard


def main(smk) -> None:
    with recorded(smk):
        counts = verify_shard(
            smk.input[0],
            smk.output.checked,
            smk.output.verified,
            workers=smk.threads,
            timeout_s=smk.params.timeout_s,
        )
        print(counts)


if __name__ == "__main__":
    main(snakemake)
