"""Screening (screening.screener, screening.objectives, the screen command): the same rows and
values on a 2-worker LocalCluster as in one process, every row accounted for, the models' own
numbers, energy density and its bounds, the ranking, and the files it refuses."""
import dataclasses
import os
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest

from electrode_ml import paths
from electrode_ml.commands.predict import predict
from electrode_ml.compute import ComputeParams
from electrode_ml.data.targets import TARGET_KEYS
from electrode_ml.evaluation.conformal import calibrate
from electrode_ml.evaluation.novelty import Domain
from electrode_ml.models.registry import make_model
from electrode_ml.params import ParameterError, from_mapping
from electrode_ml.reporting.screening_page import pareto_front
from electrode_ml.screening import screener
from electrode_ml.screening.chemistry import USER_RULES
from electrode_ml.screening.objectives import factor_level, product_bounds
from electrode_ml.screening.prediction import PredictionError, prediction_column
from electrode_ml.screening.retrospective import candidate_hits, ranking_scores, scored_rankings, verdict
from electrode_ml.screening.screener import (
    RANKING,
    REJECTED,
    SCREENED,
    ScreenJob,
    ScreenParams,
    objective_column,
    screen,
)
from electrode_ml.stages import featurize

# One model reading Magpie features and one reading the composition alone, tiny; volumetric
# capacity left untrained (its energy density cannot be computed, and is not).
TRAINED = {"rf_magpie": {"n_estimators": 5, "n_jobs": 1},
           "crabnet": {"epochs": 2, "epochs_step": 1, "d_model": 32, "N": 1, "dim_feedforward": 64,
                       "out_hidden": (32, 16), "batch_size": 64, "device": "cpu", "random_state": 3}}
TARGETS = ("voltage", "grav_capacity")
PARAMS = ScreenParams(models=list(TRAINED), rank_model="rf_magpie", partition_rows=7)
BAD_ROWS = [("Xx2O3", "Li", "bad_formula"), ("FePO4", "Li", "ion_not_in_formula"), ("LiOg2", "Li", "element_without_data"),
            ("LiFePO4", "Q", "unknown_working_ion"), ("Li\x07FePO4", "Li", "control_character")]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, model_inputs_sample):
    """Trained models, the featurize stage's nan_counts.csv, and a domain and calibrations, laid out
    as the train, featurize, domain and trust stages lay them out, fitted on 300 real electrodes."""
    root = tmp_path_factory.mktemp("screen")
    X = model_inputs_sample.drop(columns=list(TARGET_KEYS.values()))
    magpie = X[[column for column in X.columns if column.startswith("magpie|")]].rename(
        columns=lambda column: column.split("|", 1)[1])
    (root / paths.TRUST).mkdir(parents=True)
    joblib.dump(Domain.fit(magpie, X["working_ion"], X["composition"], 5, threshold=8.0), root / paths.DOMAIN)
    generator = np.random.default_rng(0)
    for name, hyperparameters in TRAINED.items():
        for target in TARGETS:
            y = model_inputs_sample[TARGET_KEYS[target]]
            folder = paths.trained_model(name, target, root / paths.TRAINED_MODELS)
            folder.mkdir(parents=True)
            joblib.dump(make_model(name, **hyperparameters).fit(X, y), folder / "model.joblib")
            predictions = pd.DataFrame({"battery_id": y.index, "fold": generator.integers(0, 5, size=len(y)),
                                        "y_true": y, "y_pred": y + generator.normal(0, y.std() / 3, size=len(y))})
            cell = paths.trust_cell(name, target, root / paths.TRUST)
            cell.mkdir(parents=True)
            joblib.dump(calibrate(predictions, magpie, "residual", 10), cell / "calibration.joblib")
    electrodes_csv = root / "electrodes.csv"
    model_inputs_sample.reset_index()[["battery_id", "composition", "working_ion", "group",
                                       *TARGET_KEYS.values()]].to_csv(electrodes_csv, index=False)
    featurize.run(featurize.FeaturizeParams(representations=["magpie"]), electrodes_csv, root / paths.FEATURES,
                  progress=False)
    return root


def job_for(root) -> ScreenJob:
    return ScreenJob(str(root / paths.TRAINED_MODELS), str(root / paths.TRUST), str(root / paths.FEATURE_NAN_COUNTS),
                     tuple(TRAINED), 0.9)


@pytest.fixture(scope="module")
def candidate_file(workspace, model_inputs_sample):
    """30 real compositions (one repeated), with their ions swapped for some, and the bad rows
    between them; an extra column that must come through."""
    real = model_inputs_sample.sample(30, random_state=2)[["composition", "working_ion"]].reset_index(drop=True)
    real.loc[29] = real.loc[0]
    rows = pd.concat([real.iloc[:10], pd.DataFrame(BAD_ROWS[:3], columns=["composition", "working_ion", "reason"]),
                      real.iloc[10:], pd.DataFrame(BAD_ROWS[3:], columns=["composition", "working_ion", "reason"])],
                     ignore_index=True)
    rows["note"] = [f"n{i}" for i in range(len(rows))]
    path = workspace / "candidates.csv"
    rows.drop(columns="reason").to_csv(path, index=False)
    return path, rows


# MKL, torch's BLAS on x86, picks its float32 product kernels by the batch's rows and the thread
# count on Intel CPUs (an Ice Lake: a row's product differs in its last bits between a 7-row and a
# 30-row batch), so CrabNet's values agree there to float32 rounding of the column's scale (a
# bound is a prediction less a width: its own relative error can be larger); every other value exactly.
FLOAT32_ROUNDING = 1e-6


def assert_close_to_float32(left, right, message=""):
    right = np.asarray(right, dtype=float)
    np.testing.assert_allclose(left, right, rtol=0, atol=FLOAT32_ROUNDING * np.nanmax(np.abs(right)), err_msg=message)


def assert_same_values(left: pd.DataFrame, right: pd.DataFrame):
    crabnet = [column for column in left.columns if column.startswith("crabnet_")]
    pd.testing.assert_frame_equal(left.drop(columns=crabnet), right.drop(columns=crabnet), check_exact=True)
    for column in crabnet:
        assert_close_to_float32(left[column], right[column], column)


def screened_table(out) -> pd.DataFrame:
    return pd.read_parquet(out / SCREENED).sort_values("row").reset_index(drop=True)


@pytest.fixture(scope="module")
def screened_both_ways(workspace, candidate_file):
    path, _ = candidate_file
    alone = screen(path, workspace / "alone", job_for(workspace), PARAMS, ComputeParams(), in_process=True)
    cluster = screen(path, workspace / "cluster", job_for(workspace), PARAMS, ComputeParams(workers=2))
    return alone, cluster


def test_a_two_worker_local_cluster_screens_the_same_rows_and_values_as_one_process(workspace, screened_both_ways):
    alone, cluster = screened_both_ways
    assert len({record["pid"] for record in cluster["records"]}) == 2  # both workers screened partitions
    assert {record["pid"] for record in alone["records"]} == {os.getpid()}
    assert cluster["partitions"] == alone["partitions"] == 5  # 35 rows, 7 per partition
    assert_same_values(screened_table(workspace / "cluster"), screened_table(workspace / "alone"))
    assert_same_values(pd.read_parquet(workspace / "cluster" / RANKING), pd.read_parquet(workspace / "alone" / RANKING))
    assert (workspace / "cluster" / REJECTED).read_bytes() == (workspace / "alone" / REJECTED).read_bytes()


def test_every_row_is_screened_or_set_aside_with_its_column_and_reason(workspace, candidate_file, screened_both_ways):
    _, rows = candidate_file
    alone, _ = screened_both_ways
    rejected = pd.read_csv(workspace / "alone" / REJECTED, keep_default_na=False)
    screened = screened_table(workspace / "alone")
    assert alone["rows"] == len(rows) == alone["screened"] + alone["rejected"]
    expected = rows[rows["reason"].notna()]
    assert list(rejected["row"]) == list(expected.index + 1)
    assert list(rejected["reason"]) == list(expected["reason"])
    assert set(rejected["column"]) == {"composition", "working_ion"}
    assert sorted(set(screened["row"]) | set(rejected["row"])) == list(range(1, len(rows) + 1))
    # The extra column comes through with its row; the repeated composition keeps both rows.
    good = rows[rows["reason"].isna()]
    assert list(screened["note"]) == list(good["note"])
    assert list(screened["composition"]) == list(good["composition"])


def test_screened_values_are_the_models_predictions_through_predict(workspace, candidate_file):
    _, rows = candidate_file
    good = rows[rows["reason"].isna()][["composition", "working_ion"]].reset_index(drop=True)
    screened = screened_table(workspace / "alone")
    expected = predict(good, workspace / paths.TRAINED_MODELS, workspace / paths.FEATURE_NAN_COUNTS,
                       trust_dir=workspace / paths.TRUST)
    for name in TRAINED:
        for target in TARGETS:
            column = prediction_column(name, target)
            for suffix in ("", "_lower", "_upper"):
                if name == "crabnet":
                    assert_close_to_float32(screened[column + suffix], expected[column + suffix], column + suffix)
                else:
                    np.testing.assert_allclose(screened[column + suffix], expected[column + suffix], rtol=1e-12,
                                               atol=1e-12, err_msg=column + suffix)
    np.testing.assert_allclose(screened["novelty"], expected["novelty"], rtol=1e-12)
    assert list(screened["in_domain"]) == list(expected["in_domain"])
    assert screened["in_domain"].any()


def test_energy_density_is_voltage_times_capacity_with_bounds_from_the_factors_intervals(workspace):
    screened = screened_table(workspace / "alone")
    for name in TRAINED:
        column = objective_column(name, "grav_energy")
        voltage, capacity = (screened[prediction_column(name, target)] for target in TARGETS)
        np.testing.assert_array_equal(screened[column], voltage * capacity)
        assert (screened[f"{column}_lower"] <= screened[column]).all()
        assert (screened[column] <= screened[f"{column}_upper"]).all()
        # Wider than the product of the factors' 90% intervals: each factor is taken at 95%.
        narrow = product_bounds(*(screened[f"{prediction_column(name, target)}_{end}"]
                                  for target in TARGETS for end in ("lower", "upper")))
        assert (screened[f"{column}_lower"] <= narrow[0]).all() and (screened[f"{column}_upper"] >= narrow[1]).all()
        assert objective_column(name, "vol_energy") not in screened  # vol_capacity not trained


def test_the_battery_explorers_energies_are_voltage_times_capacity(real_raw):
    voltage = real_raw["Average Voltage"].astype(float)
    for energy, capacity in (("Gravimetric Energy", "Gravimetric Capacity"), ("Volumetric Energy", "Volumetric Capacity")):
        np.testing.assert_allclose(real_raw[energy].astype(float), voltage * real_raw[capacity].astype(float),
                                   rtol=1e-12, atol=1e-9)


def test_product_bounds_hold_every_product_of_the_factors_and_cover_the_level():
    generator = np.random.default_rng(1)
    bounds = np.sort(generator.normal(0, 2, size=(4, 500)), axis=0)  # signs mixed: a voltage can be negative
    lower, upper = product_bounds(bounds[0], bounds[1], bounds[2], bounds[3])
    for share in np.linspace(0, 1, 5):
        for other in np.linspace(0, 1, 5):
            product = (bounds[0] + share * (bounds[1] - bounds[0])) * (bounds[2] + other * (bounds[3] - bounds[2]))
            assert (lower <= product + 1e-12).all() and (product <= upper + 1e-12).all()
    # Two independent normal errors, each interval at factor_level(0.9): the product covers >= 90%.
    x, y = 3 + generator.normal(0, 0.3, 20000), 100 + generator.normal(0, 10, 20000)
    from scipy.stats import norm

    z = norm.ppf(0.5 + factor_level(0.9) / 2)
    lower, upper = product_bounds(3 - z * 0.3, 3 + z * 0.3, 100 - z * 10, 100 + z * 10)
    assert ((x * y >= lower) & (x * y <= upper)).mean() >= 0.9


def test_the_ranking_is_the_chosen_column_best_first(workspace):
    ranking = pd.read_parquet(workspace / "alone" / RANKING)
    key = PARAMS.rank_column()
    assert key == f"{objective_column('rf_magpie', 'grav_energy')}_lower"
    assert list(ranking["rank"]) == list(range(1, len(ranking) + 1))
    assert ranking[key].is_monotonic_decreasing
    screened = screened_table(workspace / "alone").set_index("row")
    np.testing.assert_array_equal(ranking[key], screened.loc[ranking["row"], key])


def test_a_parquet_file_screens_as_its_csv(workspace, candidate_file):
    path, _ = candidate_file
    as_parquet = workspace / "candidates.parquet"
    pd.read_csv(path, dtype=str, keep_default_na=False).to_parquet(as_parquet, index=False)
    screen(as_parquet, workspace / "from_parquet", job_for(workspace), PARAMS, ComputeParams(), in_process=True)
    pd.testing.assert_frame_equal(screened_table(workspace / "from_parquet"), screened_table(workspace / "alone"))


@pytest.mark.parametrize("content, message", [
    ("", "empty file"),
    ("composition,working_ion\n", "a header and no rows"),
    ("formula,working_ion\nLiFePO4,Li\n", "composition"),
    ("composition,Working_Ion\nLiFePO4,Li\n", "working_ion"),
    ("composition,working_ion,row\nLiFePO4,Li,1\n", "reserved"),
])
def test_an_unusable_csv_is_refused_naming_the_file(workspace, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(PredictionError, match=message) as error:
        screen(path, tmp_path / "out", job_for(workspace), PARAMS, ComputeParams(), in_process=True)
    assert str(path) in str(error.value)
    assert not (tmp_path / "out" / SCREENED).exists()


@pytest.mark.parametrize("name, content", [("bad.parquet", b"not parquet"), ("bad.xlsx", b"x"), ("absent.csv", None)])
def test_an_unreadable_or_unknown_file_is_refused_naming_it(workspace, tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(PredictionError, match=str(path)):
        screen(path, tmp_path / "out", job_for(workspace), PARAMS, ComputeParams(), in_process=True)


def test_a_failure_midway_leaves_the_previous_outputs_untouched(workspace, candidate_file, tmp_path, monkeypatch):
    path, _ = candidate_file
    out = tmp_path / "out"
    screen(path, out, job_for(workspace), PARAMS, ComputeParams(), in_process=True)
    before = {file: file.read_bytes() for file in sorted(out.rglob("*")) if file.is_file()}
    calls = []

    def failing(partition, job):
        calls.append(partition)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(partition, job)

    original = screener.screen_partition
    monkeypatch.setattr(screener, "screen_partition", failing)
    with pytest.raises(KeyboardInterrupt):
        screen(path, out, job_for(workspace), PARAMS, ComputeParams(), in_process=True)
    assert {file: file.read_bytes() for file in sorted(out.rglob("*")) if file.is_file()} == before
    assert [entry.name for entry in tmp_path.iterdir()] == ["out"]  # no partial folder left beside it


def test_ranking_on_the_lower_bound_without_intervals_is_refused_before_any_work(workspace, candidate_file, tmp_path):
    path, _ = candidate_file
    job = ScreenJob(str(workspace / paths.TRAINED_MODELS), str(tmp_path / "no-trust"),
                    str(workspace / paths.FEATURE_NAN_COUNTS), tuple(TRAINED), 0.9)
    with pytest.raises(PredictionError, match=r"rf_magpie/voltage/calibration.joblib does not exist.*`dvc repro trust` or rank on point"):
        screen(path, tmp_path / "out", job, PARAMS, ComputeParams(), in_process=True)


@pytest.mark.parametrize("change, message", [
    ({"models": ["rf_magpie"], "rank_model": "crabnet"}, "screen.rank_model 'crabnet' is not one of"),
    ({"models": ["forest"]}, "unknown model 'forest'"),
    ({"objective": "power"}, "unknown objective 'power'"),
    ({"rank_on": "upper"}, "screen.rank_on must be one of point, lower"),
    ({"partition_rows": 0}, "screen.partition_rows"),
])
def test_bad_screen_parameters_are_named(change, message):
    with pytest.raises(ParameterError, match=message):
        from_mapping("screen", ScreenParams, change)


def test_the_command_screens_a_csv_in_a_local_cluster_and_says_what_it_did(workspace, candidate_file, tmp_path):
    path, rows = candidate_file
    params = tmp_path / "params.yaml"
    params.write_text("screen:\n  models: [rf_magpie, crabnet]\n  rank_model: crabnet\n  rank_on: point\n"
                      "  partition_rows: 20\ntrust:\n  level: 0.8\ncompute:\n  workers: 2\n")
    result = subprocess.run([sys.executable, "-m", "electrode_ml.cli", "screen", "--candidates", str(path), "--out",
                             str(tmp_path / "out"), "--params", str(params), "--models", "results/models", "--trust",
                             "results/trust", "--nan-counts", str(paths.FEATURE_NAN_COUNTS)],
                            cwd=workspace, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # A list of one's own also passes the electrode rules: the rows that fail one are set aside by its name.
    set_aside = pd.read_csv(tmp_path / "out" / "rejected.csv")
    by_rule = set_aside[set_aside["reason"].isin(USER_RULES)]
    assert set(set_aside["row"]) - set(by_rule["row"]) == set(np.flatnonzero(rows["reason"].notna()) + 1)
    rejected = len(set_aside)
    assert f"{len(rows)} candidates, {len(rows) - rejected} screened" in result.stdout
    assert f"{rejected} set aside" in result.stdout
    assert "partition" in result.stderr  # the progress bar
    ranking = pd.read_parquet(tmp_path / "out" / RANKING)
    assert ranking[objective_column("crabnet", "grav_energy")].is_monotonic_decreasing
    metrics = pd.read_json(tmp_path / "out" / paths.METRICS, typ="series")
    assert metrics["screen.rejected"] == rejected


def test_ranking_scores_are_matbench_discoverys_precision_recall_f1_and_acceleration():
    # 4 hits among 100, at ranks 1, 3, 40 and 90: prevalence 0.04; the top 10%: 2 hits.
    hits = np.zeros(100, dtype=bool)
    hits[[0, 2, 39, 89]] = True
    scores = -np.arange(100.0)  # row 0 ranked first
    predicted = np.zeros(100, dtype=bool)
    predicted[:10] = True
    result = ranking_scores(scores, hits, predicted, 0.1)
    assert result["precision"] == pytest.approx(0.2) and result["recall"] == pytest.approx(0.5)
    assert result["daf"] == pytest.approx(5.0)
    assert result["f1"] == pytest.approx(2 * 2 / (10 + 4))
    assert ranking_scores(scores, hits, None, 1.0)["daf"] == pytest.approx(1.0)  # the whole list
    # A constant score (the control) is random order: its expected hits, DAF 1 exactly.
    assert ranking_scores(np.zeros(100), hits, None, 0.1)["daf"] == pytest.approx(1.0)
    # Ties at the cut: rows 0 and 1 tie for the last place of the top 2 behind row 2 (a hit); one of them a hit.
    tied = np.r_[1.0, 1.0, 2.0, np.zeros(97)]
    assert ranking_scores(tied, hits, None, 0.02)["precision"] == pytest.approx((1 + 0.5) / 2)


def _synthetic_benchmark(shuffle: bool) -> pd.DataFrame:
    """A target that is a simple function of two features, a random forest on them, scored as the
    benchmark scores a hidden set; with `shuffle`, the training target shuffled (no signal)."""
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 5))
    y = X[:, 0] * 2 + np.sin(X[:, 1]) + rng.normal(scale=0.2, size=1500)
    train, test = slice(0, 1000), slice(1000, 1500)
    y_train = rng.permutation(y[train]) if shuffle else y[train]
    predicted = RandomForestRegressor(n_estimators=50, random_state=0).fit(X[train], y_train).predict(X[test])
    threshold = np.quantile(y_train, 0.8)
    hits = y[test] >= np.quantile(y[train], 0.8)
    return scored_rankings({"point": (predicted, predicted >= threshold), "random": (np.zeros(500), None)},
                           hits, 0.1, 300, 0).set_index("ranking")


def test_the_benchmark_finds_a_real_signal_and_none_in_a_shuffled_target():
    real = _synthetic_benchmark(shuffle=False).loc["point"]
    assert real["daf"] > 3 and real["daf_low"] > 2 and real["daf_minus_random_low"] > 1
    shuffled = _synthetic_benchmark(shuffle=True).loc["point"]
    assert shuffled["daf_low"] < 1 < shuffled["daf_high"]
    assert shuffled["daf_minus_random_low"] < 0 < shuffled["daf_minus_random_high"]


def test_a_candidate_counts_once_however_many_hidden_electrodes_it_recreates():
    candidates = pd.DataFrame({"composition": ["NaMnO2", "NaFePO4", "NaCoO2"], "working_ion": ["Na", "Na", "Na"]})
    hidden = pd.DataFrame({"battery_id": ["h1", "h2", "h3", "h4"], "composition": ["NaMnO2", "NaMnO2", "NaCoO2", "NaNiO2"],
                           "working_ion": ["Na"] * 4}, index=[7, 8, 9, 10])
    marked = candidate_hits(candidates, hidden, pd.Series([300.0, 500.0, 100.0, 900.0], index=[7, 8, 9, 10]), 400.0)
    assert list(marked["recreates"]) == ["h1 h2", "", "h3"]
    assert list(marked["hit"]) == [True, False, False]  # NaMnO2's best re-created electrode is a hit; once
    assert marked["known_objective"].iloc[0] == 500.0 and np.isnan(marked["known_objective"].iloc[1])


def test_the_verdict_is_read_off_the_intervals():
    table = pd.DataFrame({"test": ["generation"] * 2, "ranking": ["lower"] * 2, "ion": ["Na", "K"],
                          "daf_minus_random_low": [0.5, -0.2], "daf_minus_random_high": [2.0, 0.3],
                          "daf_minus_parent_low": [-1.0, -2.0], "daf_minus_parent_high": [0.5, -0.5]})
    sentence = verdict(table, "lower", "RF@Magpie")
    assert "beats random order in 1 of 2 hidden ions (Na)" in sentence
    assert "beats the parent's known objective in 0 and loses to it in 1 (K)" in sentence


def test_the_pareto_front_keeps_each_candidate_no_other_beats_on_both_counts():
    objective = np.array([5.0, 4.0, 6.0, 6.0, 1.0, np.nan, 7.0])
    novelty = np.array([1.0, 0.5, 2.0, 3.0, 0.1, 0.2, np.inf])
    assert list(pareto_front(objective, novelty)) == [True, True, True, False, True, False, False]


def test_a_featurizer_failure_costs_its_formula_not_the_batch():
    """matminer's AtomicOrbitals (in MODNet's set) fails on this plutonium composition."""
    from electrode_ml.features.representations import ModnetFeatures
    from electrode_ml.screening.prediction import featurized

    failing = "K4Pu2Mn3Co3O16"
    table, failed = featurized(ModnetFeatures(), ["LiFePO4", failing, "NaMnO2"])
    assert list(failed) == [failing] and "AtomicOrbitals" in failed[failing]
    assert list(table.index) == ["LiFePO4", "NaMnO2"]
    alone, _ = featurized(ModnetFeatures(), ["NaMnO2"])
    pd.testing.assert_frame_equal(table.loc[["NaMnO2"]], alone)


def test_a_users_defective_rows_are_each_set_aside_and_the_rest_screened(workspace, tmp_path):
    """Three ways a user's list broke the screen: a NUL byte inside a composition (the CSV reader
    cut the cell there, and another formula was screened under the row's number), an "electrode"
    that is the working ion alone, and a row that breaks a model inside its partition (an amount
    too large for crabnet's parser). Each row is set aside by name; the others are screened."""
    path = tmp_path / "mine.csv"
    path.write_bytes(b"composition,working_ion,charged_composition\n"
                     b"LiFePO4,Li,FePO4\n"
                     b"LiFe\x00PO4,Li,\n"
                     b"Li,Li,\n"
                     b"Li1000000000000000000000Fe3(PO4)3,Li,\n"
                     b"LiCoO2,Li,CoO2\n")
    job = dataclasses.replace(job_for(workspace), check_chemistry=True)
    summary = screen(path, tmp_path / "out", job, PARAMS, ComputeParams(), in_process=True)
    set_aside = pd.read_csv(tmp_path / "out" / "rejected.csv").set_index("row")
    assert set(set_aside.index) == {2, 3, 4}
    assert set_aside.loc[2, "reason"] == "control_character" and set_aside.loc[3, "reason"] == "no_host"
    screened = screened_table(tmp_path / "out")
    assert sorted(screened["row"]) == [1, 5] and summary["screened"] == 2
    assert list(screened.sort_values("row")["redox_couple"]) == ["Fe2+/Fe3+", "Co3+/Co4+"]


def test_a_parquet_composition_column_that_is_not_text_sets_rows_aside_not_the_screen(workspace, tmp_path):
    path = tmp_path / "mine.parquet"
    pd.DataFrame({"composition": [1, 2], "working_ion": ["Li", "Li"]}).to_parquet(path)
    summary = screen(path, tmp_path / "out", job_for(workspace), PARAMS, ComputeParams(), in_process=True)
    assert summary["screened"] == 0 and summary["rejected"] == 2
    assert set(pd.read_csv(tmp_path / "out" / "rejected.csv")["reason"]) == {"bad_formula"}


def test_an_ion_voltage_limit_that_is_not_a_voltage_above_the_window_or_not_an_ion_is_refused():
    for limits, message in (({"Mg": "four"}, "ion_voltage_limits"),
                            ({"Mg": 0.2}, "ion_voltage_limits.Mg = 0.2 should be a voltage in V above"),
                            ({"Xx": 3.0}, "'Xx' is not a working ion"), ([3.0], "ion_voltage_limits")):
        with pytest.raises(ParameterError, match=message):
            from_mapping("screen", ScreenParams, {"ion_voltage_limits": limits})


def test_a_prediction_outside_the_voltage_window_is_flagged_and_not_ranked(workspace, candidate_file, tmp_path):
    path, _ = candidate_file
    narrow = dataclasses.replace(PARAMS, voltage_window=[3.0, 3.5], ion_voltage_limits={})
    job = dataclasses.replace(job_for(workspace), voltage_window=narrow.window())
    summary = screen(path, tmp_path / "out", job, narrow, ComputeParams(), in_process=True)
    screened = screened_table(tmp_path / "out")
    voltage = screened[prediction_column(PARAMS.rank_model, "voltage")]
    inside = screened[f"{PARAMS.rank_model}_in_window"]
    assert inside.tolist() == ((voltage >= 3.0) & (voltage <= 3.5)).tolist() and 0 < inside.sum() < len(screened)
    ranking = pd.read_parquet(tmp_path / "out" / RANKING)
    assert set(ranking["row"]) == set(screened.loc[inside, "row"]) and summary["outside_window"] == (~inside).sum()
