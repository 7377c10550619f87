"""Stage `trust`: prediction intervals for every model x target, with their coverage measured on
both validation schemes, and the error against novelty (the paper's RQ5).

`electrode-ml trust` reads the cv cells' out-of-fold predictions and writes, for each model and
target, under results/trust/cells/<model>/<target>/: intervals.csv (every held-out electrode's
bounds, plain and normalized, with its novelty), by_fold.csv and by_novelty.csv (coverage, width
and MAE per fold or cluster, and per novelty bin) and calibration.joblib (the intervals `predict`
gives: calibrated on every electrode's stratified out-of-fold residual); under
results/trust/summary/: metrics.json (every cell's) and timings.json (seconds, device: not a result).
One stage rather than a cell per model x target: the neighbours the difficulties are measured
from are the same for every cell of a scheme, found once.
"""
from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import joblib
import pandas as pd
from scipy.stats import spearmanr
from tqdm import tqdm

from electrode_ml import paths
from electrode_ml.data.targets import TARGET_KEYS
from electrode_ml.evaluation.conformal import (
    INTERVALS,
    SchemeNeighbours,
    TrustParams,
    calibrate,
    coverage,
    scheme_intervals,
)
from electrode_ml.errors import MissingInputError
from electrode_ml.files import atomic_path, interrupts_deferred, write_json, write_table
from electrode_ml.params import DEFAULT_PARAMS, ParameterError, load_section, pipeline_matrix
from electrode_ml.provenance import timing_record


def summarize(intervals: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group of `by`: electrodes, MAE, and each interval's coverage and mean width."""
    rows = []
    for key, group in intervals.groupby(by):
        row = {**dict(zip(by, key)), "electrodes": len(group), "mae": float(group["abs_error"].mean())}
        for kind in INTERVALS:
            row[f"coverage_{kind}"], row[f"width_{kind}"] = coverage(group, kind)
        rows.append(row)
    return pd.DataFrame(rows)


def cell_intervals(model: str, target: str, params: TrustParams, magpie: pd.DataFrame, novelty: pd.DataFrame,
                   predictions: dict[str, pd.DataFrame], found: dict[str, SchemeNeighbours], out_dir: Path) -> dict:
    """One model x target: its intervals on every scheme, their summaries, its calibration for
    `predict`, written under `out_dir`; returns its metrics."""
    intervals = []
    for scheme, of_scheme in predictions.items():
        bounds = scheme_intervals(of_scheme, magpie, params.level, params.neighbours, found[scheme])
        intervals.append(bounds.assign(scheme=scheme).merge(
            novelty[novelty["scheme"] == scheme].drop(columns="fold"), on=["battery_id", "scheme"], validate="1:1"))
    intervals = pd.concat(intervals, ignore_index=True)
    intervals["abs_error"] = (intervals["y_true"] - intervals["y_pred"]).abs()

    metrics = {}
    most_novel = intervals["novelty_bin"].max()
    for scheme, of_scheme in intervals.groupby("scheme", sort=False):
        prefix = f"{model}.{target}.{scheme}.trust"
        for kind in INTERVALS:
            covered, width = coverage(of_scheme, kind)
            metrics[f"{prefix}.coverage_{kind}"], metrics[f"{prefix}.width_{kind}"] = round(covered, 6), round(width, 6)
        for kind in ("plain", params.difficulty):
            metrics[f"{prefix}.most_novel_coverage_{kind}"] = round(
                coverage(of_scheme[of_scheme["novelty_bin"] == most_novel], kind)[0], 6)
        # Undefined (None) where every electrode is equally novel.
        defined = of_scheme["novelty"].nunique() > 1
        rho = spearmanr(of_scheme["novelty"], of_scheme["abs_error"]).statistic if defined else None
        metrics[f"{prefix}.spearman_novelty_error"] = None if rho is None else round(float(rho), 6)

    write_table(intervals, out_dir / "intervals.csv")
    write_table(summarize(intervals, ["scheme", "fold"]).round(6), out_dir / "by_fold.csv")
    write_table(summarize(intervals, ["scheme", "novelty_bin"]).round(6), out_dir / "by_novelty.csv")
    calibration = calibrate(predictions[paths.SCHEMES[0]], magpie, params.difficulty, params.neighbours,
                            found[paths.SCHEMES[0]])
    with atomic_path(out_dir / "calibration.joblib") as temporary:
        joblib.dump(calibration, temporary)
    return metrics


def run(models: list[str], targets: list[str], params: TrustParams, magpie_parquet: Path, novelty_csv: Path,
        cv_dir: Path, out: Path) -> dict:
    """Every model x target's intervals into `out`'s cell folders (built aside, in place only when
    all are written), their metrics and the stage's timing into `out`'s summary folder."""
    for target in targets:
        if target not in TARGET_KEYS:
            raise ParameterError(f"unknown target {target!r} (known: {', '.join(TARGET_KEYS)})")
    cells = {(model, target, scheme): paths.cv_cell(model, target, scheme, cv_dir) / "predictions.csv"
             for model in models for target in targets for scheme in paths.SCHEMES}
    for (model, target, scheme), path in cells.items():
        if not path.exists():
            raise MissingInputError(f"{path} does not exist: run `dvc repro cv@{model}-{target}-{scheme}`")
    start = time.perf_counter()
    magpie = pd.read_parquet(magpie_parquet)
    novelty = pd.read_csv(novelty_csv, keep_default_na=False)
    predictions = {cell: pd.read_csv(path) for cell, path in cells.items()}
    # The neighbours of each scheme, found once: every cell holds the same electrodes in the same
    # folds (the cv cells read one fold file per scheme); `scheme_intervals` refuses one that does not.
    found = {scheme: SchemeNeighbours.of(predictions[models[0], targets[0], scheme], magpie, params.neighbours)
             for scheme in paths.SCHEMES}
    building = out / ".building.partial"  # a root of its own, whose cell folders replace `out`'s at the end
    shutil.rmtree(building, ignore_errors=True)
    metrics = {}
    with tqdm(total=len(models) * len(targets), desc="trust", unit="cell", disable=None) as progress:
        for model in models:
            for target in targets:
                of_cell = {scheme: predictions[model, target, scheme] for scheme in paths.SCHEMES}
                metrics.update(cell_intervals(model, target, params, magpie, novelty, of_cell, found,
                                              paths.trust_cell(model, target, building)))
                progress.update()
    with interrupts_deferred():
        shutil.rmtree(paths.trust_cells(out), ignore_errors=True)
        os.replace(paths.trust_cells(building), paths.trust_cells(out))
        building.rmdir()
        write_json(metrics, paths.trust_summary(out) / paths.METRICS)
        write_json(timing_record(time.perf_counter() - start), paths.trust_summary(out) / paths.TIMINGS)
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml trust", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--magpie", type=Path, default=paths.feature_table("magpie"),
                        help="Magpie features, where the difficulty is measured (default: %(default)s)")
    parser.add_argument("--novelty", type=Path, default=paths.NOVELTY, help="the domain stage's (default: %(default)s)")
    parser.add_argument("--cv", type=Path, default=paths.CV, help="the cv cells (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=paths.TRUST, help="the stage's folder (default: %(default)s)")
    args = parser.parse_args(argv)
    params = load_section("trust", TrustParams, args.params)
    models, targets, _ = pipeline_matrix(args.params)
    metrics = run(models, targets, params, args.magpie, args.novelty, args.cv, args.out)
    for model in models:
        for target in targets:
            prefix = f"{model}.{target}"
            print(f"trust {prefix}: {params.level:.0%} intervals cover " + "; ".join(
                f"{scheme} {metrics[f'{prefix}.{scheme}.trust.coverage_plain']:.1%} plain, "
                f"{metrics[f'{prefix}.{scheme}.trust.coverage_{params.difficulty}']:.1%} normalized ({params.difficulty})"
                for scheme in paths.SCHEMES))
