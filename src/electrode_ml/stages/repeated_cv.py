"""Stage `repeated_cv`: one model x target on `folds.repeats` draws of the stratified 5 folds.

A single draw of the folds is one sample of how the data could have been split; the spread of
SMAE over draws is the fold-choice noise that the one-draw tables carry without showing it. Run
for the cheap models (`repeated_cv.models`). Draw 0 is the stratified folds themselves, whose
out-of-fold predictions the cv stage has made: they are read, not fitted again (a fifth of the
work). Outputs under results/repeated_cv/<model>/<target>/: folds.csv (repeat, fold, n, mae, r2,
control_mae), metrics.json (mean SMAE, MAE and R2 over draws, with 2 sigma over draws), run.json
(`fits`: the fold models the numbers rest on, draw 0's included) and timings.json.
"""
from __future__ import annotations

import time
from dataclasses import field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from electrode_ml import paths
from electrode_ml.compute import compute_params
from electrode_ml.evaluation.validation import cross_validate_draws, per_fold_metrics, two_sigma
from electrode_ml.files import write_json, write_table
from electrode_ml.models.registry import make_model
from electrode_ml.params import ParameterError, parameters
from electrode_ml.stages.cell import cell_data, cell_parser, write_records


@parameters
class RepeatedCVParams:
    models: list[str] = field(default_factory=lambda: ["control", "rf_magpie"])


def first_draw_predictions(predictions_csv: Path, first_draw: pd.Series, y: pd.Series) -> pd.DataFrame:
    """The cv stage's out-of-fold predictions (its predictions.csv) as `cross_validate_draws`' rows
    of draw 0, refused unless they are of `first_draw`'s folds, every electrode once."""
    # round_trip: pandas' default parser can miss the last bit of a float written in full.
    known = pd.read_csv(predictions_csv, float_precision="round_trip")
    folds = known.set_index("battery_id")["fold"]
    if len(folds) != len(first_draw) or not folds.index.is_unique or not folds.index.isin(first_draw.index).all() or \
            not folds.equals(first_draw.loc[folds.index].astype(folds.dtype)):
        raise ParameterError(f"{predictions_csv} is not of draw 0 of the repeated folds (the stratified folds): "
                             "rerun the cv stage (dvc repro cv)")
    return pd.DataFrame({"draw": 0, "battery_id": known["battery_id"], "fold": known["fold"],
                         "y_true": y.loc[known["battery_id"]].to_numpy(), "y_pred": known["y_pred"]})


def run_cell(model_name: str, target: str, params_path: Path, electrodes_csv: Path, inputs_dir: Path,
             folds_csv: Path, first_draw_csv: Path, out_dir: Path) -> dict:
    model, X, y = cell_data(model_name, target, params_path, electrodes_csv, inputs_dir)
    control = make_model("control")
    folds = pd.read_csv(folds_csv)
    draws = {repeat: draw.set_index("battery_id")["fold"] for repeat, draw in folds.groupby("repeat")}
    start = time.perf_counter()
    to_fit = {repeat: draw for repeat, draw in draws.items() if repeat != 0}
    fits = sum(draw.nunique() for draw in to_fit.values())
    parts = [first_draw_predictions(first_draw_csv, draws[0], y)]
    if to_fit:
        parts.append(cross_validate_draws(model, X, y, to_fit, compute_params(params_path),
                                          progress=lambda done: tqdm(done, desc=f"repeated cv {model_name}/{target}",
                                                                     unit="fit", total=fits)))
    predictions = pd.concat(parts, ignore_index=True)
    control_predictions = cross_validate_draws(control, X, y, draws)
    tables = []
    for repeat in draws:
        model_folds = per_fold_metrics(predictions[predictions["draw"] == repeat])
        control_folds = per_fold_metrics(control_predictions[control_predictions["draw"] == repeat])
        tables.append(model_folds.assign(repeat=repeat, control_mae=control_folds["mae"].to_numpy()))
    seconds = time.perf_counter() - start
    per_fold = pd.concat(tables, ignore_index=True)[["repeat", "fold", "n", "mae", "r2", "control_mae"]]
    per_draw = per_fold.groupby("repeat").agg(mae=("mae", "mean"), control=("control_mae", "mean"), r2=("r2", "mean"))
    smae = per_draw["mae"] / per_draw["control"]
    prefix = f"{model_name}.{target}.stratified5_repeated"
    metrics = {f"{prefix}.smae": float(smae.mean()), f"{prefix}.smae_2sigma_over_draws": two_sigma(smae),
               f"{prefix}.mae": float(per_draw["mae"].mean()), f"{prefix}.mae_2sigma_over_draws": two_sigma(per_draw["mae"]),
               f"{prefix}.r2": float(per_draw["r2"].mean()), f"{prefix}.draws": len(per_draw),
               f"{prefix}.smae_range": float(np.ptp(smae))}
    write_table(per_fold, out_dir / "folds.csv")
    write_json(metrics, out_dir / paths.METRICS)
    write_records(out_dir, model, params_path, seconds, fits=len(per_fold))
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = cell_parser("repeated_cv", __doc__, folds=paths.fold_file("stratified5_repeated"),
                         folds_help="repeated fold file")
    parser.add_argument("--first-draw", type=Path, default=None,
                        help="the cv stage's predictions on the stratified folds, draw 0 "
                             "(default: results/cv/<model>/<target>/stratified5/predictions.csv)")
    args = parser.parse_args(argv)
    out = args.out or paths.repeated_cv_cell(args.model, args.target)
    first_draw = args.first_draw or paths.cv_cell(args.model, args.target, "stratified5") / "predictions.csv"
    metrics = run_cell(args.model, args.target, args.params, args.electrodes, args.inputs, args.folds, first_draw, out)
    prefix = f"{args.model}.{args.target}.stratified5_repeated"
    print(f"repeated cv {args.model}/{args.target}: SMAE {metrics[prefix + '.smae']:.3f} "
          f"+- {metrics[prefix + '.smae_2sigma_over_draws']:.3f} (2 sigma over {metrics[prefix + '.draws']} draws)")
