"""Stage `trust`: prediction intervals for one model x target, with their coverage measured on
both validation schemes, and the error against novelty (the paper's RQ5).

`electrode-ml trust --model rf_magpie --target voltage` reads the cv cells' out-of-fold
predictions and writes, under results/trust/rf_magpie/voltage/: intervals.csv (every held-out
electrode's bounds, plain and normalized, with its novelty), by_fold.csv and by_novelty.csv
(coverage, width and MAE per fold or cluster, and per novelty bin), calibration.joblib (the
intervals `predict` gives: calibrated on every electrode's stratified out-of-fold residual) and
metrics.json; timings.json (seconds, device: not a result).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import joblib
import pandas as pd
from scipy.stats import spearmanr

from electrode_ml import paths
from electrode_ml.data.targets import TARGET_KEYS
from electrode_ml.evaluation.conformal import (
    INTERVALS,
    TrustParams,
    calibrate,
    coverage,
    scheme_intervals,
)
from electrode_ml.errors import MissingInputError
from electrode_ml.files import atomic_path, write_json, write_table
from electrode_ml.params import DEFAULT_PARAMS, ParameterError, load_section
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


def run_cell(model: str, target: str, params: TrustParams, magpie_parquet: Path, novelty_csv: Path, cv_dir: Path,
             out_dir: Path) -> dict:
    if target not in TARGET_KEYS:
        raise ParameterError(f"unknown target {target!r} (known: {', '.join(TARGET_KEYS)})")
    cells = {scheme: paths.cv_cell(model, target, scheme, cv_dir) / "predictions.csv" for scheme in paths.SCHEMES}
    for scheme, path in cells.items():
        if not path.exists():
            raise MissingInputError(f"{path} does not exist: run `dvc repro cv@{model}-{target}-{scheme}`")
    start = time.perf_counter()
    magpie = pd.read_parquet(magpie_parquet)
    novelty = pd.read_csv(novelty_csv, keep_default_na=False)
    intervals, predictions = [], {}
    for scheme, path in cells.items():
        predictions[scheme] = pd.read_csv(path)
        of_scheme = scheme_intervals(predictions[scheme], magpie, params.level, params.neighbours)
        intervals.append(of_scheme.assign(scheme=scheme).merge(
            novelty[novelty["scheme"] == scheme].drop(columns="fold"), on=["battery_id", "scheme"], validate="1:1"))
    intervals = pd.concat(intervals, ignore_index=True)
    intervals["abs_error"] = (intervals["y_true"] - intervals["y_pred"]).abs()

    by_fold = summarize(intervals, ["scheme", "fold"])
    by_novelty = summarize(intervals, ["scheme", "novelty_bin"])
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
    write_table(by_fold.round(6), out_dir / "by_fold.csv")
    write_table(by_novelty.round(6), out_dir / "by_novelty.csv")
    with atomic_path(out_dir / "calibration.joblib") as temporary:
        joblib.dump(calibrate(predictions[paths.SCHEMES[0]], magpie, params.difficulty, params.neighbours), temporary)
    write_json(metrics, out_dir / paths.METRICS)
    write_json(timing_record(time.perf_counter() - start), out_dir / paths.TIMINGS)
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml trust", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model whose cv cells to read (a key of `models:`)")
    parser.add_argument("--target", required=True, help=f"target: {', '.join(TARGET_KEYS)}")
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--magpie", type=Path, default=paths.feature_table("magpie"),
                        help="Magpie features, where the difficulty is measured (default: %(default)s)")
    parser.add_argument("--novelty", type=Path, default=paths.NOVELTY, help="the domain stage's (default: %(default)s)")
    parser.add_argument("--cv", type=Path, default=paths.CV, help="the cv cells (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None, help="the cell's folder (default: results/trust/<model>/<target>)")
    args = parser.parse_args(argv)
    params = load_section("trust", TrustParams, args.params)
    metrics = run_cell(args.model, args.target, params, args.magpie, args.novelty, args.cv,
                       args.out or paths.trust_cell(args.model, args.target))
    prefix = f"{args.model}.{args.target}"
    print(f"trust {prefix}: {params.level:.0%} intervals cover " + "; ".join(
        f"{scheme} {metrics[f'{prefix}.{scheme}.trust.coverage_plain']:.1%} plain, "
        f"{metrics[f'{prefix}.{scheme}.trust.coverage_{params.difficulty}']:.1%} normalized ({params.difficulty})"
        for scheme in paths.SCHEMES))
