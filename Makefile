# nesy — quick start: `make demo`, `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: venv demo test lint bench bench-neural test-chaos clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch first, so that the extras below keep it (no CUDA download).
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

demo: venv
	$(BIN)/nesy demo

# One pytest-xdist worker per core (at most four), whole test files per worker, in the order of
# tests/conftest.py (the slowest files first, so that the workers finish together).
test: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --dist loadfile --no-loadscope-reorder

# ruff (private imports included) and the layer contracts in pyproject.toml; both always run.
lint: venv
	$(BIN)/ruff check . ; r=$$?; $(BIN)/lint-imports --no-cache; i=$$?; test $$r -eq 0 -a $$i -eq 0

# The symbolic benchmarks (minutes). The neural ones train models and take from 10 minutes
# to an hour each on a CPU: run them one by one (benchmarks/README.md), or `make bench-neural`.
bench: venv
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/reasoning.py
	$(BIN)/python benchmarks/query.py
	$(BIN)/python benchmarks/cli_start.py
	$(BIN)/python benchmarks/owl.py

bench-neural: venv
	$(BIN)/python benchmarks/kgc.py
	$(BIN)/python benchmarks/rules.py
	$(BIN)/python benchmarks/extract.py
	$(BIN)/python benchmarks/qa.py
	$(BIN)/python benchmarks/fusion.py

# The reliability benchmark: >= 500 kill -9s, >= 10,000 hostile inputs, every limit (an hour or so).
test-chaos: venv
	$(BIN)/python benchmarks/chaos.py

clean:
	rm -rf $(VENV) build *.egg-info
