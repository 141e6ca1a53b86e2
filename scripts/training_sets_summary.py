"""Rule training_sets_summary: every training set's lengths and its ratios against raw."""

from compress_distill.io import read_json, write_json
from compress_distill.provenance import recorded
from compress_distill.tables import write_csv
from compress_distill.training_sets import summarize, summary_rows


def main(smk) -> None:
    with recorded(smk):
        tokens = {student: read_json(path) for student, path in smk.params.token_files.items()}
        sets = []
        for path in smk.input.stats:
            stats = read_json(path)
            name = f"{stats['teacher']}/{stats['variant']}/{stats['regime']}"
            sets.append(stats | {"tokens": {s: counts[name] for s, counts in tokens.items()}})
        summary = summarize(sets)
        write_json(smk.output.json, summary)
        write_csv(summary_rows(summary), smk.output.csv)


if __name__ == "__main__":
    main(snakemake)
