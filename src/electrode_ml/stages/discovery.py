"""Stage `discovery`: the discovery benchmark (`screening.retrospective`).

For each working ion with at least `discovery.min_electrodes` electrodes, every electrode of that
ion is hidden, and `screen.rank_model` is rebuilt from the visible electrodes alone: fitted for the
objective's two targets on them, its intervals calibrated on out-of-fold residuals of
`discovery.calibration_folds` folds of them (models that never saw a hidden electrode either; with
`discovery.calibrate_across_ions`, folds of whole ions, so that the residuals are those of an unseen
ion, as the hidden one is), its
domain fitted on them with its threshold from those folds, the hit threshold their objective's
`hit_quantile`. Then the labelled test (every hidden electrode predicted and classified) and the
generation test (the hidden ion's candidates made from the visible electrodes,
results/candidates/generated.parquet, screened and ranked), each ranking and baseline scored with
bootstrap intervals. Outputs: results/discovery/scores.csv (ion x test x ranking), errors.csv (the
labelled test's MAE, SMAE and interval coverage per ion and target), candidates.csv (each
candidate of a hidden ion: its rank scores, the hidden electrodes it re-creates, hit), used.csv
(which electrodes each part of each ion's benchmark read: the leak check), metrics.json and
timings.json.
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
from sklearn.model_selection import GroupKFold, KFold
from tqdm import tqdm

from electrode_ml import paths
from electrode_ml.compute import compute_params, map_in_workers
from electrode_ml.data.electrodes import parse_composition
from electrode_ml.evaluation.conformal import TrustParams, calibrate
from electrode_ml.evaluation.novelty import Domain
from electrode_ml.files import write_json, write_table
from electrode_ml.models.registry import DISPLAY_NAMES, make_model
from electrode_ml.params import DEFAULT_PARAMS, ParameterError, active_profile, load_section, model_hyperparameters
from electrode_ml.provenance import timing_record
from electrode_ml.screening.objectives import OBJECTIVES
from electrode_ml.screening.prediction import TrainedModels, prediction_column
from electrode_ml.screening.retrospective import (
    DiscoveryParams,
    candidate_hits,
    hidden_split,
    hit_threshold,
    profile_models,
    qualifying_ions,
    scored_rankings,
    verdict,
)
from electrode_ml.screening.screener import ScreenParams, objective_column, screen_frame
from electrode_ml.stages.cell import model_data

USED_PARTS = ("training", "calibration", "domain", "hit_threshold")


def fit_rows(item: tuple[str, tuple[str, ...], tuple[str, ...]], model, X: pd.DataFrame, targets: pd.DataFrame):
    """A fresh clone of `model` fitted for one target on some electrodes: `item` = (target, their
    battery_ids, battery_ids to predict). Returns the fitted model, or where there are electrodes to
    predict (a calibration fold's) only its predictions of them: a fold model serves nothing else,
    and a forest is tens of MB. Module level: Dask sends it by reference."""
    target, ids, predict_ids = item
    fitted = clone(model).fit(X.loc[list(ids)], targets[target].loc[list(ids)])
    return fitted.predict(X.loc[list(predict_ids)]) if predict_ids else fitted


def visible_folds(visible: pd.DataFrame, folds: int, seed: int, across_ions: bool = False) -> np.ndarray:
    """The fold of each visible electrode: shuffled (seeded), or with `across_ions` whole working
    ions to a fold (sklearn's GroupKFold), so that a fold model never saw the ions it predicts."""
    if across_ions and visible["working_ion"].nunique() < folds:
        raise ParameterError(f"discovery.calibration_folds = {folds} folds of whole ions, but the visible electrodes "
                             f"hold {visible['working_ion'].nunique()} ions")
    rows = np.arange(len(visible))
    splits = (GroupKFold(folds).split(rows, groups=visible["working_ion"].to_numpy()) if across_ions
              else KFold(folds, shuffle=True, random_state=seed).split(rows))
    assignment = np.empty(len(visible), dtype=int)
    for fold, (_, held_out) in enumerate(splits):
        assignment[held_out] = fold
    return assignment


def domain_threshold(magpie: pd.DataFrame, visible: pd.DataFrame, folds: np.ndarray, trust: TrustParams) -> float:
    """The novelty within which `trust.domain_quantile` of the visible electrodes lie, each measured
    against the other folds' electrodes, as the domain stage sets it."""
    novelty = []
    for fold in np.unique(folds):
        inside, outside = visible[folds == fold], visible[folds != fold]
        domain = Domain.fit(magpie.loc[outside["battery_id"]], outside["working_ion"], outside["composition"],
                            trust.novelty_neighbours)
        novelty.append(domain.novelty(magpie.loc[inside["battery_id"]], inside["working_ion"]))
    novelty = np.concatenate(novelty)
    return float(np.quantile(novelty[np.isfinite(novelty)], trust.domain_quantile))


def fit_items(ion: str, electrodes: pd.DataFrame, target_names: tuple[str, ...], params: DiscoveryParams) -> list[tuple]:
    """`fit_rows`' items for hiding `ion`: the model on every visible electrode for each target, then
    for each target and calibration fold (`visible_folds`) the fold model and the electrodes it predicts."""
    visible_rows, _ = hidden_split(electrodes, ion)
    visible = electrodes.loc[visible_rows]
    ids = visible["battery_id"].to_numpy()
    folds = visible_folds(visible, params.calibration_folds, params.seed, params.calibrate_across_ions)
    items = [(target, tuple(ids), ()) for target in target_names]
    items += [(target, tuple(ids[folds != fold]), tuple(ids[folds == fold]))
              for target in target_names for fold in range(params.calibration_folds)]
    return items


def write_visible_model(model_name: str, targets: pd.DataFrame, magpie: pd.DataFrame, items: list[tuple],
                        fitted: list, target_names: tuple[str, ...], params: DiscoveryParams, trust: TrustParams,
                        out: Path) -> None:
    """Under `out`: one model fitted on the electrodes of every ion but the hidden one (models/) and
    its calibrations from their folds' out-of-fold residuals (trust/), laid out as the train and
    trust stages lay theirs out, from `fit_items`' `items` and what `fit_rows` returned for them
    (`fitted`)."""
    for number, target in enumerate(target_names):
        (out / "models" / model_name / target).mkdir(parents=True)
        joblib.dump(fitted[number], paths.trained_model(model_name, target, out / "models") / "model.joblib")
        out_of_fold = []
        for fold in range(params.calibration_folds):
            index = len(target_names) + number * params.calibration_folds + fold
            held_out = np.asarray(items[index][2])
            out_of_fold.append(pd.DataFrame({"battery_id": held_out, "fold": fold,
                                             "y_true": targets[target].loc[held_out].to_numpy(),
                                             "y_pred": fitted[index]}))
        calibration = calibrate(pd.concat(out_of_fold, ignore_index=True), magpie, trust.difficulty, trust.neighbours)
        paths.trust_cell(model_name, target, out / "trust").mkdir(parents=True)
        joblib.dump(calibration, paths.trust_cell(model_name, target, out / "trust") / "calibration.joblib")


def write_visible_domain(ion: str, electrodes: pd.DataFrame, magpie: pd.DataFrame, params: DiscoveryParams,
                         trust: TrustParams, out: Path) -> list[str]:
    """Under `out`/trust: the domain of the electrodes of every ion but `ion`, as the domain stage
    lays it out, its threshold from their folds. Returns the battery_ids it read."""
    visible = electrodes.loc[hidden_split(electrodes, ion)[0]]
    domain = Domain.fit(magpie.loc[visible["battery_id"]], visible["working_ion"], visible["composition"],
                        trust.novelty_neighbours,
                        # Novelty is measured against electrodes of the same ion: shuffled folds, as the domain stage's.
                        domain_threshold(magpie, visible, visible_folds(visible, params.calibration_folds, params.seed),
                                         trust))
    (out / "trust").mkdir(parents=True, exist_ok=True)
    joblib.dump(domain, out / "trust" / paths.DOMAIN.name)
    return sorted(domain.battery_ids)


def fitted_batch(model, X: pd.DataFrame, targets: pd.DataFrame, items: list[tuple], compute, progress=None) -> list:
    """`fit_rows` of every item, where the cv cells would fit them (`validation.held_out_predictions`):
    a model that trains its fits together (CrabNet's batched trainer on a GPU) all of a target's in
    one `fit_many`, a model too cheap to send anywhere here, every other in the workers."""
    if getattr(model, "trains_together", False):
        results = [None] * len(items)
        for target in dict.fromkeys(target for target, _, _ in items):
            numbers = [number for number, item in enumerate(items) if item[0] == target]
            fitted = model.fit_many(X, targets[target].loc[X.index],
                                    [X.index.get_indexer(list(items[number][1])) for number in numbers])
            for number, one in zip(numbers, fitted):
                predict_ids = items[number][2]
                results[number] = one.predict(X.loc[list(predict_ids)]) if predict_ids else one
        return results
    if getattr(model, "fits_in_process", False):
        return [fit_rows(item, model, X, targets) for item in items]
    return map_in_workers(fit_rows, items, compute, shared=(model, X, targets), sizes=[len(item[1]) for item in items],
                          progress=progress)


def discovery_models(params_path: Path, rank_model: str) -> list[str]:
    """The active profile's `discovery.models` (`retrospective.profile_models`)."""
    name, profile = active_profile(params_path)
    return profile_models(profile, rank_model, f"{params_path}: profiles.{name}")


def screened(frame: pd.DataFrame, trained: TrainedModels, screen_params: ScreenParams, level: float) -> pd.DataFrame:
    """`frame` (composition, working_ion, ...) through the screen's own prediction, row by row
    position; the rows it sets aside are dropped."""
    result, _ = screen_frame(frame.assign(row=np.arange(len(frame))), trained, level, screen_params.window())
    return result


def rankings(table: pd.DataFrame, model_name: str, screen_params: ScreenParams, threshold: float,
             control_objective: float, parent_objective: pd.Series | None = None) -> dict:
    """The rankings a test scores (`retrospective.RANKINGS`): scores and predicted hits; a row
    outside the screen's physical window is ranked last and never predicted a hit."""
    column = objective_column(model_name, screen_params.objective)
    inside = table[f"{model_name}_in_window"].to_numpy(dtype=bool)
    point = np.where(inside, table[column].to_numpy(dtype=float), -np.inf)
    result = {"point": (point, point >= threshold),
              "lower": (np.where(inside, table[f"{column}_lower"].to_numpy(dtype=float), -np.inf), None),
              "upper": (np.where(inside, table[f"{column}_upper"].to_numpy(dtype=float), -np.inf), None),
              "control": (np.full(len(table), control_objective), np.full(len(table), control_objective >= threshold)),
              "random": (np.zeros(len(table)), None)}
    if parent_objective is not None:
        result["parent"] = (parent_objective.to_numpy(dtype=float), None)
    return result


def run(params_path: Path, electrodes_csv: Path, magpie_parquet: Path, inputs_dir: Path, nan_counts: Path,
        generated_parquet: Path, out_dir: Path) -> dict:
    start = time.perf_counter()
    params = load_section("discovery", DiscoveryParams, params_path)
    screen_params = load_section("screen", ScreenParams, params_path)
    trust = load_section("trust", TrustParams, params_path)
    compute = compute_params(params_path)
    rank_model = screen_params.rank_model
    model_names = discovery_models(params_path, rank_model)
    screen_params = dataclasses.replace(screen_params, models=model_names)
    objective = OBJECTIVES[screen_params.objective]
    target_names = tuple(objective.targets)
    electrodes = pd.read_csv(electrodes_csv)
    electrodes["composition"] = electrodes["composition"].map(lambda formula: parse_composition(formula).reduced_formula)
    targets = pd.DataFrame({target: model_data(rank_model, target, electrodes_csv, inputs_dir)[1]
                            for target in target_names})
    known_objective = pd.Series(targets[objective.voltage].to_numpy() * targets[objective.capacity].to_numpy(),
                                index=targets.index).loc[electrodes["battery_id"]].set_axis(electrodes.index)
    magpie = pd.read_parquet(magpie_parquet)
    generated = pd.read_parquet(generated_parquet)
    generated = generated[generated["failed_rule"] == ""]
    parent_ion = generated["parent_battery_id"].map(electrodes.set_index("battery_id")["working_ion"])
    generated = generated.assign(
        parent_objective=generated["parent_battery_id"].map(known_objective.set_axis(electrodes["battery_id"])))

    # Every ion's fits of a model in one batch: the workers never wait for the scoring of an ion.
    ions = qualifying_ions(electrodes["working_ion"], params.min_electrodes)
    items = {ion: fit_items(ion, electrodes, target_names, params) for ion in ions}
    batch = [item for ion in ions for item in items[ion]]
    fitted = {}
    for model_name in model_names:
        X = model_data(model_name, target_names[0], electrodes_csv, inputs_dir)[0]
        model = make_model(model_name, **model_hyperparameters(model_name, params_path))
        results = iter(fitted_batch(model, X, targets, batch, compute, progress=lambda done, name=model_name: tqdm(
            done, desc=f"discovery fits {name}", unit="fit", total=len(batch))))
        fitted[model_name] = {ion: [next(results) for _ in items[ion]] for ion in ions}

    scores, errors, marked, used = [], [], [], []
    metrics = {"discovery.ions": 0}
    for ion in tqdm(ions, desc="discovery", unit="ion"):
        visible_rows, hidden_rows = hidden_split(electrodes, ion)
        visible, hidden = electrodes.loc[visible_rows], electrodes.loc[hidden_rows]
        threshold = hit_threshold(known_objective.loc[visible_rows], params.hit_quantile)
        control = {target: float(targets[target].loc[visible["battery_id"]].mean()) for target in target_names}
        with tempfile.TemporaryDirectory(prefix="discovery-") as scratch:
            scratch = Path(scratch)
            for model_name in model_names:
                write_visible_model(model_name, targets, magpie, items[ion], fitted[model_name].pop(ion), target_names,
                                    params, trust, scratch)
            parts = {"training": sorted({battery_id for _, ids, _ in items[ion] for battery_id in ids}),
                     "calibration": sorted({battery_id for _, _, ids in items[ion] for battery_id in ids}),
                     "domain": write_visible_domain(ion, electrodes, magpie, params, trust, scratch),
                     "hit_threshold": sorted(visible["battery_id"])}
            trained = TrainedModels.load(scratch / "models", scratch / "trust", nan_counts, model_names, target_names,
                                         note=lambda message: None)
            labelled = screened(hidden[["composition", "working_ion", "battery_id"]].reset_index(drop=True), trained,
                                screen_params, trust.level)
            # The hidden ion's candidates from visible parents only, each once (the first in the
            # generation's own order, as the candidates stage keeps it).
            of_ion = generated[(generated["working_ion"] == ion) & (parent_ion != ion)]
            of_ion = of_ion.drop_duplicates(["composition", "working_ion"], keep="first").reset_index(drop=True)
            candidates = (screened(of_ion[["composition", "working_ion", "parent_battery_id", "rule", "change",
                                           "parent_objective"]], trained, screen_params, trust.level)
                          if len(of_ion) else pd.DataFrame())
        used += [{"ion": ion, "part": part, "battery_id": battery_id} for part in USED_PARTS for battery_id in parts[part]]
        control_objective = control[objective.voltage] * control[objective.capacity]

        hidden_objective = known_objective.loc[hidden_rows].set_axis(hidden["battery_id"])
        labelled_hits = (hidden_objective.loc[labelled["battery_id"]] >= threshold).to_numpy()
        if len(candidates):
            candidates = candidate_hits(candidates, hidden, known_objective, threshold)
            marked.append(candidates.assign(hidden_ion=ion))
        for model_name in model_names:
            # Each model with the baselines on the same set and the same resamples (one seed): its
            # paired differences from them are its own.
            table = scored_rankings(rankings(labelled, model_name, screen_params, threshold, control_objective),
                                    labelled_hits, params.top_share, params.repeats, params.seed)
            scores.append(table.assign(ion=ion, test="labelled", model=model_name, size=len(labelled),
                                       hits=int(labelled_hits.sum())))
            for target in target_names:
                truth = targets[target].loc[labelled["battery_id"]].to_numpy()
                column = prediction_column(model_name, target)
                mae = float(np.abs(labelled[column] - truth).mean())
                inside = (truth >= labelled[f"{column}_lower"]) & (truth <= labelled[f"{column}_upper"])
                errors.append({"ion": ion, "model": model_name, "target": target, "electrodes": len(labelled),
                               "mae": mae, "smae": mae / float(np.abs(control[target] - truth).mean()),
                               "coverage": float(inside.mean()), "level": trust.level})
            if len(candidates):
                hits = candidates["hit"].to_numpy(dtype=bool)
                table = scored_rankings(rankings(candidates, model_name, screen_params, threshold, control_objective,
                                                 candidates["parent_objective"]),
                                        hits, params.top_share, params.repeats, params.seed)
                scores.append(table.assign(ion=ion, test="generation", model=model_name, size=len(candidates),
                                           hits=int(hits.sum())))
        prefix = f"discovery.{ion}"
        metrics["discovery.ions"] += 1
        metrics.update({f"{prefix}.hidden": len(hidden), f"{prefix}.predicted": len(labelled),
                        f"{prefix}.hit_threshold": round(threshold, 6), f"{prefix}.hits": int(labelled_hits.sum()),
                        f"{prefix}.candidates": len(candidates),
                        f"{prefix}.recreating": int((candidates["recreates"] != "").sum()) if len(candidates) else 0,
                        f"{prefix}.recreating_hits": int(candidates["hit"].sum()) if len(candidates) else 0})

    leading = ["ion", "test", "model", "ranking", "size", "hits"]
    scores = pd.concat(scores, ignore_index=True)
    scores = scores[[*leading, *[column for column in scores.columns if column not in leading]]]
    for row in scores.itertuples():
        key = f"discovery.{row.ion}.{row.test}.{row.model}.{row.ranking}"
        metrics[f"{key}.daf"] = None if np.isnan(row.daf) else round(float(row.daf), 6)
        if not np.isnan(row.f1):
            metrics[f"{key}.f1"] = round(float(row.f1), 6)
    metrics["discovery.models"] = ", ".join(model_names)
    metrics["discovery.verdict"] = verdict(scores[scores["model"] == rank_model], screen_params.rank_on,
                                           DISPLAY_NAMES[rank_model])
    write_table(scores.round(6), out_dir / "scores.csv")
    write_table(pd.DataFrame(errors).round(6), out_dir / "errors.csv")
    columns = ["hidden_ion", "composition", "working_ion", "parent_battery_id", "rule", "change", "parent_objective",
               *[objective_column(model_name, screen_params.objective) for model_name in model_names],
               "recreates", "known_objective", "hit"]
    write_table(pd.concat(marked, ignore_index=True)[columns].round(6) if marked else pd.DataFrame(columns=columns),
                out_dir / "candidates.csv")
    write_table(pd.DataFrame(used, columns=["ion", "part", "battery_id"]), out_dir / "used.csv")
    write_json(metrics, out_dir / paths.METRICS)
    write_json(timing_record(time.perf_counter() - start), out_dir / paths.TIMINGS)
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml discovery", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--electrodes", type=Path, default=paths.ELECTRODES, help="prepared table (default: %(default)s)")
    parser.add_argument("--magpie", type=Path, default=paths.feature_table("magpie"),
                        help="Magpie features, the space of the novelty (default: %(default)s)")
    parser.add_argument("--inputs", type=Path, default=paths.MODEL_INPUTS, help="the models' input folders (default: %(default)s)")
    parser.add_argument("--nan-counts", type=Path, default=paths.FEATURE_NAN_COUNTS,
                        help="which features were ever undefined in training (default: %(default)s)")
    parser.add_argument("--generated", type=Path, default=paths.CANDIDATES_GENERATED,
                        help="every candidate the candidates stage made (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=paths.DISCOVERY, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    metrics = run(args.params, args.electrodes, args.magpie, args.inputs, args.nan_counts, args.generated, args.out)
    print(f"discovery: {metrics['discovery.ions']} ions hidden in turn -> {args.out}\n{metrics['discovery.verdict']}")
