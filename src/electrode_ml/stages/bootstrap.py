"""Stage `bootstrap`: learning curves, one cell per model x target.

The held-out rows are one fold of the stratified folds (`bootstrap.holdout_fold`), so the test
set never shares a composition with any draw. Fractions and repeats come from the active
profile. Outputs under results/bootstrap/<model>/<target>/: curve.csv (every draw),
summary.csv (mean and 2 sigma per fraction; a DVC plot), metrics.json, run.json, timings.json.
"""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from electrode_ml import paths
from electrode_ml.compute import compute_params
from electrode_ml.evaluation.validation import bootstrap_curve, summarize_curve
from electrode_ml.files import write_json, write_table
from electrode_ml.params import ParameterError, active_profile, load_section, parameters
from electrode_ml.stages.cell import cell_data, cell_parser, write_records


@parameters
class BootstrapParams:
    holdout_fold: int = 0


def run_cell(model_name: str, target: str, params_path: Path, electrodes_csv: Path, inputs_dir: Path,
             folds_csv: Path, out_dir: Path) -> dict:
    params = load_section("bootstrap", BootstrapParams, params_path)
    profile_name, profile = active_profile(params_path)
    settings = profile.get("bootstrap") or {}
    fractions, repeats = settings.get("fractions"), settings.get("repeats")
    if not fractions or not all(0 < f <= 1 for f in fractions) or not isinstance(repeats, int) or repeats < 1:
        raise ParameterError(f"profiles.{profile_name}.bootstrap needs `fractions` in (0, 1] and `repeats` >= 1, "
                             f"got {settings}")
    model, X, y = cell_data(model_name, target, params_path, electrodes_csv, inputs_dir)
    folds = pd.read_csv(folds_csv).set_index("battery_id")["fold"]
    if params.holdout_fold not in set(folds):
        raise ParameterError(f"bootstrap.holdout_fold {params.holdout_fold} is not a fold of {folds_csv}")

    start = time.perf_counter()
    curve = bootstrap_curve(model, X, y, folds == params.holdout_fold, fractions, repeats,
                            seed=profile["seed"], compute=compute_params(params_path),
                            progress=lambda fits: tqdm(fits, desc=f"bootstrap {model_name}/{target}", unit="fit",
                                                       total=len(fractions) * repeats))
    seconds = time.perf_counter() - start
    summary = summarize_curve(curve)
    prefix = f"{model_name}.{target}.bootstrap"
    smallest, largest = summary.iloc[0], summary.iloc[-1]
    metrics = {
        f"{prefix}.smae_smallest_fraction": float(smallest["smae"]),
        f"{prefix}.smae_full": float(largest["smae"]),
        f"{prefix}.mae_full": float(largest["mae"]),
    }
    write_table(curve, out_dir / "curve.csv")
    write_table(summary, out_dir / "summary.csv")
    write_json(metrics, out_dir / paths.METRICS)
    write_records(out_dir, model, params_path, seconds, fits=len(curve))
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = cell_parser("bootstrap", __doc__, folds=paths.fold_file("stratified5"),
                         folds_help="fold file whose `bootstrap.holdout_fold` is the test set")
    args = parser.parse_args(argv)
    out = args.out or paths.bootstrap_cell(args.model, args.target)
    metrics = run_cell(args.model, args.target, args.params, args.electrodes, args.inputs, args.folds, out)
    prefix = f"{args.model}.{args.target}.bootstrap"
    print(f"bootstrap {args.model}/{args.target}: SMAE {metrics[prefix + '.smae_smallest_fraction']:.3f} at the "
          f"smallest fraction, {metrics[prefix + '.smae_full']:.3f} at the full pool")
