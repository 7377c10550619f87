"""`prepare` and `featurize` end to end on 150 real rows, through the `electrode-ml` command."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sklearn.base import BaseEstimator, RegressorMixin

import electrode_ml
from electrode_ml.data.electrodes import PREPARED_COLUMNS


def _electrode_ml(*args, cwd):
    command = [sys.executable, "-m", "electrode_ml.cli", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})


@pytest.fixture
def workspace(tmp_path, raw_sample):
    (tmp_path / "data").mkdir()
    raw_sample.to_csv(tmp_path / "data" / "sample.csv", index=False)
    params = {
        "prepare": {"raw_csv": "data/sample.csv", "composition_column": "Formula Discharge",
                    "outlier_sigma": None, "on_bad_row": "error"},
        "featurize": {"representations": ["magpie", "modnet"]},
        # A 150-row sample is sparser than the full data: a smaller perplexity and a wider eps.
        "cluster": {"perplexity": 15, "eps": 4.0, "min_samples": 5},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


@pytest.mark.slow  # the three stages through the command line on 150 rows; featurize failures run fast at 12 rows
def test_prepare_featurize_cluster_on_real_sample(workspace, raw_sample):
    prepared = _electrode_ml("prepare", cwd=workspace)
    assert prepared.returncode == 0, prepared.stderr
    electrodes = pd.read_csv(workspace / "results/prepared/electrodes.csv")
    assert tuple(electrodes.columns) == PREPARED_COLUMNS
    assert set(electrodes["battery_id"]) == set(raw_sample["Battery ID"])
    summary = json.loads((workspace / "results/prepared/summary.json").read_text())
    assert summary["rows_in"] == summary["rows_out"] == 150

    featurized = _electrode_ml("featurize", cwd=workspace)
    assert featurized.returncode == 0, featurized.stderr
    magpie = pd.read_parquet(workspace / "results/features/magpie.parquet")
    modnet = pd.read_parquet(workspace / "results/features/modnet.parquet")
    for table, width in ((magpie, 132), (modnet, 285)):
        assert table.index.name == "battery_id"
        assert list(table.index) == list(electrodes["battery_id"])
        assert table.shape[1] == width
    # Magpie has data for every element of the set: a NaN would mean a broken join.
    assert not magpie.isna().any().any()
    metrics = json.loads((workspace / "results/features/metrics.json").read_text())
    assert metrics["modnet.features"] == 285 and metrics["magpie.nan_cells"] == 0
    assert "seconds" in json.loads((workspace / "results/features/timings.json").read_text())

    clustered = _electrode_ml("cluster", cwd=workspace)
    assert clustered.returncode == 0, clustered.stderr
    assignments = pd.read_csv(workspace / "results/clusters/assignments.csv")
    assert list(assignments["battery_id"]) == list(electrodes["battery_id"])
    assert {"tsne_x", "tsne_y", "umap_x", "umap_y", "cluster"} <= set(assignments.columns)
    clusters = pd.read_csv(workspace / "results/clusters/clusters.csv")
    real = clusters[clusters["cluster"] >= 0]
    assert len(real) >= 2
    # Each representative is a member of its own cluster.
    for _, row in real.iterrows():
        members = assignments.loc[assignments["cluster"] == row["cluster"], "composition"]
        assert row["representative"] in set(members)
    assert real["size"].sum() + (assignments["cluster"] < 0).sum() == 150
    loco = pd.read_csv(workspace / "results/folds/loco.csv")
    assert sorted(loco["battery_id"]) == sorted(electrodes["battery_id"])
    metrics = json.loads((workspace / "results/clusters/metrics.json").read_text())
    assert metrics["n_clusters"] == len(real)
    for stem in ("tsne_clusters", "umap_clusters", "tsne_working_ion", "tsne_targets", "working_ion_distribution"):
        for suffix in (".png", ".pdf"):
            assert (workspace / "paper/figures/maps" / f"{stem}{suffix}").stat().st_size > 10_000


def test_bad_row_stops_prepare_with_a_clear_message_and_writes_nothing(workspace, raw_sample):
    spoiled = raw_sample.copy()
    spoiled.loc[4, "Formula Discharge"] = "Li(FePO4"
    spoiled.to_csv(workspace / "data" / "sample.csv", index=False)
    result = _electrode_ml("prepare", cwd=workspace)
    assert result.returncode != 0
    assert f"{raw_sample.loc[4, 'Battery ID']}: column 'Formula Discharge' = 'Li(FePO4'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (workspace / "results/prepared/electrodes.csv").exists()


def test_unknown_parameter_stops_the_stage(workspace):
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["featurize"]["representations"] = ["magpie", "soap"]
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))
    result = _electrode_ml("featurize", cwd=workspace)
    assert result.returncode != 0
    assert "featurize.representations: unknown ['soap']" in result.stderr


@pytest.fixture
def magpie_workspace(workspace):
    """The sample with Magpie features only: enough for the control and the random forest."""
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["featurize"]["representations"] = ["magpie"]
    params.update({
        "folds": {"n_splits": 5, "seed": 42}, "bootstrap": {"holdout_fold": 0}, "seed": 42, "profile": "quick",
        "models": ["control", "rf_magpie"], "targets": ["voltage"], "schemes": ["stratified5"],
        "profiles": {"quick": {"control": {}, "rf_magpie": {"n_estimators": 30},
                               "bootstrap": {"fractions": [0.3, 1.0], "repeats": 2}}},
    })
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))
    for command in (["prepare"], ["featurize"], ["inputs"], ["folds"]):
        result = _electrode_ml(*command, cwd=workspace)
        assert result.returncode == 0, result.stderr
    return workspace


def test_cv_bootstrap_train_predict_on_real_sample(magpie_workspace):
    workspace = magpie_workspace
    # Each model's input folder holds the feature sets it reads, and no target.
    for model, files in (("control", ["electrodes.csv"]), ("rf_magpie", ["electrodes.csv", "magpie.parquet"])):
        assert sorted(p.name for p in (workspace / "results/inputs" / model).iterdir()) == files
    inputs = pd.read_csv(workspace / "results/inputs/rf_magpie/electrodes.csv")
    assert list(inputs.columns) == ["battery_id", "composition", "working_ion", "group"]
    folds = pd.read_csv(workspace / "results/folds/stratified5.csv")
    electrodes = pd.read_csv(workspace / "results/prepared/electrodes.csv")
    assert sorted(folds["battery_id"]) == sorted(electrodes["battery_id"])

    for model in ("control", "rf_magpie"):
        result = _electrode_ml("cv", "--model", model, "--target", "voltage", "--scheme", "stratified5", cwd=workspace)
        assert result.returncode == 0, result.stderr
    cell = workspace / "results/cv/rf_magpie/voltage/stratified5"
    metrics = json.loads((cell / "metrics.json").read_text())
    assert set(metrics) >= {f"rf_magpie.voltage.stratified5.{key}" for key in ("mae", "mae_2sigma", "smae", "r2")}
    control = json.loads((workspace / "results/cv/control/voltage/stratified5/metrics.json").read_text())
    assert control["control.voltage.stratified5.smae"] == 1.0
    predictions = pd.read_csv(cell / "predictions.csv")
    assert sorted(predictions["battery_id"]) == sorted(electrodes["battery_id"])
    assert json.loads((cell / "run.json").read_text())["profile"] == "quick"
    # Results are byte-stable across reruns; only timings.json (seconds, device, clock) may change.
    results = ("predictions.csv", "folds.csv", "by_ion.csv", "metrics.json", "run.json")
    first = {name: (cell / name).read_bytes() for name in results}
    assert "seconds" in json.loads((cell / "timings.json").read_text())
    result = _electrode_ml("cv", "--model", "rf_magpie", "--target", "voltage", "--scheme", "stratified5", cwd=workspace)
    assert result.returncode == 0, result.stderr
    assert {name: (cell / name).read_bytes() for name in results} == first
    assert set(pd.read_csv(cell / "by_ion.csv")["working_ion"]) == set(electrodes["working_ion"])

    # repeated_cv reads its draw 0 (the stratified folds) from this cell instead of fitting it again:
    # the numbers are those of fitting it, to the bit; predictions of other folds are refused.
    from electrode_ml.evaluation.validation import cross_validate_draws, per_fold_metrics
    from electrode_ml.stages.cell import cell_data

    result = _electrode_ml("repeated_cv", "--model", "rf_magpie", "--target", "voltage", cwd=workspace)
    assert result.returncode == 0, result.stderr
    repeated = pd.read_csv(workspace / "results/repeated_cv/rf_magpie/voltage/folds.csv", float_precision="round_trip")
    assert sorted(set(repeated["repeat"])) == [0, 1, 2, 3, 4]
    model, X, y = cell_data("rf_magpie", "voltage", workspace / "params.yaml", workspace / "results/prepared/electrodes.csv",
                            workspace / "results/inputs")
    refitted = per_fold_metrics(cross_validate_draws(model, X, y, {0: folds.set_index("battery_id")["fold"]}))
    assert repeated.loc[repeated["repeat"] == 0, "mae"].tolist() == refitted["mae"].tolist()
    other = predictions.assign(fold=(predictions["fold"] + 1) % 5)
    other.to_csv(workspace / "other_folds.csv", index=False)
    result = _electrode_ml("repeated_cv", "--model", "rf_magpie", "--target", "voltage",
                           "--first-draw", "other_folds.csv", cwd=workspace)
    assert result.returncode != 0 and "is not of draw 0" in result.stderr and "Traceback" not in result.stderr

    result = _electrode_ml("bootstrap", "--model", "rf_magpie", "--target", "grav_capacity", cwd=workspace)
    assert result.returncode == 0, result.stderr
    summary = pd.read_csv(workspace / "results/bootstrap/rf_magpie/grav_capacity/summary.csv")
    assert list(summary["fraction"]) == [0.3, 1.0] and (summary["repeats"] == 2).all()

    for model in ("control", "rf_magpie"):
        result = _electrode_ml("train", "--model", model, "--target", "voltage", cwd=workspace)
        assert result.returncode == 0, result.stderr
    result = _electrode_ml("predict", "LiFePO4", "--ion", "Li", cwd=workspace)
    assert result.returncode == 0, result.stderr
    assert "RF@Magpie" in result.stdout and "voltage (V)" in result.stdout
    # One composition: the table and the domain sentence; on stderr only predict's own notes (the
    # libraries' output with --verbose: tests/test_predict.py).
    assert all(line.startswith("predict: ") for line in result.stderr.splitlines()), result.stderr
    loud = _electrode_ml("predict", "LiFePO4", "--ion", "Li", "--verbose", cwd=workspace)
    assert loud.returncode == 0 and loud.stdout == result.stdout

    candidates = workspace / "candidates.csv"
    pd.DataFrame({"composition": ["LiFePO4", "NaMnO2", "MgMo3S4"], "working_ion": ["Li", "Na", "Mg"]}).to_csv(
        candidates, index=False)
    result = _electrode_ml("predict", "--csv", str(candidates), "--out", str(workspace / "out.csv"), cwd=workspace)
    assert result.returncode == 0, result.stderr
    screened = pd.read_csv(workspace / "out.csv")
    assert len(screened) == 3 and {"rf_magpie_voltage_V", "control_voltage_V"} <= set(screened.columns)
    assert screened["rf_magpie_voltage_V"].nunique() == 3

    for formula, ion, message in (("Li(FePO4", "Li", "unparseable"), ("NaMnO2", "Li", "holds no Li"),
                                  ("LiFePO4", "Xx", "working ion 'Xx'"),
                                  # Og has no Magpie data: the forest would answer from nothing.
                                  ("LiOg2", "Li", "no magpie data for Og")):
        result = _electrode_ml("predict", formula, "--ion", ion, cwd=workspace)
        assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr

    # Spaces are stripped as `prepare` strips them; the models not trained are named, with the command.
    result = _electrode_ml("predict", " LiFePO4 ", "--ion", " Li", cwd=workspace)
    assert result.returncode == 0, result.stderr
    assert "not trained, so not predicted" in result.stderr and "train@modnet-voltage" in result.stderr
    for name, content, message in (("empty.csv", "", "empty.csv: empty file"),
                                   ("header.csv", "composition,working_ion\n", "header.csv: a header and no rows"),
                                   ("binary.csv", "\x00\x01\x02", "binary.csv")):
        (workspace / name).write_text(content)
        result = _electrode_ml("predict", "--csv", name, cwd=workspace)
        assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr, result.stderr


def _discovery_params(workspace) -> None:
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params.update({"candidates": {"max_candidates": 400}, "trust": {"neighbours": 10},
                   "screen": {"models": ["rf_magpie"], "rank_model": "rf_magpie", "partition_rows": 100},
                   "discovery": {"min_electrodes": 15, "repeats": 50, "calibration_folds": 2},
                   "compute": {"workers": 2}})
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))


@pytest.mark.slow  # the candidates and discovery stages through the command line on 150 rows
def test_candidates_and_the_discovery_benchmark_on_real_sample(magpie_workspace):
    workspace = magpie_workspace
    _discovery_params(workspace)
    electrodes = pd.read_csv(workspace / "results/prepared/electrodes.csv")
    result = _electrode_ml("candidates", cwd=workspace)
    assert result.returncode == 0, result.stderr
    candidates = pd.read_parquet(workspace / "results/candidates/candidates.parquet")
    metrics = json.loads((workspace / "results/candidates/metrics.json").read_text())
    assert len(candidates) == metrics["candidates.kept"] == 400  # the cap
    assert metrics["candidates.pool"] > 400
    known = set(zip(electrodes["composition"], electrodes["working_ion"]))
    assert not known & set(zip(candidates["composition"], candidates["working_ion"]))
    assert set(candidates["parent_battery_id"]) <= set(electrodes["battery_id"])
    generated = pd.read_parquet(workspace / "results/candidates/generated.parquet")
    assert len(generated) == metrics["candidates.ion_swap.generated"] + metrics["candidates.substitution.generated"]

    result = _electrode_ml("discovery", cwd=workspace)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((workspace / "results/discovery/metrics.json").read_text())
    counts = electrodes["working_ion"].value_counts()
    ions = sorted(counts[counts >= 15].index)
    assert metrics["discovery.ions"] == len(ions) >= 2
    scores = pd.read_csv(workspace / "results/discovery/scores.csv")
    assert sorted(scores["ion"].unique()) == ions
    for ion in ions:
        assert metrics[f"discovery.{ion}.hidden"] == counts[ion]
        labelled = scores[(scores["ion"] == ion) & (scores["test"] == "labelled")]
        assert set(labelled["ranking"]) == {"point", "lower", "upper", "control", "random"}
        assert (labelled["daf_low"] <= labelled["daf_high"]).all()
    marked = pd.read_csv(workspace / "results/discovery/candidates.csv", keep_default_na=False)
    # Every candidate of a hidden ion comes from a parent of another ion, and re-creates only hidden electrodes.
    parent_ion = marked["parent_battery_id"].map(electrodes.set_index("battery_id")["working_ion"])
    assert (marked["working_ion"] == marked["hidden_ion"]).all() and (parent_ion != marked["hidden_ion"]).all()
    recreated = {battery_id for ids in marked["recreates"] for battery_id in ids.split()}
    assert recreated <= set(electrodes.loc[electrodes["working_ion"].isin(ions), "battery_id"])
    assert metrics["discovery.verdict"].startswith("Labelled test:")

    # A second model beside the rank model (the control, fitted in this process rather than in the
    # workers): each scored on the same sets, with the same baselines, the rank model's rows unchanged.
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["profiles"]["quick"]["discovery"] = {"models": ["rf_magpie", "control"]}
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))
    result = _electrode_ml("discovery", cwd=workspace)
    assert result.returncode == 0, result.stderr
    both = pd.read_csv(workspace / "results/discovery/scores.csv")
    assert set(both["model"]) == {"rf_magpie", "control"}
    pd.testing.assert_frame_equal(both[both["model"] == "rf_magpie"].reset_index(drop=True), scores)
    control = both[both["model"] == "control"].set_index(["ion", "test", "ranking"])
    for ion, test in control.index.droplevel("ranking").unique():
        # The control predicts one value for every electrode: its point ranking is random order, DAF 1.
        assert control.loc[(ion, test, "point"), "daf"] == pytest.approx(1.0)
        assert control.loc[(ion, test, "random"), "daf_high"] == \
            both.set_index(["ion", "test", "model", "ranking"]).loc[(ion, test, "rf_magpie", "random"), "daf_high"]
    errors = pd.read_csv(workspace / "results/discovery/errors.csv")
    assert set(errors["model"]) == {"rf_magpie", "control"}
    params["profiles"]["quick"]["discovery"] = {"models": ["control"]}  # without the rank model: refused by name
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))
    result = _electrode_ml("discovery", cwd=workspace)
    assert result.returncode != 0 and "must include screen.rank_model (rf_magpie)" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_hidden_electrode_reaches_what_the_discovery_benchmark_learns_from(magpie_workspace, monkeypatch):
    """Spies on the four things the benchmark learns from (training, interval calibration, domain,
    hit threshold): for each hidden ion, none of its electrodes may reach any of them. Fails when
    the split leaks (tried: hiding nothing from the fits, or taking the threshold over every electrode)."""
    from electrode_ml import paths as paths_module
    from electrode_ml.screening.generation import CandidateParams
    from electrode_ml.stages import candidates as candidates_stage
    from electrode_ml.stages import discovery

    workspace = magpie_workspace
    monkeypatch.chdir(workspace)
    _discovery_params(workspace)
    candidates_stage.run(CandidateParams(max_candidates=400), paths_module.ELECTRODES, paths_module.PAIRS,
                         paths_module.CANDIDATES)
    seen: dict[str, set] = {"training": set(), "calibration": set(), "domain": set(), "hit_threshold": set()}

    def in_process(function, items, compute, shared=(), sizes=None, **_):
        for _, ids, _ in items:
            seen["training"].update(ids)
        return [function(item, *shared) for item in items]

    def spied_calibrate(predictions, *arguments):
        seen["calibration"].update(predictions["battery_id"])
        return calibrate(predictions, *arguments)

    class SpiedDomain(discovery.Domain):
        @classmethod
        def fit(cls, X, *arguments, **keywords):
            seen["domain"].update(X.index)
            return Domain.fit(X, *arguments, **keywords)

    def spied_threshold(visible_objective, quantile):
        seen["hit_threshold"].update(electrodes.loc[visible_objective.index, "battery_id"])
        return hit_threshold(visible_objective, quantile)

    calibrate, Domain, hit_threshold, qualifying_ions = (discovery.calibrate, discovery.Domain, discovery.hit_threshold,
                                                         discovery.qualifying_ions)
    electrodes = pd.read_csv(paths_module.ELECTRODES)
    monkeypatch.setattr(discovery, "map_in_workers", in_process)
    monkeypatch.setattr(discovery, "calibrate", spied_calibrate)
    monkeypatch.setattr(discovery, "Domain", SpiedDomain)
    monkeypatch.setattr(discovery, "hit_threshold", spied_threshold)
    # One ion at a time, so that what each part saw belongs to that ion's benchmark.
    for ion in qualifying_ions(electrodes["working_ion"], 15):
        for part in seen.values():
            part.clear()
        monkeypatch.setattr(discovery, "qualifying_ions", lambda ions, minimum, ion=ion: [ion])
        discovery.run(Path("params.yaml"), paths_module.ELECTRODES, paths_module.feature_table("magpie"),
                      paths_module.MODEL_INPUTS, paths_module.FEATURE_NAN_COUNTS, paths_module.CANDIDATES_GENERATED,
                      workspace / "results/discovery")
        hidden = set(electrodes.loc[electrodes["working_ion"] == ion, "battery_id"])
        visible = set(electrodes["battery_id"]) - hidden
        for part, ids in seen.items():
            assert ids and not ids & hidden, f"{part} saw {len(ids & hidden)} hidden {ion} electrodes"
            assert ids <= visible
        used = pd.read_csv(workspace / "results/discovery/used.csv")
        assert not set(used["battery_id"]) & hidden


class RidgeMagpie(RegressorMixin, BaseEstimator):
    """A fifth model, defined here: ridge regression on the Magpie features."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def fit(self, X, y):
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.columns_ = [column for column in X.columns if column.startswith("magpie|")]
        self.pipeline_ = make_pipeline(StandardScaler(), Ridge(alpha=self.alpha)).fit(X[self.columns_], y)
        return self

    def predict(self, X):
        return self.pipeline_.predict(X[self.columns_])


def test_a_fifth_model_needs_one_class_one_registry_line_and_one_params_block(magpie_workspace, monkeypatch):
    """docs/pipeline.md "Adding a model or a target": the registry, a params block, the class; nothing else."""
    from electrode_ml.models import registry as models
    from electrode_ml.stages import cv, inputs

    workspace = magpie_workspace
    monkeypatch.setattr(models, "MODELS", dict(models.MODELS))
    monkeypatch.setattr(models, "DISPLAY_NAMES", dict(models.DISPLAY_NAMES))
    models.register("ridge_magpie", RidgeMagpie, "Ridge@Magpie", input_sets=("magpie",))  # the registry line
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["profiles"]["quick"]["ridge_magpie"] = {"alpha": 3.0}                         # the params block
    params["models"].append("ridge_magpie")                                              # and its key in `models`
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))

    # The pipeline's own stages, in DVC's order: the models' input folders, then the new model's cell.
    electrodes = workspace / "results/prepared/electrodes.csv"
    inputs.run(params["models"], electrodes, workspace / "results/features", workspace / "results/inputs")
    assert sorted(p.name for p in (workspace / "results/inputs/ridge_magpie").iterdir()) == ["electrodes.csv", "magpie.parquet"]
    shutil.rmtree(workspace / "results/features")  # a cell reads its model's input folder, nothing else
    out = workspace / "results/cv/ridge_magpie/voltage/stratified5"
    metrics = cv.run_cell("ridge_magpie", "voltage", "stratified5", workspace / "params.yaml", electrodes,
                          workspace / "results/inputs", workspace / "results/folds", out)
    assert metrics["ridge_magpie.voltage.stratified5.folds"] == 5
    assert 0 < metrics["ridge_magpie.voltage.stratified5.smae"] < 1.5
    assert json.loads((out / "run.json").read_text())["hyperparameters"]["alpha"] == 3.0
    assert len(pd.read_csv(out / "predictions.csv")) == len(pd.read_csv(workspace / "results/prepared/electrodes.csv"))
    with pytest.raises(ValueError, match="registered already"):
        models.register("ridge_magpie", RidgeMagpie, "Ridge@Magpie", input_sets=("magpie",))


def test_a_new_target_needs_one_registry_line_and_its_key_in_params(workspace, tmp_path_factory):
    """docs/pipeline.md "Adding a model or a target": a copy of the package whose TARGET_REGISTRY gains one
    line (gravimetric energy, a column of the Battery Explorer data) runs prepare, inputs, folds
    and a cv cell for it, with the key added to `targets:` and nothing else changed."""
    source = tmp_path_factory.mktemp("package")
    shutil.copytree(Path(electrode_ml.__file__).parent, source / "electrode_ml")
    data_module = source / "electrode_ml" / "data" / "targets.py"
    registry = data_module.read_text()
    start = registry.index("TARGET_REGISTRY = {")
    end = registry.index(")}", start)
    data_module.write_text(registry[:end] + (
        '    Target("grav_energy", "energy_grav_Wh_kg", "Gravimetric Energy", "Grav. energy (Wh/kg)", "Wh/kg",\n'
        '           "gravimetric_energy", 1, False, (-20000.0, 20000.0)),\n') + registry[end:])
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["featurize"]["representations"] = ["magpie"]
    params.update({"folds": {"n_splits": 5, "seed": 42}, "seed": 42, "profile": "quick", "models": ["rf_magpie"],
                   "targets": ["voltage", "grav_energy"], "schemes": ["stratified5"],
                   "profiles": {"quick": {"rf_magpie": {"n_estimators": 30}}}})
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))
    environment = {**os.environ, "PYTHONPATH": str(source), "PYTHONWARNINGS": "ignore"}
    for command in (["prepare"], ["featurize"], ["inputs"], ["folds"],
                    ["cv", "--model", "rf_magpie", "--target", "grav_energy", "--scheme", "stratified5"]):
        result = subprocess.run([sys.executable, "-m", "electrode_ml.cli", *command], cwd=workspace,
                                capture_output=True, text=True, env=environment)
        assert result.returncode == 0, result.stderr
    assert "energy_grav_Wh_kg" in pd.read_csv(workspace / "results/prepared/electrodes.csv").columns
    assert "energy_grav_Wh_kg" not in pd.read_csv(workspace / "results/inputs/rf_magpie/electrodes.csv").columns
    metrics = json.loads((workspace / "results/cv/rf_magpie/grav_energy/stratified5/metrics.json").read_text())
    assert 0 < metrics["rf_magpie.grav_energy.stratified5.smae"] < 1.5
