"""Rule report: the HTML report (`snakemake --report`) of the workflow as it ran.

A nested snakemake: it reads the finished jobs' metadata and the report-marked outputs, and needs
the same config (the resolved one) and mode. It writes to a temporary name, renamed when complete.
"""

import os
import subprocess
import sys
from pathlib import Path

from compress_distill.provenance import recorded


def main(smk) -> None:
    with recorded(smk):
        workflow_dir = Path(smk.scriptdir).parent
        output = Path(smk.output[0])
        partial = output.with_name(f".{output.name}.partial.html")
        command = [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(workflow_dir / "Snakefile"),
        ]
        command += ["--configfile", smk.input.config, "--cores", "1"]
        command += ["--config", f"regenerate={smk.params.regenerate}", "--report", str(partial)]
        subprocess.run(command, check=True)
        os.replace(partial, output)


if __name__ == "__main__":
    main(snakemake)
