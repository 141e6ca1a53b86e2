"""Rule problems: write one problem set as canonical JSONL (id, question, answer, source), and the
count of problems dropped because their gold answer cannot be checked."""

from pathlib import Path

from compress_distill.io import write_json, write_jsonl
from compress_distill.problems import build_problemset_with_stats
from compress_distill.provenance import recorded


def _workflow_dir(smk) -> Path:
    """Relative paths in the config are from the workflow folder (scripts/ is in it); not a param,
    so moving the workflow (or unpacking a bundle) does not rebuild the problem sets."""
    return Path(smk.scriptdir).parent


def main(smk) -> None:
    with recorded(smk):
        name = smk.wildcards.problemset
        problems, stats = build_problemset_with_stats(
            name, smk.params.spec, _workflow_dir(smk), workers=smk.threads
        )
        print(
            f"{name}: kept {stats['kept']} of {stats['read']} problems; dropped "
            f"{stats['dropped']} whose gold answer cannot be checked {stats['dropped_by_reason']}"
        )
        count = write_jsonl(smk.output.problems, problems)
        write_json(smk.output.stats, stats)
        print(f"wrote {count} problems to {smk.output.problems}")


if __name__ == "__main__":
    main(snakemake)
