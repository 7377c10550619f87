import re

import pandas as pd
import pytest

from electrode_ml.data.electrodes import (
    PREPARED_COLUMNS,
    RAW_COLUMNS,
    DataValidationError,
    FormulaError,
    composition_groups,
    load_raw,
    parse_composition,
    prepare_electrodes,
)
from electrode_ml.features.representations import REPRESENTATIONS, elements_with_data


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("", "empty formula"),
        ("   ", "empty formula"),
        ("Li(FePO4", "unparseable"),
        ("Li0-1CoO2", "unparseable"),  # a Battery Formula range, not a composition
        ("XxO2", "unknown element"),
        ("LiQq", "unparseable|unknown element"),
        ("Li1e400FePO4", "too large"),
    ],
)
def test_bad_formulas_are_refused_with_the_reason(formula, message):
    with pytest.raises(FormulaError, match=message):
        parse_composition(formula)


def test_good_formula_parses():
    assert parse_composition("Li2Fe2(PO4)2").reduced_formula == "LiFePO4"


def test_missing_column_is_named(tmp_path, raw_sample):
    path = tmp_path / "no_voltage.csv"
    raw_sample.drop(columns="Average Voltage").to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="missing column.*Average Voltage"):
        load_raw(path)


def _spoil(raw, battery_index, column, value):
    spoiled = raw.copy()
    spoiled.loc[battery_index, column] = value
    return spoiled, spoiled.loc[battery_index, "Battery ID"]


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("Formula Discharge", "Li(Fe", "bad_formula"),
        ("Formula Discharge", "LiXxO2", "bad_formula"),
        ("Formula Discharge", "", "bad_formula"),
        ("Gravimetric Capacity", "", "target_missing"),
        ("Volumetric Capacity", "nan", "target_missing"),
        ("Average Voltage", "3.2 V", "target_not_a_number"),
        ("Gravimetric Capacity", "-12.5", "capacity_not_positive"),
        ("Working Ion", "Xx", "unknown_working_ion"),
    ],
)
def test_bad_row_errors_name_the_row_and_column_and_drop_keeps_them(raw_sample, column, value, reason):
    spoiled, battery_id = _spoil(raw_sample, 7, column, value)
    with pytest.raises(DataValidationError, match=f"{battery_id}: column '{column}'"):
        prepare_electrodes(spoiled)

    prepared = prepare_electrodes(spoiled, on_bad_row="drop")
    assert battery_id not in set(prepared.electrodes["battery_id"])
    rejected = prepared.rejected.set_index("battery_id").loc[[battery_id]]
    assert reason in set(rejected["reason"])
    assert prepared.summary[f"dropped_{reason}"] == 1
    # Nothing is lost silently: every input row is either prepared or rejected.
    assert prepared.summary["rows_out"] + prepared.summary["rows_dropped"] == len(raw_sample)


def test_duplicate_battery_id_is_refused_and_only_the_repeat_is_dropped(raw_sample):
    spoiled = pd.concat([raw_sample, raw_sample.iloc[[3]]], ignore_index=True)
    with pytest.raises(DataValidationError, match=f"line {len(spoiled) + 1}, .*duplicate Battery ID"):
        prepare_electrodes(spoiled)
    prepared = prepare_electrodes(spoiled, on_bad_row="drop")
    assert len(prepared.electrodes) == len(raw_sample)  # the first occurrence stays
    assert list(prepared.rejected["line"]) == [len(spoiled) + 1]
    assert prepared.summary["rows_out"] + prepared.summary["rows_dropped"] == len(spoiled)


def test_negative_voltage_is_kept(raw_sample):
    # Negative average voltages occur in the Materials Project data (unstable intercalation); they
    # are data, not errors. Only the outlier filter can set them aside.
    spoiled, battery_id = _spoil(raw_sample, 2, "Average Voltage", "-1.5")
    prepared = prepare_electrodes(spoiled)
    assert battery_id in set(prepared.electrodes["battery_id"])


def test_prepared_table_has_typed_targets_and_groups(raw_sample):
    prepared = prepare_electrodes(raw_sample)
    electrodes = prepared.electrodes
    assert tuple(electrodes.columns) == PREPARED_COLUMNS
    assert len(electrodes) == len(raw_sample)
    assert electrodes["capacity_grav_mAh_g"].dtype == float
    assert (electrodes["composition"] == raw_sample["Formula Discharge"]).all()
    assert prepared.summary["rows_dropped"] == 0
    assert sum(prepared.summary[f"ion_{ion}"] for ion in electrodes["working_ion"].unique()) == len(raw_sample)


def test_outlier_filter_drops_beyond_sigma(raw_sample):
    spoiled, battery_id = _spoil(raw_sample, 11, "Average Voltage", "500")
    # 500 V is outside the default plausible range too; widened here to test the outlier filter alone.
    prepared = prepare_electrodes(spoiled, outlier_sigma=3, plausible_ranges={"voltage": [-1000, 1000]})
    assert battery_id not in set(prepared.electrodes["battery_id"])
    assert prepared.summary["dropped_outlier"] >= 1
    voltages = prepared.electrodes["voltage_avg_V"]
    assert prepared.summary["rows_out"] + prepared.summary["rows_dropped"] == len(spoiled)
    assert voltages.max() < 500
    unfiltered = prepare_electrodes(spoiled, plausible_ranges={"voltage": [-1000, 1000]})
    assert battery_id in set(unfiltered.electrodes["battery_id"])


def test_same_composition_and_ion_share_a_group():
    groups = composition_groups(
        pd.Series(["LiFePO4", "Li2Fe2(PO4)2", "LiFePO4", "NaFePO4"]),
        pd.Series(["Li", "Li", "Na", "Na"]),
    )
    assert groups[0] == groups[1]
    assert len({groups[0], groups[2], groups[3]}) == 3


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        ("composition_column", "Battery Formula", "composition_column"),
        ("on_bad_row", "ignore", "on_bad_row"),
        ("outlier_sigma", -1, "outlier_sigma"),
    ],
)
def test_bad_parameters_are_named(raw_sample, keyword, value, message):
    with pytest.raises(ValueError, match=message):
        prepare_electrodes(raw_sample, **{keyword: value})


@pytest.fixture(scope="module")
def known_elements():
    return {name: elements_with_data(name) for name in REPRESENTATIONS}


def _li_row(raw) -> int:
    return int(raw.index[raw["Working Ion"] == "Li"][0])


@pytest.mark.parametrize(
    ("cells", "column", "reason", "message"),
    [
        # The discharged formula without its working ion: a formula mapped to another material's property.
        ({"Formula Discharge": "FePO4", "Formula Charge": "FePO4"}, "Formula Discharge", "ion_not_in_formula",
         "the discharged formula holds no Li"),
        # A charged formula with other host elements than the discharged one: a corrupted row.
        ({"Formula Discharge": "LiFePO4", "Formula Charge": "MnSiO4"}, "Formula Charge", "charge_discharge_mismatch",
         r"only charged: \['Mn', 'Si'\]; only discharged: \['Fe', 'P'\]"),
        ({"Formula Discharge": "LiFePO4", "Formula Charge": "FePO3"}, "Formula Charge", "charge_discharge_mismatch",
         "other proportions"),
        ({"Formula Discharge": "LiFePO4", "Formula Charge": "Li2FePO4"}, "Formula Charge", "charge_discharge_mismatch",
         "as much Li per host"),
        # A corrupt charged formula is a corrupt row, even when the discharged one is the composition.
        ({"Formula Discharge": "LiFePO4", "Formula Charge": "Fe(PO4"}, "Formula Charge", "bad_formula", "unparseable"),
        # Og has no Magpie data: every feature built on it would be NaN for the models to "learn" from.
        ({"Formula Discharge": "LiOg2", "Formula Charge": "Og"}, "Formula Discharge", "element_without_data",
         "no magpie data for Og; no modnet data for Og"),
    ],
    ids=["ion-missing", "other-elements", "other-proportions", "more-ion-charged", "corrupt-charge", "no-element-data"],
)
def test_rows_that_cannot_be_an_electrode_are_refused_by_name_and_set_aside_raw(raw_sample, known_elements, cells,
                                                                                column, reason, message):
    spoiled = raw_sample.copy()
    row = _li_row(spoiled)
    for name, value in cells.items():
        spoiled.loc[row, name] = value
    battery_id = spoiled.loc[row, "Battery ID"]
    with pytest.raises(DataValidationError, match=f"{battery_id}: column '{column}' = .*{message}"):
        prepare_electrodes(spoiled, known_elements=known_elements)
    prepared = prepare_electrodes(spoiled, on_bad_row="drop", known_elements=known_elements)
    rejected = prepared.rejected.set_index("battery_id").loc[[battery_id]]
    assert list(rejected["reason"]) == [reason]
    assert list(rejected["value"]) == [cells[column]]  # the raw cell, as the file holds it
    assert prepared.summary[f"dropped_{reason}"] == 1
    assert battery_id not in set(prepared.electrodes["battery_id"])
    assert prepared.summary["rows_out"] + prepared.summary["rows_dropped"] == len(raw_sample)


def test_the_stored_composition_is_the_normalized_formula(raw_sample, known_elements):
    spoiled = raw_sample.copy()
    row = _li_row(spoiled)
    formula = spoiled.loc[row, "Formula Discharge"]
    spoiled.loc[row, "Formula Discharge"] = "(" * 3000 + formula + ")" * 3000  # 6,000 characters and more
    spoiled.loc[row + 1, "Formula Discharge"] = " " + parse_composition(spoiled.loc[row + 1, "Formula Discharge"]).formula
    prepared = prepare_electrodes(spoiled, known_elements=known_elements)
    expected = raw_sample["Formula Discharge"].map(lambda cell: parse_composition(cell).reduced_formula)
    assert list(prepared.electrodes["composition"]) == list(expected)
    assert prepared.electrodes["composition"].str.len().max() < 100


@pytest.mark.parametrize(
    ("rename", "message"),
    [
        ({"Stability Charge": "Average Voltage"}, "column 'Average Voltage' appears 2 times"),
        ({"Average Voltage": "average voltage"}, "column 'average voltage' differs from the expected 'Average Voltage' only by case or spaces"),
        ({"Working Ion": "Working  Ion "}, "column 'Working  Ion ' differs from the expected 'Working Ion'"),
    ],
    ids=["twice", "case", "spaces"],
)
def test_a_header_naming_a_column_twice_or_almost_is_refused_naming_it(tmp_path, raw_sample, rename, message):
    path = tmp_path / "raw.csv"
    header = [rename.get(name, name) for name in raw_sample.columns]
    raw_sample.set_axis(header, axis=1).to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=re.escape(f"{path}: {message}")):
        load_raw(path)


def test_real_data_is_clean(real_raw, known_elements):
    prepared = prepare_electrodes(real_raw, known_elements=known_elements)
    assert len(prepared.electrodes) == 4351
    assert prepared.electrodes["composition"].nunique() == 3173
    assert tuple(real_raw.columns) == RAW_COLUMNS
    # Every formula of the real data is already pymatgen's normalized one: the stored table is the file's.
    assert (prepared.electrodes["composition"] == real_raw["Formula Discharge"]).all()
    assert prepared.summary["rows_dropped"] == 0
