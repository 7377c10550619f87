"""The maps of the `cluster` stage (the paper's Figs. 2 and 5): working ions, t-SNE and UMAP coloured
by cluster, working ion and target. One function per figure, each saved as PNG and PDF at its
printed width (`plotting.FIGURE_WIDTHS_IN`), without a title (the caption carries it).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.lines import Line2D

from electrode_ml.data.electrodes import counts_most_first
from electrode_ml.data.targets import TARGET_BY_COLUMN
from electrode_ml.reporting.plotting import (
    ELMD,
    FEW_COLOURS,
    NOISE_COLOUR,
    category_style,
    figure_size,
    plt,
    save,
    target_label,
)

REPRESENTATIVE_LABEL = f"{ELMD} mean representative"
# Text over the points stays readable on any colour.
HALO = [patheffects.withStroke(linewidth=1.5, foreground="white")]
# Candidate offsets (points) of a representative's tag from its star, tried in this order.
TAG_OFFSETS_PT = [(3, 3), (3, -3), (-3, 3), (-3, -3), (0, 5), (0, -5), (6, 0), (-6, 0)]


def working_ion_distribution(working_ions: pd.Series, path_stem: Path) -> list[Path]:
    """The paper's Fig. 2: electrodes per working ion, the count above each bar."""
    counts = counts_most_first(working_ions.value_counts())
    figure, axes = plt.subplots(figsize=figure_size("working_ion_distribution", 2.2))
    bars = axes.bar(counts.index, counts.values, color=FEW_COLOURS[0])
    axes.bar_label(bars, labels=[f"{count:,}" for count in counts.values], fontsize=6, padding=1.5)
    axes.set_xlabel("Working ion")
    axes.set_ylabel("Electrodes (count)")
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_ylim(0, counts.max() * 1.15)
    return save(figure, path_stem)


def categorical_map(coordinates: np.ndarray, categories: pd.Series, axis_label: str, path_stem: Path,
                    annotations: dict[str, tuple[float, float]] | None = None, noise_label=None,
                    order: list | None = None, landmarks: dict[str, tuple[float, float]] | None = None) -> list[Path]:
    """A 2-D map coloured by category (in `order`, default: most frequent first), each category
    with its own colour and marker, `noise_label` as grey crosses; the legend beside the map gives
    each category's number of points.

    `annotations` (label -> point), the paper's Fig. 5: each point, a member of one category (the
    cluster's ElMD mean representative), gets a star and, beside it, its tag: the part of the
    label before ': ' (the cluster number), placed clear of the other tags. The full label (tag,
    formula) is that category's legend entry, so no leader line crosses the map. `landmarks`
    (label -> point, e.g. LiFePO4) are ringed and named on the map. No title: the caption in
    paper/README.md carries it.
    """
    annotated = bool(annotations)
    figure, axes = plt.subplots(figsize=figure_size("categorical_map_annotated" if annotated else "categorical_map",
                                                    4.4 if annotated else 2.6))
    order = [c for c in (order if order is not None else counts_most_first(categories.value_counts()).index) if c != noise_label]
    category_of_label = {label: categories.iloc[_nearest(coordinates, point)] for label, point in
                         (annotations or {}).items()}
    legend_names = {category: label for label, category in category_of_label.items()}
    handles = []
    for index, category in enumerate(order):
        mask = (categories == category).to_numpy()
        style = category_style(index, many=True)
        axes.scatter(*coordinates[mask].T, s=4, alpha=0.85, linewidths=0, c=style["color"], marker=style["marker"],
                     rasterized=True)
        handles.append(Line2D([], [], ls="", ms=4, color=style["color"], marker=style["marker"],
                              label=f"{legend_names.get(category, category)} ({mask.sum():,})"))
    if noise_label is not None and (categories == noise_label).any():
        mask = (categories == noise_label).to_numpy()
        axes.scatter(*coordinates[mask].T, s=6, c=NOISE_COLOUR, marker="x", linewidths=0.5, rasterized=True)
        handles.append(Line2D([], [], ls="", ms=4, color=NOISE_COLOUR, marker="x", label=f"{noise_label} ({mask.sum():,})"))
    if annotated:
        handles.append(Line2D([], [], ls="", ms=6, color="black", marker="*", markeredgecolor="white",
                              markeredgewidth=0.4, label=REPRESENTATIVE_LABEL))
    for label, point in (landmarks or {}).items():
        axes.plot(*point, ls="", marker="o", ms=7, mfc="none", mec="black", mew=0.9)
        axes.annotate(label, xy=point, xytext=(5, -6), textcoords="offset points", fontsize=7, ha="left",
                      va="top", path_effects=HALO)
    axes.set_xlabel(f"{axis_label} 1")
    axes.set_ylabel(f"{axis_label} 2")
    axes.set_xticks([])
    axes.set_yticks([])
    figure.legend(handles=handles, loc="outside right upper", handletextpad=0.2, borderaxespad=0.2,
                  labelspacing=0.35 if annotated else 0.5)
    if annotated:
        figure.canvas.draw()  # lay the figure out first: tags are placed by their size on the page
        _mark_representatives(figure, axes, annotations)
    return save(figure, path_stem)


def _nearest(coordinates: np.ndarray, point: tuple[float, float]) -> int:
    return int(np.argmin(((coordinates - np.asarray(point)) ** 2).sum(axis=1)))


def _mark_representatives(figure, axes, annotations: dict[str, tuple[float, float]]) -> None:
    """A star on each point and its tag beside it, at the first offset that overlaps no tag placed before.

    Not adjustText: the tags are a few characters (cluster numbers), one of eight fixed offsets
    always keeps a tag against its star, and the result does not depend on an iterative solver's
    moves, so the map's bytes stay the same run to run (`make verify` compares them).
    """
    renderer = figure.canvas.get_renderer()
    placed = []
    for label, point in annotations.items():
        axes.plot(*point, ls="", marker="*", ms=7, color="black", markeredgecolor="white", markeredgewidth=0.4)
        tag = label.split(": ", 1)[0]
        for dx, dy in TAG_OFFSETS_PT:
            text = axes.annotate(tag, xy=point, xytext=(dx, dy), textcoords="offset points", fontsize=7,
                                 fontweight="bold", ha="left" if dx >= 0 else "right",
                                 va="bottom" if dy >= 0 else "top", path_effects=HALO)
            box = text.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in placed):
                break
            text.remove()
        else:  # every offset collides: keep the first, a tag overlapping a tag beats a missing one
            text = axes.annotate(tag, xy=point, xytext=TAG_OFFSETS_PT[0], textcoords="offset points", fontsize=7,
                                 fontweight="bold", ha="left", va="bottom", path_effects=HALO)
            box = text.get_window_extent(renderer)
        placed.append(box)


def continuous_maps(coordinates: np.ndarray, values: pd.DataFrame, axis_label: str, path_stem: Path) -> list[Path]:
    """One panel per target column of `values` (prepared column names), its display name and unit
    on the colour bar. The colour spans the 1st-99th percentile so that outliers do not wash it
    out; values beyond it take the end colours, marked by the colour bar's end arrows."""
    figure, axes_row = plt.subplots(1, values.shape[1], figsize=figure_size("continuous_maps", 2.6))
    for axes, column in zip(np.atleast_1d(axes_row), values.columns):
        column_values = values[column].to_numpy(dtype=float)
        low, high = np.nanpercentile(column_values, [1, 99])
        extend = {(False, False): "neither", (True, False): "min", (False, True): "max", (True, True): "both"}[
            (bool(np.nanmin(column_values) < low), bool(np.nanmax(column_values) > high))]
        points = axes.scatter(*coordinates.T, c=column_values, s=2, cmap="viridis", vmin=low, vmax=high,
                              linewidths=0, rasterized=True)
        figure.colorbar(points, ax=axes, orientation="horizontal", location="bottom", extend=extend, aspect=25,
                        shrink=0.9, label=target_label(TARGET_BY_COLUMN[column].key))
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_xlabel(f"{axis_label} 1")
        axes.set_ylabel(f"{axis_label} 2")
    return save(figure, path_stem)
