"""matminer's Magpie features (`ElementProperty.from_preset("magpie")`) for many formulas at once.

Screening featurizes up to 100,000 candidate compositions; matminer computes the 132 features
(22 elemental properties x 6 statistics) one composition and one statistic at a time in Python,
about 2 ms per composition. Here the 22 properties of every element are read once from
matminer's own data source into a table, and the statistics are computed with NumPy over whole
blocks of compositions, so that the numbers are matminer's, bit for bit:

- the elements and amounts are those matminer reads, `composition.element_composition.items()`
  (`get_el_amt_dict`, in the formula's order): raw amounts, not fractions; `np.average`
  normalizes by their sum;
- `mean` and `avg_dev` are `np.average`: sum(value * amount) / sum(amount), where NumPy sums one
  composition's 1-D array pairwise (sequentially below 8 terms, 8 partial sums up to 128).
  `_numpy_sum` repeats that order of additions across the rows of a block, so each row rounds
  as matminer's 1-D sum does. `avg_dev` is the same average of |value - mean|;
- `mode` is matminer's rule: among the elements whose amount `np.isclose` to the largest, the
  smallest value;
- `minimum`, `maximum` and `range` (maximum - minimum) involve no rounding but the subtraction.

Unlike `MagpieFeatures`, which gives NaN, a formula with an element lacking any of the 22
properties (He, Og, ...) raises `FeaturizationError`: screening refuses such rows beforehand.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from electrode_ml.data.electrodes import parse_composition
from electrode_ml.features.representations import FeaturizationError, quiet_featurizers

# Distinct compositions computed per NumPy pass, so that memory is bounded however many formulas
# come in: each temporary is 4096 rows x 22 properties x 8 bytes = 0.7 MB per element of the
# block's compositions. Smaller blocks cost Python overhead, larger ones gain nothing.
BLOCK_ROWS = 4096

# numpy's pairwise summation (`pairwise_sum_DOUBLE`): below this many terms a plain loop; up to
# PAIRWISE_BLOCK terms 8 partial sums; beyond, two halves (a multiple of 8 first), recursively.
PAIRWISE_UNROLL = 8
PAIRWISE_BLOCK = 128


@dataclass(frozen=True)
class MagpieTable:
    """matminer's Magpie preset as arrays: `values[row_of_symbol[symbol], j]` is property
    `properties[j]` of that element, for every element that has all of them."""

    properties: tuple[str, ...]
    stats: tuple[str, ...]
    labels: tuple[str, ...]
    values: np.ndarray
    row_of_symbol: dict[str, int]
    missing_properties: dict[str, tuple[str, ...]]  # elements left out of `values`, and why


@functools.cache
def magpie_table() -> MagpieTable:
    """Built once per process from matminer's Magpie data files (shipped with matminer)."""
    from matminer.featurizers.composition import ElementProperty
    from pymatgen.core import Element

    with quiet_featurizers():
        featurizer = ElementProperty.from_preset("magpie")
    properties = tuple(featurizer.features)
    rows, row_of_symbol, missing_properties = [], {}, {}
    for element in map(Element.from_Z, range(1, 119)):
        values = [featurizer.data_source.get_elemental_property(element, prop) for prop in properties]
        missing = tuple(prop for prop, value in zip(properties, values) if not math.isfinite(value))
        if missing:
            missing_properties[element.symbol] = missing
        else:
            row_of_symbol[element.symbol] = len(rows)
            rows.append(values)
    return MagpieTable(
        properties=properties,
        stats=tuple(featurizer.stats),
        labels=tuple(featurizer.feature_labels()),
        values=np.array(rows, dtype=np.float64),
        row_of_symbol=row_of_symbol,
        missing_properties=missing_properties,
    )


class FastMagpieFeatures:
    """`MagpieFeatures` (matminer's Magpie preset) computed over a table: the same labels in the
    same order and the same float64 values, bit for bit, for compositions whose elements all
    have Magpie data; `FeaturizationError` for any other."""

    name = "magpie"

    def feature_labels(self) -> list[str]:
        return list(magpie_table().labels)

    def featurize(self, formulas: list[str], progress: bool = False) -> pd.DataFrame:
        """One row per formula, in the order given (repeats included, each formula parsed and
        computed once), indexed by the formulas, with `feature_labels()` as columns.

        `progress` is accepted for the interface `MagpieFeatures` shares; a run takes seconds,
        so no bar is drawn. Raises `FormulaError` for a formula pymatgen cannot read (as
        `parse_composition` does) and `FeaturizationError` naming the formula and the element
        for an element without all 22 properties.
        """
        table = magpie_table()
        formulas = list(formulas)
        position_of_formula: dict[str, int] = {}
        positions = np.fromiter(
            (position_of_formula.setdefault(formula, len(position_of_formula)) for formula in formulas),
            dtype=np.intp, count=len(formulas))
        distinct = _features_of_distinct(list(position_of_formula), table)
        return pd.DataFrame(distinct[positions], index=formulas, columns=list(table.labels))


def _features_of_distinct(formulas: list[str], table: MagpieTable) -> np.ndarray:
    """(len(formulas), 132) features; compositions with the same number of elements are computed
    together, so that every row of a block sums the same number of terms, as matminer does."""
    element_rows, amounts, counts = _parse(formulas, table)
    starts = np.cumsum(counts) - counts
    features = np.empty((len(formulas), len(table.labels)), dtype=np.float64)
    for count in np.unique(counts):
        members = np.flatnonzero(counts == count)
        for block in range(0, len(members), BLOCK_ROWS):
            block_members = members[block:block + BLOCK_ROWS]
            flat = starts[block_members, None] + np.arange(count)
            features[block_members] = _block_features(table.values[element_rows[flat]], amounts[flat], table.stats)
    return features


def _parse(formulas: list[str], table: MagpieTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The table rows and amounts of every formula's elements, concatenated in matminer's order
    (`get_el_amt_dict`, which `element_composition` is made of), and each formula's count."""
    element_rows: list[int] = []
    amounts: list[float] = []
    counts = np.empty(len(formulas), dtype=np.intp)
    for index, formula in enumerate(formulas):
        element_amounts = parse_composition(formula).get_el_amt_dict()
        for symbol, amount in element_amounts.items():
            row = table.row_of_symbol.get(symbol)
            if row is None:
                # A symbol outside Z 1-118 (should pymatgen give isotopes their own) has no data at all.
                missing = table.missing_properties.get(symbol, table.properties)
                raise FeaturizationError(
                    f"Magpie features of {formula!r} are undefined: {symbol} lacks "
                    f"{len(missing)} of the {len(table.properties)} Magpie properties ({', '.join(missing)})")
            element_rows.append(row)
            amounts.append(amount)
        counts[index] = len(element_amounts)
    return np.array(element_rows, dtype=np.intp), np.array(amounts, dtype=np.float64), counts


def _block_features(values: np.ndarray, amounts: np.ndarray, stats: tuple[str, ...]) -> np.ndarray:
    """Features of a block of compositions with the same number of elements: `values` is
    (rows, elements, properties), `amounts` (rows, elements); columns in matminer's order,
    each property's statistics together."""
    weights = amounts[:, :, None]
    total_amount = _numpy_sum(amounts)[:, None]
    mean = _numpy_sum(values * weights) / total_amount
    minimum, maximum = values.min(axis=1), values.max(axis=1)
    # np.isclose row by row against each row's largest amount, as matminer's `mode` calls it.
    most_abundant = np.isclose(amounts, amounts.max(axis=1, keepdims=True))[:, :, None]
    statistics = {
        "minimum": minimum,
        "maximum": maximum,
        "range": maximum - minimum,
        "mean": mean,
        "avg_dev": _numpy_sum(np.abs(values - mean[:, None, :]) * weights) / total_amount,
        "mode": np.where(most_abundant, values, np.inf).min(axis=1),
    }
    return np.stack([statistics[stat] for stat in stats], axis=-1).reshape(len(values), -1)


def _numpy_sum(terms: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Sum over axis 1 (columns `start:stop`), adding in the order `np.sum` adds a 1-D array of
    that length, so each row is rounded exactly as `np.sum(row)` is. (`terms.sum(axis=1)`
    on a 3-D block is not, from 8 terms on: it adds the columns one after another.)"""
    stop = terms.shape[1] if stop is None else stop
    length = stop - start
    if length < PAIRWISE_UNROLL:
        total = np.zeros(terms.shape[:1] + terms.shape[2:], dtype=np.float64)
        for column in range(start, stop):
            total += terms[:, column]
        return total
    if length <= PAIRWISE_BLOCK:
        partial = [terms[:, start + offset].copy() for offset in range(PAIRWISE_UNROLL)]
        unrolled_stop = stop - length % PAIRWISE_UNROLL
        for block in range(start + PAIRWISE_UNROLL, unrolled_stop, PAIRWISE_UNROLL):
            for offset in range(PAIRWISE_UNROLL):
                partial[offset] += terms[:, block + offset]
        total = ((partial[0] + partial[1]) + (partial[2] + partial[3])) + (
            (partial[4] + partial[5]) + (partial[6] + partial[7]))
        for column in range(unrolled_stop, stop):
            total += terms[:, column]
        return total
    half = length // 2
    half -= half % PAIRWISE_UNROLL
    return _numpy_sum(terms, start, start + half) + _numpy_sum(terms, start + half, stop)
