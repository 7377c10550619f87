"""`electrode-ml download`: fetch the insertion electrodes from the Materials Project.

Needs `MP_API_KEY` and the optional extra (`pip install -e '.[download]'`, mp-api 0.43). Writes
the Battery Explorer CSV schema that `prepare` reads, and beside it a JSON recording the
database version and date. A fresh download is a newer release than the DVC-tracked data set.
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

import pandas as pd

from electrode_ml.data.electrodes import RAW_COLUMNS
from electrode_ml.errors import ElectrodeMLError
from electrode_ml.files import write_json, write_table

# Battery Explorer title -> mp-api field of `materials.insertion_electrodes.search` (PROVENANCE.md).
FIELDS = {
    "Battery ID": "battery_id",
    "Battery Formula": "battery_formula",
    "Working Ion": "working_ion",
    "Formula Charge": "formula_charge",
    "Formula Discharge": "formula_discharge",
    "Max Delta Volume": "max_delta_volume",
    "Average Voltage": "average_voltage",
    "Gravimetric Capacity": "capacity_grav",
    "Volumetric Capacity": "capacity_vol",
    "Gravimetric Energy": "energy_grav",
    "Volumetric Energy": "energy_vol",
    "Atomic Fraction Charge": "fracA_charge",
    "Atomic Fraction Discharge": "fracA_discharge",
    "Stability Charge": "stability_charge",
    "Stability Discharge": "stability_discharge",
    "Steps": "num_steps",
    "Max Voltage Step": "max_voltage_step",
}


class DownloadError(ElectrodeMLError):
    """The Materials Project's response is not what `FIELDS` expects; the message names the document and field."""


def documents_to_table(documents: list[dict]) -> pd.DataFrame:
    """mp-api insertion-electrode documents (as dicts) -> the Battery Explorer CSV schema."""
    rows = []
    for position, document in enumerate(documents):
        missing = [field for field in FIELDS.values() if field not in document]
        if missing:
            name = document.get("battery_id", f"document {position}")
            raise DownloadError(f"{name}: the response lacks field(s) {missing}; this command reads mp-api 0.43's "
                                "field names (FIELDS in electrode_ml/commands/download.py)")
        rows.append({title: _plain(document[field]) for title, field in FIELDS.items()})
    return pd.DataFrame(rows, columns=list(RAW_COLUMNS))


def _plain(value):
    """Enums (working_ion is an Element) become their symbol; numbers and strings pass through."""
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):
        return value.value
    if hasattr(value, "symbol"):
        return value.symbol
    return value


def fetch_documents(api_key: str) -> tuple[list[dict], str]:
    from mp_api.client import MPRester

    with MPRester(api_key) as rester:
        documents = rester.materials.insertion_electrodes.search(fields=list(FIELDS.values()))
        version = rester.get_database_version()
    return [document.model_dump() if hasattr(document, "model_dump") else dict(document) for document in documents], version


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml download", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("data/mp_batteries_download.csv"),
                        help="where the CSV goes (default: %(default)s)")
    args = parser.parse_args(argv)
    api_key = os.environ.get("MP_API_KEY", "").strip()
    if not api_key:
        sys.exit("electrode-ml download: set MP_API_KEY (a Materials Project API key) to download; "
                 "the pipeline's data set comes from `dvc pull` instead.")
    try:
        import mp_api  # noqa: F401
    except ImportError:
        sys.exit("electrode-ml download: mp-api is not installed: run `.venv/bin/pip install -e '.[download]'`.")
    documents, version = fetch_documents(api_key)
    table = documents_to_table(documents)
    write_table(table, args.out)
    write_json({
        "source": "Materials Project, materials.insertion_electrodes.search (mp-api)",
        "database_version": version,
        "downloaded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "rows": len(table),
    }, args.out.with_suffix(".json"))
    print(f"download: {len(table)} electrodes, database {version}, to {args.out}")
