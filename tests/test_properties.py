"""Property-based tests (Hypothesis) of everything that reads a user's text: the formula parser,
`prepare` and `predict`'s candidate reader. Whatever the input (random formulas and numbers,
Unicode, control characters, headers permuted, repeated or misspelt), nothing raises but the
project's own error class, every input row is accounted for, and a kept row parses back to the
composition its cell holds.

`make test` runs the bounded profile and `make test-all` the deep one (conftest.py).
"""
import csv
import io

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from electrode_ml.screening.prediction import CANDIDATE_COLUMNS, check_candidates, read_candidates
from electrode_ml.data.electrodes import RAW_COLUMNS, load_raw, parse_composition, prepare_electrodes
from electrode_ml.data.targets import TARGETS
from electrode_ml.errors import ElectrodeMLError
from electrode_ml.features.representations import REPRESENTATIONS, elements_with_data

# Real symbols, symbols no element has, and the ones no featurizer has data for (He, Og).
SYMBOLS = ["Li", "Na", "Mg", "Fe", "Co", "Mn", "P", "O", "S", "F", "He", "Og", "U", "D", "Xx", "li", "LI", "Q"]
AMOUNTS = st.one_of(
    st.just(""),
    st.integers(min_value=0, max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e400", "-1", "0.0", "1e-12", "1/2", "½", "٣", "1,5", "nan", "inf"]),
)


@st.composite
def formulas(draw):
    """Formulas with element symbols and amounts, sometimes wrapped in (deep) parentheses, or any
    text at all (control characters and other scripts included)."""
    if draw(st.integers(0, 3)) == 0:
        return draw(st.text(max_size=30))
    parts = draw(st.lists(st.tuples(st.sampled_from(SYMBOLS), AMOUNTS), min_size=1, max_size=5))
    formula = "".join(symbol + amount for symbol, amount in parts)
    depth = draw(st.sampled_from([0, 0, 1, 2, 500]))
    return draw(st.sampled_from(["", " ", "\t", "\x00"])) + "(" * depth + formula + ")" * depth


CELLS = st.one_of(formulas(), st.text(max_size=12), st.floats(allow_nan=True, allow_infinity=True).map(repr))


def _same_composition(stored: str, cell: str) -> bool:
    """The stored formula and the raw cell are one composition (amounts as fractions; pymatgen
    writes a reduced formula's amounts to 8 digits)."""
    return parse_composition(stored).fractional_composition.almost_equals(
        parse_composition(cell).fractional_composition, rtol=1e-6, atol=1e-8)


@given(formulas())
@example("Li1e400FePO4")  # an amount beyond a float
@example("(" * 3000 + "LiFePO4" + ")" * 3000)
@example("LiFePO4\x00")
@example("Li0.33333333333Fe")
def test_a_formula_parses_to_a_composition_or_raises_the_projects_error(formula):
    try:
        composition = parse_composition(formula)
    except ElectrodeMLError:
        return
    normalized = composition.reduced_formula
    assert _same_composition(normalized, formula)
    assert parse_composition(normalized).reduced_formula == normalized  # normalizing twice changes nothing


@pytest.fixture(scope="module")
def known_elements():
    return {name: elements_with_data(name) for name in REPRESENTATIONS}


@pytest.fixture(scope="module")
def real_rows(raw_sample):
    """Eight real rows, every column as the file holds it."""
    return raw_sample.sample(8, random_state=2).reset_index(drop=True)


EDITABLE = ["Battery ID", "Working Ion", "Formula Charge", "Formula Discharge", *TARGETS.values()]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 7), st.sampled_from(EDITABLE), CELLS), max_size=12),
       hosts=st.lists(st.tuples(st.integers(0, 7), formulas(), st.booleans()), max_size=4),
       composition_column=st.sampled_from(["Formula Discharge", "Formula Charge"]))
@example(edits=[(0, "Formula Discharge", "Li1e400FePO4"), (1, "Formula Charge", "MnSiO4")],
         hosts=[(2, "Og", True), (3, "(" * 3000 + "FePO4" + ")" * 3000, True), (4, "FePO4", False)],
         composition_column="Formula Discharge")
def test_prepare_accounts_for_every_row_and_keeps_each_composition(real_rows, known_elements, edits, hosts,
                                                                   composition_column):
    """`edits` put any text in a cell; `hosts` make a row's two formulas a host and the host with
    its working ion (or, False, without it): rows that are coherent but for the elements' data or the ion."""
    raw = real_rows.copy()
    for row, column, value in edits:
        raw.loc[row, column] = value
    for row, host, with_ion in hosts:
        raw.loc[row, "Formula Charge"] = host
        raw.loc[row, "Formula Discharge"] = (raw.loc[row, "Working Ion"].strip() if with_ion else "") + f"({host})"
    try:
        checked = prepare_electrodes(raw, composition_column, known_elements=known_elements)
    except ElectrodeMLError:
        checked = None
    try:
        prepared = prepare_electrodes(raw, composition_column, on_bad_row="drop", known_elements=known_elements)
    except ElectrodeMLError as error:
        assert "no usable rows" in str(error)
        return
    kept = set(prepared.electrodes["battery_id"])
    rejected_lines = set(prepared.rejected["line"])
    assert prepared.summary["rows_out"] + prepared.summary["rows_dropped"] == len(raw)
    assert len(prepared.electrodes) + len(rejected_lines) == len(raw)
    # `error` mode keeps all rows or refuses the file; it never keeps a row that `drop` sets aside.
    assert (checked is None) == bool(rejected_lines)
    kept_rows = raw[~(raw.index + 2).isin(rejected_lines)]
    assert set(kept_rows["Battery ID"].str.strip()) == kept
    for stored, cell in zip(prepared.electrodes["composition"], kept_rows[composition_column]):
        assert _same_composition(stored, cell)
    # A kept row can be an electrode: its discharged formula holds the ion, and the featurizers know its elements.
    for _, row in kept_rows.iterrows():
        elements = {str(element) for element in parse_composition(row[composition_column])}
        assert all(elements <= known for known in known_elements.values())
        assert parse_composition(row["Formula Discharge"])[row["Working Ion"].strip()] > 0


@st.composite
def headers(draw, expected):
    """The expected column names in any order, with a few dropped, repeated, lower-cased, spaced
    or other names added."""
    header = list(draw(st.permutations(list(expected))))
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(header) - 1))
        change = draw(st.sampled_from(["drop", "repeat", "lower", "space", "other"]))
        if change == "drop" and len(header) > 1:
            header.pop(position)
        elif change == "repeat":
            header.append(header[position])
        elif change == "lower":
            header[position] = header[position].lower()
        elif change == "space":
            header[position] = f" {header[position]}"
        else:
            header.append(draw(st.text(max_size=8)))
    return header


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=headers(RAW_COLUMNS), cell=CELLS)
def test_any_header_is_read_or_refused_by_name(tmp_path_factory, real_rows, header, cell):
    """Whatever the header, a file is refused or each expected column reads what was written under it."""
    path = tmp_path_factory.mktemp("header") / "raw.csv"
    row = [cell if name == "Formula Discharge" else real_rows.iloc[0].get(name, "1") for name in header]
    _write_csv(path, header, [row])
    try:
        raw = load_raw(path)
    except ElectrodeMLError:
        return
    assert len(raw) == 1
    for name in RAW_COLUMNS:
        assert header.count(name) == 1
        assert raw.at[0, name] == row[header.index(name)]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=headers(CANDIDATE_COLUMNS),
       rows=st.lists(st.tuples(CELLS, st.one_of(st.sampled_from(["Li", "Na", "Mg", " Li", "li", "Og"]), st.text(max_size=3))),
                     min_size=1, max_size=6))
def test_predicts_reader_takes_or_refuses_every_row(tmp_path_factory, known_elements, header, rows):
    path = tmp_path_factory.mktemp("candidates") / "candidates.csv"
    cells = [[{"composition": formula, "working_ion": ion}.get(name, "x") for name in header] for formula, ion in rows]
    _write_csv(path, header, cells)
    try:
        candidates = check_candidates(read_candidates(path), str(path), known_elements)
    except ElectrodeMLError:
        return
    assert list(candidates["composition"]) == [formula.strip() for formula, _ in rows]
    assert list(candidates["working_ion"]) == [ion.strip() for _, ion in rows]


def _write_csv(path, header, rows) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    try:
        path.write_text(buffer.getvalue(), encoding="utf-8")
    except UnicodeEncodeError:  # a lone surrogate: not a text a file can hold
        assume(False)
