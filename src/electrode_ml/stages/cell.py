"""What every model x target cell stage (cv, repeated_cv, bootstrap, train) shares: its options,
its model and data, its records."""
from __future__ import annotations

import argparse
from pathlib import Path

from electrode_ml import paths
from electrode_ml.data import TARGET_KEYS
from electrode_ml.files import write_json
from electrode_ml.inputs import load_model_inputs
from electrode_ml.models import MODEL_CLASSES, make_model
from electrode_ml.params import DEFAULT_PARAMS, ParameterError, active_profile, model_hyperparameters
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


def cell_data(model_name: str, target: str, params_path: Path, electrodes_csv: Path, features_dir: Path):
    """The cell's model (unfitted, with the active profile's hyperparameters), the model input `X`
    (the input sets that model reads, no target) and the target `y`. An unknown model or target is
    refused by name."""
    if target not in TARGET_KEYS:
        raise ParameterError(f"unknown target {target!r} (known: {', '.join(TARGET_KEYS)})")
    model = make_model(model_name, **model_hyperparameters(model_name, params_path))
    X, targets = load_model_inputs(electrodes_csv, features_dir, model.input_sets)
    return model, X, targets[TARGET_KEYS[target]]


def write_records(out_dir: Path, model, params_path: Path, seconds: float, fits: int, **extra) -> None:
    """A cell's run.json (what made it) and timings.json (how long it took), kept apart."""
    write_json({**run_record(model, active_profile(params_path)[0], fits=fits), **extra}, out_dir / "run.json")
    write_json(timing_record(seconds, fits=fits), out_dir / paths.TIMINGS)
