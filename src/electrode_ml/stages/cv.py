"""Stage `cv`: one cell of the model x target x scheme matrix, on fold files written earlier.

`electrode-ml cv --model crabnet --target voltage --scheme loco` writes, under
results/cv/crabnet/voltage/loco/: predictions.csv (out-of-fold, with the control's beside),
folds.csv (per-fold MAE and R2, the control's MAE), by_ion.csv (MAE per working ion),
metrics.json (flat: `crabnet.voltage.loco.smae` ...), run.json (model, hyperparameters, profile,
versions) and timings.json (seconds, device: not a result, see provenance.py).
"""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from electrode_ml import paths
from electrode_ml.compute import compute_params
from electrode_ml.evaluation.validation import cross_validate, mae_by_group, per_fold_metrics, summarize
from electrode_ml.files import write_json, write_table
from electrode_ml.models.registry import make_model
from electrode_ml.params import ParameterError
from electrode_ml.stages.cell import cell_data, cell_parser, write_records


def run_cell(model_name: str, target: str, scheme: str, params_path: Path, electrodes_csv: Path, inputs_dir: Path,
             folds_dir: Path, out_dir: Path) -> dict:
    if scheme not in paths.SCHEMES:
        raise ParameterError(f"unknown scheme {scheme!r} (known: {', '.join(paths.SCHEMES)})")
    model, X, y = cell_data(model_name, target, params_path, electrodes_csv, inputs_dir)
    control = make_model("control")
    folds = pd.read_csv(folds_dir / paths.fold_file(scheme).name).set_index("battery_id")["fold"]

    start = time.perf_counter()
    label = f"cv {model_name}/{target}/{scheme}"
    predictions = cross_validate(model, X, y, folds, compute_params(params_path),
                                 progress=lambda fits: tqdm(fits, desc=label, unit="fold", total=folds.nunique()))
    seconds = time.perf_counter() - start
    control_predictions = cross_validate(control, X, y, folds)

    model_folds, control_folds = per_fold_metrics(predictions), per_fold_metrics(control_predictions)
    summary = summarize(model_folds, control_folds)
    prefix = f"{model_name}.{target}.{scheme}"
    metrics = {f"{prefix}.{key}": value for key, value in summary.items()}

    predictions["y_pred_control"] = control_predictions["y_pred"].to_numpy()
    write_table(predictions, out_dir / "predictions.csv")
    write_table(model_folds.assign(control_mae=control_folds["mae"].to_numpy()), out_dir / "folds.csv")
    write_table(mae_by_group(predictions, X["working_ion"]).rename(columns={"group": "working_ion"}),
                out_dir / "by_ion.csv")
    write_json(metrics, out_dir / paths.METRICS)
    write_records(out_dir, model, params_path, seconds, fits=len(model_folds))
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = cell_parser("cv", __doc__, folds=paths.FOLDS, folds_help="fold files")
    parser.add_argument("--scheme", required=True, help=f"validation scheme: {', '.join(paths.SCHEMES)}")
    args = parser.parse_args(argv)
    out = args.out or paths.cv_cell(args.model, args.target, args.scheme)
    metrics = run_cell(args.model, args.target, args.scheme, args.params, args.electrodes, args.inputs,
                       args.folds, out)
    prefix = f"{args.model}.{args.target}.{args.scheme}"
    print(f"cv {prefix}: MAE {metrics[prefix + '.mae']:.4g} +- {metrics[prefix + '.mae_2sigma']:.3g}, "
          f"SMAE {metrics[prefix + '.smae']:.3f}, R2 {metrics[prefix + '.r2']:.3f}")
