"""Rule problems: write one problem set as canonical JSONL (id, question, answer, source)."""

from pathlib import Path

from compress_distill.io import write_jsonl
from compress_distill.problems import build_problemset
from compress_distill.provenance import recorded


def _workflow_dir(smk) -> Path:
    """Relative paths in the config are from the workflow folder (scripts/ is in it); not a param,
    so moving the workflow (or unpacking a bundle) does not rebuild the problem sets."""
    return Path(smk.scriptdir).parent


def main(smk) -> None:
    with recorded(smk):
        problems = build_problemset(smk.wildcards.problemset, smk.params.spec, _workflow_dir(smk))
        count = write_jsonl(smk.output[0], problems)
        print(f"wrote {count} problems to {smk.output[0]}")


if __name__ == "__main__":
    main(snakemake)
