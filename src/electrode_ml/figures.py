"""Matplotlib figures: one function per figure, each saved as PNG (300 dpi) and PDF.

Categories are told apart by colour and marker together (Paul Tol's colour-blind-safe palettes
hold at most 10 colours, the maps need up to 15 categories); continuous values use viridis.
"""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from electrode_ml.files import atomic_path  # noqa: E402

# Paul Tol's "muted" scheme plus its "bright" blue and grey-free extras.
TOL_COLOURS = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255",
               "#AA4499", "#4477AA"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h"]
NOISE_COLOUR = "#BBBBBB"

plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "legend.fontsize": 7, "savefig.bbox": "tight"})


def category_style(index: int) -> dict:
    """Colour and marker for category `index`: 100 distinct pairs before any repeats."""
    return {"color": TOL_COLOURS[index % len(TOL_COLOURS)], "marker": MARKERS[(index // len(TOL_COLOURS) + index) % len(MARKERS)]}


def save(figure, path_stem: Path) -> list[Path]:
    """Write `<stem>.png` (300 dpi) and `<stem>.pdf`; PDF metadata without a date, so reruns are byte-stable."""
    written = []
    for suffix, options in ((".png", {"dpi": 300, "metadata": {"Software": None}}),
                            (".pdf", {"metadata": {"CreationDate": None, "Producer": None, "Creator": None}})):
        path = path_stem.with_suffix(suffix)
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format=suffix[1:], **options)
        written.append(path)
    plt.close(figure)
    return written


def working_ion_distribution(working_ions: pd.Series, path_stem: Path) -> list[Path]:
    """The paper's Fig. 2: electrodes per working ion."""
    counts = working_ions.value_counts()
    figure, axes = plt.subplots(figsize=(4.5, 3))
    bars = axes.bar(counts.index, counts.values, color=TOL_COLOURS[0])
    axes.bar_label(bars, labels=[f"{count:,}" for count in counts.values], fontsize=7, padding=2)
    axes.set_xlabel("working ion")
    axes.set_ylabel("electrodes")
    axes.set_title(f"Working ions of the {len(working_ions):,} electrodes")
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_ylim(0, counts.max() * 1.12)
    return save(figure, path_stem)


def formula_label(formula: str) -> str:
    """'Li4Mn2(PO4)3' -> mathtext with subscript amounts."""
    return "$\\mathregular{" + re.sub(r"(\d+\.?\d*)", r"_{\1}", formula) + "}$"


def categorical_map(coordinates: np.ndarray, categories: pd.Series, title: str, axis_label: str, path_stem: Path,
                    annotations: dict[str, tuple[float, float]] | None = None, noise_label=None,
                    order: list | None = None) -> list[Path]:
    """A 2-D map coloured by category (in `order`, default: most frequent first); `annotations`
    (text -> point) are set beside the map, without overlaps."""
    figure, axes = plt.subplots(figsize=(8.5, 6) if annotations else (6.5, 5))
    order = [c for c in (order or categories.value_counts().index) if c != noise_label]
    if noise_label is not None and (categories == noise_label).any():
        mask = (categories == noise_label).to_numpy()
        axes.scatter(*coordinates[mask].T, s=4, c=NOISE_COLOUR, marker="x", linewidths=0.5, label=f"{noise_label} ({mask.sum()})")
    for index, category in enumerate(order):
        mask = (categories == category).to_numpy()
        style = category_style(index)
        axes.scatter(*coordinates[mask].T, s=5, alpha=0.8, linewidths=0, label=f"{category} ({mask.sum()})",
                     c=style["color"], marker=style["marker"])
    axes.set_xlabel(f"{axis_label} 1")
    axes.set_ylabel(f"{axis_label} 2")
    axes.set_title(title)
    axes.set_xticks([])
    axes.set_yticks([])
    legend = axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), markerscale=2.5, frameon=False,
                         ncol=1 if len(order) <= 16 else 2)
    if annotations:
        _annotate_beside(axes, annotations)
        legend.set_bbox_to_anchor((1.25, 1))
    return save(figure, path_stem)


def _annotate_beside(axes, annotations: dict[str, tuple[float, float]]) -> None:
    """Labels in two columns left and right of the map, spaced evenly, each joined to its point.

    Evenly spaced rows cannot overlap, and the lines are sorted by height so they do not cross
    within a side.
    """
    x_low, x_high = axes.get_xlim()
    y_low, y_high = axes.get_ylim()
    middle = (x_low + x_high) / 2
    sides = {"left": [], "right": []}
    for text, point in annotations.items():
        sides["left" if point[0] < middle else "right"].append((text, point))
    for side, items in sides.items():
        items.sort(key=lambda item: item[1][1])
        heights = np.linspace(y_low, y_high, len(items) + 2)[1:-1]
        x_text = x_low - 0.04 * (x_high - x_low) if side == "left" else x_high + 0.04 * (x_high - x_low)
        for (text, point), height in zip(items, heights):
            axes.annotate(text, xy=point, xytext=(x_text, height), textcoords="data", fontsize=7,
                          ha="right" if side == "left" else "left", va="center", annotation_clip=False,
                          arrowprops={"arrowstyle": "-", "color": "#444444", "lw": 0.5, "shrinkA": 2, "shrinkB": 2})
            axes.plot(*point, marker="*", color="black", markersize=7, markeredgecolor="white", markeredgewidth=0.5)


def continuous_maps(coordinates: np.ndarray, values: pd.DataFrame, axis_label: str, path_stem: Path) -> list[Path]:
    """One panel per column of `values`, colour clipped to the 1-99th percentile so outliers do not wash it out."""
    figure, axes_row = plt.subplots(1, values.shape[1], figsize=(4.2 * values.shape[1], 3.8))
    for axes, column in zip(np.atleast_1d(axes_row), values.columns):
        low, high = np.nanpercentile(values[column], [1, 99])
        points = axes.scatter(*coordinates.T, c=values[column], s=4, cmap="viridis", vmin=low, vmax=high, linewidths=0)
        figure.colorbar(points, ax=axes, shrink=0.85, label=column)
        axes.set_title(column)
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_xlabel(f"{axis_label} 1")
        axes.set_ylabel(f"{axis_label} 2")
    return save(figure, path_stem)


def parity_grid(predictions: dict[tuple[str, str], pd.DataFrame], models: list[str], targets: list[str],
                titles: dict, path_stem: Path, suptitle: str) -> list[Path]:
    """Out-of-fold prediction against truth, one panel per target (rows) and model (columns)."""
    figure, grid = plt.subplots(len(targets), len(models), figsize=(2.6 * len(models), 2.5 * len(targets)),
                                squeeze=False)
    for row, target in enumerate(targets):
        truths = pd.concat([predictions[model, target]["y_true"] for model in models])
        low, high = np.nanpercentile(truths, [0.5, 99.5])
        for column, model in enumerate(models):
            axes = grid[row, column]
            table = predictions[model, target]
            axes.scatter(table["y_true"], table["y_pred"], s=3, alpha=0.3, color=TOL_COLOURS[0], linewidths=0)
            axes.plot([low, high], [low, high], color="black", lw=0.7)
            axes.set_xlim(low, high)
            axes.set_ylim(low, high)
            error = np.mean(np.abs(table["y_true"] - table["y_pred"]))
            axes.text(0.04, 0.93, f"MAE {error:.3g}", transform=axes.transAxes, fontsize=7, va="top")
            if row == 0:
                axes.set_title(titles["models"][model])
            if column == 0:
                axes.set_ylabel(f"predicted\n{titles['targets'][target]}")
            if row == len(targets) - 1:
                axes.set_xlabel("true")
    figure.suptitle(suptitle)
    figure.tight_layout()
    return save(figure, path_stem)


def smae_bars(cv_metrics: pd.DataFrame, scheme: str, titles: dict, path_stem: Path) -> list[Path]:
    """SMAE with 2-sigma error bars, grouped by target, one bar per model; the control's SMAE is 1."""
    part = cv_metrics[(cv_metrics["scheme"] == scheme) & (cv_metrics["metric"] == "smae")]
    models, targets = list(part["model"].unique()), list(part["target"].unique())
    width = 0.8 / len(models)
    figure, axes = plt.subplots(figsize=(6.5, 3.4))
    for index, model in enumerate(models):
        cells = part[part["model"] == model].set_index("target").loc[targets]
        positions = np.arange(len(targets)) + (index - (len(models) - 1) / 2) * width
        axes.bar(positions, cells["value"], width, yerr=cells["two_sigma"], capsize=2, label=titles["models"][model],
                 color=TOL_COLOURS[index], error_kw={"lw": 0.8})
    axes.axhline(1, color="black", lw=0.6, ls="--")
    axes.set_xticks(np.arange(len(targets)), [titles["targets"][t] for t in targets])
    axes.set_ylabel("SMAE (MAE / control MAE)")
    axes.set_title(f"SMAE with 2-sigma spread over folds, {titles['schemes'][scheme]}")
    axes.set_ylim(bottom=0)
    axes.legend(frameon=False, ncol=len(models), loc="upper center", bbox_to_anchor=(0.5, -0.12))
    axes.spines[["top", "right"]].set_visible(False)
    return save(figure, path_stem)


def learning_curves(summaries: dict[tuple[str, str], pd.DataFrame], models: list[str], targets: list[str],
                    titles: dict, path_stem: Path) -> list[Path]:
    """Bootstrap MAE against training-set size, mean and 2-sigma band over repeats."""
    figure, grid = plt.subplots(1, len(targets), figsize=(4 * len(targets), 3.3), squeeze=False)
    for column, target in enumerate(targets):
        axes = grid[0, column]
        for index, model in enumerate(models):
            curve = summaries[model, target]
            style = category_style(index)
            axes.plot(curve["n_train"], curve["mae"], marker=style["marker"], color=style["color"], ms=4, lw=1,
                      label=titles["models"][model])
            axes.fill_between(curve["n_train"], curve["mae"] - curve["mae_2sigma"], curve["mae"] + curve["mae_2sigma"],
                              color=style["color"], alpha=0.15, lw=0)
        axes.set_xscale("log")
        axes.set_xlabel("training electrodes (bootstrap draw)")
        axes.set_ylabel(f"MAE, {titles['targets'][target]}")
        axes.spines[["top", "right"]].set_visible(False)
    grid[0, 0].legend(frameon=False)
    figure.suptitle("Learning curves: error on a fixed held-out fold as the training set grows")
    figure.tight_layout()
    return save(figure, path_stem)


def cluster_heatmap(per_cluster: pd.DataFrame, models: list[str], targets: list[str], titles: dict,
                    path_stem: Path) -> list[Path]:
    """LOCO: each model's MAE on each held-out cluster, relative to the control's MAE there."""
    figure, grid = plt.subplots(1, len(targets), figsize=(3.6 * len(targets), 0.32 * per_cluster["cluster"].nunique() + 1.9),
                                squeeze=False, sharey=True, layout="constrained")
    image = None
    for column, target in enumerate(targets):
        part = per_cluster[per_cluster["target"] == target]
        matrix = part.pivot_table(index=["cluster", "representative"], columns="model", values="smae")[models]
        axes = grid[0, column]
        image = axes.imshow(matrix.to_numpy(), cmap="viridis", vmin=0, vmax=1.5, aspect="auto")
        for (i, j), value in np.ndenumerate(matrix.to_numpy()):
            axes.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6,
                      color="white" if value < 0.75 else "black")
        axes.set_xticks(range(len(models)), [titles["models"][m] for m in models], rotation=30, ha="right")
        axes.set_yticks(range(len(matrix)), [f"{c}: {formula_label(r) if r != '(noise)' else r}" for c, r in matrix.index])
        axes.set_title(titles["targets"][target])
    figure.colorbar(image, ax=grid[0, -1], label="MAE / control MAE in the cluster")
    figure.suptitle("Leave-one-cluster-out: error on each held-out cluster")
    return save(figure, path_stem)


def ion_errors(per_ion: pd.DataFrame, scheme: str, models: list[str], targets: list[str], titles: dict,
               path_stem: Path) -> list[Path]:
    """MAE by working ion, one panel per target, one bar per model; ion counts under the labels."""
    part = per_ion[per_ion["scheme"] == scheme]
    figure, grid = plt.subplots(len(targets), 1, figsize=(7, 2.4 * len(targets)), squeeze=False)
    for row, target in enumerate(targets):
        axes = grid[row, 0]
        cells = part[part["target"] == target]
        ions = list(cells.groupby("working_ion")["n"].first().sort_values(ascending=False).index)
        width = 0.8 / len(models)
        for index, model in enumerate(models):
            values = cells[cells["model"] == model].set_index("working_ion").loc[ions, "mae"]
            axes.bar(np.arange(len(ions)) + (index - (len(models) - 1) / 2) * width, values, width,
                     color=TOL_COLOURS[index], label=titles["models"][model])
        counts = cells.groupby("working_ion")["n"].first()
        axes.set_xticks(range(len(ions)), [f"{ion}\n({counts[ion]})" for ion in ions], fontsize=7)
        axes.set_ylabel(f"MAE\n{titles['targets'][target]}")
        axes.spines[["top", "right"]].set_visible(False)
    grid[0, 0].legend(frameon=False, ncol=len(models), fontsize=7)
    grid[0, 0].set_title(f"Error by working ion (electrodes in brackets), {titles['schemes'][scheme]}")
    figure.tight_layout()
    return save(figure, path_stem)
