"""The report's "How far to trust a prediction" (paper/TRUST.md and its tables), from the `domain`
and `trust` stages' outputs: the intervals' measured coverage, which difficulty calibrates best,
and the error against novelty (the paper's RQ5)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from electrode_ml import paths
from electrode_ml.evaluation.conformal import INTERVALS
from electrode_ml.models.registry import DISPLAY_NAMES
from electrode_ml.reporting.tables import SCHEME_TITLES, TARGET_TITLES, loco_cluster

LOCO = "loco"


def load_trust(trust_dir: Path, models, targets) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Every trust cell's metrics (one dict), by_novelty and by_fold tables (model and target added)."""
    metrics, by_novelty, by_fold = json.loads((paths.trust_summary(trust_dir) / paths.METRICS).read_text()), [], []
    for model in models:
        for target in targets:
            cell = paths.trust_cell(model, target, trust_dir)
            by_novelty.append(pd.read_csv(cell / "by_novelty.csv").assign(model=model, target=target))
            by_fold.append(pd.read_csv(cell / "by_fold.csv").assign(model=model, target=target))
    return metrics, pd.concat(by_novelty, ignore_index=True), pd.concat(by_fold, ignore_index=True)


def coverage_table(metrics: dict, models, targets, schemes) -> pd.DataFrame:
    """Per model x target x scheme: each interval's coverage and mean width, and Spearman's rho
    between novelty and absolute error."""
    rows = []
    for model in models:
        for target in targets:
            for scheme in schemes:
                prefix = f"{model}.{target}.{scheme}.trust"
                row = {"model": DISPLAY_NAMES[model], "target": TARGET_TITLES[target], "scheme": scheme}
                for kind in INTERVALS:
                    row[f"coverage_{kind}"] = metrics[f"{prefix}.coverage_{kind}"]
                    row[f"width_{kind}"] = metrics[f"{prefix}.width_{kind}"]
                row["spearman_novelty_error"] = metrics[f"{prefix}.spearman_novelty_error"]
                rows.append(row)
    return pd.DataFrame(rows)


def difficulty_choice(by_novelty: pd.DataFrame, by_fold: pd.DataFrame, level: float) -> pd.DataFrame:
    """Per interval kind: how far coverage strays from `level`, averaged over every cell's novelty
    bins and clusters under LOCO (and bins under stratified CV), and the coverage in the most novel bin."""
    most_novel = by_novelty[by_novelty["novelty_bin"] == by_novelty["novelty_bin"].max()]
    loco_bins, loco_folds = by_novelty[by_novelty["scheme"] == LOCO], by_fold[by_fold["scheme"] == LOCO]
    stratified_bins = by_novelty[by_novelty["scheme"] != LOCO]
    rows = []
    for kind in INTERVALS:
        column = f"coverage_{kind}"
        rows.append({
            "interval": kind,
            "loco_bins_miscoverage": (loco_bins[column] - level).abs().mean(),
            "loco_clusters_miscoverage": (loco_folds[column] - level).abs().mean(),
            "stratified_bins_miscoverage": (stratified_bins[column] - level).abs().mean(),
            "loco_most_novel_coverage": most_novel[most_novel["scheme"] == LOCO][column].mean(),
            "loco_most_novel_width": most_novel[most_novel["scheme"] == LOCO][f"width_{kind}"].mean(),
        })
    return pd.DataFrame(rows)


def novelty_table(by_novelty: pd.DataFrame, edges: list[float], difficulty: str) -> pd.DataFrame:
    """MAE and the plain and normalized coverage per novelty bin, model, target and scheme (RQ5)."""
    bounds = [0.0, *edges, float("inf")]
    table = by_novelty.assign(
        model=by_novelty["model"].map(DISPLAY_NAMES), target=by_novelty["target"].map(TARGET_TITLES),
        novelty=by_novelty["novelty_bin"].map(lambda b: f"{bounds[b - 1]:.2f}-{bounds[b]:.2f}"))
    columns = ["model", "target", "scheme", "novelty_bin", "novelty", "electrodes", "mae", "coverage_plain",
               f"coverage_{difficulty}"]
    return table[columns].round(4)


def cluster_table(by_fold: pd.DataFrame, clusters: pd.DataFrame, difficulty: str) -> pd.DataFrame:
    """Per held-out cluster (LOCO), model and target: electrodes, MAE, and the plain and normalized
    intervals' coverage; the cluster named by its ElMD mean representative."""
    loco = by_fold[by_fold["scheme"] == LOCO]
    held_out = [loco_cluster(fold, clusters) for fold in loco["fold"]]
    table = loco.assign(model=loco["model"].map(DISPLAY_NAMES), target=loco["target"].map(TARGET_TITLES),
                        cluster=[cluster for cluster, _ in held_out],
                        representative=[representative for _, representative in held_out])
    columns = ["model", "target", "cluster", "representative", "electrodes", "mae", "coverage_plain",
               f"coverage_{difficulty}"]
    return table[columns].round(4)


def trust_markdown(coverage: pd.DataFrame, choice: pd.DataFrame, by_novelty: pd.DataFrame, domain: dict,
                   level: float, difficulty: str, schemes) -> str:
    best = choice.loc[choice["loco_bins_miscoverage"].idxmin(), "interval"]
    lines = ["# How far to trust a prediction", "",
             f"Every held-out electrode of both validation schemes gets a {level:.0%} interval from crepes' conformal",
             "regressor, calibrated on the other folds' out-of-fold residuals (under LOCO: the other clusters'). Plain",
             "intervals have one width per model and target; normalized ones scale with a difficulty measured among",
             "an electrode's nearest neighbours outside its fold, in the standardized Magpie features: their mean",
             "distance (`distance`) or the models' mean absolute residual on them (`residual`). Novelty: the mean",
             "distance to the nearest training electrodes of the same working ion, in the same space.", "",
             "## Coverage, measured", "",
             "| Model | Target | Scheme | " + " | ".join(f"{kind} coverage (width)" for kind in INTERVALS)
             + " | Spearman rho, novelty vs error |",
             "|---|---|---|" + "---|" * (len(INTERVALS) + 1)]
    for row in coverage.itertuples():
        cells = [f"{getattr(row, f'coverage_{kind}'):.1%} ({getattr(row, f'width_{kind}'):.3g})" for kind in INTERVALS]
        lines.append(f"| {row.model} | {row.target} | {row.scheme} | " + " | ".join(cells)
                     + " | " + ("–" if pd.isna(row.spearman_novelty_error) else f"{row.spearman_novelty_error:.2f}") + " |")
    lines.append("")
    for scheme in schemes:
        part = coverage[coverage["scheme"] == scheme]
        for kind in INTERVALS:
            column = part[f"coverage_{kind}"]
            lines.append(f"- {SCHEME_TITLES[scheme]}, {kind}: coverage {column.min():.1%} to {column.max():.1%}; "
                         f"{int(((column - level).abs() <= 0.03).sum())} of {len(column)} cells within 3 points of "
                         f"{level:.0%}.")
    lines += ["", "## Which difficulty", "",
              "Mean absolute gap between coverage and the nominal level, over every cell's novelty bins and LOCO",
              "clusters; and the coverage in the most novel bin under LOCO (mean over cells):", "",
              "| Interval | LOCO, bins | LOCO, clusters | stratified, bins | LOCO, most novel bin: coverage (width) |",
              "|---|---|---|---|---|"]
    for row in choice.itertuples():
        lines.append(f"| {row.interval} | {row.loco_bins_miscoverage:.3f} | {row.loco_clusters_miscoverage:.3f} | "
                     f"{row.stratified_bins_miscoverage:.3f} | {row.loco_most_novel_coverage:.1%} "
                     f"({row.loco_most_novel_width:.3g}) |")
    most_novel = by_novelty[(by_novelty["scheme"] == LOCO)
                            & (by_novelty["novelty_bin"] == by_novelty["novelty_bin"].max())]
    at_least = int((most_novel[f"coverage_{difficulty}"] >= most_novel["coverage_plain"]).sum())
    lines += ["", f"Closest to the level under LOCO: **{best}**. `predict` uses `trust.difficulty` = **{difficulty}**"
              + ("." if best == difficulty else f", not the closest: set `trust.difficulty: {best}`."),
              f"In the most novel LOCO bin the {difficulty}-normalized intervals cover at least as well as the plain "
              f"ones in {at_least} of {len(most_novel)} cells.", "",
              "## Error against novelty (RQ5)", "",
              "MAE per novelty bin (quintiles of both schemes' held-out novelty pooled), mean over models and "
              "targets of MAE relative to the cell's first populated bin:", ""]
    for scheme in schemes:
        part = by_novelty[by_novelty["scheme"] == scheme].sort_values("novelty_bin")
        relative = part.groupby(["model", "target"], group_keys=False)[["novelty_bin", "mae"]].apply(
            lambda cell: cell.assign(relative=cell["mae"] / cell["mae"].iloc[0]))
        mean = relative.groupby("novelty_bin")["relative"].mean()
        lines.append(f"- {SCHEME_TITLES[scheme]}: " + ", ".join(f"bin {b}: {value:.2f}" for b, value in mean.items()))
    lines += ["", "Per cell: [tables/trust_novelty](tables/trust_novelty.md), per held-out cluster: "
              "[tables/trust_clusters](tables/trust_clusters.md); figure: "
              "[error_by_novelty](figures/evaluation/error_by_novelty.png).", "",
              "## The domain `predict` reports", "",
              f"In domain: novelty up to {domain['domain.threshold']:.3g} (the `trust.domain_quantile` of the stratified "
              "folds' held-out novelty) and no element unseen with the working ion in training. Out of domain by that "
              f"rule: {domain['domain.stratified5.out_of_domain']:.1%} of the stratified folds' held-out electrodes "
              f"and {domain['domain.loco.out_of_domain']:.1%} of LOCO's; with an element never seen with its ion: "
              f"{domain['domain.stratified5.unseen_elements']:.1%} and {domain['domain.loco.unseen_elements']:.1%}.", ""]
    return "\n".join(lines) + "\n"
