# Two commands on a fresh machine, each doing its own set-up and safe to run again:
#   make          build the shipped series into out/
#   make test     run the tests
#   make lint     ruff, with the rules pinned in pyproject.toml
# EXTRAS picks the optional parts installed for the tests (CI: dev,coqui,ray,qa).

PYTHON ?= python3
VENV ?= .venv
EXTRAS ?= dev
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

.PHONY: build test lint bench clean

build: $(VENV)/.installed
	$(VENV)/bin/episodes build

test: $(STAMP)
	$(VENV)/bin/python -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check pipeline tests bench

bench: $(VENV)/.installed-dev-bench
	$(VENV)/bin/python bench/bench_build.py

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e .
	touch $@

$(VENV)/.installed-%: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e '.[$(subst -,$(comma),$*)]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) out
