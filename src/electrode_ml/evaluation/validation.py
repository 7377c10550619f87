"""Cross-validation, metrics and their spread, the same for every model.

Conventions, from the arithmetic of the paper's table (shared/paper/PAPER.md):
- MAE and R2 are computed per fold; the reported value is their mean over folds and the
  spread is 2 sigma, sigma the standard deviation over folds (ddof=1).
- SMAE = mean MAE of the model / mean MAE of the control on the same folds, and its spread
  = 2 sigma of the model's fold MAEs / the control's mean MAE. The control's SMAE is 1.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone

from electrode_ml.compute import ComputeParams, map_in_workers


def mae(y_true, y_pred) -> float:
    return float(np.mean(np.abs(np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float))))


def r2(y_true, y_pred) -> float:
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    return float(1 - np.sum((y_true - y_pred) ** 2) / np.sum((y_true - y_true.mean()) ** 2))


def two_sigma(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(2 * values.std(ddof=1)) if len(values) > 1 else 0.0


def _fit_and_predict(split: tuple[np.ndarray, np.ndarray], model, X: pd.DataFrame, y: pd.Series) -> np.ndarray:
    """A fresh clone of `model` fitted on the training rows of `split`, its predictions for the test rows
    (positions in X). Module level: Dask sends it to the workers by reference."""
    train, test = split
    return clone(model).fit(X.iloc[train], y.iloc[train]).predict(X.iloc[test])


def _fit(rows: np.ndarray, model, X: pd.DataFrame, y: pd.Series):
    return clone(model).fit(X.iloc[rows], y.iloc[rows])


def _fits_here(model) -> bool:
    """Whether `model`'s fits run in this process rather than in workers (see held_out_predictions)."""
    return getattr(model, "trains_together", False) or getattr(model, "fits_in_process", False)


def held_out_predictions(model, X: pd.DataFrame, y: pd.Series, splits: list[tuple[np.ndarray, np.ndarray]],
                         compute: ComputeParams | None = None, progress=None) -> list[np.ndarray]:
    """For each (train rows, test rows) split (positions in X), a fresh clone of `model` fitted on the
    training rows and its predictions for the test rows.

    Where the fits run: a model that trains several fits together (`trains_together`, CrabNet's
    batched trainer on a GPU) gets every split in one `fit_many` call here; a model whose fit is too
    cheap to send anywhere (`fits_in_process`, the control) fits here, one split after another;
    every other fit runs in a one-thread worker process (`electrode_ml.compute`), in parallel, and
    computes the same bytes as it would alone.
    """
    if getattr(model, "trains_together", False):
        fitted = model.fit_many(X, y, [train for train, _ in splits])
        return [one.predict(X.iloc[test]) for one, (_, test) in zip(fitted, splits)]
    if getattr(model, "fits_in_process", False):
        return [_fit_and_predict(split, model, X, y) for split in (progress(splits) if progress else splits)]
    return map_in_workers(_fit_and_predict, splits, compute or ComputeParams(), shared=(model, X, y),
                          progress=progress, sizes=[len(train) for train, _ in splits])


def fit_in_worker(model, X: pd.DataFrame, y: pd.Series, compute: ComputeParams | None = None):
    """`model` fitted on all of X, where `held_out_predictions` would fit it: the same bytes as a
    cell's fits on the same rows."""
    if _fits_here(model):
        return model.fit(X, y)
    (fitted,) = map_in_workers(_fit, [np.arange(len(X))], compute or ComputeParams(), shared=(model, X, y))
    return fitted


def cross_validate_draws(model, X: pd.DataFrame, y: pd.Series, draws: dict, compute: ComputeParams | None = None,
                         progress=None) -> pd.DataFrame:
    """Out-of-fold predictions for every draw of folds: one row per draw and electrode (draw,
    battery_id, fold, y_true, y_pred), rows by draw, then fold, then X's order.

    `draws` maps a draw's name to its folds (battery_id -> fold); every fit of every draw is one
    split of `held_out_predictions`, so all of them can run at once.
    """
    keys, splits = [], []
    for draw, folds in draws.items():
        folds = folds.loc[X.index].to_numpy()
        for fold in sorted(set(folds)):
            keys.append((draw, fold))
            splits.append((np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)))
    predictions = held_out_predictions(model, X, y, splits, compute, progress)
    return pd.concat([pd.DataFrame({"draw": draw, "battery_id": X.index[test], "fold": fold,
                                    "y_true": y.iloc[test].to_numpy(), "y_pred": predicted})
                      for (draw, fold), (_, test), predicted in zip(keys, splits, predictions)], ignore_index=True)


def cross_validate(model, X: pd.DataFrame, y: pd.Series, folds: pd.Series, compute: ComputeParams | None = None,
                   progress=None) -> pd.DataFrame:
    """Out-of-fold predictions: one row per electrode (battery_id, fold, y_true, y_pred).

    `folds` maps battery_id -> fold; a fresh clone of `model` is fitted for every fold
    (`held_out_predictions` says where)."""
    return cross_validate_draws(model, X, y, {0: folds}, compute, progress).drop(columns="draw")


def per_fold_metrics(predictions: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for fold, part in predictions.groupby("fold"):
        rows.append({"fold": fold, "n": len(part), "mae": mae(part["y_true"], part["y_pred"]),
                     "r2": r2(part["y_true"], part["y_pred"]) if len(part) > 1 else np.nan})
    return pd.DataFrame(rows)


def summarize(model_folds: pd.DataFrame, control_folds: pd.DataFrame) -> dict:
    """Mean and 2 sigma over folds of MAE, SMAE and R2 (see the module docstring)."""
    if list(model_folds["fold"]) != list(control_folds["fold"]):
        raise ValueError("model and control were scored on different folds")
    control_mae = control_folds["mae"].mean()
    r2_values = model_folds["r2"].dropna()
    return {
        "mae": float(model_folds["mae"].mean()),
        "mae_2sigma": two_sigma(model_folds["mae"]),
        "smae": float(model_folds["mae"].mean() / control_mae),
        "smae_2sigma": two_sigma(model_folds["mae"]) / control_mae,
        "r2": float(r2_values.mean()),
        "r2_2sigma": two_sigma(r2_values),
        "folds": len(model_folds),
    }


def mae_by_group(predictions: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """MAE and count per value of `groups` (e.g. working ion), from out-of-fold predictions."""
    keyed = predictions.assign(group=groups.loc[predictions["battery_id"]].to_numpy())
    errors = (keyed["y_true"] - keyed["y_pred"]).abs()
    return keyed.assign(abs_error=errors).groupby("group").agg(n=("abs_error", "size"), mae=("abs_error", "mean")).reset_index()


def bootstrap_curve(model, X: pd.DataFrame, y: pd.Series, test: pd.Series, fractions, repeats: int, seed: int,
                    compute: ComputeParams | None = None, progress=None) -> pd.DataFrame:
    """Learning curve by bootstrap: for each fraction and repeat, draw that share of the training
    pool with replacement, fit, and score on the fixed held-out rows (`test`, a boolean mask).

    The control is scored on the same draws, so each row carries its own SMAE. The fits are the
    splits of `held_out_predictions` (CrabNet's batched trainer trains the draws of similar size
    together, one group per fraction).
    """
    from electrode_ml.models.control import Control

    test = test.loc[X.index].to_numpy()
    held_out = np.flatnonzero(test)
    pool = np.flatnonzero(~test)
    rng = np.random.default_rng(seed)
    draws = [(fraction, repeat, rng.choice(pool, size=max(2, round(fraction * len(pool))), replace=True))
             for fraction in fractions for repeat in range(repeats)]
    predictions = held_out_predictions(model, X, y, [(rows_drawn, held_out) for _, _, rows_drawn in draws],
                                       compute, progress)
    rows = []
    for (fraction, repeat, rows_drawn), predicted in zip(draws, predictions):
        control = Control().fit(X.iloc[rows_drawn], y.iloc[rows_drawn]).predict(X[test])
        rows.append({"fraction": fraction, "repeat": repeat, "n_train": len(rows_drawn),
                     "mae": mae(y[test], predicted), "r2": r2(y[test], predicted),
                     "control_mae": mae(y[test], control)})
    curve = pd.DataFrame(rows)
    return curve.assign(smae=curve["mae"] / curve["control_mae"])


def summarize_curve(curve: pd.DataFrame) -> pd.DataFrame:
    """Per training-set fraction: mean and 2 sigma over repeats of MAE, SMAE and R2."""
    grouped = curve.groupby("fraction")
    summary = grouped.agg(n_train=("n_train", "mean"), repeats=("repeat", "size"))
    for metric in ("mae", "smae", "r2"):
        summary[metric] = grouped[metric].mean()
        summary[f"{metric}_2sigma"] = grouped[metric].agg(two_sigma)
    return summary.reset_index()
