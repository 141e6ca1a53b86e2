"""Rule problemset: write one problem set as canonical JSONL (id, question, answer, source)."""

from compress_distill.io import write_jsonl
from compress_distill.logs import log_to
from compress_distill.problemsets import build_problemset


def main(smk) -> None:
    with log_to(smk.log[0]):
        problems = build_problemset(smk.wildcards.problemset, smk.params.spec, smk.params.basedir)
        count = write_jsonl(smk.output[0], problems)
        print(f"wrote {count} problems to {smk.output[0]}")


if __name__ == "__main__":
    main(snakemake)
