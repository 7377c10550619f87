"""Stage `train`: each model fitted on all electrodes for one target, saved for `electrode-ml predict`.

Output: results/models/<model>/<target>/model.joblib and run.json.
"""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

from electrode_ml import paths
from electrode_ml.compute import compute_params
from electrode_ml.data.targets import TARGET_KEYS
from electrode_ml.evaluation.validation import fit_in_worker
from electrode_ml.files import write_joblib
from electrode_ml.stages.cell import cell_data, cell_parser, write_records


def run_cell(model_name: str, target: str, params_path: Path, electrodes_csv: Path, inputs_dir: Path,
             out_dir: Path) -> float:
    model, X, y = cell_data(model_name, target, params_path, electrodes_csv, inputs_dir)
    start = time.perf_counter()
    model = fit_in_worker(model, X, y, compute_params(params_path))
    seconds = time.perf_counter() - start
    write_joblib(model, out_dir / "model.joblib")
    write_records(out_dir, model, params_path, seconds, fits=1, target=TARGET_KEYS[target], rows=len(X),
                  inputs=asdict(model.fitted_inputs()))
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = cell_parser("train", __doc__)
    args = parser.parse_args(argv)
    out = args.out or paths.trained_model(args.model, args.target)
    seconds = run_cell(args.model, args.target, args.params, args.electrodes, args.inputs, out)
    print(f"train {args.model}/{args.target}: fitted on all electrodes in {seconds:.1f} s -> {out}")
