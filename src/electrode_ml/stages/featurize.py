"""Stage `featurize`: Magpie and MODNet composition features for every prepared electrode.

Outputs: results/features/{magpie,modnet}.parquet indexed by battery_id, and timings.json.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from electrode_ml.features import REPRESENTATIONS, featurize_unique
from electrode_ml.files import write_json, write_table
from electrode_ml.params import DEFAULT_PARAMS, ParameterError, load_section


@dataclass(frozen=True)
class FeaturizeParams:
    representations: list[str] = field(default_factory=lambda: list(REPRESENTATIONS))
    n_jobs: int = 1


def run(params: FeaturizeParams, electrodes_csv: Path, out_dir: Path, progress: bool = True) -> dict:
    unknown = [name for name in params.representations if name not in REPRESENTATIONS]
    if unknown:
        raise ParameterError(f"featurize.representations: unknown {unknown} (known: {list(REPRESENTATIONS)})")
    electrodes = pd.read_csv(electrodes_csv)
    timings = {"compositions": int(electrodes["composition"].nunique())}
    for name in params.representations:
        start = time.perf_counter()
        table = featurize_unique(REPRESENTATIONS[name](n_jobs=params.n_jobs), electrodes, progress=progress)
        write_table(table, out_dir / f"{name}.parquet", index=True)
        timings[f"{name}_seconds"] = round(time.perf_counter() - start, 1)
        timings[f"{name}_features"] = table.shape[1]
        print(f"featurize: {name}: {table.shape[1]} features for {len(table)} electrodes in {timings[f'{name}_seconds']} s")
    write_json(timings, out_dir / "timings.json")
    return timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml featurize", description=__doc__)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS)
    parser.add_argument("--electrodes", type=Path, default=Path("results/prepared/electrodes.csv"))
    parser.add_argument("--out", type=Path, default=Path("results/features"))
    args = parser.parse_args(argv)
    run(load_section("featurize", FeaturizeParams, args.params), args.electrodes, args.out)
