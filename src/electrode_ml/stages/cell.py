"""What every model x target cell stage (cv, repeated_cv, bootstrap, train) shares: its options,
its model and data, its records."""
from __future__ import annotations

import argparse
from pathlib import Path

from electrode_ml import paths
from electrode_ml.data.targets import TARGET_KEYS
from electrode_ml.files import write_json
from electrode_ml.models.input_tables import load_model_inputs, load_targets
from electrode_ml.models.registry import MODELS, make_model, model_entry
from electrode_ml.params import DEFAULT_PARAMS, ParameterError, active_profile, model_hyperparameters
from electrode_ml.provenance import run_record, timing_record


def cell_parser(stage: str, description: str, folds: Path | None = None, folds_help: str = "fold file"
                ) -> argparse.ArgumentParser:
    """The options every cell stage takes, `--folds` (default `folds`) for those that read folds."""
    parser = argparse.ArgumentParser(prog=f"electrode-ml {stage}", description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help=f"model: {', '.join(MODELS)}")
    parser.add_argument("--target", required=True, help=f"target: {', '.join(TARGET_KEYS)}")
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--electrodes", type=Path, default=paths.ELECTRODES, help="prepared table (default: %(default)s)")
    parser.add_argument("--inputs", type=Path, default=paths.MODEL_INPUTS,
                        help="the models' input folders (default: %(default)s)")
    if folds is not None:
        parser.add_argument("--folds", type=Path, default=folds, help=f"{folds_help} (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None,
                        help="the cell's folder (default: the one dvc.yaml names, under results/)")
    return parser


def model_data(model_name: str, target: str, electrodes_csv: Path = paths.ELECTRODES,
               inputs_dir: Path = paths.MODEL_INPUTS):
    """A model's input `X` (from its folder under `inputs_dir`: no target) and the target `y` (from
    the prepared table). An unknown model or target is refused by name."""
    if target not in TARGET_KEYS:
        raise ParameterError(f"unknown target {target!r} (known: {', '.join(TARGET_KEYS)})")
    X = load_model_inputs(paths.model_inputs(model_name, inputs_dir), model_entry(model_name).input_sets)
    return X, load_targets(electrodes_csv, X.index)[TARGET_KEYS[target]]


def cell_data(model_name: str, target: str, params_path: Path, electrodes_csv: Path, inputs_dir: Path):
    """The cell's model (unfitted, with the active profile's hyperparameters), its `X` and its `y`."""
    model = make_model(model_name, **model_hyperparameters(model_name, params_path))
    return model, *model_data(model_name, target, electrodes_csv, inputs_dir)


def write_records(out_dir: Path, model, params_path: Path, seconds: float, fits: int, **extra) -> None:
    """A cell's run.json (what made it) and timings.json (how long it took), kept apart."""
    write_json({**run_record(model, active_profile(params_path)[0], fits=fits), **extra}, out_dir / "run.json")
    write_json(timing_record(seconds, fits=fits), out_dir / paths.TIMINGS)
