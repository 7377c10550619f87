"""What every figure shares: matplotlib without a display, the print sizes, fonts, palettes, target
labels with typeset units, and saving as PNG and PDF.

Figures are drawn at the width a journal prints them (`FIGURE_WIDTHS_IN`: one column 3.4 in, two
columns 7 in) and saved at exactly that size (constrained layout, no tight bounding box), so a
font size here is the printed size: 7 pt text, 6.5 pt ticks and legends, nothing under 6 pt
(tests/test_figures.py checks every figure). Figures carry no title: the caption says what a
figure shows. Target names and units come from the registry (`data.targets.TARGET_REGISTRY`), the units
typeset as journals print them (mAh g^-1, not mAh/g).

Categories are told apart by colour and marker together. Few categories (the models) take Paul
Tol's colour-blind-safe "bright" scheme; many (up to 15 map categories) take his "discrete rainbow"
for 14 colours plus its 15th, interleaved so that categories next to each other in a legend differ
most; each category also has its own marker. Continuous values use viridis; ratios around 1 a diverging
blue-red (ColorBrewer's RdBu, colour-blind safe).
"""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from pymatgen.util.string import latexify  # noqa: E402

from electrode_ml.data.targets import TARGET_REGISTRY
from electrode_ml.files import atomic_path  # noqa: E402

ONE_COLUMN_IN = 3.4
TWO_COLUMN_IN = 7.0
# The printed width of each figure, by the function that draws it (a categorical map with
# annotated representatives is the paper's Fig. 5 and needs both columns).
FIGURE_WIDTHS_IN = {
    "working_ion_distribution": ONE_COLUMN_IN,
    "categorical_map": ONE_COLUMN_IN,
    "categorical_map_annotated": TWO_COLUMN_IN,
    "continuous_maps": TWO_COLUMN_IN,
    "parity_grid": TWO_COLUMN_IN,
    "smae_bars": ONE_COLUMN_IN,
    "learning_curves": TWO_COLUMN_IN,
    "cluster_heatmap": TWO_COLUMN_IN,
    "ion_errors": TWO_COLUMN_IN,
    "error_by_novelty": TWO_COLUMN_IN,
    "objective_against_novelty": ONE_COLUMN_IN,
    "crabnet_front": TWO_COLUMN_IN,
}
SMALLEST_FONT_PT = 6

# Paul Tol's "bright" scheme without its grey, for the models.
FEW_COLOURS = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377"]
# Paul Tol's "discrete rainbow" for 14 colours and the 15th it adds (#72190E), interleaved.
_RAINBOW = ["#D1BBD7", "#AE76A3", "#882E72", "#1965B0", "#5289C7", "#7BAFDE", "#4EB265", "#90C987",
            "#CAE0AB", "#F7F056", "#F6C141", "#F1932D", "#E8601C", "#DC050C", "#72190E"]
MANY_COLOURS = [_RAINBOW[index] for index in (3, 12, 6, 2, 10, 14, 5, 8, 1, 13, 7, 4, 11, 0, 9)]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "p", "*", "d", "H", "8"]
NOISE_COLOUR = "#BBBBBB"
DIVERGING_CMAP = "RdBu_r"
# "ElMD" in DejaVu Sans reads as "EIMD" (its l and I are both plain strokes); the monospace face,
# the package's name as code, tells them apart.
ELMD = r"$\mathtt{ElMD}$"

plt.rcParams.update({
    "font.family": "DejaVu Sans",
    "mathtext.fontset": "dejavusans",
    "font.size": 7,
    "axes.titlesize": 7,
    "axes.labelsize": 7,
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "legend.fontsize": 6.5,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "lines.linewidth": 1.0,
    "legend.frameon": False,
    "pdf.fonttype": 42,  # TrueType in the PDF: text stays text for a journal's editors
    "figure.constrained_layout.use": True,
})


def figure_size(kind: str, height_in: float) -> tuple[float, float]:
    """(width, height) in inches for the figure drawn by `kind` (a key of `FIGURE_WIDTHS_IN`)."""
    return FIGURE_WIDTHS_IN[kind], height_in


def category_style(index: int, many: bool = False) -> dict:
    """Colour and marker for category `index`: up to 6 (or, with `many`, 15) distinct colours, and
    as many distinct markers; past that the colours repeat, the pair of colour and marker does not."""
    colours = MANY_COLOURS if many else FEW_COLOURS
    return {"color": colours[index % len(colours)], "marker": MARKERS[index % len(MARKERS)]}


def target_name(target: str) -> str:
    """The target's title in the registry (data.TARGET_REGISTRY, by short key) without its unit."""
    registered = TARGET_REGISTRY[target]
    return registered.title.removesuffix(f" ({registered.unit})")


def target_unit(target: str) -> str:
    """The target's unit, typeset: 'mAh g$^{-1}$'."""
    return typeset_unit(TARGET_REGISTRY[target].unit)


def target_label(target: str, prefix: str = "") -> str:
    """'Grav. capacity (mAh g$^{-1}$)'; `prefix` goes before the name ('Predicted grav. capacity ...')."""
    name = target_name(target)
    if prefix:
        name = f"{prefix} {name[0].lower()}{name[1:]}"
    return f"{name} ({target_unit(target)})"


def typeset_unit(unit: str) -> str:
    """'mAh/cm3' -> 'mAh cm$^{-3}$' (mathtext): a unit over one denominator, as journals print it."""
    numerator, _, denominator = unit.partition("/")
    if not denominator:
        return unit
    symbol, power = re.fullmatch(r"([A-Za-z]+)(\d*)", denominator).groups()
    return f"{numerator} {symbol}$^{{-{power or 1}}}$"


def formula_label(formula: str) -> str:
    """'Li4Mn2(PO4)3' -> 'Li$_{4}$Mn$_{2}$(PO$_{4}$)$_{3}$': pymatgen's `latexify`, subscript amounts
    in mathtext, the element symbols in the text font."""
    return latexify(formula)


def save(figure, path_stem: Path) -> list[Path]:
    """Write `<stem>.png` (300 dpi) and `<stem>.pdf` at the figure's own size; PDF metadata without a
    date, so reruns are byte-stable."""
    written = []
    for suffix, options in ((".png", {"dpi": 300, "metadata": {"Software": None}}),
                            (".pdf", {"metadata": {"CreationDate": None, "Producer": None, "Creator": None}})):
        path = path_stem.with_suffix(suffix)
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format=suffix[1:], **options)
        written.append(path)
    plt.close(figure)
    return written
