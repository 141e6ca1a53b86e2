"""Rule findings: each of the paper's claims, what the run measured, its interval and a verdict
(compress_distill.findings), as Markdown and CSV."""

from compress_distill.findings import finding_rows, findings, findings_table
from compress_distill.inference import outcomes_by_row
from compress_distill.io import atomic_writer, read_json
from compress_distill.provenance import recorded
from compress_distill.stats import Statistics
from compress_distill.tables import to_markdown, write_csv


def main(smk) -> None:
    with recorded(smk):
        evaluations = [read_json(path) for path in smk.input.evaluations]
        outcomes = outcomes_by_row(smk.params.cells, evaluations)
        settings = Statistics(**smk.params.statistics)
        found = findings(read_json(smk.input.metrics), outcomes, settings)
        with atomic_writer(smk.output.md) as handle:
            handle.write(to_markdown(findings_table(found, settings)))
        write_csv(finding_rows(found), smk.output.csv)


if __name__ == "__main__":
    main(snakemake)
