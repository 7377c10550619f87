"""The paper's tables from pipeline outputs, and the cell-by-cell comparison with the published table.

Everything here reads results written by earlier stages; the only numbers not computed by the
pipeline are the published ones (reference/published_table.csv).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from electrode_ml import paths
from electrode_ml.data.electrodes import counts_most_first, is_outlier
from electrode_ml.data.targets import TARGET_KEYS, TARGET_REGISTRY
from electrode_ml.errors import ElectrodeMLError, MissingInputError
from electrode_ml.evaluation import statistics
from electrode_ml.evaluation.validation import per_fold_metrics, summarize
from electrode_ml.files import atomic_path
from electrode_ml.models.registry import DISPLAY_NAMES

# Published target names -> ours, and each target's title with its unit.
PUBLISHED_TARGETS = {target.published_name: key for key, target in TARGET_REGISTRY.items()}
TARGET_TITLES = {key: target.title for key, target in TARGET_REGISTRY.items()}
# The model the paper reports as ranking first (its RQ2): the claim the report tests.
PAPER_BEST = "crabnet"
SCHEME_TITLES = {"stratified5": "stratified 5-fold CV", "loco": "leave-one-cluster-out CV"}
METRICS = ("mae", "smae", "r2")
METRIC_TITLES = {"mae": "MAE", "smae": "SMAE", "r2": "R2"}
# Lower is better for errors, higher for R2.
BETTER = {"mae": min, "smae": min, "r2": max}


def load_cv_metrics(cv_dir: Path, models, targets, schemes) -> pd.DataFrame:
    """Long table: model, target, scheme, metric, value, two_sigma (from each cell's metrics.json)."""
    rows = []
    for model in models:
        for target in targets:
            for scheme in schemes:
                path = paths.cv_cell(model, target, scheme, cv_dir) / paths.METRICS
                if not path.exists():
                    raise MissingInputError(f"{path} is missing: run `dvc repro cv` first")
                metrics = json.loads(path.read_text())
                prefix = f"{model}.{target}.{scheme}"
                for metric in METRICS:
                    rows.append({"model": model, "target": target, "scheme": scheme, "metric": metric,
                                 "value": metrics[f"{prefix}.{metric}"],
                                 "two_sigma": metrics[f"{prefix}.{metric}_2sigma"]})
    return pd.DataFrame(rows)


def load_predictions(cv_dir: Path, models, targets, schemes) -> dict[tuple[str, str, str], pd.DataFrame]:
    """Every cell's out-of-fold predictions, keyed (model, target, scheme), read once for the report."""
    return {(model, target, scheme): pd.read_csv(paths.cv_cell(model, target, scheme, cv_dir) / "predictions.csv")
            for model in models for target in targets for scheme in schemes}


def metrics_without_outliers(predictions: dict[tuple[str, str, str], pd.DataFrame], electrodes: pd.DataFrame,
                             sigma: float) -> tuple[pd.DataFrame, dict[str, int]]:
    """`load_cv_metrics`'s table, scored only on the held-out electrodes whose target lies within mean
    +- `sigma` standard deviations of that target over the data set: the paper's results "both ways"
    (PAPER.md, choice 3). The models were trained on every row; only the scoring leaves the outliers
    out (training without them is `prepare.outlier_sigma`, a run of its own). Also returns how many
    electrodes each target leaves out."""
    rows, left_out, inside = [], {}, {}
    for (model, target, scheme), cell in predictions.items():
        if target not in inside:
            values = electrodes.set_index("battery_id")[TARGET_KEYS[target]]
            inside[target] = values.index[~is_outlier(values, sigma)]
            left_out[target] = len(values) - len(inside[target])
        kept = cell[cell["battery_id"].isin(inside[target])]
        summary = summarize(per_fold_metrics(kept), per_fold_metrics(kept.assign(y_pred=kept["y_pred_control"])))
        for metric in METRICS:
            rows.append({"model": model, "target": target, "scheme": scheme, "metric": metric,
                         "value": summary[metric], "two_sigma": summary[f"{metric}_2sigma"]})
    return pd.DataFrame(rows), left_out


def results_table(cv_metrics: pd.DataFrame, scheme: str) -> pd.DataFrame:
    """The paper's layout: one row per model, 'value (2sigma)' per target and metric."""
    part = cv_metrics[cv_metrics["scheme"] == scheme]
    table = {}
    for model in part["model"].unique():
        row = {}
        for target in part["target"].unique():
            for metric in METRICS:
                cell = part[(part["model"] == model) & (part["target"] == target) & (part["metric"] == metric)].iloc[0]
                row[f"{TARGET_TITLES[target]} {METRIC_TITLES[metric]}"] = format_cell(cell["value"], cell["two_sigma"], metric, target)
        table[DISPLAY_NAMES[model]] = row
    return pd.DataFrame.from_dict(table, orient="index").rename_axis("Model").reset_index()


def digits(metric: str, target: str) -> int:
    """Decimals of a table cell: an MAE has its target's, SMAE and R2 three."""
    return TARGET_REGISTRY[target].mae_digits if metric == "mae" else 3


def format_cell(value: float, two_sigma: float, metric: str, target: str) -> str:
    places = digits(metric, target)
    return f"{value:.{places}f} ({two_sigma:.{places}f})"


def load_published(path: Path) -> pd.DataFrame:
    published = pd.read_csv(path)
    model_keys = {display: key for key, display in DISPLAY_NAMES.items()}
    published["model"] = published["model"].map(model_keys)
    published["target"] = published["target"].map(PUBLISHED_TARGETS)
    published["metric"] = published["metric"].str.lower()
    if published[["model", "target"]].isna().any().any():
        raise ElectrodeMLError(f"{path}: unknown model or target names")
    return published


def comparison(published: pd.DataFrame, cv_metrics: pd.DataFrame, schemes) -> pd.DataFrame:
    """Each published cell beside ours per scheme: difference and whether it lies inside the
    combined 2 sigma, sqrt(2sigma_published^2 + 2sigma_ours^2)."""
    rows = []
    for _, cell in published.iterrows():
        row = {"model": cell["model"], "target": cell["target"], "metric": cell["metric"],
               "published": cell["value"], "published_2sigma": cell["two_sigma"]}
        for scheme in schemes:
            ours = cv_metrics[(cv_metrics["model"] == cell["model"]) & (cv_metrics["target"] == cell["target"])
                              & (cv_metrics["metric"] == cell["metric"]) & (cv_metrics["scheme"] == scheme)]
            if ours.empty:
                raise ElectrodeMLError(f"no result for {cell['model']} / {cell['target']} / {scheme}: the report compares "
                                 "all published cells, so `models` and `targets` in params.yaml must cover them")
            value, two_sigma = float(ours["value"].iloc[0]), float(ours["two_sigma"].iloc[0])
            row[f"{scheme}"] = value
            row[f"{scheme}_2sigma"] = two_sigma
            row[f"{scheme}_difference"] = value - cell["value"]
            row[f"{scheme}_within"] = within_combined_two_sigma(value, two_sigma, cell["value"], cell["two_sigma"])
        rows.append(row)
    return pd.DataFrame(rows)


def within_combined_two_sigma(ours: float, ours_two_sigma: float, published: float, published_two_sigma: float) -> bool:
    return abs(ours - published) <= math.hypot(ours_two_sigma, published_two_sigma)


def ranking(cv_metrics: pd.DataFrame, scheme: str) -> pd.DataFrame:
    """Per target and metric: which model is best, and whether that is PAPER_BEST (the paper's RQ2)."""
    part = cv_metrics[(cv_metrics["scheme"] == scheme) & (cv_metrics["model"] != "control")]
    rows = []
    for (target, metric), cells in part.groupby(["target", "metric"], sort=False):
        best_value = BETTER[metric](cells["value"])
        best = cells.loc[cells["value"] == best_value, "model"].iloc[0]
        rows.append({"target": target, "metric": metric, "best": best, "paper_best_first": best == PAPER_BEST})
    return pd.DataFrame(rows)


def loco_cluster(fold: int, clusters: pd.DataFrame) -> tuple[int, str]:
    """The cluster a LOCO fold holds out and its representative: fold k is cluster k, and the fold
    after the last cluster is DBSCAN's noise (-1, "(noise)")."""
    names = clusters.set_index("cluster")["representative"].fillna("")  # noise has no representative
    cluster = int(fold) if int(fold) in names.index and int(fold) >= 0 else -1
    return cluster, names.get(cluster, "") or "(noise)"


def per_cluster_errors(cv_dir: Path, clusters: pd.DataFrame, models, targets) -> pd.DataFrame:
    """LOCO: MAE of each model on each held-out cluster, and its ratio to the control's there."""
    rows = []
    for target in targets:
        for model in models:
            folds = pd.read_csv(paths.cv_cell(model, target, "loco", cv_dir) / "folds.csv")
            for _, fold in folds.iterrows():
                cluster, representative = loco_cluster(fold["fold"], clusters)
                rows.append({"target": target, "model": model, "cluster": cluster, "representative": representative,
                             "n": int(fold["n"]), "mae": fold["mae"], "smae": fold["mae"] / fold["control_mae"]})
    return pd.DataFrame(rows)


def per_ion_errors(cv_dir: Path, models, targets, schemes) -> pd.DataFrame:
    parts = []
    for model in models:
        for target in targets:
            for scheme in schemes:
                table = pd.read_csv(paths.cv_cell(model, target, scheme, cv_dir) / "by_ion.csv")
                parts.append(table.assign(model=model, target=target, scheme=scheme))
    return pd.concat(parts, ignore_index=True)[["scheme", "target", "model", "working_ion", "n", "mae"]]


def per_ion_pivot(per_ion: pd.DataFrame) -> pd.DataFrame:
    """One row per scheme, target and model, one column per working ion (most electrodes first)."""
    ions = counts_most_first(per_ion.groupby("working_ion")["n"].max()).index
    table = per_ion.pivot_table(index=["scheme", "target", "model"], columns="working_ion", values="mae", sort=False)
    table = table[list(ions)].round(3).reset_index()
    table["target"] = table["target"].map(TARGET_TITLES)
    table["model"] = table["model"].map(DISPLAY_NAMES)
    return table.rename_axis(columns=None)


def dataset_summary(electrodes: pd.DataFrame, prepare_summary: dict) -> pd.DataFrame:
    rows = [{"quantity": "electrodes (rows used)", "value": f"{len(electrodes):,}"},
            {"quantity": "rows set aside by prepare", "value": str(prepare_summary["rows_dropped"])},
            {"quantity": "distinct compositions", "value": f"{electrodes['composition'].nunique():,}"}]
    for ion, count in counts_most_first(electrodes["working_ion"].value_counts()).items():
        rows.append({"quantity": f"working ion {ion}", "value": f"{count:,} ({count / len(electrodes):.1%})"})
    for name in TARGET_KEYS.values():
        values = electrodes[name]
        rows.append({"quantity": name, "value": f"mean {values.mean():.3g}, std {values.std():.3g}, "
                                                f"range {values.min():.3g} to {values.max():.3g}"})
    return pd.DataFrame(rows)


# Plain-text units and symbols as each format typesets them.
MARKDOWN_SYMBOLS = {"cm3": "cm³", "R2": "R²", "+-": "±"}
LATEX_SYMBOLS = {"cm3": "cm$^3$", "R2": "$R^2$", "+-": "$\\pm$", "2 sigma": "2$\\sigma$"}


def display_header(column: str) -> str:
    """`smae_2sigma` -> `SMAE 2 sigma`: snake_case columns read as words."""
    if " " in column or not column.islower():
        return column
    words = column.replace("2sigma", "2 sigma").replace("_", " ")
    for short, long in (("smae", "SMAE"), ("mae", "MAE"), ("r2", "R2"), ("se", "SE"), ("elmd", "ElMD")):
        words = " ".join(long if word == short else word for word in words.split(" "))
    return words[0].upper() + words[1:]


def _symbols(text: str, symbols: dict[str, str]) -> str:
    for plain, typeset in symbols.items():
        text = text.replace(plain, typeset)
    return text


def learning_curve_table(summaries: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """Every bootstrap learning curve in one long table, target and model by their display names:
    what dvc.yaml's plot draws, one chart per target and one line per model, whatever the matrix."""
    table = pd.concat([summary.assign(target=TARGET_TITLES[target], model=DISPLAY_NAMES[model])
                       for (model, target), summary in summaries.items()], ignore_index=True)
    return table[["target", "model", *(column for column in table.columns if column not in ("target", "model"))]]


def write_table_formats(table: pd.DataFrame, stem: Path, caption: str) -> list[Path]:
    """Markdown, LaTeX (booktabs, via pandas' Styler) and CSV of one table.

    The CSV keeps the data as computed (column names as in the code, empty cells empty); the
    Markdown and LaTeX are for reading: words for headers, typeset units and symbols, numbers
    right-aligned, a dash for an empty cell.
    """
    stem.parent.mkdir(parents=True, exist_ok=True)
    readable = table.rename(columns=display_header)
    numeric = [pd.api.types.is_numeric_dtype(readable[column]) for column in readable.columns]
    markdown = readable.astype(object).where(readable.notna().to_numpy(), "–")
    markdown = markdown.rename(columns=lambda c: _symbols(c, MARKDOWN_SYMBOLS))
    latex = (readable.rename(columns=lambda c: _symbols(_latex_escape(c), LATEX_SYMBOLS)).style
             .hide(axis="index").format(na_rep="--", precision=4, escape="latex")
             .format_index(escape=None, axis="columns"))
    outputs = {
        ".md": f"<!-- {caption} -->\n\n" + markdown.to_markdown(index=False, colalign=["right" if n else "left" for n in numeric])
               + "\n",
        ".tex": latex.to_latex(hrules=True, caption=_symbols(_latex_escape(caption), LATEX_SYMBOLS),
                               column_format="".join("r" if n else "l" for n in numeric), position_float="centering",
                               environment="table"),
        ".csv": table.to_csv(index=False),
    }
    written = []
    for suffix, text in outputs.items():
        path = stem.with_suffix(suffix)
        with atomic_path(path) as temporary:
            temporary.write_text(text)
        written.append(path)
    return written


def _latex_escape(text: str) -> str:
    for character, replacement in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
        text = text.replace(character, replacement)
    return text


UNCERTAINTY_CAPTIONS = {
    "standard_errors": "SMAE per cell: fold spread (2 sigma), standard error of the mean (naive and Nadeau-Bengio "
                       "corrected), and LOCO weighted by cluster and by row",
    "equivalence": "Our SMAE against the published one: difference, combined corrected standard error, verdict",
    "paired_differences": "Every pair of models on the same folds: mean MAE difference (a - b), 95% interval, sign test",
    "ranks": "Order of the models by SMAE, ours and published: Kendall tau, and whether the paper's best is first",
}


def uncertainty(cv_dir: Path, published: pd.DataFrame, models, targets, schemes, margin: float) -> dict[str, pd.DataFrame]:
    """The tables of UNCERTAINTY_CAPTIONS, from every cell's folds.csv and the published table."""
    errors, equivalence, pairs, ranks = [], [], [], []
    published_smae = published[published["metric"] == "smae"].set_index(["model", "target"])
    for scheme in schemes:
        for target in targets:
            folds = {model: pd.read_csv(paths.cv_cell(model, target, scheme, cv_dir) / "folds.csv") for model in models}
            cells = {model: statistics.standard_errors(table) for model, table in folds.items()}
            for model, cell in cells.items():
                errors.append({"scheme": scheme, "target": target, "model": model, "smae": cell["smae"],
                               "smae_2sigma": statistics.two_sigma_of(folds[model]["mae"]) / folds[model]["control_mae"].mean(),
                               "se_naive": cell["smae_se"], "se_corrected": cell["smae_se_corrected"],
                               "smae_row_weighted": cell["smae_row_weighted"], "folds": cell["folds"]})
                if model == "control" or (model, target) not in published_smae.index:
                    continue
                theirs = published_smae.loc[(model, target)]
                published_se = statistics.published_standard_error(theirs["two_sigma"], cell["folds"])
                combined = float(np.hypot(cell["smae_se_corrected"], published_se))
                difference = cell["smae"] - theirs["value"]
                equivalence.append({"scheme": scheme, "target": target, "model": model, "ours": cell["smae"],
                                    "ours_se": cell["smae_se_corrected"], "published": theirs["value"],
                                    "published_se": published_se, "difference": difference, "combined_se": combined,
                                    "margin": margin, "verdict": statistics.verdict(difference, combined, margin)})
            ratio = statistics.test_train_ratio(folds[models[0]]["n"])
            for row in statistics.paired_differences({m: t["mae"] for m, t in folds.items()}, ratio).itertuples(index=False):
                pairs.append({"scheme": scheme, "target": target, **row._asdict()})
            ours = pd.Series({model: cells[model]["smae"] for model in models if model != "control"})
            theirs = published_smae.xs(target, level="target")["value"].drop("control", errors="ignore")
            target_pairs = pd.DataFrame([p for p in pairs if p["scheme"] == scheme and p["target"] == target])
            target_pairs = target_pairs[(target_pairs["a"] != "control") & (target_pairs["b"] != "control")]
            ranks.append({"scheme": scheme, "target": target,
                          "ours": " < ".join(DISPLAY_NAMES[m] for m in ours.sort_values().index),
                          "published": " < ".join(DISPLAY_NAMES[m] for m in theirs.sort_values().index),
                          "kendall_tau": statistics.kendall_tau(theirs, ours),
                          "paper_best_first": statistics.first_place(target_pairs, PAPER_BEST) if PAPER_BEST in ours else "n/a"})
    return {"standard_errors": pd.DataFrame(errors).round(4), "equivalence": pd.DataFrame(equivalence).round(4),
            "paired_differences": pd.DataFrame(pairs).round(4), "ranks": pd.DataFrame(ranks).round(3)}


def uncertainty_markdown(tables: dict[str, pd.DataFrame], published: pd.DataFrame, margin: float, schemes) -> str:
    """REPRODUCTION.md's second half: agreement as a test that can fail, with its uncertainty."""
    equivalence, ranks, pairs, errors = (tables[name] for name in ("equivalence", "ranks", "paired_differences",
                                                                   "standard_errors"))
    lines = ["", "## Agreement as a test that can fail", "",
             "The 2-sigma column above is the spread of single folds, not the uncertainty of a mean, so a mean predictor",
             "would be 'within' almost everywhere. Here each SMAE carries the standard error of its mean over folds,",
             "corrected for the overlap of CV training sets (Nadeau and Bengio 2003): (1/k + n_test/n_train) s^2. The",
             "published 2 sigma becomes a standard error the same way, with the fold count of the scheme compared.",
             f"Verdict per cell, margin +- {margin} SMAE (`report.equivalence_margin`): **equivalent** if the 90% interval",
             "of ours - published lies inside the margin (two one-sided tests at 5%), **different** if the 95% interval",
             "excludes 0, else **undecided**. Tables: `tables/equivalence`, `tables/standard_errors`.", ""]
    for scheme in schemes:
        part = equivalence[equivalence["scheme"] == scheme]
        counts = part["verdict"].value_counts()
        lines.append(f"- {SCHEME_TITLES[scheme]}: " + ", ".join(f"{counts.get(v, 0)} {v}" for v in
                                                               ("equivalent", "different", "undecided"))
                     + f" of {len(part)} model cells.")
    lines += ["", "| Scheme | Target | Model | Ours (SE) | Published (SE) | Difference | Verdict |", "|---|---|---|---|---|---|---|"]
    for row in equivalence.itertuples():
        lines.append(f"| {row.scheme} | {TARGET_TITLES[row.target]} | {DISPLAY_NAMES[row.model]} | {row.ours:.3f} "
                     f"({row.ours_se:.3f}) | {row.published:.3f} ({row.published_se:.3f}) | {row.difference:+.3f} | "
                     f"{row.verdict} |")

    lines += ["", "## Which model is best, with its uncertainty", "",
              "Ours: paired differences of fold MAEs between models on the same folds (`tables/paired_differences`),",
              "with a 95% t interval on the corrected standard error and a two-sided sign test. 'CrabNet first' is",
              "**confirmed** when its interval lies below 0 against every other model, **refuted** when another",
              "model's lies below CrabNet's, else **undecided**. Kendall tau compares our order of the three models",
              "by SMAE with the published order (1: same order; with three models the only values are +-1, +-1/3).", "",
              f"| Scheme | Target | Our order (best first) | Published order | Kendall tau | {DISPLAY_NAMES[PAPER_BEST]} first |",
              "|---|---|---|---|---|---|"]
    for row in ranks.itertuples():
        lines.append(f"| {row.scheme} | {TARGET_TITLES[row.target]} | {row.ours} | {row.published} | "
                     f"{row.kendall_tau:+.2f} | {row.paper_best_first} |")
    best = DISPLAY_NAMES[PAPER_BEST]
    against = pairs[(pairs["a"] == PAPER_BEST) | (pairs["b"] == PAPER_BEST)]
    against = against[(against["a"] != "control") & (against["b"] != "control")]
    if len(against):
        lines += ["", f"{best} against each other model, MAE difference ({best} - other; negative: {best} better),",
                  "mean over folds with its 95% interval, folds where it is better, sign test:", "",
                  "| Scheme | Target | Other | Difference | 95% interval | Better in | Sign test p |", "|---|---|---|---|---|---|---|"]
        for row in against.itertuples():
            sign = 1 if row.a == PAPER_BEST else -1
            low, high = sorted((sign * row.low, sign * row.high))
            better = row.a_better_folds if sign == 1 else row.folds - row.a_better_folds
            other = row.b if sign == 1 else row.a
            places = TARGET_REGISTRY[row.target].mae_digits + 1
            lines.append(f"| {row.scheme} | {TARGET_TITLES[row.target]} | {DISPLAY_NAMES[other]} | "
                         f"{sign * row.mean_difference:+.{places}f} | [{low:+.{places}f}, {high:+.{places}f}] | "
                         f"{better} of {row.folds} | {row.sign_test_p:.3f} |")

    loco = errors[(errors["scheme"] == "loco") & (errors["model"] != "control")]
    if len(loco):
        lines += ["", "## LOCO: each cluster equal, or each electrode equal", "",
                  "The LOCO mean above gives every held-out cluster the same weight (the paper's convention, as we read",
                  "it), from the smallest cluster to the largest. Weighted by rows, each electrode counts once:", "",
                  "| Target | Model | SMAE, clusters equal | SMAE, rows equal |", "|---|---|---|---|"]
        for row in loco.itertuples():
            lines.append(f"| {TARGET_TITLES[row.target]} | {DISPLAY_NAMES[row.model]} | {row.smae:.3f} | "
                         f"{row.smae_row_weighted:.3f} |")

    lines += ["", "## Inconsistencies in the published table, by arithmetic", "",
              "Two rules hold in the published table: SMAE = MAE / control MAE, and SMAE 2 sigma = MAE 2 sigma /",
              "control MAE (to the printed rounding). Cells that break them:", ""]
    notes = statistics.published_inconsistencies(published)
    lines += [f"- {DISPLAY_NAMES[n['model']]}, {TARGET_TITLES[n['target']]}: {n['quantity']} printed {n['printed']:.3f}, "
              f"but {n['rule']} = {n['expected']:.4f}." for n in notes] or ["- None."]
    return "\n".join(lines) + "\n"


def input_size_table(models_dir: Path, models, targets) -> pd.DataFrame:
    """Per model: what it reads per electrode, offered and used, from each train cell's run record
    (the models fitted on all electrodes); `used` can differ by target (a forest's splits)."""
    rows = []
    for model in models:
        inputs = {}
        for target in targets:
            path = paths.trained_model(model, target, models_dir) / "run.json"
            if not path.exists():
                raise MissingInputError(f"{path} is missing: run `dvc repro train`")
            record = json.loads(path.read_text())
            if "inputs" not in record:
                raise MissingInputError(f"{path} predates the input record: run `dvc repro -f train`")
            inputs[target] = record["inputs"]
        first = next(iter(inputs.values()))
        offered = sorted({entry["offered"] for entry in inputs.values()})
        rows.append({"model": DISPLAY_NAMES[model], "input": first["input"], "unit": first["unit"],
                     "offered": offered[0] if len(offered) == 1 else " / ".join(map(str, offered)),
                     **{f"Used, {TARGET_TITLES[target]}": entry["used"] for target, entry in inputs.items()}})
    return pd.DataFrame(rows)


def repeated_cv_table(repeated_dir: Path, models, targets) -> pd.DataFrame:
    """Per model and target: SMAE over the draws of the stratified folds (stage repeated_cv)."""
    rows = []
    for model in models:
        for target in targets:
            path = paths.repeated_cv_cell(model, target, repeated_dir) / paths.METRICS
            if not path.exists():
                raise MissingInputError(f"{path} is missing: run `dvc repro repeated_cv`")
            metrics = json.loads(path.read_text())
            prefix = f"{model}.{target}.stratified5_repeated"
            rows.append({"model": model, "target": target, "draws": metrics[f"{prefix}.draws"],
                         "smae": metrics[f"{prefix}.smae"], "smae_2sigma_over_draws": metrics[f"{prefix}.smae_2sigma_over_draws"],
                         "smae_range": metrics[f"{prefix}.smae_range"], "mae": metrics[f"{prefix}.mae"]})
    return pd.DataFrame(rows).round(4)


def repeated_cv_markdown(table: pd.DataFrame) -> str:
    lines = ["", "## Fold-choice noise: repeated stratified CV", "",
             "One draw of the five folds is one way the data could have been split. The cheap models ran on",
             f"{int(table['draws'].max())} draws (`folds.repeats`, seeds `folds.seed` + 0, 1, ...; draw 0 is the table above);",
             "the spread of SMAE over draws is the noise every single-draw number carries (`tables/repeated_cv`).", "",
             "| Model | Target | SMAE, mean over draws | 2 sigma over draws | Range |", "|---|---|---|---|---|"]
    for row in table.itertuples():
        lines.append(f"| {DISPLAY_NAMES[row.model]} | {TARGET_TITLES[row.target]} | {row.smae:.3f} | "
                     f"{row.smae_2sigma_over_draws:.3f} | {row.smae_range:.3f} |")
    return "\n".join(lines) + "\n"
