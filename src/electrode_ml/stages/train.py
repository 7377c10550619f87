"""Stage `train`: each model fitted on all electrodes for one target, saved for `electrode-ml predict`.

Output: results/models/<model>/<target>/model.joblib and run.json.
"""
from __future__ import annotations

import time
from pathlib import Path

import joblib

from electrode_ml import paths
from electrode_ml.data import TARGET_KEYS
from electrode_ml.files import atomic_path
from electrode_ml.inputs import load_model_inputs
from electrode_ml.models import make_model
from electrode_ml.params import ParameterError, model_hyperparameters
from electrode_ml.stages.cell import cell_parser, write_records


def run_cell(model_name: str, target: str, params_path: Path, electrodes_csv: Path, features_dir: Path,
             out_dir: Path) -> float:
    if target not in TARGET_KEYS:
        raise ParameterError(f"unknown target {target!r} (known: {', '.join(TARGET_KEYS)})")
    model = make_model(model_name, **model_hyperparameters(model_name, params_path))
    X, targets = load_model_inputs(electrodes_csv, features_dir, model.input_sets)
    start = time.perf_counter()
    model.fit(X, targets[TARGET_KEYS[target]])
    seconds = time.perf_counter() - start
    with atomic_path(out_dir / "model.joblib") as temporary:
        joblib.dump(model, temporary)
    write_records(out_dir, model, params_path, seconds, fits=1, target=TARGET_KEYS[target], rows=len(X))
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = cell_parser("train", __doc__)
    parser.add_argument("--out", type=Path, default=None, help="default: results/models/<model>/<target>")
    args = parser.parse_args(argv)
    out = args.out or paths.trained_model(args.model, args.target)
    seconds = run_cell(args.model, args.target, args.params, args.electrodes, args.features, out)
    print(f"train {args.model}/{args.target}: fitted on all electrodes in {seconds:.1f} s -> {out}")
