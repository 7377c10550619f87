# The README's two commands are `make reproduce` and `make test`; both set up everything they need.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA := data/mp_batteries.csv
export DVC_NO_ANALYTICS := 1
export TF_CPP_MIN_LOG_LEVEL := 3
# The venv's tools (dvc, electrode-ml) must be on PATH for the commands in dvc.yaml.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install data reproduce profile test test-all paper bench lint docker-build docker-reproduce clean-venv

install: $(STAMP)

$(STAMP): requirements/requirements.txt requirements/constraints.txt requirements/crabnet.txt pyproject.toml scripts/install.sh
	bash scripts/install.sh

data: $(DATA)

$(DATA): data.dvc | $(STAMP)
	dvc pull data.dvc
	@touch $(DATA)

# PROFILE=paper|quick overrides the choice (paper with a CUDA GPU, quick without); see README "Profiles".
reproduce:
	@PROFILE=$(PROFILE) bash scripts/reproduce.sh

profile:
	@PROFILE=$(PROFILE) bash scripts/reproduce.sh --choose-only

# Only the report, from results already computed (cached by DVC).
paper: install
	dvc repro --single-item report

test: install data
	$(BIN)/python -m pytest -q

test-all: install data
	$(BIN)/python -m pytest -q -m ""

# Docker (CUDA): the image holds the environment; the checkout, its DVC cache and ../shared (the
# data remote) are mounted, so results land here as with a native run.
IMAGE := electrode-ml
docker-build:
	docker build -t $(IMAGE) .

docker-reproduce:
	docker run --rm $(if $(shell command -v nvidia-smi 2>/dev/null),--gpus all,) \
		--user $(shell id -u):$(shell id -g) -e HOME=/tmp -e PROFILE=$(PROFILE) \
		-v $(CURDIR):/home/electrode/electrode-ml -v $(abspath ../shared):/home/electrode/shared \
		$(IMAGE) make reproduce

# Speed checks live here, never in unit tests: results/bench.json, benchmarks/, paper/PERFORMANCE.md.
bench: install data
	dvc repro cluster
	electrode-ml bench

lint: install
	$(BIN)/hadolint Dockerfile

clean-venv:
	rm -rf $(VENV)
