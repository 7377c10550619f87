"""The report stage on a small synthetic results set made here: every file, the tolerance rule, the index."""
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from electrode_ml.reporting.tables import (
    TARGET_TITLES,
    load_predictions,
    metrics_without_outliers,
    within_combined_two_sigma,
)
from electrode_ml import paths as paths_module
from electrode_ml.evaluation.conformal import TrustParams
from electrode_ml.screening.retrospective import scored_rankings, verdict
from electrode_ml.screening.screener import RANKING, SCREENED, ScreenParams, rank, screening_metrics
from electrode_ml.stages import domain as domain_stage
from electrode_ml.stages import report as report_stage
from electrode_ml.stages import trust as trust_stage

MODELS = ["control", "rf_magpie", "modnet", "crabnet"]
MODEL_NAMES = {"control": "Control", "rf_magpie": "RF@Magpie", "modnet": "MODNet", "crabnet": "CrabNet"}
MODEL_KEYS = {name: model for model, name in MODEL_NAMES.items()}
TARGETS = ["grav_capacity", "vol_capacity", "voltage"]
SCHEMES = ["stratified5", "loco"]
IONS = ["Li", "Na", "Mg"]
TARGET_KEYS = {title: target for target, title in TARGET_TITLES.items()}
TARGET_COLUMNS = {"grav_capacity": "capacity_grav_mAh_g", "vol_capacity": "capacity_vol_mAh_cm3",
                  "voltage": "voltage_avg_V"}
# Electrode b0's voltage, far beyond mean + 2 sigma of the others (uniform on 0.5-4.5 V): the one outlier.
OUTLIER_VOLTAGE = 40.0


def _write_json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def write_synthetic_results(root: Path):
    """Every input of the report stage under `root`; returns (params.yaml, the stage's Paths)."""
    rng = np.random.default_rng(0)
    n = 90
    electrodes = pd.DataFrame({
        "battery_id": [f"b{i}" for i in range(n)], "composition": [f"Li{i % 7 + 1}CoO2" for i in range(n)],
        "working_ion": [IONS[i % 3] for i in range(n)], "group": range(n),
        "capacity_grav_mAh_g": rng.uniform(50, 300, n), "capacity_vol_mAh_cm3": rng.uniform(200, 1200, n),
        "voltage_avg_V": rng.uniform(0.5, 4.5, n)})
    electrodes.loc[0, "voltage_avg_V"] = OUTLIER_VOLTAGE
    paths = report_stage.Paths(
        electrodes=root / "prepared/electrodes.csv", prepare_summary=root / "prepared/summary.json",
        featurize_timings=root / "features/timings.json", clusters=root / "clusters/clusters.csv",
        feature_metrics=root / "features/metrics.json", cluster_metrics=root / "clusters/metrics.json",
        cluster_timings=root / "clusters/timings.json", cv=root / "cv", bootstrap=root / "bootstrap",
        repeated_cv=root / "repeated_cv", models=root / "models", trust=root / "trust",
        domain_metrics=root / "trust" / "metrics.json",
        published=report_stage.Paths().published.resolve(), paper=root / "paper", timings=root / "timings.json",
        learning_curves=root / "learning_curves.csv", candidates=root / "candidates", screen=root / "screen",
        discovery=root / "discovery")
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
    # LOCO: one fold per cluster, then DBSCAN's noise as the last fold (clustering.loco_folds).
    folds_of = {"stratified5": np.arange(n) % 5, "loco": np.array([0] * 50 + [1] * 30 + [2] * 10)}
    for model_number, model in enumerate(MODELS):
        for target, column in TARGET_COLUMNS.items():
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
                fold_table["control_mae"] = [np.abs(truth - truth.mean())[folds == f].mean()
                                             for f in fold_table["fold"]]
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
    # The domain and trust stages themselves, on made-up features of the same electrodes.
    magpie = pd.DataFrame(rng.normal(size=(n, 4)), index=electrodes["battery_id"], columns=[f"f{i}" for i in range(4)])
    magpie.to_parquet(root / "magpie.parquet")
    (root / "folds").mkdir()
    for scheme, folds in folds_of.items():
        pd.DataFrame({"battery_id": electrodes["battery_id"], "fold": folds}).to_csv(root / "folds" / f"{scheme}.csv",
                                                                                      index=False)
    trust = TrustParams(neighbours=10)
    domain_stage.run(trust, paths.electrodes, root / "magpie.parquet", root / "folds", paths.trust)
    trust_stage.run(list(MODELS), list(TARGETS), trust, root / "magpie.parquet", paths.trust / "novelty.csv", paths.cv,
                    paths.trust)
    write_synthetic_screening(root, paths, rng)
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump({"report": {"equivalence_margin": 0.05}, "trust": {"neighbours": 10},
                                      "screen": {"top_per_ion": 3}, "discovery": {"repeats": 50},
                                      "repeated_cv": {"models": ["control", "rf_magpie"]},
                                      "models": MODELS, "targets": TARGETS, "schemes": SCHEMES, "seed": 1,
                                      "profile": "quick", "profiles": {"quick": {}}}))
    return params, paths


def write_synthetic_screening(root: Path, paths, rng, candidates: int = 40):
    """The candidates, screen and discovery stages' outputs: screened partitions as the screen
    stage writes them (CrabNet ranks on the lower bound of the gravimetric energy density)."""
    screened = pd.DataFrame({"row": np.arange(1, candidates + 1),
                             "composition": [f"Li{i + 1}Mn{i % 3 + 1}O4" for i in range(candidates)],
                             "working_ion": [IONS[i % 3] for i in range(candidates)],
                             "rule": ["ion_swap", "substitution"] * (candidates // 2), "change": "Li->Na",
                             "parent_battery_id": "b1", "probability": np.nan})
    screened["discharged_composition"] = screened["composition"]
    screened["charged_composition"] = [f"Mn{i % 3 + 1}O4" for i in range(candidates)]
    screened["inserted_ions"], screened["redox_couple"] = 1.0, "Mn3+/Mn4+"
    for target, centre in (("voltage_V", 3.0), ("grav_capacity_mAh_g", 150.0)):
        values = rng.uniform(0.5, 1.5, candidates) * centre
        screened[f"crabnet_{target}"] = values
        screened[f"crabnet_{target}_lower"], screened[f"crabnet_{target}_upper"] = values * 0.8, values * 1.2
    energy = screened["crabnet_voltage_V"] * screened["crabnet_grav_capacity_mAh_g"]
    screened["crabnet_grav_energy_Wh_kg"] = energy
    screened["crabnet_grav_energy_Wh_kg_lower"], screened["crabnet_grav_energy_Wh_kg_upper"] = energy * 0.6, energy * 1.4
    screened["novelty"] = rng.uniform(1, 10, candidates)
    screened["unseen_elements"] = ""
    screened["in_domain"] = screened["novelty"] < 8
    screened["crabnet_in_window"] = screened["row"] != 1  # one candidate predicted outside the voltage window
    (paths.screen / SCREENED).mkdir(parents=True)
    for number, part in enumerate(np.array_split(screened, 2)):
        part.to_parquet(paths.screen / SCREENED / f"part-{number:05d}.parquet", index=False)
    screen_params = ScreenParams(partition_rows=20, top_per_ion=3)
    ranking = rank(paths.screen / SCREENED, screen_params)
    ranking.to_parquet(paths.screen / RANKING, index=False)
    summary = {"rows": candidates + 2, "screened": candidates, "ranked": len(ranking),
               "outside_window": candidates - len(ranking), "rejected": 2}
    _write_json(paths.screen / "metrics.json", screening_metrics(summary, ranking, screen_params))
    _write_json(paths.candidates / "metrics.json", {
        "candidates.kept": candidates, "candidates.kept.ion_swap": candidates // 2,
        "candidates.kept.substitution": candidates // 2, "candidates.duplicates_of_known": 7,
        "candidates.duplicates_of_each_other": 3, "candidates.capped": 0, "candidates.parents": 10,
        "candidates.ion_swap.generated": 30, "candidates.substitution.generated": 25, "candidates.novel": 45,
        "candidates.failed.charged_balance": 2, "candidates.failed.discharged_balance": 1,
        "candidates.failed.redox_couple": 2, "candidates.pool": 40, "candidates.known.balanced_charged": 9,
        "candidates.known.balanced_discharged": 9, "candidates.known.balanced_both": 8,
        "candidates.known.with_redox_couple": 9, "candidates.known.alloy": 1,
        "candidates.known.without_couple.too_many_sites": 0, "candidates.known.without_couple.no_guess_discharged": 0,
        "candidates.known.without_couple.no_guess_charged": 1, "candidates.known.without_couple.no_state_change": 0,
        "candidates.known.without_couple.no_charge_carrier": 0})
    rng = np.random.default_rng(3)
    scores = []
    for ion in ("Na", "K"):
        hits = rng.random(60) < 0.3
        for model, noise in (("crabnet", 0.5), ("rf_magpie", 2.0)):  # the rank model, and a second beside it
            signal = hits + rng.normal(scale=noise, size=60)
            for test in ("labelled", "generation"):
                rankings = {"point": (signal, signal > 0.5), "lower": (signal - 0.2, None), "upper": (signal + 0.2, None),
                            "control": (np.zeros(60), np.zeros(60, dtype=bool)), "random": (np.zeros(60), None)}
                if test == "generation":
                    rankings["parent"] = (np.arange(60) % 7 / 7, None)
                scores.append(scored_rankings(rankings, hits, 0.1, 50, 0).assign(ion=ion, test=test, model=model,
                                                                                size=60, hits=int(hits.sum())))
    scores = pd.concat(scores, ignore_index=True)
    paths.discovery.mkdir(parents=True)
    scores.to_csv(paths.discovery / "scores.csv", index=False)
    pd.DataFrame({"ion": ["Na", "K", "K"], "model": ["crabnet", "crabnet", "rf_magpie"], "target": "voltage",
                  "electrodes": 60, "mae": [0.5, 0.7, 0.9], "smae": [0.8, 0.9, 1.1], "coverage": [0.85, 0.7, 0.6],
                  "level": 0.9}).to_csv(paths.discovery / "errors.csv", index=False)
    _write_json(paths.discovery / "metrics.json", {
        "discovery.ions": 2, "discovery.Na.hidden": 60, "discovery.Na.recreating": 12, "discovery.K.hidden": 60,
        "discovery.K.recreating": 9, "discovery.verdict": verdict(scores[scores["model"] == "crabnet"], "lower", "CrabNet")})


@pytest.fixture
def synthetic(tmp_path):
    return write_synthetic_results(tmp_path)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One report of the synthetic results, for the tests that only read what it wrote."""
    params, paths = write_synthetic_results(tmp_path_factory.mktemp("report"))
    report_stage.run(params, paths)
    return paths


def cell_inputs(paths, model, target, scheme):
    """A cv cell's metrics and out-of-fold predictions, as the synthetic inputs hold them."""
    cell = paths.cv / model / target / scheme
    return json.loads((cell / "metrics.json").read_text()), pd.read_csv(cell / "predictions.csv")


def read_table(paths, stem: str) -> pd.DataFrame:
    """A report table's CSV, once its Markdown and LaTeX are checked to hold as many rows and columns."""
    table = pd.read_csv(paths.paper / "tables" / f"{stem}.csv")
    markdown_rows = [line for line in (paths.paper / "tables" / f"{stem}.md").read_text().splitlines()
                     if line.startswith("|")]
    assert len(markdown_rows) == 2 + len(table), stem  # header and alignment rows first
    assert {row.count("|") - 1 for row in markdown_rows} == {table.shape[1]}, stem
    latex = (paths.paper / "tables" / f"{stem}.tex").read_text()
    assert len(re.search(r"\\begin\{tabular\}\{([lr]+)\}", latex).group(1)) == table.shape[1], stem
    body = latex.split("\\midrule")[1].split("\\bottomrule")[0]
    latex_rows = [line for line in body.splitlines() if line.strip()]
    assert len(latex_rows) == len(table), stem
    assert {len(re.findall(r"(?<!\\)&", row)) for row in latex_rows} == {table.shape[1] - 1}, stem
    return table


def printed(cell: str) -> tuple[float, float, float]:
    """'0.800 (0.100)' -> (0.8, 0.1, 0.0005): value, 2 sigma and the rounding of their last digit."""
    value, decimals, two_sigma = re.fullmatch(r"(-?\d+\.(\d+)) \((\d+\.\d+)\)", cell).groups()
    return float(value), float(two_sigma), 0.5 * 10 ** -len(decimals) + 1e-12


def test_every_table_is_written_as_markdown_latex_and_csv(report):
    rows = {"results_{scheme}": len(MODELS), "results_{scheme}_without_outliers": len(MODELS),
            "loco_per_cluster": len(TARGETS) * len(MODELS) * 3, "per_ion": len(SCHEMES) * len(TARGETS) * len(MODELS),
            "clusters": 3, "dataset": 3 + len(IONS) + len(TARGETS), "input_sizes": len(MODELS),
            "standard_errors": len(SCHEMES) * len(TARGETS) * len(MODELS),
            "equivalence": len(SCHEMES) * len(TARGETS) * (len(MODELS) - 1),
            "paired_differences": len(SCHEMES) * len(TARGETS) * math.comb(len(MODELS), 2),
            "ranks": len(SCHEMES) * len(TARGETS), "repeated_cv": 2 * len(TARGETS),
            "trust_coverage": len(MODELS) * len(TARGETS) * len(SCHEMES),
            "trust_clusters": len(MODELS) * len(TARGETS) * 3,
            "trust_novelty": len(pd.read_csv(report.paper / "tables" / "trust_novelty.csv")),
            "comparison_published": len(pd.read_csv(report.published)),
            "screen_top_candidates": 9, "discovery_scores": 44}
    listed = {artefact.stem.removeprefix("tables/") for artefact in report_stage.ARTEFACTS.values()
              if artefact.stem.startswith("tables/")}
    assert listed == set(rows)
    for stem, count in rows.items():
        for scheme in SCHEMES if "{scheme}" in stem else [None]:
            assert len(read_table(report, stem.format(scheme=scheme))) == count, stem


def test_results_tables_print_each_cells_metrics(report):
    for scheme in SCHEMES:
        table = read_table(report, f"results_{scheme}").set_index("Model")
        assert list(table.index) == list(MODEL_NAMES.values())
        for model, name in MODEL_NAMES.items():
            for target in TARGETS:
                metrics, _ = cell_inputs(report, model, target, scheme)
                for metric, title in (("mae", "MAE"), ("smae", "SMAE"), ("r2", "R2")):
                    value, two_sigma, rounding = printed(table.loc[name, f"{TARGET_TITLES[target]} {title}"])
                    prefix = f"{model}.{target}.{scheme}.{metric}"
                    assert value == pytest.approx(metrics[prefix], abs=rounding), prefix
                    assert two_sigma == pytest.approx(metrics[f"{prefix}_2sigma"], abs=rounding), prefix


def test_results_without_outliers_score_every_electrode_but_the_outlier(report):
    """MAE and SMAE recomputed here from the predictions: the mean over folds of each fold's MAE, the
    control's from its own predictions, b0 (the one outlier, of voltage) left out of voltage only."""
    for scheme in SCHEMES:
        table = read_table(report, f"results_{scheme}_without_outliers").set_index("Model")
        for model, name in MODEL_NAMES.items():
            for target in TARGETS:
                _, predictions = cell_inputs(report, model, target, scheme)
                if target == "voltage":
                    predictions = predictions[predictions["battery_id"] != "b0"]
                by_fold = predictions.groupby("fold")
                mae = by_fold.apply(lambda fold: (fold["y_true"] - fold["y_pred"]).abs().mean()).mean()
                control = by_fold.apply(lambda fold: (fold["y_true"] - fold["y_pred_control"]).abs().mean()).mean()
                printed_mae, _, mae_rounding = printed(table.loc[name, f"{TARGET_TITLES[target]} MAE"])
                printed_smae, _, smae_rounding = printed(table.loc[name, f"{TARGET_TITLES[target]} SMAE"])
                assert printed_mae == pytest.approx(mae, abs=mae_rounding), (scheme, model, target)
                assert printed_smae == pytest.approx(mae / control, abs=smae_rounding), (scheme, model, target)


def test_loco_per_cluster_table_holds_each_held_out_clusters_error(report):
    table = read_table(report, "loco_per_cluster")
    for target in TARGETS:
        for model in MODELS:
            _, predictions = cell_inputs(report, model, target, "loco")
            rows = table[(table["target"] == target) & (table["model"] == model)]
            assert list(rows["cluster"]) == [0, 1, -1]  # the noise fold is reported, not dropped
            assert list(rows["representative"]) == ["LiCoO2", "Li2CoO2", "(noise)"]
            assert list(rows["n"]) == [50, 30, 10]
            by_fold = predictions.groupby("fold")
            mae = by_fold.apply(lambda fold: (fold["y_true"] - fold["y_pred"]).abs().mean())
            control = by_fold.apply(lambda fold: (fold["y_true"] - fold["y_pred_control"]).abs().mean())
            np.testing.assert_allclose(rows["mae"], mae, atol=5e-5)
            np.testing.assert_allclose(rows["smae"], mae / control, atol=5e-5)  # against the control on that cluster


def test_per_ion_cluster_and_dataset_tables_hold_their_inputs(report):
    per_ion = read_table(report, "per_ion")
    # Ions with the most electrodes first; equal counts, as here, by name.
    assert list(per_ion.columns) == ["scheme", "target", "model", "Li", "Mg", "Na"]
    cells = [(scheme, TARGET_TITLES[target], MODEL_NAMES[model]) for scheme in SCHEMES for target in TARGETS
             for model in MODELS]
    assert sorted(zip(per_ion["scheme"], per_ion["target"], per_ion["model"])) == sorted(cells)
    for row in per_ion.itertuples(index=False):
        cell = report.cv / MODEL_KEYS[row.model] / TARGET_KEYS[row.target] / row.scheme
        by_ion = pd.read_csv(cell / "by_ion.csv").set_index("working_ion")["mae"]
        assert [row.Li, row.Mg, row.Na] == pytest.approx(list(by_ion[["Li", "Mg", "Na"]]), abs=5e-4)

    clusters = read_table(report, "clusters")
    pd.testing.assert_frame_equal(clusters.fillna({"representative": ""}), pd.read_csv(report.clusters).fillna(""))

    dataset = read_table(report, "dataset").set_index("quantity")["value"]
    electrodes = pd.read_csv(report.electrodes)
    assert dataset["electrodes (rows used)"] == "90" and dataset["rows set aside by prepare"] == "0"
    assert dataset["distinct compositions"] == "7"
    assert [dataset[f"working ion {ion}"] for ion in ("Li", "Mg", "Na")] == ["30 (33.3%)"] * 3
    for column in TARGET_COLUMNS.values():
        values = electrodes[column]
        numbers = [float(number) for number in re.findall(r"-?\d+\.?\d*(?:e[+-]?\d+)?", dataset[column])]
        assert numbers == pytest.approx([values.mean(), values.std(), values.min(), values.max()], rel=5e-3), column


def test_comparison_input_size_and_repeated_cv_tables_hold_their_inputs(report):
    published = pd.read_csv(report.published)
    comparison = read_table(report, "comparison_published")
    published_targets = {"gravimetric_capacity": "grav_capacity", "volumetric_capacity": "vol_capacity",
                         "average_voltage": "voltage"}
    assert len(comparison) == len(published)
    for ours, theirs in zip(comparison.itertuples(index=False), published.itertuples(index=False)):
        model, target, metric = MODEL_KEYS[theirs.model], published_targets[theirs.target], theirs.metric.lower()
        assert (ours.model, ours.target, ours.metric) == (model, target, metric)
        assert ours.published == pytest.approx(theirs.value)
        for scheme in SCHEMES:
            metrics, _ = cell_inputs(report, model, target, scheme)
            value, two_sigma = (metrics[f"{model}.{target}.{scheme}.{metric}{suffix}"] for suffix in ("", "_2sigma"))
            assert getattr(ours, scheme) == pytest.approx(value, abs=5e-5)
            assert getattr(ours, f"{scheme}_difference") == pytest.approx(value - theirs.value, abs=5e-5)
            inside = abs(value - theirs.value) <= math.hypot(two_sigma, theirs.two_sigma)
            assert getattr(ours, f"{scheme}_within") == inside

    sizes = read_table(report, "input_sizes")
    assert list(sizes["model"]) == list(MODEL_NAMES.values())
    for number, row in enumerate(sizes.itertuples(index=False)):
        assert (row.input, row.unit, row.offered) == (f"{MODELS[number]} inputs", "features", 10 * number)
        assert list(row[-len(TARGETS):]) == [10 * number - position for position in range(len(TARGETS))]  # per target

    repeated = read_table(report, "repeated_cv")
    assert list(zip(repeated["model"], repeated["target"])) == [(model, target) for model in ("control", "rf_magpie")
                                                                for target in TARGETS]
    assert set(repeated["smae"]) == {0.5} and set(repeated["draws"]) == {5} and set(repeated["mae"]) == {40.0}


def test_figures_are_images_at_their_printed_width(report):
    """Each evaluation figure: a PNG that decodes at 300 dpi to the figure function's printed width
    and is not blank, and a one-page PDF of the same size."""
    from matplotlib.image import imread

    from electrode_ml.reporting.plotting import FIGURE_WIDTHS_IN

    drawn_by = {"parity": "parity_grid", "smae": "smae_bars", "per_ion": "ion_errors",
                "learning_curves": "learning_curves", "loco_per_cluster": "cluster_heatmap",
                "error_by_novelty": "error_by_novelty", "objective_against_novelty": "objective_against_novelty"}
    stems = [artefact.stem.format(scheme=scheme) for artefact in report_stage.ARTEFACTS.values()
             if artefact.stem.startswith("figures/evaluation/") for scheme in SCHEMES]
    assert len(set(stems)) == 10
    for stem in sorted(set(stems)):
        name = Path(stem).name.removesuffix("_stratified5").removesuffix("_loco")
        width_in = FIGURE_WIDTHS_IN[drawn_by[name]]
        pixels = imread(report.paper / f"{stem}.png")
        assert pixels.shape[1] == round(width_in * 300) and pixels[..., :3].std() > 0.05, stem
        pdf = (report.paper / f"{stem}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type /Page\b", pdf)) == 1, stem
        box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
        assert float(box.group(1)) == pytest.approx(width_in * 72), stem
        assert float(box.group(2)) == pytest.approx(pixels.shape[0] / 300 * 72, abs=0.5), stem


def test_reproduction_and_timings_say_what_ran(report):
    reproduction = (report.paper / "REPRODUCTION.md").read_text()
    assert "36 published cells compared" in reproduction
    assert reproduction.split("## Agreement")[0].count("| CrabNet |") == 9
    assert "Control, Grav. capacity (mAh/g): SMAE 2 sigma printed 0.663" in reproduction
    assert "MODNet, Voltage (V): SMAE printed 0.489, but MAE 1.129 / control MAE 2.292 = 0.4926" in reproduction
    for section in ("Agreement as a test that can fail", "Which model is best", "each cluster equal, or each electrode",
                    "Fold-choice noise"):
        assert section in reproduction
    assert set(read_table(report, "equivalence")["verdict"]) <= {"equivalent", "different", "undecided"}
    # The device differs on every run: named in timings.md, which REPRODUCTION.md links, not in it.
    assert "cpu: test" not in reproduction and "[timings.md](timings.md)" in reproduction
    assert "cpu: test" in (report.paper / "timings.md").read_text()
    assert "profile **quick**" in reproduction
    timings = json.loads(report.timings.read_text())
    assert timings["cv.crabnet.fits"] == 30 and timings["train.crabnet.fits"] == 3
    curves = pd.read_csv(report.learning_curves)  # what `make plots` draws: every model, every target
    assert len(curves.groupby(["model", "target"])) == 4 * len(TARGETS)
    assert set(curves["model"]) == set(MODEL_NAMES.values())


def test_the_trust_page_and_tables_hold_the_trust_cells_numbers(report):
    coverage = pd.read_csv(report.paper / "tables" / "trust_coverage.csv")
    assert len(coverage) == len(MODELS) * len(TARGETS) * len(SCHEMES)
    page = (report.paper / "TRUST.md").read_text()
    metrics = json.loads((paths_module.trust_summary(report.trust) / "metrics.json").read_text())
    for row in coverage.itertuples():
        prefix = f"{MODEL_KEYS[row.model]}.{TARGET_KEYS[row.target]}.{row.scheme}.trust"
        for kind in ("plain", "distance", "residual"):
            assert getattr(row, f"coverage_{kind}") == pytest.approx(metrics[f"{prefix}.coverage_{kind}"], abs=1e-4)
        cells = [f"{metrics[f'{prefix}.coverage_{kind}']:.1%} ({metrics[f'{prefix}.width_{kind}']:.3g})"
                 for kind in ("plain", "distance", "residual")]
        assert f"| {row.model} | {row.target} | {row.scheme} | " + " | ".join(cells) in page
    novelty = pd.read_csv(report.paper / "tables" / "trust_novelty.csv")
    assert novelty.groupby(["model", "target", "scheme"])["electrodes"].sum().eq(90).all()
    assert "`predict` uses `trust.difficulty` = **residual**" in page


def test_the_screening_page_and_tables_hold_the_screen_and_discovery_numbers(report):
    ranking = pd.read_parquet(report.screen / RANKING)
    top = pd.read_csv(report.paper / "tables" / "screen_top_candidates.csv")
    expected = ranking.groupby("working_ion", sort=False).head(3)  # screen.top_per_ion of each ion
    assert len(expected) == 9
    assert list(top["composition"]) == list(expected["composition"])
    assert top["rank"].is_monotonic_increasing
    for column in ("crabnet_voltage_V_lower", "crabnet_grav_capacity_mAh_g_upper", "rule", "parent_battery_id"):
        assert column in top
    scores = pd.read_csv(report.paper / "tables" / "discovery_scores.csv")
    pd.testing.assert_frame_equal(scores, pd.read_csv(report.discovery / "scores.csv").round(4))
    page = (report.paper / "SCREENING.md").read_text()
    best = ranking.iloc[0]
    assert f"Best overall: {best['composition']} ({best['working_ion']}, charged " in page
    assert 1 not in set(ranking["row"])  # predicted outside the voltage window: screened, not ranked
    for column in ("charged_composition", "discharged_composition", "redox_couple", "inserted_ions"):
        assert column in top
    assert "40 candidates kept: 20 by ion swap, 20 by substitution (the cap keeps the most probable changes" in page
    assert "| generated (ion swaps and substitutions) | 55 |" in page and "| passing `redox_couple` (2 failed) | 40 |" in page
    assert "SMACT balances 90.0% of their charged states" in page and "A redox couple is found for 90.0%" in page
    raw = pd.read_csv(report.discovery / "scores.csv")  # the page formats the stage's own numbers
    generation = raw[raw["test"] == "generation"].set_index(["ion", "model", "ranking"])
    for ion in ("Na", "K"):
        lower = generation.loc[(ion, "crabnet", "lower")]  # the rank model's table
        assert (f"| {ion} | 60 | {12 if ion == 'Na' else 9} | {int(lower['hits'])} | {lower['daf']:.2f} "
                f"[{lower['daf_low']:.2f}, {lower['daf_high']:.2f}] |") in page
        other = generation.loc[(ion, "rf_magpie", "lower")]  # the second model, in the every-model table
        assert f"| {ion} | generation | RF@Magpie | " in page and \
            f"| {other['daf']:.2f} [{other['daf_low']:.2f}, {other['daf_high']:.2f}] |" in page
    assert "| K | CrabNet | voltage | 0.7 | 0.900 | 70.0% |" in page and "| K | RF@Magpie | voltage | 0.9 |" in page
    assert "**Verdict**: Labelled test: CrabNet ranked on its interval's lower bound beats random order in" in page
    verdict_text = json.loads((report.discovery / "metrics.json").read_text())["discovery.verdict"]
    assert f"**Verdict**: {verdict_text}" in page
    assert verdict_text in (report.paper / "REPRODUCTION.md").read_text()  # the answer to the paper's claim
    assert (report.paper / "figures" / "evaluation" / "objective_against_novelty.png").exists()


def test_the_report_keeps_every_metric_in_git_by_the_path_dvc_names_its_file(report):
    """paper/metrics.json (git-tracked) holds every metrics file's values: what `verify` compares a
    run with on a clone whose DVC cache has none of the committed results."""
    paths = report
    kept = json.loads((paths.paper / "metrics.json").read_text())
    # prepare, featurize, cluster, domain, candidates, screen, discovery, trust; cv and bootstrap per
    # cell; repeated_cv.
    assert len(kept) == 8 + len(MODELS) * len(TARGETS) * (len(SCHEMES) + 1) + 2 * len(TARGETS)
    assert kept["results/screen/metrics.json"] == json.loads((paths.screen / "metrics.json").read_text())
    assert kept["results/clusters/metrics.json"] == {"n_clusters": 2, "noise_share": 0.11}
    cell = json.loads((paths.cv / "modnet" / "voltage" / "loco" / "metrics.json").read_text())
    assert kept["results/cv/modnet/voltage/loco/metrics.json"] == cell
    assert "results/repeated_cv/rf_magpie/voltage/metrics.json" in kept
    assert "results/bootstrap/crabnet/grav_capacity/metrics.json" in kept
    assert kept["results/trust/summary/metrics.json"]["crabnet.voltage.loco.trust.coverage_plain"] >= 0


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
    [(0.30, 0.03, 0.284, 0.0, True),    # 0.016 apart, within our 0.03 alone
     (0.30, 0.03, 0.255, 0.04, True),   # 0.045 apart: wider than either, inside the combined 0.05
     (0.30, 0.03, 0.345, 0.04, True),   # the same, published above ours
     (0.30, 0.03, 0.255, 0.0, False),   # 0.045 apart, only our 0.03 to cover it
     (0.30, 0.03, 0.24, 0.04, False)],  # 0.06 apart: outside the combined 0.05 (not the summed 0.07)
)
def test_a_cell_matches_only_inside_the_combined_two_sigma(ours, ours_2s, published, published_2s, inside):
    # combined: sqrt(ours_2s^2 + published_2s^2); every case at least 10% of it away from the boundary
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


def test_the_committed_top_candidates_are_electrodes_a_chemist_would_accept():
    """paper/tables/screen_top_candidates: every candidate inside the voltage window with capacities
    not negative, with a redox couple and both its formulas."""
    from electrode_ml.params import load_section

    table_path = report_stage.Paths().paper / "tables" / "screen_top_candidates.csv"
    if not table_path.exists():
        pytest.skip("no committed screen yet")
    top = pd.read_csv(table_path, keep_default_na=False)
    params = load_section("screen", ScreenParams)
    low, high = params.voltage_window
    voltage = pd.to_numeric(top[f"{params.rank_model}_voltage_V"])
    assert ((voltage >= low) & (voltage <= high)).all()
    for capacity in ("grav_capacity_mAh_g", "vol_capacity_mAh_cm3"):
        column = f"{params.rank_model}_{capacity}"
        if column in top:
            assert (pd.to_numeric(top[column]) >= 0).all()
    assert (top["redox_couple"] != "").all()
    assert (top["charged_composition"] != "").all() and (top["discharged_composition"] != "").all()
