"""Every file the pipeline reads or writes, declared once (dvc.yaml spells the same paths;
tests/test_paths.py holds the two together).

Paths are relative to the repository root, where DVC runs every stage.
"""
from __future__ import annotations

from pathlib import Path

RESULTS = Path("results")
PAPER = Path("paper")
PUBLISHED_TABLE = Path("reference/published_table.csv")
CRABNET_GPU_REFERENCE = Path("reference/crabnet_gpu_reference.json")  # crabnet's defaults on a CUDA GPU, one fold

# Wall-clock records: written beside the results, never part of them (see provenance.py).
TIMINGS = "timings.json"
# Each cell's flat metrics file (DVC `metrics:`), beside its other outputs.
METRICS = "metrics.json"

PREPARED = RESULTS / "prepared"
ELECTRODES = PREPARED / "electrodes.csv"
REJECTED = PREPARED / "rejected.csv"
PAIRS = PREPARED / "pairs.csv"  # each electrode's charged and discharged formulas (candidates, discovery)
PREPARE_SUMMARY = PREPARED / "summary.json"

FEATURES = RESULTS / "features"
FEATURE_METRICS = FEATURES / METRICS
FEATURE_NAN_COUNTS = FEATURES / "nan_counts.csv"

CLUSTERS = RESULTS / "clusters"
ASSIGNMENTS = CLUSTERS / "assignments.csv"
CLUSTER_TABLE = CLUSTERS / "clusters.csv"
CLUSTER_METRICS = CLUSTERS / METRICS

MODEL_INPUTS = RESULTS / "inputs"  # one folder per model: electrodes.csv and its feature tables

FOLDS = RESULTS / "folds"
CELL_CODE = RESULTS / "code" / "cells.json"  # the MD5s of the modules every cell runs (stage cell_code)
MAPS = PAPER / "figures" / "maps"
PAPER_INDEX = PAPER / "README.md"
REPRODUCTION = PAPER / "REPRODUCTION.md"
CRABNET_FRONT = Path("benchmarks/crabnet_front.jsonl")  # `electrode-ml crabnet-front`'s records (committed)
TRUST_PAGE = PAPER / "TRUST.md"  # how far to trust a prediction
SCREENING_PAGE = PAPER / "SCREENING.md"  # screening new electrodes, and the retrospective discovery check
RUN_TIMINGS = PAPER / "timings.md"  # the report's page of REPORT_TIMINGS
EVALUATION_FIGURES = PAPER / "figures" / "evaluation"
PERFORMANCE_FIGURES = PAPER / "figures" / "performance"
CRABNET_FRONT_FIGURE = PERFORMANCE_FIGURES / "crabnet_front"  # .png and .pdf, by the report
TABLES = PAPER / "tables"
REPORT_TIMINGS = RESULTS / TIMINGS
LEARNING_CURVES = RESULTS / "learning_curves.csv"  # every bootstrap curve in one table, for `dvc plots`
# Every metrics file's values in one file kept in git: what `verify` compares a run with on a clone
# that has none of the committed results in its DVC cache.
COMMITTED_METRICS = PAPER / "metrics.json"


def feature_table(representation: str, root: Path = FEATURES) -> Path:
    """A feature table, in the featurize stage's folder or (`root`) a model's input folder."""
    return root / f"{representation}.parquet"


def model_inputs(model: str, root: Path = MODEL_INPUTS) -> Path:
    return root / model


# The validation schemes, each a fold file: the stratified folds first (the novelty bins and the
# intervals `predict` gives are calibrated on them).
SCHEMES = ("stratified5", "loco")


def fold_file(scheme: str) -> Path:
    return FOLDS / f"{scheme}.csv"


# The cell folders: one per model x target (x scheme). `root` is the stage's folder, so that the
# report (and its tests) can read a results tree kept elsewhere.
CV = RESULTS / "cv"
BOOTSTRAP = RESULTS / "bootstrap"
TRAINED_MODELS = RESULTS / "models"
REPEATED_CV = RESULTS / "repeated_cv"


# How far to trust a prediction: the novelty of every held-out electrode and the domain `predict`
# measures candidates against (stage `domain`), and each model x target's intervals (stage `trust`).
TRUST = RESULTS / "trust"
NOVELTY = TRUST / "novelty.csv"
DOMAIN = TRUST / "domain.joblib"
DOMAIN_METRICS = TRUST / METRICS


def trust_cells(root: Path = TRUST) -> Path:
    return root / "cells"


def trust_cell(model: str, target: str, root: Path = TRUST) -> Path:
    return trust_cells(root) / model / target


def trust_summary(root: Path = TRUST) -> Path:
    """The trust stage's metrics (every cell's) and timing."""
    return root / "summary"


def cv_cell(model: str, target: str, scheme: str, root: Path = CV) -> Path:
    return root / model / target / scheme


def bootstrap_cell(model: str, target: str, root: Path = BOOTSTRAP) -> Path:
    return root / model / target


def trained_model(model: str, target: str, root: Path = TRAINED_MODELS) -> Path:
    return root / model / target


def repeated_cv_cell(model: str, target: str, root: Path = REPEATED_CV) -> Path:
    return root / model / target


# Screening: candidates made from the known electrodes (stage `candidates`), their screen (stage
# `screen`, or `electrode-ml screen --out` for a user's list) and the retrospective discovery check.
CANDIDATES = RESULTS / "candidates"
CANDIDATE_TABLE = CANDIDATES / "candidates.parquet"
CANDIDATES_REJECTED = CANDIDATES / "rejected.parquet"  # candidates a chemistry rule set aside
CANDIDATES_GENERATED = CANDIDATES / "generated.parquet"  # every candidate made, before any is dropped (discovery)
CANDIDATE_METRICS = CANDIDATES / METRICS
SCREEN = RESULTS / "screen"
SCREEN_METRICS = SCREEN / METRICS
DISCOVERY = RESULTS / "discovery"
DISCOVERY_METRICS = DISCOVERY / METRICS
