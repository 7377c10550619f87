import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, r2_score

from electrode_ml.data.electrodes import prepare_electrodes
from electrode_ml.evaluation.validation import (
    bootstrap_curve,
    cross_validate,
    mae,
    per_fold_metrics,
    r2,
    summarize,
    summarize_curve,
    two_sigma,
)
from electrode_ml.models.registry import make_model
from electrode_ml.stages.folds import stratified_group_folds


def test_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(3)
    y_true, y_pred = rng.normal(size=50), rng.normal(size=50)
    assert mae(y_true, y_pred) == pytest.approx(mean_absolute_error(y_true, y_pred), rel=1e-12)
    assert r2(y_true, y_pred) == pytest.approx(r2_score(y_true, y_pred), rel=1e-12)
    assert two_sigma([1.0, 2.0, 3.0]) == pytest.approx(2 * np.std([1.0, 2.0, 3.0], ddof=1))


def _table(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": 3 * x + rng.normal(scale=0.1, size=n)},
                        index=pd.Index([f"b{i}" for i in range(n)], name="battery_id"))


def test_summary_follows_the_papers_arithmetic_on_hand_computed_folds():
    model = pd.DataFrame({"fold": [0, 1, 2], "n": [10, 10, 10], "mae": [2.0, 4.0, 6.0], "r2": [0.5, 0.7, 0.9]})
    control = pd.DataFrame({"fold": [0, 1, 2], "n": [10, 10, 10], "mae": [8.0, 10.0, 12.0], "r2": [-0.1, 0.0, -0.2]})
    summary = summarize(model, control)
    assert summary["mae"] == 4.0
    assert summary["mae_2sigma"] == pytest.approx(4.0)  # sample std of 2, 4, 6 is 2
    assert summary["smae"] == pytest.approx(0.4)  # 4 / 10
    assert summary["smae_2sigma"] == pytest.approx(0.4)  # 4 / 10
    assert summary["r2"] == pytest.approx(0.7) and summary["r2_2sigma"] == pytest.approx(0.4)
    assert summarize(control, control)["smae"] == 1.0
    with pytest.raises(ValueError, match="different folds"):
        summarize(model, control.iloc[:2])


def test_control_cross_validation_has_smae_one():
    table = _table()
    folds = pd.Series(np.arange(60) % 5, index=table.index)
    control = per_fold_metrics(cross_validate(make_model("control"), table, table["y"], folds))
    assert summarize(control, control)["smae"] == 1.0 and summarize(control, control)["folds"] == 5


def test_out_of_fold_predictions_cover_every_row_once():
    table = _table()
    folds = pd.Series(np.arange(60) % 4, index=table.index)
    predictions = cross_validate(make_model("control"), table, table["y"], folds)
    assert sorted(predictions["battery_id"]) == sorted(table.index)
    # Each fold's prediction is the mean of the other folds: the test rows were not seen.
    for fold, part in predictions.groupby("fold"):
        assert part["y_pred"].iloc[0] == pytest.approx(table["y"][folds != fold].mean())


def test_stratified_folds_are_disjoint_cover_all_rows_and_keep_compositions_together(real_raw):
    electrodes = prepare_electrodes(real_raw).electrodes
    folds = stratified_group_folds(electrodes, 5, 42)
    assert folds["battery_id"].is_unique and len(folds) == len(electrodes)
    assert set(folds["fold"]) == set(range(5))
    joined = electrodes.assign(fold=folds["fold"].to_numpy())
    assert (joined.groupby("group")["fold"].nunique() == 1).all()
    assert (joined.groupby("composition")["fold"].nunique() == 1).all()
    # Stratified: each ion's share in every fold stays near its share overall.
    shares = pd.crosstab(joined["fold"], joined["working_ion"], normalize="index")
    overall = joined["working_ion"].value_counts(normalize=True)
    assert (shares - overall).abs().max().max() < 0.05
    again = stratified_group_folds(electrodes, 5, 42)
    assert again.equals(folds)


def test_bootstrap_curve_draws_fractions_with_replacement_and_scores_the_holdout():
    table = _table(100)
    holdout = pd.Series(np.arange(100) < 20, index=table.index)
    features = table[["x"]].add_prefix("magpie|")
    curve = bootstrap_curve(make_model("rf_magpie", n_estimators=10), features, table["y"], holdout, [0.25, 1.0],
                            repeats=3, seed=1)
    assert list(curve["n_train"].unique()) == [20, 80]
    assert len(curve) == 6
    summary = summarize_curve(curve)
    assert list(summary["fraction"]) == [0.25, 1.0]
    assert summary.loc[1, "mae"] < summary.loc[0, "mae"]  # more data, smaller error
    assert (curve["smae"] < 1).all()
