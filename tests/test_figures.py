"""Every figure function, on small synthetic inputs, at the width a journal prints it
(`plotting.FIGURE_WIDTHS_IN`): no text under 6 pt, nothing outside the page, every numeric axis
labelled with its unit in brackets, no title; and the printed numbers are the tables' numbers."""
import re

import matplotlib.image
import matplotlib.text
import numpy as np
import pandas as pd
import pytest

from electrode_ml.reporting import figures, maps, plotting
from electrode_ml.reporting.screening_page import pareto_front
from electrode_ml.data.targets import TARGET_KEYS
from electrode_ml.models.registry import DISPLAY_NAMES

MODELS = ["control", "rf_magpie", "modnet", "crabnet"]
TARGETS = list(TARGET_KEYS)
IONS = ["Li", "Na", "Mg", "Ca", "Zn", "K", "Al", "Y", "Rb", "Cs"]
TITLES = {"models": DISPLAY_NAMES, "schemes": {"stratified5": "stratified 5-fold CV", "loco": "LOCO CV"}}
FORMULAS = ["Li4Mn2Cr3Co3O16", "Li4Mn3Cr2Sn(PO4)6", "Eu2MgAg2(WO4)4", "Ca(Mo3S4)2", "Li2MnCuF6",
            "Na6Co2As(CO4)4", "Li7(CoO3)2", "Mg7Nb", "Li2NiH8(CO5)2", "PrMgV2O6", "Li3FeBPO7", "CaNi(GeO3)2",
            "Ca(CoN)2", "KZr6MnCl14"]
UNIT_IN_BRACKETS = re.compile(r"\(.+\)")


def is_number(tick_text: str) -> bool:
    """'1,000', '\u22120.5', '$\\mathdefault{10^{3}}$' are numbers; 'Li', 'CrabNet' are categories."""
    plain = re.sub(r"\\mathdefault|[${}^,]", "", tick_text).replace("\u2212", "-")
    try:
        float(plain)
    except ValueError:
        return False
    return True


@pytest.fixture
def drawn(monkeypatch):
    """The figures the functions would save, by function name, kept open for inspection."""
    figures_by_name = {}

    def keep(figure, path_stem):
        figures_by_name[path_stem.name] = figure
        return [path_stem.with_suffix(".png"), path_stem.with_suffix(".pdf")]

    monkeypatch.setattr(maps, "save", keep)
    monkeypatch.setattr(figures, "save", keep)
    yield figures_by_name
    for figure in figures_by_name.values():
        plotting.plt.close(figure)


def synthetic_map(seed=0, n_clusters=14, per_cluster=30):
    generator = np.random.default_rng(seed)
    centres = generator.uniform(-50, 50, size=(n_clusters, 2))
    labels = np.repeat(np.arange(n_clusters), per_cluster)
    coordinates = centres[labels] + generator.normal(0, 3, size=(len(labels), 2))
    labels[:8] = -1  # DBSCAN noise
    return coordinates, pd.Series(labels)


def cluster_map_inputs():
    coordinates, labels = synthetic_map()
    names = labels.map(lambda c: "noise" if c == -1 else f"cluster {c}")
    annotations = {}
    for cluster in range(14):
        member = int(np.flatnonzero(labels.to_numpy() == cluster)[0])
        annotations[f"{cluster}: {plotting.formula_label(FORMULAS[cluster])}"] = tuple(coordinates[member])
    landmarks = {plotting.formula_label("LiFePO4"): tuple(coordinates[100])}
    return coordinates, names, annotations, landmarks


def draw_maps(out):
    coordinates, names, annotations, landmarks = cluster_map_inputs()
    generator = np.random.default_rng(1)
    maps.categorical_map(coordinates, names, "t-SNE", out / "categorical_map_annotated", annotations,
                         noise_label="noise", order=[f"cluster {c}" for c in range(14)], landmarks=landmarks)
    ions = pd.Series(generator.choice(IONS, size=len(names)))
    maps.categorical_map(coordinates, ions, "t-SNE", out / "categorical_map")
    values = pd.DataFrame({column: generator.lognormal(5, 0.6, size=len(names)) for column in TARGET_KEYS.values()})
    maps.continuous_maps(coordinates, values, "t-SNE", out / "continuous_maps")
    maps.working_ion_distribution(ions, out / "working_ion_distribution")


def synthetic_predictions(generator, n=150, folds=5):
    truth = generator.lognormal(5, 0.5, size=n)
    return pd.DataFrame({"battery_id": [f"mp-{i}" for i in range(n)], "fold": np.arange(n) % folds,
                         "y_true": truth, "y_pred": truth + generator.normal(0, 20, size=n)})


def draw_evaluation(out):
    generator = np.random.default_rng(2)
    predictions = {(model, target): synthetic_predictions(generator) for model in MODELS for target in TARGETS}
    figures.parity_grid(predictions, MODELS, TARGETS, TITLES, out / "parity_grid")
    cv_metrics = pd.DataFrame([{"model": model, "target": target, "scheme": "loco", "metric": "smae",
                                "value": 1.0 if model == "control" else generator.uniform(0.3, 0.9),
                                "two_sigma": generator.uniform(0.1, 2.5)}
                               for model in MODELS for target in TARGETS])
    figures.smae_bars(cv_metrics, "loco", TITLES, out / "smae_bars")
    summaries = {(model, target): pd.DataFrame({"n_train": [300, 900, 3000], "repeats": 2, "mae": [90.0, 70.0, 60.0],
                                                "mae_2sigma": [9.0, 6.0, 4.0]})
                 for model in MODELS for target in TARGETS}
    figures.learning_curves(summaries, MODELS, TARGETS, TITLES, out / "learning_curves")
    per_cluster = pd.DataFrame([{"target": target, "model": model, "cluster": cluster,
                                 "representative": FORMULAS[cluster] if cluster >= 0 else "(noise)", "n": 30,
                                 "mae": 50.0, "smae": 1.0 if model == "control" else generator.uniform(0.2, 2.4)}
                                for target in TARGETS for model in MODELS for cluster in range(-1, 14)])
    figures.cluster_heatmap(per_cluster, MODELS, TARGETS, TITLES, out / "cluster_heatmap")
    per_ion = pd.DataFrame([{"scheme": "loco", "target": target, "model": model, "working_ion": ion,
                             "n": 2000 // (index + 1), "mae": generator.uniform(10, 100)}
                            for target in TARGETS for model in MODELS for index, ion in enumerate(IONS)])
    figures.ion_errors(per_ion, "loco", MODELS, TARGETS, TITLES, out / "ion_errors")
    by_novelty = pd.DataFrame([{"scheme": scheme, "target": target, "model": model, "novelty_bin": novelty_bin,
                                "mae": generator.uniform(10, 100), "coverage_residual": generator.uniform(0.8, 0.95)}
                               for scheme in ("loco", "stratified5") for target in TARGETS for model in MODELS
                               for novelty_bin in range(1, 6)])
    figures.error_by_novelty(by_novelty, MODELS, TARGETS, TITLES, 0.9, "residual", out / "error_by_novelty")
    novelty = generator.gamma(2.0, 2.0, 400)
    ranking = pd.DataFrame({"novelty": novelty, "objective": generator.normal(400, 150, 400) - 20 * novelty,
                            "in_domain": novelty < 8})
    figures.objective_against_novelty(ranking, "objective", "RF@Magpie: Grav. energy density (Wh/kg)",
                                      pareto_front(ranking["objective"], ranking["novelty"]),
                                      out / "objective_against_novelty")
    points = pd.DataFrame({"point": [f"p{i}" for i in range(8)], "seconds": generator.uniform(3, 40, 8),
                           "grav_capacity": generator.uniform(0.4, 0.8, 8), "vol_capacity": generator.uniform(0.4, 0.8, 8),
                           "voltage": generator.uniform(0.4, 0.8, 8)})
    defaults = pd.DataFrame({"point": ["d2", "d4"], "seconds": [87.0, 150.0], "voltage": [0.81, 0.65]})
    figures.crabnet_front(points, defaults, "p1", "p2", {"grav_capacity": 0.345, "vol_capacity": 0.298, "voltage": 0.41},
                          0.06, out / "crabnet_front")


@pytest.fixture
def every_figure(drawn, tmp_path):
    draw_maps(tmp_path)
    draw_evaluation(tmp_path)
    return drawn


def visible_texts(figure):
    """The texts a reader sees: tick objects matplotlib keeps beyond an axis' range are not drawn."""
    figure.canvas.draw()
    undrawn = set()
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - 1e-9 * (high - low) <= tick.get_loc() <= high + 1e-9 * (high - low):
                    undrawn |= {id(tick.label1), id(tick.label2)}
    return [text for text in figure.findobj(matplotlib.text.Text)
            if text.get_visible() and text.get_text().strip() and id(text) not in undrawn]


def test_every_figure_is_drawn_at_its_printed_width(every_figure):
    assert set(every_figure) == set(plotting.FIGURE_WIDTHS_IN)
    for name, figure in every_figure.items():
        assert figure.get_size_inches()[0] == pytest.approx(plotting.FIGURE_WIDTHS_IN[name]), name


def test_no_text_under_6_pt_and_all_of_it_on_the_page(every_figure):
    for name, figure in every_figure.items():
        page = figure.bbox
        for text in visible_texts(figure):
            assert text.get_fontsize() >= plotting.SMALLEST_FONT_PT, (name, text.get_text(), text.get_fontsize())
            box = text.get_window_extent()
            assert box.x0 >= page.x0 - 1 and box.x1 <= page.x1 + 1 and box.y0 >= page.y0 - 1 and box.y1 <= page.y1 + 1, \
                (name, text.get_text())


def test_tick_labels_do_not_overlap(every_figure):
    for name, figure in every_figure.items():
        texts = {id(text) for text in visible_texts(figure)}
        for axes in figure.axes:
            for axis in (axes.xaxis, axes.yaxis):
                boxes = [label.get_window_extent() for label in axis.get_ticklabels() + axis.get_ticklabels(minor=True)
                         if id(label) in texts]
                for index, box in enumerate(boxes):
                    assert not any(box.overlaps(other) for other in boxes[index + 1:]), (name, axis.get_label_text())


def test_numeric_axes_carry_a_label_with_their_unit_and_no_axes_a_title(every_figure):
    """An axis with numbers on its ticks says what they measure and in which unit, '(mAh g$^{-1}$)',
    '(count)', or for a ratio what it divides, '(MAE / control MAE)'; category axes (models, ions,
    clusters) are named by their tick labels."""
    for name, figure in every_figure.items():
        figure.canvas.draw()
        for axes in figure.axes:
            for axis in (axes.xaxis, axes.yaxis):
                ticks = [label for label in axis.get_ticklabels() if label.get_visible() and label.get_text().strip()]
                if any(is_number(label.get_text()) for label in ticks):
                    assert UNIT_IN_BRACKETS.search(axis.get_label_text()), (name, axis.get_label_text())
        assert not figure._suptitle, name
        assert not any(axes.get_title() and axes.get_title() not in DISPLAY_NAMES.values() for axes in figure.axes), name


def test_maps_name_targets_with_their_units_and_mark_the_clipped_colours(every_figure):
    labels = [axes.get_xlabel() for axes in every_figure["continuous_maps"].axes]
    assert "Grav. capacity (mAh g$^{-1}$)" in labels
    assert not any("_" in label for label in labels)  # no raw column names
    colour_bars = [axes for axes in every_figure["continuous_maps"].axes if hasattr(axes, "_colorbar")]
    assert {axes._colorbar.extend for axes in colour_bars} == {"both"}  # lognormal values run past 1-99%


def test_cluster_map_lists_each_representative_once_and_marks_the_landmark(every_figure):
    figure = every_figure["categorical_map_annotated"]
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert legend[0] == f"0: {plotting.formula_label(FORMULAS[0])} (22)"  # 8 of its 30 points are noise
    assert legend[-2:] == ["noise (8)", maps.REPRESENTATIVE_LABEL]
    assert "LiFePO$_{4}$" in [text.get_text() for text in figure.axes[0].texts]
    colours = {handle.get_color() for handle in figure.legends[0].legend_handles[:14]}
    assert len(colours) == 14


def test_parity_panels_print_the_mean_over_folds():
    predictions = pd.DataFrame({"fold": [0, 0, 0, 1], "y_true": [0.0, 0.0, 0.0, 0.0], "y_pred": [1.0, 1.0, 1.0, 9.0]})
    assert figures.fold_mean_mae(predictions) == pytest.approx(5.0)  # pooled over rows it would be 3.0


def test_learning_curves_say_how_many_repeats_the_band_spans(every_figure):
    legend = every_figure["learning_curves"].axes[0].get_legend()
    assert "2 repeats" in legend.get_title().get_text()


def test_loco_heatmap_leaves_out_the_control_and_marks_overflow(every_figure):
    figure = every_figure["cluster_heatmap"]
    assert "Control" not in [label.get_text() for label in figure.axes[0].get_xticklabels()]
    colour_bar = next(axes._colorbar for axes in figure.axes if hasattr(axes, "_colorbar"))
    assert colour_bar.extend == "max"
    assert colour_bar.norm.vcenter == 1


def test_figures_are_written_as_png_and_pdf_at_their_printed_size(tmp_path):
    """The PNG decodes at 300 dpi to the figure's width and is not blank; the PDF is one page of the
    same size, in points."""
    written = maps.working_ion_distribution(pd.Series(["Li", "Li", "Na"]), tmp_path / "ions")
    assert [path.name for path in written] == ["ions.png", "ions.pdf"]
    width_in = plotting.FIGURE_WIDTHS_IN["working_ion_distribution"]
    pixels = matplotlib.image.imread(written[0])
    assert pixels.shape[1] == round(width_in * 300)
    assert pixels[..., :3].std() > 0.05  # drawn on, not a blank page
    pdf = written[1].read_bytes()
    assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type /Page\b", pdf)) == 1
    width_pt, height_pt = map(float, re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf).groups())
    assert width_pt == pytest.approx(width_in * 72)
    assert height_pt == pytest.approx(pixels.shape[0] / 300 * 72, abs=0.5)
