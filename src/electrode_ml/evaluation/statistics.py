"""How sure are the numbers? Standard errors of CV means, equivalence with the published values,
paired differences between models, rank agreement, and arithmetic checks of the published table.

Conventions (each stated in paper/REPRODUCTION.md where it is used):
- A CV mean over k folds has the naive standard error s / sqrt(k), s the standard deviation of
  the fold values (ddof=1). Folds share training rows, so that understates the uncertainty;
  Nadeau and Bengio (2003, Machine Learning 52:239) correct the variance to
  (1/k + n_test/n_train) s^2. We report both and use the corrected one for every verdict.
- SMAE's standard error: the model's fold-MAE standard error over the control's mean MAE (the
  control's own mean is the yardstick, as in the paper's SMAE spreads).
- The published table gives 2 sigma over folds, not a standard error; with the fold count of the
  scheme compared (5 or the number of LOCO folds) we turn it into one the same way.
- Equivalence (two one-sided tests at 5%): the 90% interval of ours - published lies inside
  +- margin. Difference: the 95% interval excludes 0. Neither: undecided.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
from scipy import stats

Z90, Z95 = stats.norm.ppf(0.95), stats.norm.ppf(0.975)


def two_sigma_of(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(2 * values.std(ddof=1)) if len(values) > 1 else 0.0


def naive_standard_error(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan


def corrected_standard_error(values, test_train_ratio: float) -> float:
    """Nadeau and Bengio's corrected standard error of a mean over CV folds."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return math.nan
    return float(math.sqrt((1 / len(values) + test_train_ratio) * values.var(ddof=1)))


def test_train_ratio(fold_sizes) -> float:
    """Mean over folds of n_test / n_train, for folds that partition the rows."""
    sizes = np.asarray(fold_sizes, dtype=float)
    return float(np.mean(sizes / (sizes.sum() - sizes)))


def standard_errors(folds: pd.DataFrame) -> dict:
    """From one cell's folds.csv (fold, n, mae, control_mae): MAE and SMAE with both standard errors,
    and LOCO's two weightings of the folds (each fold equal; each row equal)."""
    ratio = test_train_ratio(folds["n"])
    control = folds["control_mae"].mean()
    weighted_mae = float(np.average(folds["mae"], weights=folds["n"]))
    weighted_control = float(np.average(folds["control_mae"], weights=folds["n"]))
    return {
        "mae": float(folds["mae"].mean()),
        "mae_se": naive_standard_error(folds["mae"]),
        "mae_se_corrected": corrected_standard_error(folds["mae"], ratio),
        "smae": float(folds["mae"].mean() / control),
        "smae_se": naive_standard_error(folds["mae"]) / control,
        "smae_se_corrected": corrected_standard_error(folds["mae"], ratio) / control,
        "mae_row_weighted": weighted_mae,
        "smae_row_weighted": weighted_mae / weighted_control,
        "folds": len(folds),
        "test_train_ratio": ratio,
    }


def published_standard_error(two_sigma: float, n_folds: int) -> float:
    """The published 2 sigma over folds as a corrected standard error, had it come from `n_folds`
    equal folds (n_test / n_train = 1 / (n_folds - 1))."""
    sigma = two_sigma / 2
    return math.sqrt(1 / n_folds + 1 / (n_folds - 1)) * sigma


def verdict(difference: float, standard_error: float, margin: float) -> str:
    """'equivalent', 'different' or 'undecided' (module docstring)."""
    if not math.isfinite(standard_error):
        return "undecided"
    if abs(difference) + Z90 * standard_error < margin:
        return "equivalent"
    if abs(difference) - Z95 * standard_error > 0:
        return "different"
    return "undecided"


def paired_differences(fold_maes: dict[str, pd.Series], test_train: float) -> pd.DataFrame:
    """Every pair of models scored on the same folds: mean fold-MAE difference (a - b), its
    corrected standard error, 95% interval (t with k-1 degrees of freedom), the folds where a is
    better, and the two-sided sign test's p-value."""
    rows = []
    for a, b in itertools.combinations(fold_maes, 2):
        difference = (fold_maes[a] - fold_maes[b]).to_numpy()
        k = len(difference)
        se = corrected_standard_error(difference, test_train)
        t = stats.t.ppf(0.975, k - 1) if k > 1 else math.nan
        wins, losses = int((difference < 0).sum()), int((difference > 0).sum())
        sign_p = stats.binomtest(wins, wins + losses).pvalue if wins + losses else 1.0
        rows.append({"a": a, "b": b, "mean_difference": float(difference.mean()), "se_corrected": se,
                     "low": float(difference.mean() - t * se), "high": float(difference.mean() + t * se),
                     "a_better_folds": wins, "folds": k, "sign_test_p": float(sign_p)})
    return pd.DataFrame(rows)


def first_place(pairs: pd.DataFrame, model: str) -> str:
    """Is `model` best? 'confirmed' if its interval is below 0 against every other model,
    'refuted' if another model is better with an interval below 0, else 'undecided'."""
    confirmed, refuted = True, False
    for row in pairs.itertuples():
        if model not in (row.a, row.b):
            continue
        # Orient so that a negative difference means `model` has the smaller error.
        low, high = (row.low, row.high) if row.a == model else (-row.high, -row.low)
        confirmed &= high < 0
        refuted |= low > 0
    return "refuted" if refuted else "confirmed" if confirmed else "undecided"


def kendall_tau(published: pd.Series, ours: pd.Series) -> float:
    """Rank agreement of two orderings of the same models (indexed by model)."""
    common = published.index.intersection(ours.index)
    return float(stats.kendalltau(published[common], ours[common]).statistic)


def published_inconsistencies(published: pd.DataFrame, control: str = "control") -> list[dict]:
    """Cells of the published table that break its own arithmetic.

    `published`: model, target, metric (mae/smae/r2), value, two_sigma. Two rules hold in every
    other cell: SMAE = MAE / control MAE, and SMAE 2 sigma = MAE 2 sigma / control MAE, each to
    the table's rounding (3 decimals, so a tolerance of half a unit in the last place, propagated).
    """
    notes = []
    for (model, target), cells in published.groupby(["model", "target"]):
        by_metric = cells.set_index("metric")
        control_mae = published[(published["model"] == control) & (published["target"] == target)
                                & (published["metric"] == "mae")]["value"].iloc[0]
        mae, smae = by_metric.loc["mae"], by_metric.loc["smae"]
        for quantity, printed, numerator in (("SMAE", smae["value"], mae["value"]),
                                             ("SMAE 2 sigma", smae["two_sigma"], mae["two_sigma"])):
            expected = numerator / control_mae
            # Rounding: printed values to 5e-4, MAEs to 5e-4 relative to the control's.
            tolerance = 5e-4 + 5e-4 * (1 + expected) / control_mae
            if abs(expected - printed) > tolerance:
                notes.append({"model": model, "target": target, "quantity": quantity, "printed": printed,
                              "expected": expected, "rule": f"{'MAE 2 sigma' if 'sigma' in quantity else 'MAE'} "
                              f"{numerator:.3f} / control MAE {control_mae:.3f}"})
    return notes
