# Two commands do all set-up on a fresh machine (Python 3.11 + pip):
#   make run    installs into .venv and runs the whole workflow on the default (realistic) synthetic market
#   make test   installs into .venv and runs the test suite
# GPU users: pick the CUDA build of torch, e.g. make run TORCH_SPEC="torch==2.13.0 --index-url <PyTorch CUDA wheel index>"

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
CORES ?= 2
# config.yaml's default dataset (where make run finds the report)
DATASET := $(shell sed -n 's/^dataset: *\([A-Za-z0-9_]*\).*/\1/p' config.yaml)
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup setup-slurm run test lint dry-run tiny report clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e '.[dev,text]'
	touch $@

setup: $(VENV)/.installed

# On a Slurm login node (and in CI): the executor plugin behind `--profile profiles/slurm`.
$(VENV)/.installed-slurm: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[slurm]'
	touch $@

setup-slurm: $(VENV)/.installed-slurm

run: setup
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report results/$(DATASET)/report.html

test: setup
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check workflow benchmarks tests
	$(BIN)/snakemake --lint

dry-run: setup
	$(BIN)/snakemake -n --cores $(CORES)

tiny: setup
	$(BIN)/snakemake --cores $(CORES) --config dataset=tiny

clean:
	rm -rf results .snakemake
