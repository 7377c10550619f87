# The README's two commands are `make reproduce` and `make test`; both set up everything they need.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA := data/mp_batteries.csv
export DVC_NO_ANALYTICS := 1
export TF_CPP_MIN_LOG_LEVEL := 3
# The venv's tools (dvc, electrode-ml) must be on PATH for the commands in dvc.yaml. abspath, not
# $(CURDIR)/: the image's VENV is already absolute (/home/electrode/venv).
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install data reproduce profile test test-all faults paper verify compare plots models bench crabnet-front docs lint docker-build docker-reproduce clean-venv

install: $(STAMP)

# Up to date when the stamp holds the hash of the install inputs (scripts/install.sh lists them), not
# when it is newer than they are: a fresh clone, or the checkout mounted into the image, is newer.
ifneq ($(shell bash scripts/install.sh --inputs-hash),$(shell cat $(STAMP) 2>/dev/null))
.PHONY: $(STAMP)
endif
$(STAMP):
	bash scripts/install.sh

data: $(DATA)

$(DATA): data.dvc | $(STAMP)
	dvc pull data.dvc
	@touch $(DATA)

# PROFILE=paper|quick overrides the choice (paper with a CUDA GPU, quick without); see docs/reproducing.md "Profiles".
reproduce:
	@PROFILE=$(PROFILE) bash scripts/reproduce.sh

profile:
	@PROFILE=$(PROFILE) bash scripts/reproduce.sh --choose-only

# Only the report, from results already computed (cached by DVC).
paper: install
	dvc repro --single-item report

# Does this run give the committed results? Every output hash and metric, timings left out.
verify: install
	electrode-ml verify

# Changed params and SMAE per model x target x scheme, one column per DVC experiment.
compare: install
	electrode-ml compare

# DVC's plots (learning curves: a panel per target, a line per model) as dvc_plots/index.html, with
# the chart library inside the page: it opens without the internet (plain `dvc plots show` loads it
# from a CDN). docs/parameters.md "Comparing experiments".
PLOTS_TEMPLATE := .dvc/tmp/offline_plots_template.html
plots: install
	electrode-ml plots-template --out $(PLOTS_TEMPLATE)
	dvc plots show --html-template $(PLOTS_TEMPLATE)

# Only what `electrode-ml predict` needs: prepare, featurize, inputs and the train cells (docs/screening.md "Screening new compositions").
models: install data
	dvc repro train

test: install data
	$(BIN)/python -m pytest -q

# The slow tests too, and the property-based tests' deep profile (tests/conftest.py).
test-all: install data
	HYPOTHESIS_PROFILE=deep $(BIN)/python -m pytest -q -m ""

# Faults injected on purpose (tests/test_faults.py): a worker killed mid-fit, a fit that never returns, an
# interrupted run, a full disk, a corrupt cache file, and what must hold after; their record is the table
# in docs/errors.md "Faults survived" (benchmarks/faults.md).
faults: install data
	FAULTS_TABLE=benchmarks/faults.md $(BIN)/python -m pytest -q -m "" tests/test_faults.py

# The documentation site (docs/, mkdocs.yml) into site/, offline, strictly: a broken link or a page
# missing from the nav fails, as in CI (tests/test_docs.py). Open site/index.html.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Docker: the image holds the environment; the checkout (with its DVC cache) and ../shared (the data
# remote, read-only) are mounted, and the container runs as the host user, so results land here,
# owned by whoever ran make, as with a native run. docs/getting-started.md "Docker".
IMAGE ?= electrode-ml
SHARED ?= $(abspath ../shared)
DOCKER_USER ?= $(shell id -u):$(shell id -g)
DOCKER_BUILD_ARGS ?=
docker-build:
	docker build $(DOCKER_BUILD_ARGS) -t $(IMAGE) .

docker-reproduce:
	@$(MAKE) --no-print-directory docker-run CMD="make reproduce"

# Speed checks live here, never in unit tests: results/bench.json, benchmarks/, paper/PERFORMANCE.md.
bench: install data
	dvc repro cluster inputs
	electrode-ml bench

# CrabNet's accuracy for its time on this CPU, over a grid (resumable: a stopped run keeps its fits):
# benchmarks/crabnet_front.jsonl, paper/figures/performance/crabnet_front.png, paper/PERFORMANCE.md.
crabnet-front: install data
	dvc repro prepare folds
	electrode-ml crabnet-front

lint: install
	$(BIN)/hadolint Dockerfile

clean-venv:
	rm -rf $(VENV)

# Any command in the image, mounted as docker-reproduce mounts it: make docker-run CMD="make test".
# /etc/passwd and /etc/group from the host: dvc and git look the user up by uid (getpwuid).
CMD ?= bash
docker-run:
	docker run --rm $(if $(shell test -t 0 && echo tty),-it,) $(if $(shell command -v nvidia-smi 2>/dev/null),--gpus all,) \
		--user $(DOCKER_USER) -e HOME=/tmp -e PROFILE=$(PROFILE) -e PYTHONUNBUFFERED=1 \
		-v /etc/passwd:/etc/passwd:ro -v /etc/group:/etc/group:ro \
		-v $(CURDIR):/home/electrode/electrode-ml -v $(SHARED):/home/electrode/shared:ro \
		$(IMAGE) $(CMD)

# CI's Docker part (as root): base image, build, then make test and a pipeline slice in the image.
docker-ci:
	bash scripts/docker_ci.sh

.PHONY: docker-run docker-ci
