"""Every file the pipeline reads or writes, declared once (dvc.yaml spells the same paths;
tests/test_paths.py holds the two together).

Paths are relative to the repository root, where DVC runs every stage.
"""
from __future__ import annotations

from pathlib import Path

RESULTS = Path("results")
PAPER = Path("paper")
PUBLISHED_TABLE = Path("reference/published_table.csv")

# Wall-clock records: written beside the results, never part of them (see provenance.py).
TIMINGS = "timings.json"

PREPARED = RESULTS / "prepared"
ELECTRODES = PREPARED / "electrodes.csv"
REJECTED = PREPARED / "rejected.csv"
PREPARE_SUMMARY = PREPARED / "summary.json"

FEATURES = RESULTS / "features"
FEATURE_METRICS = FEATURES / "metrics.json"
FEATURE_NAN_COUNTS = FEATURES / "nan_counts.csv"

CLUSTERS = RESULTS / "clusters"
ASSIGNMENTS = CLUSTERS / "assignments.csv"
CLUSTER_TABLE = CLUSTERS / "clusters.csv"
CLUSTER_METRICS = CLUSTERS / "metrics.json"

FOLDS = RESULTS / "folds"
MAPS = PAPER / "figures" / "maps"
EVALUATION_FIGURES = PAPER / "figures" / "evaluation"
TABLES = PAPER / "tables"
REPORT_TIMINGS = RESULTS / TIMINGS


def feature_table(representation: str) -> Path:
    return FEATURES / f"{representation}.parquet"


def fold_file(scheme: str) -> Path:
    return FOLDS / f"{scheme}.csv"


def cv_cell(model: str, target: str, scheme: str) -> Path:
    return RESULTS / "cv" / model / target / scheme


def bootstrap_cell(model: str, target: str) -> Path:
    return RESULTS / "bootstrap" / model / target


def trained_model(model: str, target: str) -> Path:
    return RESULTS / "models" / model / target


def repeated_cv_cell(model: str, target: str) -> Path:
    return RESULTS / "repeated_cv" / model / target
