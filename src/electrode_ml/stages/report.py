"""Stage `report`: every table and figure of the paper from the pipeline's outputs, and the
side-by-side comparison with the published table.

Writes paper/tables/ (Markdown, LaTeX, CSV), paper/figures/evaluation/, paper/REPRODUCTION.md,
paper/README.md (the index), and the run's wall-clock record apart from the results:
paper/timings.md and results/timings.json. Committed to git, so readers see results without
running anything.
"""
from __future__ import annotations

import argparse
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from electrode_ml import paths as paths_module
from electrode_ml.files import atomic_path, write_json, write_table
from electrode_ml.models.registry import DISPLAY_NAMES
from electrode_ml.params import (
    DEFAULT_PARAMS,
    ParameterError,
    active_profile,
    load_section,
    parameters,
    pipeline_matrix,
    read_params,
)
from electrode_ml.evaluation.conformal import TrustParams
from electrode_ml.reporting import crabnet_cpu_front, figures, screening_page, tables, trust_page
from electrode_ml.screening.objectives import OBJECTIVES
from electrode_ml.screening.retrospective import DiscoveryParams
from electrode_ml.screening.screener import RANKING, ScreenParams, objective_column

MODEL_PARAMS = "profile, profiles.<profile>.<model>, seed"


@dataclass(frozen=True)
class Artefact:
    """One item of the report's index (paper/README.md): the files paper/<stem>.<format> (a stem
    with `{scheme}` is one item per validation scheme), what they show, and the stage and
    parameters that made them. A description may name {scheme_title}, {profile}, {sigma} and
    {left_out}, known once the report has run."""

    stem: str
    description: str
    stage: str
    params: str


# Every item of paper/, declared once and in the index's order: `run` writes each to
# `artefact_stem(key)`, and the index lists those whose files exist (the maps come from `cluster`).
ARTEFACTS = {
    "results": Artefact("tables/results_{scheme}", "Main results table, {scheme_title}", "cv", MODEL_PARAMS),
    "results_without_outliers": Artefact(
        "tables/results_{scheme}_without_outliers",
        "Main results table, {scheme_title}, scored without outliers (beyond mean +- {sigma:g} sigma of the target: "
        "{left_out}); trained on every row", "cv", f"{MODEL_PARAMS}, report.outlier_sigma"),
    "loco_per_cluster": Artefact("tables/loco_per_cluster", "MAE and SMAE of each model on each held-out cluster",
                                 "cv (loco)", MODEL_PARAMS),
    "per_ion": Artefact("tables/per_ion", "MAE by working ion for each model, target and scheme (RQ3)", "cv",
                        MODEL_PARAMS),
    "clusters": Artefact("tables/clusters", "Clusters with their ElMD mean representatives", "cluster", "cluster.*"),
    "dataset": Artefact("tables/dataset", "Data set summary", "prepare", "prepare.*"),
    "parity_figure": Artefact(
        "figures/evaluation/parity_{scheme}",
        "Out-of-fold predictions against the Materials Project values, model x target, {scheme_title}, profile "
        "{profile}. Each panel's MAE is the mean over folds, as in the tables; the axes span the 0.5-99.5th "
        "percentiles, points beyond are counted in the panel", "cv", MODEL_PARAMS),
    "smae_figure": Artefact("figures/evaluation/smae_{scheme}",
                            "SMAE per model and target, {scheme_title}: whiskers +-2 sigma over folds, arrowheads "
                            "where they go beyond the axis", "cv", MODEL_PARAMS),
    "per_ion_figure": Artefact("figures/evaluation/per_ion_{scheme}", "Error by working ion, {scheme_title}", "cv",
                               MODEL_PARAMS),
    "learning_curves_figure": Artefact(
        "figures/evaluation/learning_curves",
        "Bootstrap learning curves: MAE on the held-out stratified fold against training-set size; bands +-2 sigma "
        "over the repeats of the active profile (stated in the legend)", "bootstrap",
        "bootstrap.holdout_fold, profiles.<profile>.bootstrap"),
    "loco_per_cluster_figure": Artefact(
        "figures/evaluation/loco_per_cluster",
        "SMAE of each model on each held-out cluster (LOCO), colour centred on 1 (the control), clipped at 2 (the "
        "cells print their values)", "cv (loco)", MODEL_PARAMS),
    "working_ion_distribution": Artefact("figures/maps/working_ion_distribution",
                                         "Working ions of the data set (the paper's Fig. 2)", "cluster", "prepare"),
    "tsne_clusters": Artefact(
        "figures/maps/tsne_clusters",
        "t-SNE of the MODNet features, one point per composition, coloured by DBSCAN cluster; stars: each cluster's "
        "ElMD mean representative, named in the legend; LiFePO4 ringed (the paper's Fig. 5)", "cluster",
        "cluster.perplexity, cluster.eps, cluster.min_samples, cluster.elmd_metric"),
    "umap_clusters": Artefact("figures/maps/umap_clusters",
                              "UMAP of the MODNet features with the t-SNE map's DBSCAN clusters and representatives",
                              "cluster", "cluster.umap_neighbors, cluster.umap_min_dist"),
    "tsne_working_ion": Artefact("figures/maps/tsne_working_ion", "t-SNE map coloured by working ion", "cluster",
                                 "cluster.perplexity"),
    "tsne_targets": Artefact("figures/maps/tsne_targets",
                             "t-SNE map coloured by each target; colours clipped to the 1-99th percentile (arrows on "
                             "the colour bars)", "cluster", "cluster.perplexity"),
    "timings": Artefact(paths_module.RUN_TIMINGS.relative_to(paths_module.PAPER).with_suffix("").as_posix(),
                        "Where and how long the run ran: devices, seconds per stage (not a result)", "report", "-"),
    **{name: Artefact(f"tables/{name}", caption, "report", "report.equivalence_margin")
       for name, caption in tables.UNCERTAINTY_CAPTIONS.items()},
    "input_sizes": Artefact("tables/input_sizes",
                            "What each model reads per electrode: offered, and used by the model fitted on all "
                            "electrodes", "train", MODEL_PARAMS),
    "repeated_cv": Artefact("tables/repeated_cv",
                            "SMAE of the cheap models over repeated draws of the stratified folds", "repeated_cv",
                            "folds.repeats, repeated_cv.models"),
    "trust": Artefact(paths_module.TRUST_PAGE.relative_to(paths_module.PAPER).with_suffix("").as_posix(),
                      "How far to trust a prediction: the intervals' measured coverage, which difficulty calibrates "
                      "best, error against novelty (RQ5), the domain `predict` reports", "trust, domain", "trust.*"),
    "trust_coverage": Artefact("tables/trust_coverage",
                               "Coverage and mean width of the plain and normalized intervals, and Spearman's rho "
                               "between novelty and error, per model, target and scheme", "trust", "trust.*"),
    "trust_clusters": Artefact("tables/trust_clusters",
                               "Coverage of the plain and normalized intervals on each held-out cluster (LOCO), per "
                               "model and target", "trust", "trust.*"),
    "trust_novelty": Artefact("tables/trust_novelty",
                              "MAE and coverage per novelty bin, model, target and scheme (RQ5)", "trust, domain",
                              "trust.*"),
    "error_by_novelty_figure": Artefact(
        "figures/evaluation/error_by_novelty",
        "MAE and the normalized intervals' coverage per novelty bin, per target and model; LOCO solid, stratified "
        "dashed", "trust, domain", "trust.*"),
    "screening": Artefact(paths_module.SCREENING_PAGE.relative_to(paths_module.PAPER).with_suffix("").as_posix(),
                          "Screening new electrodes: the candidates, the best of each working ion with intervals and "
                          "novelty, and the retrospective discovery check", "candidates, screen, discovery",
                          "candidates.*, screen.*, discovery.*"),
    "screen_top_candidates": Artefact(
        "tables/screen_top_candidates",
        "The best-ranked candidates of each working ion: the rank model's voltage, capacity and energy density with "
        "their bounds, novelty, in-domain flag, and the rule and parent that made each", "screen",
        "screen.*, candidates.*, trust.level"),
    "objective_against_novelty_figure": Artefact(
        "figures/evaluation/objective_against_novelty",
        "Predicted energy density of every screened candidate against its novelty, in-domain candidates dark; the "
        "Pareto front (the most energy for its novelty) as a line", "screen", "screen.*, candidates.*"),
    "discovery_scores": Artefact(
        "tables/discovery_scores",
        "The discovery benchmark: each working ion hidden in turn; per test and ranking, precision, recall, F1 "
        "and the discovery acceleration factor in the top share, with bootstrap 95% intervals", "discovery",
        "discovery.*, screen.*, candidates.*"),
    "crabnet_front": Artefact(
        paths_module.CRABNET_FRONT_FIGURE.relative_to(paths_module.PAPER).as_posix(),
        "CrabNet's SMAE against its seconds per fit on 2 CPU cores, over a grid of sizes, heads, epochs and batch sizes "
        "(`make crabnet-front`): the front, the {profile} profile's CrabNet, crabnet's defaults at a few epochs, and "
        "their 300-epoch SMAE on a CUDA GPU", "report", "benchmarks/crabnet_front.jsonl"),
    "comparison_published": Artefact("tables/comparison_published",
                                     "Every published cell beside ours, with difference and combined-2-sigma check",
                                     "report", MODEL_PARAMS),
    "metrics": Artefact(paths_module.COMMITTED_METRICS.relative_to(paths_module.PAPER).with_suffix("").as_posix(),
                        "Every metric of the run, by metrics file, kept in git: what `make verify` compares a run "
                        "with, value by value, on a clone without the committed results", "report", "-"),
}
FORMATS = (".md", ".tex", ".csv", ".png", ".pdf", ".json")  # in the order the index links them


@dataclass
class Paths:
    electrodes: Path = paths_module.ELECTRODES
    prepare_summary: Path = paths_module.PREPARE_SUMMARY
    feature_metrics: Path = paths_module.FEATURE_METRICS
    cluster_metrics: Path = paths_module.CLUSTER_METRICS
    domain_metrics: Path = paths_module.DOMAIN_METRICS
    featurize_timings: Path = paths_module.FEATURES / paths_module.TIMINGS
    clusters: Path = paths_module.CLUSTER_TABLE
    cluster_timings: Path = paths_module.CLUSTERS / paths_module.TIMINGS
    cv: Path = paths_module.CV
    bootstrap: Path = paths_module.BOOTSTRAP
    repeated_cv: Path = paths_module.REPEATED_CV
    trust: Path = paths_module.TRUST
    models: Path = paths_module.TRAINED_MODELS
    published: Path = paths_module.PUBLISHED_TABLE
    paper: Path = paths_module.PAPER
    timings: Path = paths_module.REPORT_TIMINGS
    learning_curves: Path = paths_module.LEARNING_CURVES
    candidates: Path = paths_module.CANDIDATES
    screen: Path = paths_module.SCREEN
    discovery: Path = paths_module.DISCOVERY
    crabnet_front: Path = paths_module.CRABNET_FRONT

    def in_paper(self, declared: Path) -> Path:
        """Where a file that `paths` declares under paper/ lies under this report's `paper`."""
        return self.paper / declared.relative_to(paths_module.PAPER)


def artefact_stem(paper: Path, key: str, scheme: str | None = None) -> Path:
    """Where item `key` of ARTEFACTS is written, without its format suffix."""
    return paper / ARTEFACTS[key].stem.format(scheme=scheme)


def index_rows(paper: Path, schemes, **context) -> list[tuple[str, str, str, str, str]]:
    """(item, description, stage, parameters, linked files) of every item of ARTEFACTS found under `paper`."""
    rows = []
    for key, artefact in ARTEFACTS.items():
        for scheme in schemes if "{scheme}" in artefact.stem else [None]:
            stem = artefact_stem(paper, key, scheme)
            files = [stem.with_name(stem.name + suffix) for suffix in FORMATS]
            files = [path for path in files if path.exists()]
            if not files:
                continue
            description = artefact.description.format(scheme_title=tables.SCHEME_TITLES.get(scheme), **context)
            links = ", ".join(f"[{path.suffix[1:]}]({path.relative_to(paper).as_posix()})" for path in files)
            rows.append((stem.relative_to(paper).as_posix(), description, f"`{artefact.stage}`", artefact.params, links))
    return rows


@parameters
class ReportParams:
    equivalence_margin: float = 0.05  # SMAE: ours and published agree if their difference is surely inside +- this
    outlier_sigma: float = 2.0  # the second results table leaves out targets beyond mean +- this many sigma

    def __post_init__(self):
        for name in ("equivalence_margin", "outlier_sigma"):
            if not getattr(self, name) > 0:
                raise ParameterError(f"report.{name} must be positive, got {getattr(self, name)}")


def run(params_path: Path, paths: Paths) -> dict:
    settings = load_section("report", ReportParams, params_path)
    # Validated by the repeated_cv stage and check-params; importing that stage here would make
    # the report depend on the whole CV machinery.
    repeated_models = (read_params(params_path).get("repeated_cv") or {}).get("models") or []
    models, targets, schemes = pipeline_matrix(params_path)
    profile, profile_block = active_profile(params_path)
    profile_crabnet = {**(profile_block.get("crabnet") or {})}
    titles = {"models": DISPLAY_NAMES, "targets": tables.TARGET_TITLES, "schemes": tables.SCHEME_TITLES}
    electrodes = pd.read_csv(paths.electrodes)
    prepare_summary = json.loads(paths.prepare_summary.read_text())
    clusters = pd.read_csv(paths.clusters)
    cv_metrics = tables.load_cv_metrics(paths.cv, models, targets, schemes)
    stem = functools.partial(artefact_stem, paths.paper)

    for scheme in schemes:
        tables.write_table_formats(
            tables.results_table(cv_metrics, scheme), stem("results", scheme),
            f"Composition-only models, {tables.SCHEME_TITLES[scheme]}: mean (2 sigma over folds), profile {profile}")
    sigma = settings.outlier_sigma
    predictions = tables.load_predictions(paths.cv, models, targets, schemes)
    without_outliers, left_out = tables.metrics_without_outliers(predictions, electrodes, sigma)
    left_out_text = ", ".join(f"{count} for {tables.TARGET_TITLES[target]}" for target, count in left_out.items())
    for scheme in schemes:
        tables.write_table_formats(
            tables.results_table(without_outliers, scheme), stem("results_without_outliers", scheme),
            f"As the main table, {tables.SCHEME_TITLES[scheme]}, scored without the held-out electrodes whose "
            f"target lies beyond mean +- {sigma:g} sigma ({left_out_text}); profile {profile}")

    per_cluster = tables.per_cluster_errors(paths.cv, clusters, models, targets) if "loco" in schemes else None
    if per_cluster is not None:
        tables.write_table_formats(per_cluster.round(4), stem("loco_per_cluster"),
                                   f"LOCO error per held-out cluster, profile {profile}")
    per_ion = tables.per_ion_errors(paths.cv, models, targets, schemes)
    tables.write_table_formats(tables.per_ion_pivot(per_ion), stem("per_ion"),
                               f"MAE by working ion (columns), out-of-fold, profile {profile}")
    tables.write_table_formats(clusters.round(3), stem("clusters"),
                               "DBSCAN clusters of the t-SNE map: size, ions, ElMD mean representative, targets")
    tables.write_table_formats(tables.dataset_summary(electrodes, prepare_summary), stem("dataset"),
                               "The data set after `prepare`")

    for scheme in schemes:
        of_scheme = {(model, target): predictions[model, target, scheme] for model in models for target in targets}
        figures.parity_grid(of_scheme, models, targets, titles, stem("parity_figure", scheme))
        figures.smae_bars(cv_metrics, scheme, titles, stem("smae_figure", scheme))
        figures.ion_errors(per_ion, scheme, models, targets, titles, stem("per_ion_figure", scheme))
    summaries = {(model, target): pd.read_csv(paths_module.bootstrap_cell(model, target, paths.bootstrap) / "summary.csv")
                 for model in models for target in targets}
    figures.learning_curves(summaries, models, targets, titles, stem("learning_curves_figure"))
    write_table(tables.learning_curve_table(summaries), paths.learning_curves)
    if per_cluster is not None:
        figures.cluster_heatmap(per_cluster, models, targets, titles, stem("loco_per_cluster_figure"))

    timings = collect_timings(paths, models, targets, schemes)
    write_json(timings, paths.timings)
    write_markdown(paths.in_paper(paths_module.RUN_TIMINGS), timings_markdown(timings, profile))
    published = tables.load_published(paths.published)
    comparison = tables.comparison(published, cv_metrics, schemes)
    uncertainty = tables.uncertainty(paths.cv, published, models, targets, schemes, settings.equivalence_margin)
    for name, table in uncertainty.items():
        tables.write_table_formats(table, stem(name), tables.UNCERTAINTY_CAPTIONS[name])
    tables.write_table_formats(tables.input_size_table(paths.models, models, targets), stem("input_sizes"),
                               ARTEFACTS["input_sizes"].description)
    repeated = tables.repeated_cv_table(paths.repeated_cv, repeated_models, targets)
    tables.write_table_formats(repeated, stem("repeated_cv"),
                               "SMAE over repeated draws of the stratified folds (fold-choice noise)")
    front_records = crabnet_cpu_front.read_records(paths.crabnet_front)
    if front_records:
        chosen = crabnet_cpu_front.measured_point(front_records, profile_crabnet)
        figures.crabnet_front(crabnet_cpu_front.reference_table(front_records),
                              crabnet_cpu_front.crabnet_defaults(front_records),
                              "" if chosen is None else chosen["point"], crabnet_cpu_front.TODAY,
                              crabnet_cpu_front.gpu_reference(), crabnet_cpu_front.BAR, stem("crabnet_front"))
    write_markdown(paths.in_paper(paths_module.REPRODUCTION),
                   reproduction_markdown(comparison, cv_metrics, published, schemes, profile, timings["versions"],
                                         len(electrodes))
                   + "\n".join(crabnet_cpu_front.reproduction_section(front_records, profile_crabnet, profile)) + "\n"
                   + tables.uncertainty_markdown(uncertainty, published, settings.equivalence_margin, schemes)
                   + tables.repeated_cv_markdown(repeated)
                   + "\n".join(screening_page.screening_claim_section(
                       json.loads((paths.discovery / paths_module.METRICS).read_text()))) + "\n"
                   + references_markdown())
    tables.write_table_formats(comparison.round(4), stem("comparison_published"),
                               f"Published values beside ours, profile {profile}")
    write_trust(params_path, paths, models, targets, schemes, titles, stem)
    write_screening(params_path, paths, stem)
    write_json(collect_metrics(paths, models, targets, schemes, repeated_models),
               paths.in_paper(paths_module.COMMITTED_METRICS))
    write_markdown(paths.in_paper(paths_module.PAPER_INDEX),
                   index_markdown(index_rows(paths.paper, schemes, profile=profile, sigma=sigma, left_out=left_out_text),
                                  profile))
    return {"cells": len(comparison), "profile": profile}


def write_trust(params_path: Path, paths: Paths, models, targets, schemes, titles: dict, stem) -> None:
    """paper/TRUST.md, its two tables and its figure."""
    trust = load_section("trust", TrustParams, params_path)
    metrics, by_novelty, by_fold = trust_page.load_trust(paths.trust, models, targets)
    domain = json.loads(paths.domain_metrics.read_text())
    edges = [domain[key] for key in sorted(key for key in domain if key.startswith("domain.bin_edge_"))]
    coverage = trust_page.coverage_table(metrics, models, targets, schemes)
    tables.write_table_formats(coverage.round(4), stem("trust_coverage"), ARTEFACTS["trust_coverage"].description)
    tables.write_table_formats(trust_page.novelty_table(by_novelty, edges, trust.difficulty), stem("trust_novelty"),
                               ARTEFACTS["trust_novelty"].description)
    tables.write_table_formats(trust_page.cluster_table(by_fold, pd.read_csv(paths.clusters), trust.difficulty),
                               stem("trust_clusters"), ARTEFACTS["trust_clusters"].description)
    figures.error_by_novelty(by_novelty, models, targets, titles, trust.level, trust.difficulty,
                             stem("error_by_novelty_figure"))
    choice = trust_page.difficulty_choice(by_novelty, by_fold, trust.level)
    write_markdown(paths.in_paper(paths_module.TRUST_PAGE),
                   trust_page.trust_markdown(coverage, choice, by_novelty, domain, trust.level, trust.difficulty, schemes))


def write_screening(params_path: Path, paths: Paths, stem) -> None:
    """paper/SCREENING.md, its two tables and its figure."""
    screen = load_section("screen", ScreenParams, params_path)
    discovery = load_section("discovery", DiscoveryParams, params_path)
    ranking = pd.read_parquet(paths.screen / RANKING)
    top = screening_page.top_per_ion(paths.screen, ranking, screen)
    tables.write_table_formats(top.round(3), stem("screen_top_candidates"), ARTEFACTS["screen_top_candidates"].description)
    column = objective_column(screen.rank_model, screen.objective)
    figures.objective_against_novelty(
        ranking, column, f"{DISPLAY_NAMES[screen.rank_model]}: {OBJECTIVES[screen.objective].title}",
        screening_page.pareto_front(ranking[column], ranking["novelty"]), stem("objective_against_novelty_figure"))
    scores = pd.read_csv(paths.discovery / "scores.csv")
    tables.write_table_formats(scores.round(4), stem("discovery_scores"), ARTEFACTS["discovery_scores"].description)
    metrics = {name: json.loads((folder / paths_module.METRICS).read_text())
               for name, folder in (("candidates", paths.candidates), ("screen", paths.screen),
                                    ("discovery", paths.discovery))}
    write_markdown(paths.in_paper(paths_module.SCREENING_PAGE), screening_page.screening_markdown(
        metrics["candidates"], metrics["screen"], metrics["discovery"], top, scores,
        pd.read_csv(paths.discovery / "errors.csv"), screen, discovery,
        load_section("trust", TrustParams, params_path).level))


def collect_metrics(paths: Paths, models, targets, schemes, repeated_models) -> dict[str, dict]:
    """Every metrics file of the pipeline (dvc.yaml's `metrics`), by the path dvc.lock names it by."""
    files = {paths_module.PREPARE_SUMMARY: paths.prepare_summary, paths_module.FEATURE_METRICS: paths.feature_metrics,
             paths_module.CLUSTER_METRICS: paths.cluster_metrics, paths_module.DOMAIN_METRICS: paths.domain_metrics,
             paths_module.CANDIDATE_METRICS: paths.candidates / paths_module.METRICS,
             paths_module.SCREEN_METRICS: paths.screen / paths_module.METRICS,
             paths_module.DISCOVERY_METRICS: paths.discovery / paths_module.METRICS,
             paths_module.trust_summary() / paths_module.METRICS: paths_module.trust_summary(paths.trust) / paths_module.METRICS}
    for model in models:
        for target in targets:
            for scheme in schemes:
                files[paths_module.cv_cell(model, target, scheme) / paths_module.METRICS] = (
                    paths_module.cv_cell(model, target, scheme, paths.cv) / paths_module.METRICS)
            files[paths_module.bootstrap_cell(model, target) / paths_module.METRICS] = (
                paths_module.bootstrap_cell(model, target, paths.bootstrap) / paths_module.METRICS)
    for model in repeated_models:
        for target in targets:
            files[paths_module.repeated_cv_cell(model, target) / paths_module.METRICS] = (
                paths_module.repeated_cv_cell(model, target, paths.repeated_cv) / paths_module.METRICS)
    return {declared.as_posix(): json.loads(found.read_text()) for declared, found in sorted(files.items())}


def collect_timings(paths: Paths, models, targets, schemes) -> dict:
    """Seconds per stage (and per model), from what each stage recorded."""
    featurize = json.loads(paths.featurize_timings.read_text())
    cluster = json.loads(paths.cluster_timings.read_text())
    domain = json.loads((paths.trust / paths_module.TIMINGS).read_text())
    trust = json.loads((paths_module.trust_summary(paths.trust) / paths_module.TIMINGS).read_text())
    timings = {"featurize.seconds": featurize["seconds"], "cluster.seconds": cluster["seconds"],
               "domain.seconds": domain["seconds"], "trust.seconds": trust["seconds"]}
    devices = {featurize["device"], cluster["device"], domain["device"], trust["device"]}
    cells = {}
    for model in models:
        for target in targets:
            for scheme in schemes:
                cells.setdefault(("cv", model), []).append(paths_module.cv_cell(model, target, scheme, paths.cv))
            cells.setdefault(("bootstrap", model), []).append(paths_module.bootstrap_cell(model, target, paths.bootstrap))
            cells.setdefault(("train", model), []).append(paths_module.trained_model(model, target, paths.models))
    for (stage, model), folders in cells.items():
        records = [json.loads((folder / paths_module.TIMINGS).read_text()) for folder in folders]
        runs = [json.loads((folder / "run.json").read_text()) for folder in folders]
        devices.update(record["device"] for record in records)
        timings[f"{stage}.{model}.seconds"] = round(sum(record["seconds"] for record in records), 1)
        timings[f"{stage}.{model}.fits"] = sum(record["fits"] for record in runs)
        timings[f"{stage}.{model}.profile"] = ", ".join(sorted({record["profile"] for record in runs}))
    timings["devices"] = ", ".join(sorted(devices))
    timings["versions"] = json.loads((next(iter(cells.values()))[0] / "run.json").read_text())["versions"]
    return timings


def reproduction_markdown(comparison: pd.DataFrame, cv_metrics: pd.DataFrame, published: pd.DataFrame, schemes,
                          profile: str, versions: dict, n_electrodes: int) -> str:
    lines = [
        "# Reproduction of the published results",
        "",
        "Published: Wu, Hargreaves, Mishra, Rignanese, *Machine Learning for Electrode Materials: Property",
        "Prediction via Composition*, arXiv:2603.07805, results table (`reference/published_table.csv`).",
        f"Ours: this repository's pipeline, profile **{profile}**, both validation schemes; the paper does not",
        "say which scheme its table reports. Each cell: value (2 sigma). 'Within' means the difference lies",
        "inside the combined 2 sigma, sqrt(2sigma_published^2 + 2sigma_ours^2).",
        "",
        f"Absolute MAEs are not comparable one to one: our data set ({n_electrodes:,} electrodes, a Battery Explorer export",
        "from before November 2024) is another release than the paper's. SMAE and the ranking of models are.",
        "",
    ]
    header = "| Model | Target | Metric | Published | " + " | ".join(
        f"Ours, {scheme} | Difference | Within" for scheme in schemes) + " |"
    lines += [header, "|" + "---|" * (4 + 3 * len(schemes))]
    for _, row in comparison.iterrows():
        digits = tables.digits(row["metric"], row["target"])
        cells = [DISPLAY_NAMES[row["model"]], tables.TARGET_TITLES[row["target"]], tables.METRIC_TITLES[row["metric"]],
                 f"{row['published']:.{digits}f} ({row['published_2sigma']:.{digits}f})"]
        for scheme in schemes:
            cells += [f"{row[scheme]:.{digits}f} ({row[scheme + '_2sigma']:.{digits}f})",
                      f"{row[scheme + '_difference']:+.{digits}f}", "yes" if row[scheme + "_within"] else "no"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"{len(comparison)} published cells compared."]
    for scheme in schemes:
        within = int(comparison[f"{scheme}_within"].sum())
        lines.append(f"- {tables.SCHEME_TITLES[scheme]}: {within} of {len(comparison)} inside the combined 2 sigma.")

    best = DISPLAY_NAMES[tables.PAPER_BEST]
    lines += ["", f"## Does {best} rank first? (the paper's RQ2)", ""]
    for scheme in schemes:
        ranks = tables.ranking(cv_metrics, scheme)
        first = int(ranks["paper_best_first"].sum())
        lines.append(f"- {tables.SCHEME_TITLES[scheme]}: {best} is best in {first} of {len(ranks)} columns. "
                     + "; ".join(f"{tables.TARGET_TITLES[r.target]} {tables.METRIC_TITLES[r.metric]}: "
                                 f"{DISPLAY_NAMES[r.best]}" for r in ranks.itertuples()) + ".")
    published_ranks = tables.ranking(published.assign(scheme="published"), "published")
    lines.append(f"- Published table: {best} is best in {int(published_ranks['paper_best_first'].sum())} of "
                 f"{len(published_ranks)} columns.")

    lines += ["", "(Best by point value; the uncertainty of that order is in the section \"Which model is best\".)"]
    control_r2 = cv_metrics[(cv_metrics["model"] == "control") & (cv_metrics["metric"] == "r2")]
    lines += ["", "The published control R2 is 0 (0) in every column. Ours predicts the training mean and is scored on",
              "each held-out fold, so its R2 there is 1 - (fold variance + squared shift of the fold mean) / fold",
              "variance, at most 0: " + "; ".join(
                  f"{tables.TARGET_TITLES[row.target]} {row.scheme} {row.value:.3f} ({row.two_sigma:.3f})"
                  for row in control_r2.itertuples()) + ". A control R2 of exactly 0 with no spread implies it",
              "was scored against each test set's own mean."]

    lines += ["", "## The run that produced this", "",
              "- Data: `data/mp_batteries.csv` (DVC, `data.dvc`), a Materials Project Battery Explorer export from before",
              f"  November 2024 (release not recorded); {n_electrodes:,} insertion electrodes after `prepare`.",
              f"- Profile: {profile} (`params.yaml`).",
              "- Software: " + ", ".join(f"{name} {version}" for name, version in versions.items() if version) + ".",
              "- Devices and run time per stage: [timings.md](timings.md) (kept apart: they differ on every run,",
              "  the results above do not).", ""]
    return "\n".join(lines) + "\n"


# What REPRODUCTION.md rests on, with its key in paper/references.bib.
REFERENCES = (
    ("The paper reproduced", "wu2026electrode"), ("Data: the Materials Project", "jain2013materials"),
    ("Formula parsing: pymatgen", "ong2013pymatgen"), ("CrabNet", "wang2021crabnet"),
    ("mat2vec element embeddings (CrabNet's)", "tshitoyan2019mat2vec"),
    ("MODNet", "debreuck2021modnet"), ("MODNet's feature selection and benchmarks", "debreuck2021benchmarking"),
    ("matminer (featurizers)", "ward2018matminer"), ("Magpie features", "ward2016magpie"),
    ("ElMD (mean representatives)", "hargreaves2020elmd"), ("t-SNE", "vandermaaten2008tsne"),
    ("UMAP", "mcinnes2018umap"), ("DBSCAN", "ester1996dbscan"), ("scikit-learn (random forest, folds, t-SNE)",
                                                                 "pedregosa2011sklearn"),
    ("Corrected standard errors of CV means", "nadeau2003inference"),
)


def references_markdown() -> str:
    lines = ["", "## References", "", "BibTeX entries in [references.bib](references.bib), by key:", ""]
    lines += [f"- {what}: `{key}`" for what, key in REFERENCES]
    return "\n".join(lines) + "\n"


def timings_markdown(timings: dict, profile: str) -> str:
    lines = ["# Where and how long the committed run ran", "",
             f"Profile **{profile}**. Device(s): {timings['devices']}. Seconds summed over the cells of each stage",
             "(`results/timings.json`, from each cell's `timings.json`); DVC adds a few seconds of process start per",
             "cell. These numbers differ on every run; `make verify` leaves them out.", "",
             "| Stage | Seconds | Fits |", "|---|---|---|"]
    for key, value in timings.items():
        if key.endswith(".seconds"):
            stem = key[: -len(".seconds")]
            lines.append(f"| {stem} | {value} | {timings.get(stem + '.fits', '')} |")
    return "\n".join(lines) + "\n"


def index_markdown(rows: list[tuple[str, str, str, str, str]], profile: str) -> str:
    lines = ["# paper/: every figure and table of the reproduction", "",
             "Rebuilt by `make reproduce` (the whole pipeline) or `make paper` (this report only, from cached",
             f"results). Profile of the committed run: **{profile}**. The comparison with the published table is",
             "in [REPRODUCTION.md](REPRODUCTION.md).", "",
             "| Item | What it shows | Stage | Parameters | Files |", "|---|---|---|---|---|"]
    lines += [f"| {stem} | {description} | {stage} | {params} | {files} |"
              for stem, description, stage, params, files in rows]
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml report", description=__doc__)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    args = parser.parse_args(argv)
    summary = run(args.params, Paths())
    print(f"report: {summary['cells']} published cells compared (profile {summary['profile']}); "
          f"see paper/REPRODUCTION.md and paper/README.md")
