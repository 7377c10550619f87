"""The download command's parsing, on documents recorded in mp-api's own shape (no network)."""
import json
import os
import subprocess
import sys
import types
import warnings
from pathlib import Path

import pandas as pd
import pytest
from pymatgen.core.periodic_table import Element

from electrode_ml import cli
from electrode_ml.commands import download
from electrode_ml.commands.download import FIELDS, DownloadError, documents_to_table
from electrode_ml.data.electrodes import RAW_COLUMNS, load_raw, prepare_electrodes
from electrode_ml.errors import ElectrodeMLError
from electrode_ml.files import write_table

# Two real rows of the data set (one Li, one Mg) as mp-api 0.43 returns them: emmet-core's
# InsertionElectrodeDoc field names, not FIELDS', so that a wrong entry in FIELDS fails here.
RECORDED = Path(__file__).parent / "fixtures" / "mp_insertion_electrode_documents.json"


def _recorded_documents() -> tuple[list[str], list[dict]]:
    """The battery ids and their documents as `model_dump()` gives them: working_ion a pymatgen
    Element (JSON holds its symbol)."""
    recorded = json.loads(RECORDED.read_text())
    documents = [{**document, "working_ion": Element(document["working_ion"])} for document in recorded["documents"]]
    return recorded["battery_ids"], documents


def test_field_map_covers_the_schema_in_order():
    assert tuple(FIELDS) == RAW_COLUMNS


def test_recorded_response_becomes_the_same_rows_as_the_data_set(real_raw, tmp_path):
    battery_ids, documents = _recorded_documents()
    table = documents_to_table(documents)
    assert tuple(table.columns) == RAW_COLUMNS
    path = tmp_path / "download.csv"
    write_table(table, path)  # as the command writes it
    downloaded = load_raw(path)
    # Cell for cell, as text: every digit of every number, the ion as its symbol.
    original = real_raw.set_index("Battery ID", drop=False).loc[battery_ids].reset_index(drop=True)
    pd.testing.assert_frame_equal(downloaded, original)
    assert list(prepare_electrodes(downloaded).electrodes["battery_id"]) == battery_ids


def test_incomplete_response_names_the_document_and_field():
    battery_ids, documents = _recorded_documents()
    del documents[1]["capacity_vol"]
    with pytest.raises(DownloadError, match=f"{battery_ids[1]}: the response lacks field.*capacity_vol"):
        documents_to_table(documents)
    assert issubclass(DownloadError, ElectrodeMLError)  # so the command line prints it as one line


def test_incomplete_response_is_one_line_from_the_command_line(monkeypatch, tmp_path):
    battery_ids, documents = _recorded_documents()
    del documents[0]["capacity_vol"]
    monkeypatch.setenv("MP_API_KEY", "recorded")
    monkeypatch.delenv("ELECTRODE_ML_TRACEBACK", raising=False)
    monkeypatch.setitem(sys.modules, "mp_api", types.ModuleType("mp_api"))  # the optional extra, not installed here
    monkeypatch.setattr(download, "fetch_documents", lambda api_key: (documents, "recorded"))
    monkeypatch.setattr(cli, "pin_numerical_environment", lambda: None)  # it would change this process's environment
    out = tmp_path / "download.csv"
    with warnings.catch_warnings(), pytest.raises(SystemExit) as exit:  # the command line sets warning filters
        cli.main(["download", "--out", str(out)])
    # sys.exit with a message: Python prints it on stderr, exit status 1.
    message, hint = str(exit.value.code).splitlines()
    assert message.startswith(f"electrode-ml download: {battery_ids[0]}: the response lacks field(s) ['capacity_vol']")
    assert hint == "(set ELECTRODE_ML_TRACEBACK=1 for the traceback)"
    assert not out.exists()


def test_without_key_exits_with_one_line():
    environment = {key: value for key, value in os.environ.items() if key != "MP_API_KEY"}
    result = subprocess.run([sys.executable, "-m", "electrode_ml.cli", "download"], capture_output=True, text=True,
                            env=environment)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "MP_API_KEY" in result.stderr
