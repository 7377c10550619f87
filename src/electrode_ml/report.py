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

from electrode_ml.data import TARGET_KEYS
from electrode_ml.files import atomic_path
from electrode_ml.models import DISPLAY_NAMES

# Published target names -> ours.
PUBLISHED_TARGETS = {"gravimetric_capacity": "grav_capacity", "volumetric_capacity": "vol_capacity",
                     "average_voltage": "voltage"}
TARGET_TITLES = {"grav_capacity": "Grav. capacity (mAh/g)", "vol_capacity": "Vol. capacity (mAh/cm3)",
                 "voltage": "Voltage (V)"}
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
                path = cv_dir / model / target / scheme / "metrics.json"
                if not path.exists():
                    raise FileNotFoundError(f"{path} is missing: run `dvc repro cv` first")
                metrics = json.loads(path.read_text())
                prefix = f"{model}.{target}.{scheme}"
                for metric in METRICS:
                    rows.append({"model": model, "target": target, "scheme": scheme, "metric": metric,
                                 "value": metrics[f"{prefix}.{metric}"],
                                 "two_sigma": metrics[f"{prefix}.{metric}_2sigma"]})
    return pd.DataFrame(rows)


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


def format_cell(value: float, two_sigma: float, metric: str, target: str) -> str:
    digits = 3 if metric != "mae" or target == "voltage" else 1
    return f"{value:.{digits}f} ({two_sigma:.{digits}f})"


def load_published(path: Path) -> pd.DataFrame:
    published = pd.read_csv(path)
    model_keys = {display: key for key, display in DISPLAY_NAMES.items()}
    published["model"] = published["model"].map(model_keys)
    published["target"] = published["target"].map(PUBLISHED_TARGETS)
    published["metric"] = published["metric"].str.lower()
    if published[["model", "target"]].isna().any().any():
        raise ValueError(f"{path}: unknown model or target names")
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
                raise ValueError(f"no result for {cell['model']} / {cell['target']} / {scheme}: the report compares "
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
    """Per target and metric: which model is best, and whether that is CrabNet (the paper's RQ2)."""
    part = cv_metrics[(cv_metrics["scheme"] == scheme) & (cv_metrics["model"] != "control")]
    rows = []
    for (target, metric), cells in part.groupby(["target", "metric"], sort=False):
        best_value = BETTER[metric](cells["value"])
        best = cells.loc[cells["value"] == best_value, "model"].iloc[0]
        rows.append({"target": target, "metric": metric, "best": best, "crabnet_first": best == "crabnet"})
    return pd.DataFrame(rows)


def published_inconsistencies(published: pd.DataFrame) -> list[str]:
    """Cells whose SMAE spread is not the MAE spread over the control's MAE (the rule every other cell follows)."""
    notes = []
    for (model, target), cells in published.groupby(["model", "target"]):
        control = published[(published["model"] == "control") & (published["target"] == target) & (published["metric"] == "mae")]
        mae_cell = cells[cells["metric"] == "mae"].iloc[0]
        smae_cell = cells[cells["metric"] == "smae"].iloc[0]
        expected = mae_cell["two_sigma"] / control["value"].iloc[0]
        if abs(expected - smae_cell["two_sigma"]) > 0.0015:
            notes.append(f"{DISPLAY_NAMES[model]}, {TARGET_TITLES[target]}: SMAE 2-sigma printed "
                         f"{smae_cell['two_sigma']:.3f}, but MAE 2-sigma / control MAE = "
                         f"{mae_cell['two_sigma']:.3f} / {control['value'].iloc[0]:.3f} = {expected:.3f}")
    return notes


def per_cluster_errors(cv_dir: Path, clusters: pd.DataFrame, models, targets) -> pd.DataFrame:
    """LOCO: MAE of each model on each held-out cluster, and its ratio to the control's there."""
    rows = []
    names = clusters.set_index("cluster")["representative"].fillna("")  # noise has no representative
    for target in targets:
        for model in models:
            folds = pd.read_csv(cv_dir / model / target / "loco" / "folds.csv")
            for _, fold in folds.iterrows():
                cluster = int(fold["fold"]) if int(fold["fold"]) in names.index and int(fold["fold"]) >= 0 else -1
                rows.append({"target": target, "model": model, "cluster": cluster,
                             "representative": names.get(cluster, "") or "(noise)",
                             "n": int(fold["n"]), "mae": fold["mae"], "smae": fold["mae"] / fold["control_mae"]})
    return pd.DataFrame(rows)


def per_ion_errors(cv_dir: Path, models, targets, schemes) -> pd.DataFrame:
    parts = []
    for model in models:
        for target in targets:
            for scheme in schemes:
                table = pd.read_csv(cv_dir / model / target / scheme / "by_ion.csv")
                parts.append(table.assign(model=model, target=target, scheme=scheme))
    return pd.concat(parts, ignore_index=True)[["scheme", "target", "model", "working_ion", "n", "mae"]]


def dataset_summary(electrodes: pd.DataFrame, prepare_summary: dict) -> pd.DataFrame:
    rows = [{"quantity": "electrodes (rows used)", "value": f"{len(electrodes):,}"},
            {"quantity": "rows set aside by prepare", "value": str(prepare_summary["rows_dropped"])},
            {"quantity": "distinct compositions", "value": f"{electrodes['composition'].nunique():,}"}]
    for ion, count in electrodes["working_ion"].value_counts().items():
        rows.append({"quantity": f"working ion {ion}", "value": f"{count:,} ({count / len(electrodes):.1%})"})
    for name in TARGET_KEYS.values():
        values = electrodes[name]
        rows.append({"quantity": name, "value": f"mean {values.mean():.3g}, std {values.std():.3g}, "
                                                f"range {values.min():.3g} to {values.max():.3g}"})
    return pd.DataFrame(rows)


def write_table_formats(table: pd.DataFrame, stem: Path, caption: str) -> list[Path]:
    """Markdown, LaTeX (booktabs) and CSV of one table."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    outputs = {
        ".md": f"<!-- {caption} -->\n\n" + table.to_markdown(index=False) + "\n",
        ".tex": _booktabs(table, caption),
        ".csv": table.to_csv(index=False),
    }
    written = []
    for suffix, text in outputs.items():
        path = stem.with_suffix(suffix)
        with atomic_path(path) as temporary:
            temporary.write_text(text)
        written.append(path)
    return written


def _booktabs(table: pd.DataFrame, caption: str) -> str:
    def escape(value) -> str:
        text = f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)
        for character, replacement in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"),
                                       ("#", r"\#")):
            text = text.replace(character, replacement)
        return text

    lines = [r"\begin{table}", r"\centering", rf"\caption{{{escape(caption)}}}",
             r"\begin{tabular}{" + "l" * table.shape[1] + "}", r"\toprule",
             " & ".join(escape(column) for column in table.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(escape(value) for value in row) + r" \\" for row in table.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)
