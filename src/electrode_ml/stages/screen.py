"""Stage `screen`, and `electrode-ml screen` for a list of your own: rank candidate electrodes by
energy density, with intervals, novelty and the in-domain flag.

    electrode-ml screen                                    # the stage: results/candidates -> results/screen
    electrode-ml screen --candidates mine.csv --out screened/   # composition, working_ion (+ charged_composition, any)
    electrode-ml screen --candidates mine.parquet --out screened/ --scheduler tcp://host:8786

The candidates are split into Parquet partitions of `screen.partition_rows`, each screened by a
Dask worker (a local cluster of one-thread processes, one per core, or the cluster at
`--scheduler` / `compute.scheduler`). Outputs in the output folder: screened/part-*.parquet (every
candidate screened: each model's prediction of each target with its interval, the energy
densities with their bounds, novelty, unseen elements, in_domain), ranking.parquet (every
screened candidate inside `screen.voltage_window` (with capacities not negative) by
`screen.rank_model`'s `screen.objective`, on its point value or lower bound; those outside are
flagged `<model>_in_window` false in screened/ and not ranked), rejected.csv (row, column, value, reason, detail: rows in = screened + rejected),
metrics.json and timings.json. Bad rows are set aside, never fatal; an empty, unreadable or
wrongly headed file is. A list of your own must pass the electrode rules (`screening.chemistry.
USER_RULES`: charge balance, a redox couple, and with `charged_composition` given the same
framework in both states); a row failing one goes to rejected.csv under the rule's name, and a
row that breaks a featurizer or a model is set aside alone (`screen_error`).
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from electrode_ml import paths
from electrode_ml.compute import ComputeParams, compute_params
from electrode_ml.evaluation.conformal import TrustParams
from electrode_ml.files import write_json
from electrode_ml.params import DEFAULT_PARAMS, ParameterError, load_section
from electrode_ml.provenance import timing_record
from electrode_ml.screening.objectives import OBJECTIVES, RANK_ON
from electrode_ml.screening.screener import (
    RANKING,
    ScreenJob,
    ScreenParams,
    models_for,
    screen,
    screening_metrics,
)


def run(source: Path, out_dir: Path, params: ScreenParams, level: float, compute: ComputeParams,
        models_dir: Path = paths.TRAINED_MODELS, trust_dir: Path = paths.TRUST,
        nan_counts: Path = paths.FEATURE_NAN_COUNTS, in_process: bool = False, check_chemistry: bool = False) -> dict:
    job = ScreenJob(str(models_dir), str(trust_dir), str(nan_counts), models_for(params), level,
                    params.window(), check_chemistry)
    summary = screen(source, out_dir, job, params, compute, in_process=in_process,
                     progress=lambda tasks, total: tqdm(tasks, desc="screen", unit="partition", total=total))
    metrics = screening_metrics(summary, pd.read_parquet(out_dir / RANKING), params)
    write_json(metrics, out_dir / paths.METRICS)
    peak = max((record["peak_memory_mb"] for record in summary["records"]), default=0.0)
    write_json(timing_record(summary["seconds"], partitions=summary["partitions"],
                             workers=len({record["pid"] for record in summary["records"]}),
                             peak_memory_mb_per_worker=round(peak, 1)), out_dir / paths.TIMINGS)
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml screen", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=Path, default=paths.CANDIDATE_TABLE,
                        help="CSV or Parquet of candidates (default: the candidates stage's, %(default)s)")
    parser.add_argument("--out", type=Path, default=paths.SCREEN, help="output folder (default: %(default)s)")
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS,
                        help="parameter file: its screen, trust and compute blocks (default: %(default)s)")
    parser.add_argument("--models", type=Path, default=paths.TRAINED_MODELS,
                        help="trained models, from the train stage (default: %(default)s)")
    parser.add_argument("--trust", type=Path, default=paths.TRUST,
                        help="intervals and domain, from the domain and trust stages (default: %(default)s)")
    parser.add_argument("--nan-counts", type=Path, default=paths.FEATURE_NAN_COUNTS,
                        help="which features were ever undefined in training (default: %(default)s)")
    parser.add_argument("--level", type=float, help="the intervals' coverage (default: params.yaml's trust.level)")
    parser.add_argument("--objective", choices=list(OBJECTIVES), help="rank by (default: screen.objective)")
    parser.add_argument("--rank-on", choices=RANK_ON, help="the objective's point value or lower bound (default: screen.rank_on)")
    parser.add_argument("--scheduler", help="a Dask scheduler's address to screen on (default: compute.scheduler, "
                                            "else a local cluster)")
    parser.add_argument("--workers", type=int, help="local workers (default: compute.workers; 0: one per core)")
    parser.add_argument("--in-process", action="store_true", help="screen every partition in this process, no Dask")
    args = parser.parse_args(argv)
    params = load_section("screen", ScreenParams, args.params)
    overrides = {key: value for key, value in (("objective", args.objective), ("rank_on", args.rank_on)) if value}
    if overrides:
        params = dataclasses.replace(params, **overrides)
    level = args.level if args.level is not None else load_section("trust", TrustParams, args.params).level
    if not 0 < level < 1:
        raise ParameterError(f"--level must lie between 0 and 1 (0.9 for 90% intervals), got {level}")
    compute = compute_params(args.params)
    compute = ComputeParams(workers=compute.workers if args.workers is None else args.workers,
                            scheduler=args.scheduler or compute.scheduler)
    # A list of your own is checked by the electrode rules here; the candidates stage's passed them there,
    # judged against each candidate's parent.
    own_list = args.candidates.resolve() != paths.CANDIDATE_TABLE.resolve()
    metrics = run(args.candidates, args.out, params, level, compute, args.models, args.trust, args.nan_counts,
                  args.in_process, own_list)
    key = params.rank_column()
    best = f"; best {key} {metrics[f'screen.{key}.best']:.4g}" if f"screen.{key}.best" in metrics else ""
    print(f"screen: {metrics['screen.candidates']} candidates, {metrics['screen.screened']} screened "
          f"({metrics['screen.outside_window']} outside the voltage window, not ranked), "
          f"{metrics['screen.rejected']} set aside ({args.out / 'rejected.csv'}){best} -> {args.out}")
