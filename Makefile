# The kit's verbs. Every target sets up the virtual environment it needs first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUBMISSIONS ?= examples/submissions
OUT ?= out
SEED ?= 2026
JOBS ?= 0
FRESH ?= 0

.PHONY: help venv test grade fixtures lint clean docs-images mutants autograder handout otter bench attacks

help:
	@echo "make grade [SUBMISSIONS=folder|zip] [OUT=folder] [JOBS=n] [FRESH=1]"
	@echo "                                                         grade submissions (FRESH=1: empty OUT first)"
	@echo "make test                                                 the kit's own test suite"
	@echo "make fixtures SEED=n                                      regenerate fixtures for a new term"
	@echo "make lint                                                 mypy --strict, black, ruff on the kit"
	@echo "make mutants                                              grade the mutant catalogue, print the matrix"
	@echo "make docs-images                                          redraw docs/images from the bundled examples"
	@echo "make autograder                                           dist/autograder.zip for Gradescope"
	@echo "make handout                                              dist/student.zip for students"
	@echo "make otter                                                dist/otter-autograder.zip (otter generate)"
	@echo "make bench [JOBS=n]                                       timings: one submission, a class of 200, the reference"
	@echo "make attacks                                              the hostile corpus and sandbox tests alone"

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check ".[dev,otter]"
	@touch $@

# Paths are quoted: SUBMISSIONS="My Course/hw 3.zip" is one argument.
grade: $(STAMP)
	"$(PY)" -m autograder grade "$(SUBMISSIONS)" --out "$(OUT)" --jobs "$(JOBS)" $(if $(filter 1,$(FRESH)),--fresh)

test: $(STAMP)
	$(PY) -m pytest

attacks: $(STAMP)
	$(PY) -m pytest tests/test_attacks.py tests/test_sandbox.py tests/test_uid_mode.py \
		tests/test_isolation.py tests/test_boundary.py tests/test_static_limits.py

mutants: $(STAMP)
	$(PY) -m autograder.pipeline.mutants --jobs 2

fixtures: $(STAMP)
	"$(PY)" -m solution.fixtures --seed "$(SEED)" --out autograder/fixtures

lint: $(STAMP)
	$(PY) -m mypy
	$(PY) -m black --check .
	$(PY) -m ruff check .

docs-images: $(STAMP)
	@tmp=$$(mktemp -d) && $(PY) -m autograder grade examples/submissions --out $$tmp --quiet \
		&& mkdir -p docs/images && cp $$tmp/summary-scores.png $$tmp/summary-items.png docs/images/ \
		&& rm -rf $$tmp && echo "docs/images/summary-scores.png, docs/images/summary-items.png"

autograder: $(STAMP)
	$(PY) -m autograder.deliver.package autograder --out dist/autograder.zip

handout: $(STAMP)
	$(PY) -m autograder.deliver.package handout --out dist/student.zip

otter: $(STAMP)
	$(PY) -m autograder.deliver.package otter --out dist/otter-autograder.zip

# PyTorch (the reference's yardstick, a CPU build: see the `bench` extra) goes into a venv of
# its own, never the grading venv, where student code could import it. It is installed only on
# Python 3.11, for which this machine has its wheel; elsewhere the bench skips the ratio.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check ".[dev]"
	@$(BENCH_VENV)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
		&& $(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check ".[bench]" \
		|| echo "make bench: PyTorch not installed; the ratio to PyTorch is skipped"
	@touch $@

bench: $(STAMP) $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python -m bench --jobs "$(JOBS)"

clean:
	rm -rf $(VENV) $(BENCH_VENV) out dist build *.egg-info
