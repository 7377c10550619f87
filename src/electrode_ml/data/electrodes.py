"""The data set: its columns, its loader, and the checks every row must pass.

This module is the one place that knows the Battery Explorer's column titles (the targets' titles
are in their registry, `data.targets`). Everything downstream uses the prepared table's names
(`battery_id`, `composition`, `working_ion`, `group` and the targets, units in the names).
"""
from __future__ import annotations

import csv
import math
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from electrode_ml.data.targets import PLAUSIBLE_RANGES, TARGETS, TARGET_BY_COLUMN
from electrode_ml.errors import ElectrodeMLError, MissingInputError

RAW_COLUMNS = (
    "Battery ID", "Battery Formula", "Working Ion", "Formula Charge", "Formula Discharge",
    "Max Delta Volume", "Average Voltage", "Gravimetric Capacity", "Volumetric Capacity",
    "Gravimetric Energy", "Volumetric Energy", "Atomic Fraction Charge",
    "Atomic Fraction Discharge", "Stability Charge", "Stability Discharge", "Steps",
    "Max Voltage Step",
)
COMPOSITION_COLUMNS = ("Formula Discharge", "Formula Charge")

# The working ions of the Materials Project insertion-electrode database.
WORKING_IONS = ("Li", "Na", "K", "Rb", "Cs", "Mg", "Ca", "Zn", "Al", "Y")

# Why a row can be set aside (the `reason` column of the rejected file, `dropped_*` in the summary).
REJECT_REASONS = (
    "empty_battery_id", "duplicate_battery_id", "control_character", "unknown_working_ion", "bad_formula",
    "ion_not_in_formula", "charge_discharge_mismatch", "element_without_data", "target_not_a_number", "target_missing", "capacity_not_positive", "implausible_target", "outlier",
)

# Control characters (NUL, escape, ...) cannot belong in a formula or an id: pandas' fast parser
# even cuts a cell at a NUL, turning LiCo\x00O2 into another valid formula, LiCo.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

REJECTED_COLUMNS = ("line", "battery_id", "column", "value", "reason", "detail")

PREPARED_COLUMNS = ("battery_id", "composition", "working_ion", "group", *TARGETS)

# How closely the host elements of a charged and a discharged formula must keep their proportions
# (docs/parameters.md "prepare parameters": every row of the real data keeps them exactly).
HOST_PROPORTION_RTOL = 1e-6


class DataValidationError(ElectrodeMLError, ValueError):
    """The input data cannot be used as it is; the message names the rows, columns and reasons."""


class FormulaError(ElectrodeMLError, ValueError):
    """A formula that pymatgen cannot read as a composition of real elements."""


@dataclass(frozen=True)
class BadCell:
    line: int  # line of the CSV (the header is line 1)
    battery_id: str
    column: str
    value: str
    reason: str  # a short code, counted in the summary
    detail: str  # what a person needs to fix it

    def describe(self) -> str:
        return f"line {self.line}, {self.battery_id}: column {self.column!r} = {self.value!r}: {self.detail}"


def load_raw(path: str | Path) -> pd.DataFrame:
    """Read a Battery Explorer CSV as text, so that no cell is silently coerced.

    pandas' Python parser keeps every character of a cell (its C parser cuts at a NUL byte), so
    that `find_bad_cells` sees what the file really holds.
    """
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path} does not exist: run `dvc pull` (or `electrode-ml download`)")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, engine="python")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataValidationError(f"{path}: not a readable CSV file ({type(error).__name__}: {error})") from None
    problems = header_problems(read_header(path), RAW_COLUMNS)
    if problems:
        raise DataValidationError(f"{path}: " + "; ".join(problems))
    missing = [column for column in RAW_COLUMNS if column not in raw.columns]
    if missing:
        raise DataValidationError(f"{path}: missing column(s) {missing}; expected all of {list(RAW_COLUMNS)}")
    if raw.empty:
        raise DataValidationError(f"{path}: a header and no rows: there is nothing to prepare")
    return raw


def read_header(path: Path) -> list[str]:
    """The first line's column names as the file spells them (pandas renames a repeated one)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return next(csv.reader(handle), [])
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataValidationError(f"{path}: unreadable header ({type(error).__name__}: {error})") from None


def header_problems(header: Sequence[str], expected: Sequence[str]) -> list[str]:
    """A column named twice (which of the two would be read?), or a name that differs from an
    expected one only by case or spaces (a typo that would otherwise read as a missing column)."""
    problems = [f"column {name!r} appears {count} times" for name, count in Counter(header).items() if count > 1]
    by_squashed = {_squashed(name): name for name in expected}
    for name in dict.fromkeys(header):
        meant = by_squashed.get(_squashed(name))
        if meant is not None and name != meant:
            problems.append(f"column {name!r} differs from the expected {meant!r} only by case or spaces")
    return problems


def _squashed(name: str) -> str:
    return "".join(name.split()).casefold()


def parse_composition(formula: str):
    """Parse a formula with pymatgen, refusing empty strings, ranges and unknown elements."""
    from pymatgen.core import Composition, Element

    text = formula.strip() if isinstance(formula, str) else ""
    if not text:
        raise FormulaError("empty formula")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            composition = Composition(text)
    except Exception as error:  # pymatgen raises ValueError, KeyError or others on bad input
        raise FormulaError(f"unparseable formula ({error})") from None
    unknown = [str(species) for species in composition if not isinstance(species, Element)]
    if unknown:
        raise FormulaError(f"unknown element(s) {unknown}")
    if composition.num_atoms <= 0 or any(amount < 0 for amount in composition.values()):
        raise FormulaError("formula with no atoms or negative amounts")
    if not all(math.isfinite(amount) for amount in composition.values()):
        raise FormulaError("an amount too large for a number")
    return composition


def charge_discharge_mismatch(charged, discharged, ion: str) -> str | None:
    """Why a charged composition is not the discharged one with working ions taken out, or None.

    The rule: the same host elements (all but the working ion), in the same proportions (to
    `HOST_PROPORTION_RTOL`), and fewer working ions per host than discharged.
    """
    host_charged = {str(element): amount for element, amount in charged.items() if str(element) != ion}
    host_discharged = {str(element): amount for element, amount in discharged.items() if str(element) != ion}
    if set(host_charged) != set(host_discharged):
        only_charged = sorted(set(host_charged) - set(host_discharged))
        only_discharged = sorted(set(host_discharged) - set(host_charged))
        return (f"the charged and discharged formulas differ in elements other than the working ion {ion} "
                f"(only charged: {only_charged or 'none'}; only discharged: {only_discharged or 'none'})")
    if not host_discharged:
        return f"no element but the working ion {ion}: no host to insert it into"
    reference = min(host_discharged)
    charged_scale, discharged_scale = host_charged[reference], host_discharged[reference]
    for element in sorted(host_discharged):
        if not math.isclose(host_charged[element] / charged_scale, host_discharged[element] / discharged_scale,
                            rel_tol=HOST_PROPORTION_RTOL):
            return f"the host elements are in other proportions charged than discharged ({element} to {reference})"
    if charged[ion] / charged_scale >= discharged[ion] / discharged_scale * (1 - HOST_PROPORTION_RTOL):
        return f"the charged formula holds as much {ion} per host as the discharged one, or more"
    return None


def elements_lacking_data(composition, known_elements: dict[str, frozenset[str]]) -> str | None:
    """Which of the composition's elements a featurizer has no data for, or None.
    `known_elements`: representation -> the elements its featurizers have data for
    (`features.representations.elements_with_data`)."""
    elements = {str(element) for element in composition}
    lacking = {name: sorted(elements - known) for name, known in known_elements.items() if elements - known}
    if not lacking:
        return None
    return "; ".join(f"no {name} data for {', '.join(missing)}" for name, missing in lacking.items()) + \
        " (its features would be undefined)"


def find_bad_cells(raw: pd.DataFrame, composition_column: str,
                   plausible_ranges: dict[str, tuple[float, float]] | None = None,
                   known_elements: dict[str, frozenset[str]] | None = None) -> list[BadCell]:
    """Every reason a row cannot be used, one entry per bad cell.

    `plausible_ranges` maps a target key (`grav_capacity` ...) to the closed range its values
    must lie in (default `PLAUSIBLE_RANGES`). `known_elements` maps a representation to the
    elements its featurizers have data for (None: no such check).
    """
    plausible_ranges = PLAUSIBLE_RANGES if plausible_ranges is None else plausible_ranges
    bad: list[BadCell] = []
    seen_ids: set[str] = set()
    compositions: dict[str, object] = {}  # formula -> its Composition, or the FormulaError's text
    for position, (_, row) in enumerate(raw.iterrows()):
        line = position + 2
        battery_id = row["Battery ID"].strip() or "<no Battery ID>"

        def flag(column: str, value: str, reason: str, detail: str) -> None:
            bad.append(BadCell(line, battery_id, column, value, reason, detail))

        control = [column for column in (*RAW_COLUMNS[:5], *TARGETS.values()) if CONTROL_CHARACTERS.search(row[column])]
        for column in control:
            flag(column, row[column], "control_character", "control character (NUL, escape ...) in the cell")
        if control:
            seen_ids.add(battery_id)
            continue

        if not row["Battery ID"].strip():
            flag("Battery ID", "", "empty_battery_id", "empty Battery ID")
        elif battery_id in seen_ids:
            flag("Battery ID", battery_id, "duplicate_battery_id", "duplicate Battery ID (the first one is kept)")
        seen_ids.add(battery_id)

        ion = row["Working Ion"].strip()
        if ion not in WORKING_IONS:
            flag("Working Ion", ion, "unknown_working_ion", f"unknown working ion (known: {', '.join(WORKING_IONS)})")

        # Both formulas, whichever is the composition: a corrupt charged formula is a corrupt row.
        parsed = {}
        for column in COMPOSITION_COLUMNS:
            formula = row[column]
            if formula not in compositions:
                try:
                    compositions[formula] = parse_composition(formula)
                except FormulaError as error:
                    compositions[formula] = str(error)
            if isinstance(compositions[formula], str):
                flag(column, formula, "bad_formula", compositions[formula])
            else:
                parsed[column] = compositions[formula]
        if len(parsed) == len(COMPOSITION_COLUMNS) and ion in WORKING_IONS:
            charged, discharged = parsed["Formula Charge"], parsed["Formula Discharge"]
            if discharged[ion] <= 0:
                flag("Formula Discharge", row["Formula Discharge"], "ion_not_in_formula",
                     f"the discharged formula holds no {ion}, the working ion")
            elif (mismatch := charge_discharge_mismatch(charged, discharged, ion)) is not None:
                flag("Formula Charge", row["Formula Charge"], "charge_discharge_mismatch",
                     f"{mismatch}; discharged: {row['Formula Discharge']!r}")
        if composition_column in parsed and known_elements:
            lacking = elements_lacking_data(parsed[composition_column], known_elements)
            if lacking is not None:
                flag(composition_column, row[composition_column], "element_without_data", lacking)

        for name, column in TARGETS.items():
            value = row[column]
            number = _to_float(value)
            if number is None:
                flag(column, value, "target_not_a_number", "target is not a number")
            elif math.isnan(number) or math.isinf(number):
                flag(column, value, "target_missing", "target is NaN, empty or infinite")
            elif TARGET_BY_COLUMN[name].positive and number <= 0:
                flag(column, value, "capacity_not_positive", "capacity must be positive")
            elif not plausible_ranges[TARGET_BY_COLUMN[name].key][0] <= number <= plausible_ranges[TARGET_BY_COLUMN[name].key][1]:
                key = TARGET_BY_COLUMN[name].key
                low, high = plausible_ranges[key]
                flag(column, value, "implausible_target",
                     f"outside the plausible range [{low:g}, {high:g}] (prepare.plausible_ranges.{key})")
    return bad


def _to_float(value: str) -> float | None:
    if value.strip() == "":
        return float("nan")
    try:
        return float(value)
    except ValueError:
        return None


def composition_groups(compositions: pd.Series, working_ions: pd.Series) -> pd.Series:
    """An integer per (reduced composition, working ion): rows that must share a fold.

    LiFePO4 and Li2Fe2P2O8 are one composition, so they share a group.
    """
    reduced = compositions.map(lambda formula: parse_composition(formula).reduced_formula)
    keys = reduced + "|" + working_ions
    return keys.map({key: index for index, key in enumerate(sorted(keys.unique()))}).astype(int)


@dataclass
class PreparedData:
    electrodes: pd.DataFrame  # PREPARED_COLUMNS, one row per usable electrode
    rejected: pd.DataFrame  # REJECTED_COLUMNS: one row per bad cell
    summary: dict  # flat: counts in, out, dropped by reason, per working ion
    pairs: pd.DataFrame  # PAIR_COLUMNS: each electrode's two states (`electrode_pair`)


ON_BAD_ROW = ("error", "drop")


def counts_most_first(counts: pd.Series) -> pd.Series:
    """Counts (or shares) by label, the largest first and equal ones in the order of their labels
    (Ca before Li): the one rule wherever the package prints an order of ions or clusters. pandas
    would leave ties in the order of its sort kernel, which numpy picks per CPU."""
    return counts.sort_index().sort_values(ascending=False, kind="stable")


def is_outlier(values: pd.Series, sigma: float) -> pd.Series:
    """True where a target lies beyond mean +- `sigma` standard deviations of `values` (the paper's
    "report results both ways": `prepare.outlier_sigma` drops them, `report.outlier_sigma` scores
    without them)."""
    return (values - values.mean()).abs() > sigma * values.std()


def prepare_electrodes(
    raw: pd.DataFrame,
    composition_column: str = "Formula Discharge",
    outlier_sigma: float | None = None,
    on_bad_row: str = "error",
    plausible_ranges: dict[str, tuple[float, float]] | None = None,
    known_elements: dict[str, frozenset[str]] | None = None,
) -> PreparedData:
    """Validate the raw table, keep the usable rows and name the rest.

    `on_bad_row="error"` raises `DataValidationError` listing the bad rows; `"drop"` moves them to
    `rejected` with the reason. `outlier_sigma` (None = off) drops rows whose target lies beyond
    mean +- outlier_sigma standard deviations of that target, computed once on the valid rows.
    `known_elements` maps a representation to the elements its featurizers have data for
    (`features.representations.elements_with_data`; None: not checked). The stored composition
    is pymatgen's reduced formula of the cell (the raw cell stays in `rejected` when a row is refused).
    """
    if composition_column not in COMPOSITION_COLUMNS:
        raise DataValidationError(
            f"prepare.composition_column must be one of {list(COMPOSITION_COLUMNS)}, got {composition_column!r}"
            " ('Battery Formula' is a range such as Li0-1CoO2, not a composition)"
        )
    if on_bad_row not in ON_BAD_ROW:
        raise DataValidationError(f"prepare.on_bad_row must be one of {list(ON_BAD_ROW)}, got {on_bad_row!r}")
    if outlier_sigma is not None and not (isinstance(outlier_sigma, (int, float)) and outlier_sigma > 0):
        raise DataValidationError(f"prepare.outlier_sigma must be a positive number or null, got {outlier_sigma!r}")

    plausible_ranges = check_plausible_ranges(plausible_ranges)
    bad = find_bad_cells(raw, composition_column, plausible_ranges, known_elements)
    if bad and on_bad_row == "error":
        rows = {cell.line for cell in bad}
        listing = "\n  ".join(cell.describe() for cell in bad[:20])
        more = f"\n  ... and {len(bad) - 20} more" if len(bad) > 20 else ""
        raise DataValidationError(
            f"{len(rows)} bad row(s) in the data (set prepare.on_bad_row: drop to set them aside):\n  {listing}{more}"
        )

    rejected = pd.DataFrame([vars(cell) for cell in bad], columns=REJECTED_COLUMNS)
    good = raw[~pd.Series(range(2, len(raw) + 2), index=raw.index).isin(set(rejected["line"]))]
    normalized = {formula: parse_composition(formula).reduced_formula for formula in good[composition_column].unique()}
    electrodes = pd.DataFrame({
        "battery_id": good["Battery ID"].str.strip(),
        "composition": good[composition_column].map(normalized),
        "working_ion": good["Working Ion"].str.strip(),
    })
    for name, column in TARGETS.items():
        electrodes[name] = good[column].astype(float)

    if outlier_sigma is not None:
        outliers = []
        for name in TARGETS:
            values = electrodes[name]
            for index in electrodes.index[is_outlier(values, outlier_sigma)]:
                outliers.append({
                    "line": raw.index.get_loc(index) + 2, "battery_id": electrodes.at[index, "battery_id"],
                    "column": TARGETS[name],
                    "value": repr(values[index]), "reason": "outlier",
                    "detail": f"beyond mean +- {outlier_sigma} sigma of {name}",
                })
        outliers = pd.DataFrame(outliers, columns=rejected.columns)
        rejected = pd.concat([rejected, outliers], ignore_index=True)
        electrodes = electrodes.drop(index=raw.index[outliers["line"].to_numpy(dtype=int) - 2].unique())

    electrodes = electrodes.reset_index(drop=True)
    if electrodes.empty:
        raise DataValidationError(f"no usable rows: all {len(raw)} were set aside ({rejected['reason'].value_counts().to_dict()})")
    electrodes.insert(3, "group", composition_groups(electrodes["composition"], electrodes["working_ion"]))
    kept = good.set_index(good["Battery ID"].str.strip()).loc[electrodes["battery_id"]]
    pairs = pd.DataFrame([(battery_id, *electrode_pair(charged, discharged, ion)) for battery_id, charged, discharged, ion
                          in zip(electrodes["battery_id"], kept["Formula Charge"], kept["Formula Discharge"],
                                 electrodes["working_ion"])], columns=list(PAIR_COLUMNS))
    return PreparedData(electrodes, rejected, _summary(raw, electrodes, rejected), pairs)


PAIR_COLUMNS = ("battery_id", "charged_composition", "discharged_composition")


def compact_formula(composition) -> str:
    """pymatgen's formula (elements by electronegativity) without spaces or amounts of 1: Li0.5Mn2O4."""
    from pymatgen.util.string import formula_double_format

    return "".join(f"{element}{formula_double_format(amount)}" for element, amount in
                   sorted(composition.items(), key=lambda pair: (pair[0].X, pair[0].symbol)))


def electrode_pair(charged_formula: str, discharged_formula: str, ion: str) -> tuple[str, str]:
    """An electrode's (charged, discharged) formulas per formula unit of its reduced discharged
    composition: the same host amounts in both, so that the working ion cycled is the difference
    (LiMn2O4 with Li0.5Mn2O4 charged: 0.5 Li). The pair has passed `charge_discharge_mismatch`."""
    charged, discharged = parse_composition(charged_formula), parse_composition(discharged_formula)
    reduced, factor = discharged.get_reduced_composition_and_factor()
    reference = min(str(element) for element in discharged if str(element) != ion)
    charged = charged * (discharged[reference] / charged[reference] / factor)
    return compact_formula(charged), reduced.reduced_formula


def check_plausible_ranges(ranges: dict | None) -> dict[str, tuple[float, float]]:
    """`PLAUSIBLE_RANGES` with the given targets' ranges replaced; each a [low, high] pair, low <= high."""
    merged = dict(PLAUSIBLE_RANGES)
    for key, bounds in (ranges or {}).items():
        if key not in PLAUSIBLE_RANGES:
            raise DataValidationError(f"prepare.plausible_ranges.{key}: not a target (known: {', '.join(PLAUSIBLE_RANGES)})")
        if (not isinstance(bounds, (list, tuple)) or len(bounds) != 2
                or not all(isinstance(bound, (int, float)) and not isinstance(bound, bool) for bound in bounds)
                or bounds[0] > bounds[1]):
            raise DataValidationError(f"prepare.plausible_ranges.{key} = {bounds!r} should be [low, high] with low <= high")
        merged[key] = (float(bounds[0]), float(bounds[1]))
    return merged


def _summary(raw: pd.DataFrame, electrodes: pd.DataFrame, rejected: pd.DataFrame) -> dict:
    # A row with several bad cells counts once, under its first reason.
    first_reason = rejected.drop_duplicates("line")["reason"]
    summary = {
        "rows_in": len(raw),
        "rows_out": len(electrodes),
        "rows_dropped": int(rejected["line"].nunique()),
        "unique_compositions": int(electrodes["composition"].nunique()),
        "composition_groups": int(electrodes["group"].nunique()),
    }
    counts = first_reason.value_counts()
    summary.update({f"dropped_{reason}": int(counts.get(reason, 0)) for reason in REJECT_REASONS})
    ions = electrodes["working_ion"].value_counts()
    summary.update({f"ion_{ion}": int(ions.get(ion, 0)) for ion in WORKING_IONS})
    return summary

