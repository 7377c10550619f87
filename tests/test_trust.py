"""How far to trust a prediction: intervals whose coverage is measured where the truth is known,
the domain's verdict on unseen elements, and the two stages on real electrodes."""
import json
import os

import joblib
import numpy as np
import pandas as pd
import pytest

from electrode_ml import paths
from electrode_ml.data.targets import TARGET_KEYS
from electrode_ml.evaluation.conformal import (
    SchemeNeighbours,
    TrustParams,
    calibrate,
    coverage,
    prediction_bounds,
    scheme_intervals,
)
from electrode_ml.evaluation.novelty import Domain
from electrode_ml.features.representations import MagpieFeatures
from electrode_ml.params import ParameterError, from_mapping
from electrode_ml.stages import domain as domain_stage
from electrode_ml.stages import trust as trust_stage


def noise_growing_with_an_input(n=4000, seed=0):
    """Predictions that are the true mean; the noise is ten times larger where x0 > 0.5."""
    generator = np.random.default_rng(seed)
    X = pd.DataFrame({"x0": generator.uniform(size=n), "x1": generator.uniform(size=n)},
                     index=[f"e{i}" for i in range(n)])
    noisy = (X["x0"] > 0.5).to_numpy()
    y_hat = 3 * X["x1"].to_numpy()
    y_true = y_hat + generator.normal(size=n) * np.where(noisy, 1.0, 0.1)
    predictions = pd.DataFrame({"battery_id": X.index, "fold": generator.integers(0, 5, size=n),
                                "y_true": y_true, "y_pred": y_hat})
    return predictions, X, noisy


def test_normalized_intervals_cover_both_the_quiet_and_the_noisy_half_and_plain_ones_do_not():
    predictions, X, noisy = noise_growing_with_an_input()
    intervals = scheme_intervals(predictions, X, level=0.9, neighbours=25)
    assert list(intervals["battery_id"]) == list(predictions["battery_id"])
    quiet_normalized, quiet_width = coverage(intervals[~noisy], "residual")
    noisy_normalized, noisy_width = coverage(intervals[noisy], "residual")
    assert abs(quiet_normalized - 0.9) <= 0.03 and abs(noisy_normalized - 0.9) <= 0.03
    assert noisy_width > 5 * quiet_width  # the interval follows the noise
    noisy_plain, _ = coverage(intervals[noisy], "plain")
    quiet_plain, _ = coverage(intervals[~noisy], "plain")
    assert noisy_plain < 0.85 and quiet_plain > 0.95  # one width for all: too narrow here, too wide there
    assert abs(coverage(intervals, "plain")[0] - 0.9) <= 0.03  # though right on average


def test_the_level_is_the_coverage_asked_for():
    predictions, X, _ = noise_growing_with_an_input(n=2000, seed=1)
    for level in (0.5, 0.8, 0.95):
        intervals = scheme_intervals(predictions, X, level=level, neighbours=25)
        assert abs(coverage(intervals, "residual")[0] - level) <= 0.03, level


@pytest.fixture(scope="module")
def magpie_sample(model_inputs_sample):
    columns = [column for column in model_inputs_sample.columns if column.startswith("magpie|")]
    return model_inputs_sample[columns].rename(columns=lambda column: column.split("|", 1)[1])


def test_a_composition_with_an_element_never_seen_with_its_ion_is_out_of_domain_and_a_training_one_in(
        model_inputs_sample, magpie_sample):
    domain = Domain.fit(magpie_sample, model_inputs_sample["working_ion"], model_inputs_sample["composition"],
                        neighbours=5, threshold=3.0)
    training = model_inputs_sample.iloc[0]
    seen_with_li = domain.elements["Li"]
    stranger = next(element for element in ("Pu", "Tm", "Re", "Os", "Ir", "Pt", "Au") if element not in seen_with_li)
    candidates = pd.DataFrame({"composition": [training["composition"], f"Li{stranger}O2"],
                               "working_ion": [training["working_ion"], "Li"]})
    features = MagpieFeatures().featurize(list(candidates["composition"]), progress=False)
    verdict = domain.assess(features, candidates["composition"], candidates["working_ion"])
    assert bool(verdict.at[0, "in_domain"]) and verdict.at[0, "unseen_elements"] == ""
    assert verdict.at[0, "novelty"] < domain.novelty(features.iloc[[1]], ["Li"])[0]
    assert not verdict.at[1, "in_domain"] and stranger in verdict.at[1, "unseen_elements"].split()
    # An ion no training electrode has: nothing to compare with, infinitely novel.
    assert np.isinf(domain.novelty(features.iloc[[0]], ["Og"])[0])


def test_a_new_compositions_interval_holds_its_prediction_and_widens_with_the_level(model_inputs_sample, magpie_sample):
    """`predict`'s bounds, from a calibration on every electrode and the domain's distances."""
    generator = np.random.default_rng(3)
    y = model_inputs_sample[TARGET_KEYS["voltage"]]
    predictions = pd.DataFrame({"battery_id": y.index, "fold": generator.integers(0, 5, size=len(y)),
                                "y_true": y.to_numpy(), "y_pred": y.to_numpy() + generator.normal(0, 0.5, size=len(y))})
    calibration = calibrate(predictions, magpie_sample, "residual", neighbours=10)
    domain = Domain.fit(magpie_sample, model_inputs_sample["working_ion"], model_inputs_sample["composition"], 5)
    y_hat = np.array([3.0, 3.0])
    distances = domain.distances(magpie_sample.iloc[:2])
    narrow, wide = (prediction_bounds(calibration, domain, distances, y_hat, level) for level in (0.5, 0.95))
    assert (narrow[:, 0] < y_hat).all() and (narrow[:, 1] > y_hat).all()
    assert ((wide[:, 1] - wide[:, 0]) > (narrow[:, 1] - narrow[:, 0])).all()


@pytest.mark.parametrize("values, message", [({"level": 1.5}, "trust.level"), ({"difficulty": "variance"}, "trust.difficulty"),
                                             ({"neighbours": 0}, "trust.neighbours")])
def test_bad_trust_parameters_are_named(values, message):
    with pytest.raises(ParameterError, match=message):
        from_mapping("trust", TrustParams, values)


@pytest.fixture(scope="module")
def trust_workspace(tmp_path_factory, model_inputs_sample, magpie_sample):
    """The domain and trust stages run on 300 real electrodes: their Magpie features, stratified and
    cluster-like folds, and out-of-fold predictions with the noise of a model."""
    root = tmp_path_factory.mktemp("trust")
    electrodes = model_inputs_sample.reset_index()[["battery_id", "composition", "working_ion"]]
    electrodes.to_csv(root / "electrodes.csv", index=False)
    magpie_sample.to_parquet(root / "magpie.parquet")
    generator = np.random.default_rng(4)
    folds = {"stratified5": generator.integers(0, 5, size=len(electrodes)),
             "loco": pd.factorize(electrodes["working_ion"])[0]}  # one "cluster" per ion
    (root / "folds").mkdir()
    for scheme, fold in folds.items():
        pd.DataFrame({"battery_id": electrodes["battery_id"], "fold": fold}).to_csv(
            root / "folds" / paths.fold_file(scheme).name, index=False)
        for model, noise in (("rf_magpie", 0.6), ("control", 1.5)):
            for target in ("voltage", "grav_capacity"):
                y = model_inputs_sample[TARGET_KEYS[target]].to_numpy()
                cell = paths.cv_cell(model, target, scheme, root / "cv")
                cell.mkdir(parents=True)
                pd.DataFrame({"battery_id": electrodes["battery_id"], "fold": fold, "y_true": y,
                              "y_pred": y + generator.normal(0, noise * y.std(), size=len(y))}).to_csv(
                    cell / "predictions.csv", index=False)
    params = TrustParams(neighbours=10)
    domain_metrics = domain_stage.run(params, root / "electrodes.csv", root / "magpie.parquet", root / "folds",
                                      root / "trust")
    metrics = trust_stage.run(["rf_magpie", "control"], ["voltage", "grav_capacity"], params, root / "magpie.parquet",
                              root / "trust" / paths.NOVELTY.name, root / "cv", root / "trust")
    return root, domain_metrics, metrics


def test_the_stages_write_every_electrodes_novelty_and_interval_and_measure_coverage(trust_workspace):
    root, domain_metrics, metrics = trust_workspace
    novelty = pd.read_csv(root / "trust" / paths.NOVELTY.name, keep_default_na=False)
    assert len(novelty) == 2 * 300 and set(novelty["novelty_bin"]) == {1, 2, 3, 4, 5}
    # Held out by working ion, an electrode has no training electrode of its ion: infinitely novel.
    assert np.isinf(novelty[novelty["scheme"] == "loco"]["novelty"]).all()
    assert domain_metrics["domain.loco.out_of_domain"] == 1.0
    assert 0 < domain_metrics["domain.stratified5.out_of_domain"] <= 0.25
    cell = paths.trust_cell("rf_magpie", "voltage", root / "trust")
    intervals = pd.read_csv(cell / "intervals.csv")
    assert len(intervals) == 600
    assert (intervals["lower_residual"] <= intervals["y_pred"]).all() and (intervals["y_pred"] <= intervals["upper_residual"]).all()
    assert abs(metrics["rf_magpie.voltage.stratified5.trust.coverage_plain"] - 0.9) <= 0.05
    assert metrics == json.loads((paths.trust_summary(root / "trust") / paths.METRICS).read_text())
    assert {key.split(".trust.")[0] for key in metrics} == {f"{model}.{target}.{scheme}" for model in ("rf_magpie", "control")
                                                           for target in ("voltage", "grav_capacity")
                                                           for scheme in paths.SCHEMES}
    assert not list((root / "trust").glob("*.partial"))
    by_fold = pd.read_csv(cell / "by_fold.csv")
    assert by_fold.groupby("scheme")["electrodes"].sum().to_dict() == {"loco": 300, "stratified5": 300}


def test_a_missing_cv_cell_is_named_with_its_command(trust_workspace, tmp_path):
    root, _, _ = trust_workspace
    with pytest.raises(FileNotFoundError, match=r"run `dvc repro cv@modnet-voltage-stratified5`"):
        trust_stage.run(["rf_magpie", "modnet"], ["voltage"], TrustParams(), root / "magpie.parquet",
                        root / "trust" / paths.NOVELTY.name, root / "cv", tmp_path)
    assert not list(tmp_path.iterdir())  # nothing written


def test_each_cell_gets_the_intervals_it_would_get_alone_from_the_neighbours_found_once(trust_workspace, tmp_path):
    """The stage finds each scheme's neighbours once for every cell: each cell's intervals and
    calibration are the bytes of the cell's own computation."""
    from electrode_ml.files import write_table

    root, _, _ = trust_workspace
    magpie = pd.read_parquet(root / "magpie.parquet")
    for target in ("voltage", "grav_capacity"):
        cell = paths.trust_cell("control", target, root / "trust")
        written = pd.read_csv(cell / "intervals.csv")
        for scheme in paths.SCHEMES:
            predictions = pd.read_csv(paths.cv_cell("control", target, scheme, root / "cv") / "predictions.csv")
            write_table(scheme_intervals(predictions, magpie, 0.9, 10), tmp_path / "alone.csv")  # as the stage writes
            alone = pd.read_csv(tmp_path / "alone.csv")
            of_scheme = written[written["scheme"] == scheme].reset_index(drop=True)
            for column in alone.columns:
                assert alone[column].equals(of_scheme[column]), (target, scheme, column)
        calibration = joblib.load(cell / "calibration.joblib")
        predictions = pd.read_csv(paths.cv_cell("control", target, paths.SCHEMES[0], root / "cv") / "predictions.csv")
        alone = calibrate(predictions, magpie, "residual", 10)
        assert calibration["sigmas"].tobytes() == alone["sigmas"].tobytes()


def test_neighbours_found_for_other_folds_are_refused():
    predictions, X, _ = noise_growing_with_an_input(n=300, seed=2)
    found = SchemeNeighbours.of(predictions, X, 10)
    reshuffled = predictions.assign(fold=(predictions["fold"] + 1) % 5)
    with pytest.raises(ValueError, match="other electrodes, folds or k"):
        scheme_intervals(reshuffled, X, 0.9, 10, found)
    with pytest.raises(ValueError, match="other electrodes, folds or k"):
        calibrate(predictions.iloc[::-1], X, "residual", 10, found)
    with pytest.raises(ValueError, match="other electrodes, folds or k"):
        scheme_intervals(predictions, X, 0.9, 12, found)


def test_held_out_clusters_are_calibrated_on_electrodes_that_were_held_out_as_they_are():
    """Under leave-one-cluster-out folds a held-out electrode's neighbours lie in other clusters, far
    away; a calibration electrode's difficulty is measured the same way, or a far cluster would get
    intervals many times too wide (its nearest neighbours measured inside its own cluster)."""
    generator = np.random.default_rng(5)
    centres = generator.normal(0, 10, size=(12, 2))
    cluster = np.repeat(np.arange(12), 150)
    X = pd.DataFrame(centres[cluster] + generator.normal(0, 0.5, size=(len(cluster), 2)),
                     columns=["x0", "x1"], index=[f"e{i}" for i in range(len(cluster))])
    predictions = pd.DataFrame({"battery_id": X.index, "fold": cluster, "y_true": generator.normal(size=len(cluster)),
                                "y_pred": 0.0})
    intervals = scheme_intervals(predictions, X, level=0.9, neighbours=25)
    assert abs(coverage(intervals, "distance")[0] - 0.9) <= 0.05


PICKLE_DIGEST = """
import hashlib, io, joblib, numpy as np, pandas as pd
from electrode_ml.evaluation.conformal import calibrate
from electrode_ml.evaluation.novelty import Domain
X = pd.DataFrame(np.arange(40.0).reshape(20, 2) % 7, index=[f"e{i}" for i in range(20)], columns=["a", "b"])
compositions = ["LiFePO4", "LiCoO2", "NaMnO2", "LiNiO2", "MgMo3S4"] * 4
ions = ["Li", "Li", "Na", "Li", "Mg"] * 4
predictions = pd.DataFrame({"battery_id": X.index, "fold": np.arange(20) % 4, "y_true": np.arange(20.0),
                            "y_pred": np.arange(20.0) % 3})
for value in (Domain.fit(X, ions, compositions, 3), calibrate(predictions, X, "residual", 3)):
    buffer = io.BytesIO()
    joblib.dump(value, buffer)
    print(hashlib.md5(buffer.getvalue()).hexdigest())
"""


def test_what_predict_loads_pickles_to_the_same_bytes_in_every_process():
    """A set pickles in the order of its process' string hashes, and a fitted crepes regressor
    holds its fit's wall-clock time: neither may be in the domain or a calibration."""
    import subprocess
    import sys

    digests = [subprocess.run([sys.executable, "-c", PICKLE_DIGEST], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")]
    assert digests[0] and digests[0] == digests[1] == digests[2]
