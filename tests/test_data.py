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


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("", "empty formula"),
        ("   ", "empty formula"),
        ("Li(FePO4", "unparseable"),
        ("Li0-1CoO2", "unparseable"),  # a Battery Formula range, not a composition
        ("XxO2", "unknown element"),
        ("LiQq", "unparseable|unknown element"),
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


def test_real_data_is_clean(real_raw):
    prepared = prepare_electrodes(real_raw)
    assert len(prepared.electrodes) == 4351
    assert prepared.electrodes["composition"].nunique() == 3173
    assert tuple(real_raw.columns) == RAW_COLUMNS
