"""Stage `prepare`: validate the raw CSV and write the table every later stage reads.

Outputs: results/prepared/electrodes.csv, pairs.csv (each electrode's charged and discharged
formulas, per formula unit of its reduced discharged composition), rejected.csv (rows set aside,
with reason) and summary.json (a DVC metric).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from electrode_ml import paths
from electrode_ml.data.electrodes import load_raw, prepare_electrodes
from electrode_ml.features.representations import elements_with_data
from electrode_ml.files import write_json, write_table
from electrode_ml.params import DEFAULT_PARAMS, load_section, parameters
from electrode_ml.stages.featurize import FeaturizeParams, check_representations


@parameters
class PrepareParams:
    raw_csv: str = "data/mp_batteries.csv"
    composition_column: str = "Formula Discharge"
    outlier_sigma: float | None = None
    on_bad_row: str = "error"
    plausible_ranges: dict | None = None  # target key -> [low, high]; unset targets keep data.PLAUSIBLE_RANGES


def run(params: PrepareParams, out_dir: Path, representations: list[str]) -> dict:
    """`representations`: the run's featurizers, whose element data every composition needs."""
    prepared = prepare_electrodes(
        load_raw(params.raw_csv), params.composition_column, params.outlier_sigma, params.on_bad_row,
        params.plausible_ranges, {name: elements_with_data(name) for name in representations},
    )
    write_table(prepared.electrodes, out_dir / paths.ELECTRODES.name)
    write_table(prepared.rejected, out_dir / paths.REJECTED.name)
    write_table(prepared.pairs, out_dir / paths.PAIRS.name)
    write_json(prepared.summary, out_dir / paths.PREPARE_SUMMARY.name)
    return prepared.summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml prepare", description=__doc__)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=paths.PREPARED, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    summary = run(load_section("prepare", PrepareParams, args.params), args.out,
                  check_representations(load_section("featurize", FeaturizeParams, args.params)))
    print(f"prepare: {summary['rows_in']} rows in, {summary['rows_out']} out, {summary['rows_dropped']} set aside "
          f"({args.out / 'rejected.csv'})")
