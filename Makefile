# embcollapse: `make help` lists the targets.
PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= default
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-stamp
BOOK_HTML := build/book/$(PROFILE)/_build/html/index.html

.DEFAULT_GOAL := help
.PHONY: help setup test test-fast run book bench check-paper screenshots clean clean-results

help: ## List the targets with a line each
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'
	@echo "  Variables: PROFILE=smoke|default|paper (now $(PROFILE)), PYTHON=$(PYTHON), VENV=$(VENV)"

setup: $(STAMP) ## Create .venv (Python >= 3.10) and install the package with its dependencies

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "embcollapse needs Python >= 3.10; set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e .
	@touch $(STAMP)

test: setup ## Run the whole test suite (pytest), notebook and book tests included
	$(PY) -m pytest tests

test-fast: setup ## Run the tests that take seconds (no notebooks, no book build)
	$(PY) -m pytest tests -m "not slow"

run: setup ## Execute every chapter with papermill under PROFILE
	$(PY) -m embcollapse book run --profile $(PROFILE)

book: setup ## Execute every chapter under PROFILE and build the HTML book
	$(PY) -m embcollapse book build --profile $(PROFILE)

bench: setup ## Run the benchmarks in benchmarks/ (tables printed, JSON in benchmarks/out/)
	for b in benchmarks/synthetic.py benchmarks/train_step.py benchmarks/data.py; do \
	  if [ -f $$b ]; then $(PY) $$b || exit 1; fi; done

check-paper: setup ## Build each model of the paper profiles at full size, one CPU step, GPU memory
	$(PY) -m embcollapse.capacity paper paper-avazu

screenshots: setup ## Screenshots of every page of the built PROFILE book (desktop, phone) into build/screenshots
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  echo "make screenshots needs headless Chromium; install it (Debian/Ubuntu): sudo apt-get install chromium"; exit 2; }
	@test -f $(BOOK_HTML) || { echo "no built book at $(BOOK_HTML): make book PROFILE=$(PROFILE) first"; exit 2; }
	$(PY) -m embcollapse.screenshots $(dir $(BOOK_HTML)) --out build/screenshots/$(PROFILE)

clean: ## Remove build outputs (keeps .venv and the results store)
	rm -rf build book/_build

clean-results: ## Remove the results store and prepared data (.embcollapse)
	rm -rf .embcollapse
