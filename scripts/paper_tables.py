"""Rule paper_tables: the main table and the truncation ablation, as Markdown and LaTeX, with
intervals and significance marks."""

from compress_distill.io import atomic_writer, read_json
from compress_distill.provenance import recorded
from compress_distill.stats import Statistics
from compress_distill.tables import paper_tables, to_latex, to_markdown


def main(smk) -> None:
    with recorded(smk):
        rows = read_json(smk.input[0])
        for name, table in paper_tables(rows, Statistics(**smk.params.statistics)).items():
            for ext, render in (("md", to_markdown), ("tex", to_latex)):
                with atomic_writer(smk.output[f"{name}_{ext}"]) as handle:
                    handle.write(render(table))


if __name__ == "__main__":
    main(snakemake)
