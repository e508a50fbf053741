# nesy — quick start: `make demo`, `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: venv demo test lint bench bench-neural clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: venv
	$(BIN)/nesy demo

test: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: venv
	$(BIN)/ruff check .

# The symbolic benchmarks (minutes). The neural ones train models and take from 10 minutes
# to an hour each on a CPU: run them one by one (benchmarks/README.md), or `make bench-neural`.
bench: venv
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/reasoning.py
	$(BIN)/python benchmarks/query.py
	$(BIN)/python benchmarks/owl.py

bench-neural: venv
	$(BIN)/python benchmarks/kgc.py
	$(BIN)/python benchmarks/rules.py
	$(BIN)/python benchmarks/extract.py
	$(BIN)/python benchmarks/qa.py
	$(BIN)/python benchmarks/fusion.py

clean:
	rm -rf $(VENV) build *.egg-info
