"""Stage `candidates`: new electrodes to screen, made from the known ones.

Working-ion swaps (the charge carried kept: two Li for one Mg) and element substitutions from
pymatgen's substitution probabilities (Hautier et al. 2011, charge-balanced), deduplicated against
the known electrodes and each other, capped at `candidates.max_candidates`
(`screening.generation`). Outputs: results/candidates/candidates.parquet (candidate_id,
composition, working_ion, parent_battery_id, rule, change, probability), metrics.json (counts per
rule and working ion) and timings.json.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from electrode_ml import paths
from electrode_ml.files import write_json, write_table
from electrode_ml.params import DEFAULT_PARAMS, load_section
from electrode_ml.provenance import timing_record
from electrode_ml.screening.generation import CandidateParams, generate_candidates


def run(params: CandidateParams, electrodes_csv: Path, out_dir: Path) -> dict:
    start = time.perf_counter()
    candidates, metrics = generate_candidates(pd.read_csv(electrodes_csv), params)
    write_table(candidates, out_dir / paths.CANDIDATE_TABLE.name)
    write_json(metrics, out_dir / paths.METRICS)
    write_json(timing_record(time.perf_counter() - start), out_dir / paths.TIMINGS)
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml candidates", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--electrodes", type=Path, default=paths.ELECTRODES, help="prepared table (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=paths.CANDIDATES, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    metrics = run(load_section("candidates", CandidateParams, args.params), args.electrodes, args.out)
    print(f"candidates: {metrics['candidates.kept']} kept ({metrics['candidates.kept.ion_swap']} ion swaps, "
          f"{metrics['candidates.kept.substitution']} substitutions) -> {args.out}")
