"""Rule cost_ledger: every job's device time from the provenance records, each variant's
end-to-end cost and the break-even of its compressor (compress_distill.costs)."""

from pathlib import Path

from compress_distill.costs import Grid, Scale, write_costs
from compress_distill.provenance import recorded


def main(smk) -> None:
    with recorded(smk):
        results = Path(smk.output.csv).parents[1]  # results/tables/costs.csv
        write_costs(
            results,
            Grid(**smk.params.grid),
            dict(smk.params.stats_files),
            Scale(**smk.params.scale),
            {
                "csv": smk.output.csv,
                "md": smk.output.md,
                "ledger": smk.output.ledger,
                "figure": Path(smk.output.png).with_suffix(""),
            },
            dpi=smk.params.figures["dpi"],
        )


if __name__ == "__main__":
    main(snakemake)
