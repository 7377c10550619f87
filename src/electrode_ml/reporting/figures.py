"""The evaluation figures of the `report` stage: parity, SMAE, learning curves, per-cluster and
per-ion errors. One function per figure, each saved as PNG and PDF at its printed width
(`plotting.FIGURE_WIDTHS_IN`), without a title (the caption carries it).

`titles` is the caller's dict of display names: `titles["models"]` names the models; target
names and units come from the target registry through `plotting.target_label`, which typesets
the units.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

from electrode_ml.data.electrodes import counts_most_first
from electrode_ml.data.targets import TARGET_REGISTRY
from electrode_ml.reporting.crabnet_cpu_front import on_front
from electrode_ml.reporting.plotting import (
    DIVERGING_CMAP,
    ELMD,
    FEW_COLOURS,
    NOISE_COLOUR,
    category_style,
    figure_size,
    formula_label,
    plt,
    save,
    target_label,
    target_name,
    target_unit,
)

PARITY_PERCENTILES = (0.5, 99.5)
# LOCO heatmap: the colour runs from 0 to twice the control's error, centred on 1.
RATIO_LIMIT = 2.0


def fold_mean_mae(predictions: pd.DataFrame) -> float:
    """MAE per fold, averaged over folds: the number the tables report (not the MAE pooled over rows)."""
    errors = (predictions["y_true"] - predictions["y_pred"]).abs()
    return float(errors.groupby(predictions["fold"]).mean().mean())


def parity_grid(predictions: dict[tuple[str, str], pd.DataFrame], models: list[str], targets: list[str],
                titles: dict, path_stem: Path) -> list[Path]:
    """Out-of-fold prediction against the Materials Project value, one row of panels per target,
    one column per model, the models named above the columns.

    Each panel prints the MAE as the tables do (mean over folds, `fold_mean_mae`). The axes span
    the 0.5-99.5th percentile of the target's values; the number of points beyond them is printed
    in each panel ("n off axes"). No title: the caption in paper/README.md carries it.
    """
    figure, grid = plt.subplots(len(targets), len(models), figsize=figure_size("parity_grid", 1.75 * len(targets) + 0.3),
                                squeeze=False)
    for row, target in enumerate(targets):
        truths = pd.concat([predictions[model, target]["y_true"] for model in models])
        low, high = np.nanpercentile(truths, PARITY_PERCENTILES)
        for column, model in enumerate(models):
            axes = grid[row, column]
            table = predictions[model, target]
            axes.scatter(table["y_true"], table["y_pred"], s=2, alpha=0.4, color=FEW_COLOURS[0], linewidths=0,
                         rasterized=True)
            axes.plot([low, high], [low, high], color="black", lw=0.6)
            axes.set_xlim(low, high)
            axes.set_ylim(low, high)
            outside = int((~(table["y_true"].between(low, high) & table["y_pred"].between(low, high))).sum())
            mae = f"{fold_mean_mae(table):.{TARGET_REGISTRY[target].mae_digits}f}"
            axes.text(0.04, 0.96, f"MAE {mae} {target_unit(target)}\n{outside:,} off axes", transform=axes.transAxes,
                      fontsize=6, va="top", linespacing=1.1)
            axes.set_xlabel(f"True ({target_unit(target)})")
            if row == 0:
                axes.set_title(titles["models"][model])
            if column == 0:
                axes.set_ylabel(target_label(target, "Predicted"))
            else:
                axes.tick_params(labelleft=False)
            axes.locator_params(nbins=4)
    return save(figure, path_stem)


def smae_bars(cv_metrics: pd.DataFrame, scheme: str, titles: dict, path_stem: Path) -> list[Path]:
    """SMAE per target, one bar per model, whiskers +- 2 sigma over folds (the tables' spread).

    The axis runs from 0 to a little above the largest SMAE (at least 1.3): a whisker that goes
    beyond it, up past the top or down past 0 (SMAE - 2 sigma < 0 when the folds' MAEs spread
    widely), ends in an arrowhead at the edge, so that a few wide spreads neither dwarf the bars
    nor look cut off.
    """
    part = cv_metrics[(cv_metrics["scheme"] == scheme) & (cv_metrics["metric"] == "smae")]
    models, targets = list(part["model"].unique()), list(part["target"].unique())
    width = 0.8 / len(models)
    top = max(1.3, 1.2 * part["value"].max())
    figure, axes = plt.subplots(figsize=figure_size("smae_bars", 2.4))
    for index, model in enumerate(models):
        cells = part[part["model"] == model].set_index("target").loc[targets]
        positions = np.arange(len(targets)) + (index - (len(models) - 1) / 2) * width
        lower, upper = cells["value"] - cells["two_sigma"], cells["value"] + cells["two_sigma"]
        axes.bar(positions, cells["value"], width, label=titles["models"][model], color=FEW_COLOURS[index])
        axes.vlines(positions, lower.clip(lower=0), upper.clip(upper=top), color="black", lw=0.6)
        axes.plot(positions[upper > top], np.full((upper > top).sum(), top), ls="", marker="^", ms=2.5, color="black",
                  clip_on=False)
        axes.plot(positions[lower < 0], np.zeros((lower < 0).sum()), ls="", marker="v", ms=2.5, color="black",
                  clip_on=False)
    axes.axhline(1, color="black", lw=0.5, ls="--")
    axes.set_xticks(np.arange(len(targets)), [target_name(t) for t in targets])
    axes.set_ylabel("SMAE (MAE / control MAE)")
    axes.set_ylim(0, top)
    axes.legend(ncol=len(models), loc="lower center", bbox_to_anchor=(0.5, 1.0), handlelength=1, columnspacing=1,
                borderaxespad=0.5)
    axes.spines[["top", "right"]].set_visible(False)
    return save(figure, path_stem)


def learning_curves(summaries: dict[tuple[str, str], pd.DataFrame], models: list[str], targets: list[str],
                    titles: dict, path_stem: Path) -> list[Path]:
    """Bootstrap MAE against training-set size, one panel per target: mean over repeats and a band
    of +- 2 sigma over them; the number of repeats, read from the summaries, is printed."""
    figure, grid = plt.subplots(1, len(targets), figsize=figure_size("learning_curves", 2.3), squeeze=False)
    for column, target in enumerate(targets):
        axes = grid[0, column]
        for index, model in enumerate(models):
            curve = summaries[model, target]
            style = category_style(index)
            axes.plot(curve["n_train"], curve["mae"], marker=style["marker"], color=style["color"], ms=3,
                      label=titles["models"][model])
            axes.fill_between(curve["n_train"], curve["mae"] - curve["mae_2sigma"], curve["mae"] + curve["mae_2sigma"],
                              color=style["color"], alpha=0.15, lw=0)
        axes.set_xscale("log")
        # Plain numbers at 1, 2 and 5 per decade: the training sets span about one decade, where
        # the default labels every minor tick in scientific notation, on top of each other.
        axes.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        axes.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        axes.xaxis.set_minor_formatter(NullFormatter())
        axes.set_xlabel("Training electrodes (count)")
        axes.set_ylabel(target_label(target, "MAE,"))
        axes.spines[["top", "right"]].set_visible(False)
    repeats = sorted({int(n) for curve in summaries.values() for n in curve["repeats"]})
    repeats_text = str(repeats[0]) if len(repeats) == 1 else f"{repeats[0]}-{repeats[-1]}"
    grid[0, 0].legend(title=f"band: $\\pm$2$\\sigma$ over {repeats_text} repeats", title_fontsize=6, fontsize=6,
                      alignment="left")
    return save(figure, path_stem)


def cluster_heatmap(per_cluster: pd.DataFrame, models: list[str], targets: list[str], titles: dict,
                    path_stem: Path) -> list[Path]:
    """LOCO: each model's MAE on each held-out cluster over the control's MAE there (SMAE in the
    cluster), the value printed in each cell. The control (1 everywhere by definition) has no
    column. The colour scale diverges at 1 (blue: better than the control, red: worse) and stops
    at `RATIO_LIMIT`; cells beyond it take the end colour, marked by the colour bar's end arrow, and
    their printed value is the true one."""
    compared = [model for model in models if model != "control"]
    figure, grid = plt.subplots(1, len(targets), sharey=True, squeeze=False,
                                figsize=figure_size("cluster_heatmap", 0.17 * per_cluster["cluster"].nunique() + 1.2))
    norm = TwoSlopeNorm(vmin=0, vcenter=1, vmax=RATIO_LIMIT)
    image = None
    for column, target in enumerate(targets):
        part = per_cluster[per_cluster["target"] == target]
        matrix = part.pivot_table(index=["cluster", "representative"], columns="model", values="smae")[compared]
        axes = grid[0, column]
        image = axes.imshow(matrix.to_numpy(), cmap=DIVERGING_CMAP, norm=norm, aspect="auto")
        for (i, j), value in np.ndenumerate(matrix.to_numpy()):
            axes.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6,
                      color="white" if abs(value - 1) > 0.6 else "black")
        axes.set_xticks(range(len(compared)), [titles["models"][m] for m in compared], rotation=30, ha="right",
                        rotation_mode="anchor")
        axes.set_yticks(range(len(matrix)),
                        [f"{c}: {formula_label(r)}" if r != "(noise)" else "noise" for c, r in matrix.index])
        axes.set_xlabel(target_name(target))
        axes.tick_params(length=0)
    grid[0, 0].set_ylabel(f"Held-out cluster ({ELMD} mean representative)")
    figure.colorbar(image, ax=grid[0, :], extend="max" if per_cluster["smae"].max() > RATIO_LIMIT else "neither",
                    label="SMAE in the cluster (MAE / control MAE)", shrink=0.9, aspect=30)
    return save(figure, path_stem)


def ion_errors(per_ion: pd.DataFrame, scheme: str, models: list[str], targets: list[str], titles: dict,
               path_stem: Path) -> list[Path]:
    """MAE by working ion, one panel per target, one bar per model; the ion's electrodes under its name."""
    part = per_ion[per_ion["scheme"] == scheme]
    figure, grid = plt.subplots(len(targets), 1, figsize=figure_size("ion_errors", 1.6 * len(targets) + 0.3),
                                squeeze=False)
    for row, target in enumerate(targets):
        axes = grid[row, 0]
        cells = part[part["target"] == target]
        counts = counts_most_first(cells.groupby("working_ion")["n"].first())
        ions = list(counts.index)
        width = 0.8 / len(models)
        for index, model in enumerate(models):
            values = cells[cells["model"] == model].set_index("working_ion").loc[ions, "mae"]
            axes.bar(np.arange(len(ions)) + (index - (len(models) - 1) / 2) * width, values, width,
                     color=FEW_COLOURS[index], label=titles["models"][model])
        axes.set_xticks(range(len(ions)), [f"{ion}\n({counts[ion]:,})" for ion in ions])
        axes.set_ylabel(target_label(target, "MAE,"))
        axes.spines[["top", "right"]].set_visible(False)
    grid[-1, 0].set_xlabel("Working ion (electrodes)")
    grid[0, 0].legend(ncol=len(models), loc="lower center", bbox_to_anchor=(0.5, 1.0), borderaxespad=0.1)
    return save(figure, path_stem)


def error_by_novelty(by_novelty: pd.DataFrame, models: list[str], targets: list[str], titles: dict, level: float,
                     difficulty: str, path_stem: Path) -> list[Path]:
    """Per target: MAE (left) and the coverage of the `difficulty`-normalized intervals at `level`
    (right) in each novelty bin, one line per model, LOCO solid and stratified dashed; the level
    as a grey line."""
    figure, grid = plt.subplots(len(targets), 2, figsize=figure_size("error_by_novelty", 1.9 * len(targets) + 0.5),
                                squeeze=False, sharex=True)
    bins = sorted(by_novelty["novelty_bin"].unique())
    for row, target in enumerate(targets):
        for index, model in enumerate(models):
            for scheme, line in (("loco", "-"), ("stratified5", "--")):
                cells = by_novelty[(by_novelty["model"] == model) & (by_novelty["target"] == target)
                                   & (by_novelty["scheme"] == scheme)].set_index("novelty_bin").reindex(bins)
                style = {**category_style(index), "linestyle": line, "markersize": 3}
                grid[row, 0].plot(bins, cells["mae"], **style)
                grid[row, 1].plot(bins, 100 * cells[f"coverage_{difficulty}"], **style)
        grid[row, 0].set_ylabel(target_label(target, "MAE,"))
        grid[row, 1].set_ylabel("Coverage (%)")
        grid[row, 1].axhline(100 * level, color="#888888", linewidth=0.6)
        for axes in grid[row]:
            axes.set_xticks(bins)
            axes.spines[["top", "right"]].set_visible(False)
    for axes in grid[-1]:
        axes.set_xlabel("Novelty bin (quintiles, 1 = nearest)")
    handles = [Line2D([], [], **category_style(index), markersize=3, label=titles["models"][model])
               for index, model in enumerate(models)]
    handles += [Line2D([], [], color="black", linestyle=line, label=titles["schemes"][scheme])
                for scheme, line in (("loco", "-"), ("stratified5", "--"))]
    figure.legend(handles=handles, ncol=len(handles), loc="outside upper center")
    return save(figure, path_stem)


def objective_against_novelty(ranking: pd.DataFrame, column: str, label: str, front: np.ndarray,
                              path_stem: Path) -> list[Path]:
    """Each screened candidate's predicted objective (`column`, axis `label`) against its novelty,
    in-domain candidates dark and the rest light; the Pareto front (most objective for its novelty,
    `front` a boolean mask over `ranking`) as a line."""
    figure, axes = plt.subplots(figsize=figure_size("objective_against_novelty", 2.6))
    finite = np.isfinite(ranking["novelty"]) & np.isfinite(ranking[column])
    for inside, colour, name in ((False, "#BBBBBB", "out of domain"), (True, FEW_COLOURS[0], "in domain")):
        part = ranking[finite & (ranking["in_domain"] == inside)]
        axes.scatter(part["novelty"], part[column], s=2, color=colour, linewidths=0, label=f"{name} ({len(part)})",
                     rasterized=True)
    pareto = ranking[front & finite].sort_values("novelty")
    axes.plot(pareto["novelty"], pareto[column], color=FEW_COLOURS[1], drawstyle="steps-post", marker="o",
              markersize=2.5, label=f"Pareto front ({len(pareto)})")
    # Logarithmic: a few candidates lie hundreds of times farther than the typical one.
    axes.set_xscale("log")
    axes.set_xlabel("Novelty (distance to the training electrodes)")
    axes.set_ylabel(label)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="upper right", markerscale=2)
    return save(figure, path_stem)



def crabnet_front(table: pd.DataFrame, defaults: pd.DataFrame, chosen: str, before: str, reference: dict, bar: float,
                  path_stem: Path) -> list[Path]:
    """CrabNet's SMAE against seconds per fit on a CPU, one panel per target: every grid point of
    `table` (`crabnet_cpu_front.reference_table`), those on the target's front in colour and joined,
    the profile's point (`chosen`) and the former one (`before`) marked, crabnet's defaults at a few
    epochs (`defaults`, voltage), and the GPU reference with the bar above it."""
    targets = list(reference)
    figure, axes = plt.subplots(1, len(targets), figsize=figure_size("crabnet_front", 2.8), sharex=True)
    for axis, target in zip(axes, targets):
        seconds, smae = table["seconds"].to_numpy(), table[target].to_numpy()
        front = on_front(seconds, smae)
        axis.scatter(seconds[~front], smae[~front], s=10, color=NOISE_COLOUR, linewidths=0, label="grid point")
        order = np.argsort(seconds[front])
        axis.plot(seconds[front][order], smae[front][order], marker="o", markersize=3, color=FEW_COLOURS[0],
                  label="on this target's front")
        for name, marker, label in ((chosen, "*", "the profile's CrabNet"), (before, "X", "before")):
            row = table[table["point"] == name]
            axis.scatter(row["seconds"], row[target], marker=marker, s=50, color=FEW_COLOURS[1], zorder=3, label=label)
        if target == "voltage" and len(defaults):
            axis.scatter(defaults["seconds"], defaults["voltage"], marker="s", s=14, color=FEW_COLOURS[2],
                         label="crabnet's defaults, few epochs")
        axis.axhline(reference[target], color="black", linestyle="--", linewidth=0.7, label="defaults, 300 epochs (GPU)")
        axis.axhline(reference[target] + bar, color=FEW_COLOURS[2], linestyle=":", linewidth=0.8, label=f"bar (+{bar})")
        axis.set(xscale="log", xlabel="s per fit (1 thread)",
                 ylabel=f"SMAE, {TARGET_REGISTRY[target].title.split(' (')[0].lower()}\n(MAE / control MAE)")
    handles, labels = axes[-1].get_legend_handles_labels()  # the voltage panel has every kind of mark
    figure.legend(handles, labels, loc="lower center", ncol=4, frameon=False)
    figure.tight_layout(rect=(0, 0.16, 1, 1))
    return save(figure, path_stem)
