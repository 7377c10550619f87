"""Stage `candidates`: new electrodes to screen, made from the known ones.

Working-ion swaps (the charge carried kept: two Li for one Mg) and element substitutions from
pymatgen's substitution probabilities (Hautier et al. 2011, charge-balanced), each a charged and a
discharged formula with its redox couple, judged by the chemistry rules against its parent,
deduplicated against the known electrodes and each other, the most plausible kept up to
`candidates.max_candidates` (`screening.generation`). Outputs: results/candidates/candidates.parquet
(`generation.CANDIDATE_COLUMNS`), rejected.parquet (the candidates a rule set aside, with its
name), generated.parquet (every candidate made, before any is dropped: the discovery benchmark
hides known electrodes and needs the ones the generation re-creates), metrics.json (the pool after each step, counts per rule and working ion) and timings.json.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from electrode_ml import paths
from electrode_ml.compute import ComputeParams, compute_params
from electrode_ml.files import write_json, write_table
from electrode_ml.params import DEFAULT_PARAMS, load_section, read_params
from electrode_ml.provenance import timing_record
from electrode_ml.screening.generation import (
    GENERATED_COLUMNS,
    CandidateParams,
    candidate_state,
    generated_pool,
    known_electrodes,
    known_keys,
    select_candidates,
)


def run(params: CandidateParams, electrodes_csv: Path, pairs_csv: Path, out_dir: Path, state: str = "discharged",
        compute: ComputeParams | None = None) -> dict:
    start = time.perf_counter()
    electrodes = known_electrodes(electrodes_csv, pairs_csv)
    generated, metrics = generated_pool(electrodes, params, state=state, compute=compute)
    candidates, metrics, rejected = select_candidates(generated, known_keys(electrodes, state), params, metrics)
    write_table(generated[list(GENERATED_COLUMNS)], out_dir / paths.CANDIDATES_GENERATED.name)
    write_table(candidates, out_dir / paths.CANDIDATE_TABLE.name)
    write_table(rejected, out_dir / paths.CANDIDATES_REJECTED.name)
    write_json(metrics, out_dir / paths.METRICS)
    write_json(timing_record(time.perf_counter() - start), out_dir / paths.TIMINGS)
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml candidates", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--electrodes", type=Path, default=paths.ELECTRODES, help="prepared table (default: %(default)s)")
    parser.add_argument("--pairs", type=Path, default=paths.PAIRS, help="their two formulas (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=paths.CANDIDATES, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    state = candidate_state((read_params(args.params).get("prepare") or {}).get("composition_column", ""))
    metrics = run(load_section("candidates", CandidateParams, args.params), args.electrodes, args.pairs, args.out, state,
                  compute_params(args.params))
    failed = sum(value for key, value in metrics.items() if key.startswith("candidates.failed."))
    print(f"candidates: {metrics['candidates.kept']} kept ({metrics['candidates.kept.ion_swap']} ion swaps, "
          f"{metrics['candidates.kept.substitution']} substitutions), {failed} set aside by a rule -> {args.out}")
