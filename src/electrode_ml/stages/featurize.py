"""Stage `featurize`: Magpie and MODNet composition features for every prepared electrode.

Outputs: results/features/{magpie,modnet}.parquet indexed by battery_id, metrics.json (feature
and NaN counts), nan_counts.csv (NaN cells per column: the elements without data) and
timings.json. Every table is computed before any is written, so an interrupted or failing run
leaves the previous outputs as they were, never a mix.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import field
from pathlib import Path

import pandas as pd

from electrode_ml import paths
from electrode_ml.compute import ComputeParams, compute_params
from electrode_ml.data.electrodes import DataValidationError
from electrode_ml.features.representations import REPRESENTATIONS, featurize_unique
from electrode_ml.files import interrupts_deferred, write_json, write_table
from electrode_ml.params import DEFAULT_PARAMS, ParameterError, load_section, parameters
from electrode_ml.provenance import timing_record


@parameters
class FeaturizeParams:
    representations: list[str] = field(default_factory=lambda: list(REPRESENTATIONS))


def check_representations(params: FeaturizeParams) -> list[str]:
    unknown = [name for name in params.representations if name not in REPRESENTATIONS]
    if unknown:
        raise ParameterError(f"featurize.representations: unknown {unknown} (known: {list(REPRESENTATIONS)})")
    return params.representations


def run(params: FeaturizeParams, electrodes_csv: Path, out_dir: Path, progress: bool = True,
        compute: ComputeParams | None = None) -> dict:
    """`compute`: the workers that featurize blocks of formulas (None: this process alone); the same
    values whatever their number."""
    check_representations(params)
    electrodes = pd.read_csv(electrodes_csv)
    if electrodes.empty:
        raise DataValidationError(f"{electrodes_csv}: no electrodes to featurize")
    metrics = {"compositions": int(electrodes["composition"].nunique())}
    seconds, tables, nan_counts = {}, {}, []
    for name in params.representations:
        start = time.perf_counter()
        table = featurize_unique(REPRESENTATIONS[name](), electrodes, progress=progress, compute=compute)
        seconds[f"{name}_seconds"] = round(time.perf_counter() - start, 1)
        tables[name] = table
        # Per composition, not per electrode: a NaN is a property of the formula.
        unique = table.groupby(electrodes["composition"].to_numpy()).first()
        counts = unique.isna().sum()
        nan_counts.append(pd.DataFrame({"representation": name, "feature": counts.index, "nan_compositions": counts.to_numpy()}))
        metrics.update({f"{name}.features": table.shape[1], f"{name}.columns_with_nan": int((counts > 0).sum()),
                        f"{name}.nan_cells": int(counts.sum())})
        print(f"featurize: {name}: {table.shape[1]} features for {len(table)} electrodes in {seconds[f'{name}_seconds']} s; "
              f"{int((counts > 0).sum())} columns hold NaN (elements without data)")
    with interrupts_deferred():
        for name, table in tables.items():
            write_table(table, out_dir / paths.feature_table(name).name, index=True)
        write_table(pd.concat(nan_counts, ignore_index=True), out_dir / paths.FEATURE_NAN_COUNTS.name)
        write_json(metrics, out_dir / paths.FEATURE_METRICS.name)
        write_json(timing_record(sum(seconds.values()), **seconds), out_dir / paths.TIMINGS)
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml featurize", description=__doc__)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--electrodes", type=Path, default=paths.ELECTRODES, help="prepared table (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=paths.FEATURES, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    run(load_section("featurize", FeaturizeParams, args.params), args.electrodes, args.out,
        compute=compute_params(args.params))
