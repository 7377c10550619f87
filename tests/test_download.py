"""The download command's parsing, on a recorded response the test builds (no network)."""
import enum
import os
import subprocess
import sys

import pytest

from electrode_ml.commands.download import FIELDS, documents_to_table
from electrode_ml.data.electrodes import RAW_COLUMNS, load_raw, prepare_electrodes


class Element(enum.Enum):  # mp-api returns working_ion as an emmet Element enum
    Li = "Li"
    Mg = "Mg"


def _recorded_response(real_raw):
    """Two real rows as mp-api documents: field names from the API, ion as an enum."""
    documents = []
    for _, row in real_raw[real_raw["Working Ion"].isin(["Li", "Mg"])].groupby("Working Ion").head(1).iterrows():
        document = {field: row[title] for title, field in FIELDS.items()}
        for field in ("max_delta_volume", "average_voltage", "capacity_grav", "capacity_vol", "energy_grav",
                      "energy_vol", "fracA_charge", "fracA_discharge", "stability_charge", "stability_discharge",
                      "max_voltage_step"):
            document[field] = float(document[field])
        document["num_steps"] = int(document["num_steps"])
        document["working_ion"] = Element(document["working_ion"])
        document["material_ids"] = ["mp-1"]  # extra fields in a response are ignored
        documents.append(document)
    return documents


def test_field_map_covers_the_schema_in_order():
    assert tuple(FIELDS) == RAW_COLUMNS


def test_response_becomes_the_battery_explorer_schema(real_raw, tmp_path):
    documents = _recorded_response(real_raw)
    table = documents_to_table(documents)
    assert tuple(table.columns) == RAW_COLUMNS
    assert list(table["Working Ion"]) == ["Li", "Mg"]
    path = tmp_path / "download.csv"
    table.to_csv(path, index=False)
    prepared = prepare_electrodes(load_raw(path))
    original = real_raw.set_index("Battery ID")
    for _, row in prepared.electrodes.iterrows():
        assert row["capacity_grav_mAh_g"] == float(original.loc[row["battery_id"], "Gravimetric Capacity"])


def test_incomplete_response_names_the_document_and_field(real_raw):
    documents = _recorded_response(real_raw)
    del documents[1]["capacity_vol"]
    with pytest.raises(ValueError, match=f"{documents[1]['battery_id']}: the response lacks field.*capacity_vol"):
        documents_to_table(documents)


def test_without_key_exits_with_one_line():
    environment = {key: value for key, value in os.environ.items() if key != "MP_API_KEY"}
    result = subprocess.run([sys.executable, "-m", "electrode_ml.cli", "download"], capture_output=True, text=True,
                            env=environment)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "MP_API_KEY" in result.stderr
