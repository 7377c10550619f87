"""The report stage on a small synthetic results set made here: every file, the tolerance rule, the index."""
import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from electrode_ml.reporting.tables import load_predictions, metrics_without_outliers, within_combined_two_sigma
from electrode_ml.stages import report as report_stage

MODELS = ["control", "rf_magpie", "modnet", "crabnet"]
TARGETS = ["grav_capacity", "vol_capacity", "voltage"]
SCHEMES = ["stratified5", "loco"]
IONS = ["Li", "Na", "Mg"]


def _write_json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture
def synthetic(tmp_path):
    rng = np.random.default_rng(0)
    n = 90
    electrodes = pd.DataFrame({
        "battery_id": [f"b{i}" for i in range(n)], "composition": [f"Li{i % 7 + 1}CoO2" for i in range(n)],
        "working_ion": [IONS[i % 3] for i in range(n)], "group": range(n),
        "capacity_grav_mAh_g": rng.uniform(50, 300, n), "capacity_vol_mAh_cm3": rng.uniform(200, 1200, n),
        "voltage_avg_V": rng.uniform(0.5, 4.5, n)})
    paths = report_stage.Paths(
        electrodes=tmp_path / "prepared/electrodes.csv", prepare_summary=tmp_path / "prepared/summary.json",
        featurize_timings=tmp_path / "features/timings.json", clusters=tmp_path / "clusters/clusters.csv",
        feature_metrics=tmp_path / "features/metrics.json", cluster_metrics=tmp_path / "clusters/metrics.json",
        cluster_timings=tmp_path / "clusters/timings.json", cv=tmp_path / "cv", bootstrap=tmp_path / "bootstrap",
        repeated_cv=tmp_path / "repeated_cv", models=tmp_path / "models",
        published=report_stage.Paths().published.resolve(), paper=tmp_path / "paper", timings=tmp_path / "timings.json",
        learning_curves=tmp_path / "learning_curves.csv")
    paths.electrodes.parent.mkdir(parents=True)
    electrodes.to_csv(paths.electrodes, index=False)
    _write_json(paths.prepare_summary, {"rows_dropped": 0})
    timing = {"seconds": 1.0, "device": "cpu: test", "python": "3.11", "finished_at": "2026-01-01T00:00:00+00:00"}
    _write_json(paths.featurize_timings, {**timing, "magpie_seconds": 1.0, "modnet_seconds": 2.0})
    _write_json(paths.cluster_timings, {**timing, "tsne_seconds": 1.0})
    _write_json(paths.feature_metrics, {"modnet.features": 285})
    _write_json(paths.cluster_metrics, {"n_clusters": 2, "noise_share": 0.11})
    paths.clusters.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"cluster": [-1, 0, 1], "size": [10, 50, 30], "representative": ["", "LiCoO2", "Li2CoO2"]}).to_csv(
        paths.clusters, index=False)
    run = {"fits": 5, "profile": "quick", "versions": {"torch": "2.13.0"}}
    folds_of = {"stratified5": np.arange(n) % 5, "loco": np.array([0] * 50 + [1] * 30 + [2] * 10)}
    for model_number, model in enumerate(MODELS):
        for target, column in zip(TARGETS, ["capacity_grav_mAh_g", "capacity_vol_mAh_cm3", "voltage_avg_V"]):
            for scheme in SCHEMES:
                cell = paths.cv / model / target / scheme
                truth = electrodes[column].to_numpy()
                noise = truth.std() * (1.0 if model == "control" else 0.2 * (model_number + 1))
                prediction = truth + rng.normal(scale=noise, size=n)
                folds = folds_of[scheme]
                cell.mkdir(parents=True)
                pd.DataFrame({"battery_id": electrodes["battery_id"], "fold": folds, "y_true": truth,
                              "y_pred": prediction, "y_pred_control": truth.mean()}).to_csv(
                    cell / "predictions.csv", index=False)
                fold_table = pd.DataFrame({"fold": np.unique(folds), "n": np.bincount(folds)})
                fold_table["mae"] = [np.abs(truth - prediction)[folds == f].mean() for f in fold_table["fold"]]
                fold_table["r2"] = 0.5
                fold_table["control_mae"] = truth.std()
                fold_table.to_csv(cell / "folds.csv", index=False)
                pd.DataFrame({"working_ion": IONS, "n": [30, 30, 30], "mae": rng.uniform(1, 2, 3)}).to_csv(
                    cell / "by_ion.csv", index=False)
                prefix = f"{model}.{target}.{scheme}"
                smae = 1.0 if model == "control" else 0.2 * (model_number + 1)
                _write_json(cell / "metrics.json", {
                    f"{prefix}.mae": smae * 80, f"{prefix}.mae_2sigma": 10.0, f"{prefix}.smae": smae,
                    f"{prefix}.smae_2sigma": 0.1, f"{prefix}.r2": 1 - smae, f"{prefix}.r2_2sigma": 0.2})
                _write_json(cell / "run.json", run)
                _write_json(cell / "timings.json", timing)
            curve = paths.bootstrap / model / target
            curve.mkdir(parents=True)
            pd.DataFrame({"fraction": [0.5, 1.0], "n_train": [30, 60], "repeats": [2, 2], "mae": [2.0, 1.0], "mae_2sigma": [0.2, 0.1]}
                         ).to_csv(curve / "summary.csv", index=False)
            _write_json(curve / "run.json", run)
            _write_json(curve / "metrics.json", {f"{model}.{target}.bootstrap.mae_full": 1.0})
            _write_json(curve / "timings.json", timing)
            inputs = {"input": f"{model} inputs", "offered": 10 * model_number, "unit": "features",
                      "used": 10 * model_number - TARGETS.index(target)}
            _write_json(paths.models / model / target / "run.json", {**run, "fits": 1, "inputs": inputs})
            _write_json(paths.models / model / target / "timings.json", timing)
    for model in ("control", "rf_magpie"):
        for target in TARGETS:
            prefix = f"{model}.{target}.stratified5_repeated"
            _write_json(paths.repeated_cv / model / target / "metrics.json", {
                f"{prefix}.smae": 0.5, f"{prefix}.smae_2sigma_over_draws": 0.04, f"{prefix}.mae": 40.0,
                f"{prefix}.mae_2sigma_over_draws": 3.0, f"{prefix}.r2": 0.6, f"{prefix}.draws": 5, f"{prefix}.smae_range": 0.05})
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"report": {"equivalence_margin": 0.05},
                                      "repeated_cv": {"models": ["control", "rf_magpie"]},
                                      "models": MODELS, "targets": TARGETS, "schemes": SCHEMES, "seed": 1,
                                      "profile": "quick", "profiles": {"quick": {}}}))
    return params, paths


def test_report_writes_every_listed_file(synthetic):
    params, paths = synthetic
    report_stage.run(params, paths)
    tables = paths.paper / "tables"
    for stem in ("results_stratified5", "results_loco", "results_stratified5_without_outliers",
                 "results_loco_without_outliers", "loco_per_cluster", "per_ion", "clusters", "dataset",
                 "comparison_published", "input_sizes"):
        for suffix in (".md", ".tex", ".csv"):
            assert (tables / f"{stem}{suffix}").stat().st_size > 0, stem + suffix
    assert "\\toprule" in (tables / "results_loco.tex").read_text()
    per_cluster = pd.read_csv(tables / "loco_per_cluster.csv")
    assert "(noise)" in set(per_cluster["representative"])  # the noise fold is reported, not dropped
    for stem in ("parity_stratified5", "parity_loco", "smae_stratified5", "smae_loco", "per_ion_stratified5",
                 "per_ion_loco", "learning_curves", "loco_per_cluster"):
        for suffix in (".png", ".pdf"):
            assert (paths.paper / "figures" / "evaluation" / f"{stem}{suffix}").stat().st_size > 5_000
    reproduction = (paths.paper / "REPRODUCTION.md").read_text()
    assert "36 published cells compared" in reproduction
    assert reproduction.split("## Agreement")[0].count("| CrabNet |") == 9
    assert "Control, Grav. capacity (mAh/g): SMAE 2 sigma printed 0.663" in reproduction
    assert "MODNet, Voltage (V): SMAE printed 0.489, but MAE 1.129 / control MAE 2.292 = 0.4926" in reproduction
    for section in ("Agreement as a test that can fail", "Which model is best", "each cluster equal, or each electrode",
                    "Fold-choice noise"):
        assert section in reproduction
    equivalence = pd.read_csv(tables / "equivalence.csv")
    assert len(equivalence) == 2 * 9 and set(equivalence["verdict"]) <= {"equivalent", "different", "undecided"}
    assert "device" not in reproduction.lower() or "timings.md" in reproduction
    assert "cpu: test" in (paths.paper / "timings.md").read_text()
    assert "profile **quick**" in reproduction
    results = pd.read_csv(tables / "results_stratified5.csv")
    assert list(results["Model"]) == ["Control", "RF@Magpie", "MODNet", "CrabNet"]
    sizes = pd.read_csv(tables / "input_sizes.csv")
    assert list(sizes["model"]) == ["Control", "RF@Magpie", "MODNet", "CrabNet"]
    assert list(sizes.iloc[3, -len(TARGETS):]) == [30 - position for position in range(len(TARGETS))]  # per target
    timings = json.loads(paths.timings.read_text())
    assert timings["cv.crabnet.fits"] == 30 and timings["train.crabnet.fits"] == 3
    curves = pd.read_csv(paths.learning_curves)  # what `make plots` draws: every model, every target
    assert len(curves.groupby(["model", "target"])) == 4 * len(TARGETS)
    assert set(curves["model"]) == {"Control", "RF@Magpie", "MODNet", "CrabNet"}


def test_the_report_keeps_every_metric_in_git_by_the_path_dvc_names_its_file(synthetic):
    """paper/metrics.json (git-tracked) holds every metrics file's values: what `verify` compares a
    run with on a clone whose DVC cache has none of the committed results."""
    params, paths = synthetic
    report_stage.run(params, paths)
    kept = json.loads((paths.paper / "metrics.json").read_text())
    assert len(kept) == 3 + len(MODELS) * len(TARGETS) * (len(SCHEMES) + 1) + 2 * len(TARGETS)
    assert kept["results/clusters/metrics.json"] == {"n_clusters": 2, "noise_share": 0.11}
    cell = json.loads((paths.cv / "modnet" / "voltage" / "loco" / "metrics.json").read_text())
    assert kept["results/cv/modnet/voltage/loco/metrics.json"] == cell
    assert "results/repeated_cv/rf_magpie/voltage/metrics.json" in kept
    assert "results/bootstrap/crabnet/grav_capacity/metrics.json" in kept


def test_every_file_in_paper_is_in_the_index(synthetic):
    params, paths = synthetic
    maps = paths.paper / "figures" / "maps"
    maps.mkdir(parents=True)
    for suffix in (".png", ".pdf"):
        (maps / f"tsne_clusters{suffix}").write_bytes(b"figure")
    report_stage.run(params, paths)
    index = (paths.paper / "README.md").read_text()
    linked = set(re.findall(r"\]\(([^)]+)\)", index))
    on_disk = {path.relative_to(paths.paper).as_posix() for path in paths.paper.rglob("*")
               if path.is_file() and path.name not in ("README.md", "REPRODUCTION.md")}
    assert on_disk - linked == set()
    # ...and every declared item is written and indexed (of the cluster stage's maps, the one made here).
    items = {line.split(" | ")[0].removeprefix("| ") for line in index.splitlines()
             if line.startswith("| ") and not line.startswith("| Item |")}
    declared = {artefact.stem.format(scheme=scheme) for artefact in report_stage.ARTEFACTS.values()
                for scheme in ("stratified5", "loco")}
    assert items == {stem for stem in declared
                     if not stem.startswith("figures/maps/") or stem == "figures/maps/tsne_clusters"}
    assert "beyond mean +- 2 sigma of the target" in index  # a description's fields are filled


def test_the_committed_paper_folder_is_fully_indexed():
    paper = report_stage.Paths().paper.resolve()
    if not (paper / "README.md").exists():
        pytest.skip("no committed report yet")
    linked = set(re.findall(r"\]\(([^)]+)\)", (paper / "README.md").read_text()))
    # Top-level documents (README, REPRODUCTION, PERFORMANCE) are prose, not figures or tables.
    on_disk = {path.relative_to(paper).as_posix() for path in paper.rglob("*")
               if path.is_file() and path.parent != paper}
    assert on_disk - linked == set()


@pytest.mark.parametrize(
    ("ours", "ours_2s", "published", "published_2s", "inside"),
    [(0.30, 0.03, 0.284, 0.0, True), (0.30, 0.03, 0.25, 0.03, False), (0.30, 0.03, 0.25, 0.04, True),
     (1.0, 0.0, 1.0, 0.0, True)],
)
def test_a_cell_matches_only_inside_the_combined_two_sigma(ours, ours_2s, published, published_2s, inside):
    # combined: sqrt(0.03^2 + 0.03^2) = 0.0424 < 0.05; sqrt(0.03^2 + 0.04^2) = 0.05
    assert within_combined_two_sigma(ours, ours_2s, published, published_2s) is inside


def test_every_cited_key_is_in_the_bibliography():
    bibliography = (report_stage.Paths().paper / "references.bib").resolve().read_text()
    keys = set(re.findall(r"^@\w+\{([^,]+),", bibliography, flags=re.MULTILINE))
    assert {key for _, key in report_stage.REFERENCES} <= keys


def test_scoring_without_outliers_leaves_out_only_the_far_targets(tmp_path):
    n = 40
    voltage = 3 + 0.3 * np.sin(np.arange(n))
    voltage[7] = 50.0  # the one electrode beyond mean +- 2 sigma
    electrodes = pd.DataFrame({"battery_id": [f"b{i}" for i in range(n)], "voltage_avg_V": voltage})
    for model in ("control", "rf_magpie"):
        cell = tmp_path / model / "voltage" / "stratified5"
        cell.mkdir(parents=True)
        prediction = np.full(n, voltage.mean()) if model == "control" else voltage + 0.1
        prediction[7] = 3.0  # missed by 47 V
        pd.DataFrame({"battery_id": electrodes["battery_id"], "fold": np.arange(n) % 5, "y_true": voltage,
                      "y_pred": prediction, "y_pred_control": voltage.mean()}).to_csv(cell / "predictions.csv", index=False)
    predictions = load_predictions(tmp_path, ["control", "rf_magpie"], ["voltage"], ["stratified5"])
    metrics, left_out = metrics_without_outliers(predictions, electrodes, sigma=2)
    assert left_out == {"voltage": 1}
    value = metrics.set_index(["model", "metric"])["value"]
    assert value["rf_magpie", "mae"] == pytest.approx(0.1)  # the 47 V miss is not scored
    assert value["control", "smae"] == pytest.approx(1.0)
    assert value["rf_magpie", "smae"] == pytest.approx(0.1 / np.abs(np.delete(voltage, 7) - voltage.mean()).mean(), rel=0.05)
    _, none_left_out = metrics_without_outliers(predictions, electrodes, sigma=10)
    assert none_left_out == {"voltage": 0}
