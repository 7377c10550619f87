"""Stage `discovery`: the retrospective discovery check (`screening.retrospective`).

Hides every known electrode of `discovery.hidden_ion`, generates candidates from the rest
(`candidates:` block), trains `screen.rank_model` on the rest for `screen.objective`'s targets,
rebuilds its domain and intervals on the rest, screens and ranks the candidates as the `screen`
stage does, and scores the ranking by the hidden electrodes it re-creates. The intervals are
calibrated on the rest's stratified out-of-fold residuals (the cv cells'): their fold models saw
the hidden electrodes in training, so the calibration knows slightly more than a true prospective
screen would; the models that rank never saw them. Outputs: results/discovery/recreated.csv
(each re-created hidden electrode with its best candidate's rank), top_k.csv (precision, recall
and DAF per k), metrics.json and timings.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone

from electrode_ml import paths
from electrode_ml.compute import compute_params, map_in_workers
from electrode_ml.data.targets import TARGET_KEYS
from electrode_ml.evaluation.conformal import TrustParams, calibrate
from electrode_ml.evaluation.novelty import Domain
from electrode_ml.files import write_json, write_table
from electrode_ml.models.registry import make_model
from electrode_ml.params import DEFAULT_PARAMS, load_section, model_hyperparameters, read_params
from electrode_ml.provenance import timing_record
from electrode_ml.screening.generation import CandidateParams, candidate_state, generate_candidates, known_electrodes
from electrode_ml.screening.objectives import OBJECTIVES
from electrode_ml.screening.retrospective import DiscoveryParams, discovery_scores, recreated
from electrode_ml.screening.screener import RANKING, ScreenJob, ScreenParams, screen
from electrode_ml.stages.cell import model_data


def fit_target(y: pd.Series, model, X: pd.DataFrame):
    """A fresh clone of `model` fitted on X for one target (module level: Dask sends it by reference)."""
    return clone(model).fit(X, y)


def visible_models(params_path: Path, screen_params: ScreenParams, trust: TrustParams, visible: pd.DataFrame,
                   magpie: pd.DataFrame, domain_threshold: float, inputs_dir: Path, electrodes_csv: Path,
                   cv_dir: Path, out: Path) -> None:
    """Under `out`: the rank model trained on the `visible` electrodes for the objective's targets
    (models/), and their domain and interval calibrations (trust/), laid out as the train, domain
    and trust stages lay theirs out."""
    model_name = screen_params.rank_model
    ids = visible["battery_id"]
    targets = OBJECTIVES[screen_params.objective].targets
    data = {target: model_data(model_name, target, electrodes_csv, inputs_dir) for target in targets}
    model = make_model(model_name, **model_hyperparameters(model_name, params_path))
    X = data[targets[0]][0].loc[ids]
    # The targets' fits at once, each on a one-thread worker (as train fits a model).
    fitted = map_in_workers(fit_target, [data[target][1].loc[ids] for target in targets],
                            compute_params(params_path), shared=(model, X))
    for target, one in zip(targets, fitted):
        (out / "models" / model_name / target).mkdir(parents=True)
        joblib.dump(one, out / "models" / model_name / target / "model.joblib")
        predictions = pd.read_csv(paths.cv_cell(model_name, target, paths.SCHEMES[0], cv_dir) / "predictions.csv")
        predictions = predictions[predictions["battery_id"].isin(ids)]
        calibration = calibrate(predictions, magpie, trust.difficulty, trust.neighbours)
        paths.trust_cell(model_name, target, out / "trust").mkdir(parents=True)
        joblib.dump(calibration, paths.trust_cell(model_name, target, out / "trust") / "calibration.joblib")
    domain = Domain.fit(magpie.loc[ids], visible["working_ion"], visible["composition"], trust.novelty_neighbours,
                        domain_threshold)
    joblib.dump(domain, out / "trust" / paths.DOMAIN.name)


def run(params_path: Path, electrodes_csv: Path, magpie_parquet: Path, inputs_dir: Path, cv_dir: Path,
        domain_path: Path, nan_counts: Path, out_dir: Path, pairs_csv: Path = paths.PAIRS) -> dict:
    start = time.perf_counter()
    params = load_section("discovery", DiscoveryParams, params_path)
    screen_params = load_section("screen", ScreenParams, params_path)
    screen_params = dataclasses.replace(screen_params, models=[screen_params.rank_model])
    trust = load_section("trust", TrustParams, params_path)
    electrodes = pd.read_csv(electrodes_csv)
    hidden = electrodes[electrodes["working_ion"] == params.hidden_ion]
    visible = electrodes[electrodes["working_ion"] != params.hidden_ion]
    # The hidden ion is still an ion to swap to: that a working ion exists is no knowledge of its electrodes.
    candidates, generated, _ = generate_candidates(
        known_electrodes(electrodes_csv, pairs_csv).set_index("battery_id").loc[visible["battery_id"]].reset_index(),
        load_section("candidates", CandidateParams, params_path), ions=tuple(electrodes["working_ion"].unique()),
        state=candidate_state((read_params(params_path).get("prepare") or {}).get("composition_column", "")))
    objective = OBJECTIVES[screen_params.objective]
    known_objective = electrodes[TARGET_KEYS[objective.voltage]] * electrodes[TARGET_KEYS[objective.capacity]]
    threshold = float(np.quantile(known_objective.loc[visible.index], params.hit_quantile))
    magpie = pd.read_parquet(magpie_parquet)
    with tempfile.TemporaryDirectory(prefix="discovery-") as scratch:
        scratch = Path(scratch)
        visible_models(params_path, screen_params, trust, visible, magpie, joblib.load(domain_path).threshold,
                       inputs_dir, electrodes_csv, cv_dir, scratch)
        write_table(candidates, scratch / "candidates.parquet")
        job = ScreenJob(str(scratch / "models"), str(scratch / "trust"), str(nan_counts), (screen_params.rank_model,),
                        trust.level, tuple(screen_params.voltage_window))
        screened = screen(scratch / "candidates.parquet", scratch / "screen", job, screen_params,
                          compute_params(params_path))
        ranking = pd.read_parquet(scratch / "screen" / RANKING)
    ranking = ranking.merge(candidates[["composition", "working_ion", "rule", "parent_battery_id"]],
                            on=["composition", "working_ion"], how="left")
    found = recreated(ranking, hidden, known_objective, threshold)
    scores = discovery_scores(found.loc[found["hit"], "rank"].to_numpy(), len(ranking), params.top_k)
    prefix = f"discovery.{params.hidden_ion}"
    metrics = {f"{prefix}.hidden": len(hidden), f"{prefix}.candidates": len(ranking),
               f"{prefix}.rejected": screened["rejected"], f"{prefix}.recreated": len(found),
               f"{prefix}.recreated_share": round(len(found) / len(hidden), 6) if len(hidden) else 0.0,
               f"{prefix}.hits": int(found["hit"].sum()), f"{prefix}.hit_threshold": round(threshold, 6),
               **{f"{prefix}.recreated.{rule}": int((found["rule"] == rule).sum()) for rule in sorted(found["rule"].dropna().unique())},
               f"{prefix}.generated": generated["candidates.kept"]}
    for row in scores.itertuples():
        for key in ("hits_in_top_k", "precision", "recall", "daf"):
            value = getattr(row, key)
            metrics[f"{prefix}.top_{row.k}.{key}"] = int(value) if key == "hits_in_top_k" else round(float(value), 6)
    write_table(found, out_dir / "recreated.csv")
    write_table(scores, out_dir / "top_k.csv")
    write_json(metrics, out_dir / paths.METRICS)
    write_json(timing_record(time.perf_counter() - start), out_dir / paths.TIMINGS)
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml discovery", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--electrodes", type=Path, default=paths.ELECTRODES, help="prepared table (default: %(default)s)")
    parser.add_argument("--pairs", type=Path, default=paths.PAIRS, help="their two formulas (default: %(default)s)")
    parser.add_argument("--magpie", type=Path, default=paths.feature_table("magpie"),
                        help="Magpie features, the space of the novelty (default: %(default)s)")
    parser.add_argument("--inputs", type=Path, default=paths.MODEL_INPUTS, help="the models' input folders (default: %(default)s)")
    parser.add_argument("--cv", type=Path, default=paths.CV, help="the cv cells (default: %(default)s)")
    parser.add_argument("--domain", type=Path, default=paths.DOMAIN, help="the domain stage's domain (default: %(default)s)")
    parser.add_argument("--nan-counts", type=Path, default=paths.FEATURE_NAN_COUNTS,
                        help="which features were ever undefined in training (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=paths.DISCOVERY, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    metrics = run(args.params, args.electrodes, args.magpie, args.inputs, args.cv, args.domain, args.nan_counts, args.out,
                  args.pairs)
    ion = next(key.split(".")[1] for key in metrics)
    prefix = f"discovery.{ion}"
    print(f"discovery: {metrics[f'{prefix}.recreated']} of {metrics[f'{prefix}.hidden']} hidden {ion} electrodes "
          f"re-created among {metrics[f'{prefix}.candidates']} candidates; {metrics[f'{prefix}.hits']} hits -> {args.out}")
