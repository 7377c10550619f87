# The README's two commands are `make reproduce` and `make test`; both set up everything they need.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA := data/mp_batteries.csv
export DVC_NO_ANALYTICS := 1
export TF_CPP_MIN_LOG_LEVEL := 3
# The venv's tools (dvc, electrode-ml) must be on PATH for the commands in dvc.yaml.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install data reproduce test test-all paper clean-venv

install: $(STAMP)

$(STAMP): requirements/requirements.txt requirements/constraints.txt requirements/crabnet.txt pyproject.toml scripts/install.sh
	bash scripts/install.sh

data: $(DATA)

$(DATA): data.dvc | $(STAMP)
	dvc pull data.dvc
	@touch $(DATA)

reproduce: install data
	dvc repro
	@echo "Pipeline done: metrics with 'dvc metrics show'."

test: install data
	$(BIN)/python -m pytest -q

test-all: install data
	$(BIN)/python -m pytest -q -m ""

clean-venv:
	rm -rf $(VENV)
