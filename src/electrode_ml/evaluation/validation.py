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


def mae(y_true, y_pred) -> float:
    return float(np.mean(np.abs(np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float))))


def r2(y_true, y_pred) -> float:
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    return float(1 - np.sum((y_true - y_pred) ** 2) / np.sum((y_true - y_true.mean()) ** 2))


def two_sigma(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(2 * values.std(ddof=1)) if len(values) > 1 else 0.0


def cross_validate(model, X: pd.DataFrame, y: pd.Series, folds: pd.Series, progress=None) -> pd.DataFrame:
    """Out-of-fold predictions: one row per electrode (battery_id, fold, y_true, y_pred).

    `folds` maps battery_id -> fold; a fresh clone of `model` is fitted for every fold. A model
    that trains several fits together (`trains_together`, CrabNet's batched trainer) gets every
    fold's training rows in one `fit_many` call; the others fit fold by fold, under the progress bar.
    """
    folds = folds.loc[X.index]
    parts = []
    fold_ids = sorted(folds.unique())
    tests = {fold: (folds == fold).to_numpy() for fold in fold_ids}
    together = getattr(model, "trains_together", False)
    if together:
        fitted_by_fold = dict(zip(fold_ids, model.fit_many(X, y, [np.flatnonzero(~tests[fold]) for fold in fold_ids])))
    for fold in (progress(fold_ids) if progress else fold_ids):
        test = tests[fold]
        fitted = fitted_by_fold[fold] if together else clone(model).fit(X[~test], y[~test])
        parts.append(pd.DataFrame({"battery_id": X.index[test], "fold": fold, "y_true": y[test].to_numpy(),
                                   "y_pred": fitted.predict(X[test])}))
    return pd.concat(parts, ignore_index=True)


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
                    progress=None) -> pd.DataFrame:
    """Learning curve by bootstrap: for each fraction and repeat, draw that share of the training
    pool with replacement, fit, and score on the fixed held-out rows (`test`, a boolean mask).

    The control is scored on the same draws, so each row carries its own SMAE. A model that trains
    several fits together (`trains_together`) gets every draw of the cell in one `fit_many` call;
    CrabNet's batched trainer then trains the draws of similar size together (one group per fraction).
    """
    from electrode_ml.models.control import Control

    test = test.loc[X.index].to_numpy()
    pool = np.flatnonzero(~test)
    rng = np.random.default_rng(seed)
    draws = [(fraction, repeat, rng.choice(pool, size=max(2, round(fraction * len(pool))), replace=True))
             for fraction in fractions for repeat in range(repeats)]
    together = getattr(model, "trains_together", False)
    if together:
        fitted_by_draw = model.fit_many(X, y, [rows_drawn for _, _, rows_drawn in draws])
    rows = []
    for number, (fraction, repeat, rows_drawn) in enumerate(progress(draws) if progress else draws):
        X_train, y_train = X.iloc[rows_drawn], y.iloc[rows_drawn]
        fitted = fitted_by_draw[number] if together else clone(model).fit(X_train, y_train)
        predictions = fitted.predict(X[test])
        control = Control().fit(X_train, y_train).predict(X[test])
        rows.append({"fraction": fraction, "repeat": repeat, "n_train": len(rows_drawn),
                     "mae": mae(y[test], predictions), "r2": r2(y[test], predictions),
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
