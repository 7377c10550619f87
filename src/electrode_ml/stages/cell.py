"""The options every model x target cell stage (cv, repeated_cv, bootstrap, train) shares."""
from __future__ import annotations

import argparse
from pathlib import Path

from electrode_ml import paths
from electrode_ml.data import TARGET_KEYS
from electrode_ml.files import write_json
from electrode_ml.models import MODEL_CLASSES
from electrode_ml.params import DEFAULT_PARAMS, active_profile
from electrode_ml.provenance import run_record, timing_record


def cell_parser(stage: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"electrode-ml {stage}", description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help=f"model: {', '.join(MODEL_CLASSES)}")
    parser.add_argument("--target", required=True, help=f"target: {', '.join(TARGET_KEYS)}")
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--electrodes", type=Path, default=paths.ELECTRODES, help="prepared table (default: %(default)s)")
    parser.add_argument("--features", type=Path, default=paths.FEATURES, help="feature tables (default: %(default)s)")
    return parser


def write_records(out_dir: Path, model, params_path: Path, seconds: float, fits: int, **extra) -> None:
    """A cell's run.json (what made it) and timings.json (how long it took), kept apart."""
    write_json({**run_record(model, active_profile(params_path)[0], fits=fits), **extra}, out_dir / "run.json")
    write_json(timing_record(seconds, fits=fits), out_dir / paths.TIMINGS)
