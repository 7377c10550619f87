"""`electrode-ml check-params`: the whole params.yaml checked at once, before DVC runs anything.

DVC expands the `cv`, `bootstrap` and `train` matrices from params.yaml itself, so a misspelt
model (`rf_magpy`) would first surface as a missing file deep in a stage. `make reproduce` runs
this check first: every stage block, the matrix lists and each profile's model blocks, by name.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from electrode_ml.compute import compute_params
from electrode_ml.data.targets import TARGET_KEYS
from electrode_ml.models.registry import MODELS, make_model
from electrode_ml.params import DEFAULT_PARAMS, ParameterError, load_section, read_params
from electrode_ml.paths import SCHEMES


def stage_schemas() -> dict:
    from electrode_ml.evaluation.conformal import TrustParams
    from electrode_ml.screening.generation import CandidateParams
    from electrode_ml.screening.retrospective import DiscoveryParams
    from electrode_ml.screening.screener import ScreenParams
    from electrode_ml.stages.bootstrap import BootstrapParams
    from electrode_ml.stages.cluster import ClusterParams
    from electrode_ml.stages.featurize import FeaturizeParams
    from electrode_ml.stages.folds import FoldsParams
    from electrode_ml.stages.prepare import PrepareParams
    from electrode_ml.stages.repeated_cv import RepeatedCVParams
    from electrode_ml.stages.report import ReportParams

    return {"prepare": PrepareParams, "featurize": FeaturizeParams, "cluster": ClusterParams, "folds": FoldsParams,
            "bootstrap": BootstrapParams, "repeated_cv": RepeatedCVParams, "report": ReportParams,
            "trust": TrustParams, "candidates": CandidateParams, "screen": ScreenParams, "discovery": DiscoveryParams}


def check(path: Path, profile: str | None = None) -> list[str]:
    """Every problem in the parameter file; an empty list when it is usable."""
    from electrode_ml.screening.retrospective import profile_models
    from electrode_ml.screening.screener import ScreenParams

    problems = []
    try:
        params = read_params(path)
    except ParameterError as error:
        return [str(error)]
    for section, schema in stage_schemas().items():
        try:
            load_section(section, schema, path)
        except ParameterError as error:
            problems.append(str(error))
    try:
        compute_params(path)
    except ParameterError as error:
        problems.append(str(error))
    # The cheap models' repeated CV and the screen's models must be models the pipeline trains.
    for key, known in (("models", MODELS), ("targets", TARGET_KEYS), ("schemes", SCHEMES),
                       ("repeated_cv.models", params.get("models") or []), ("screen.models", params.get("models") or [])):
        section, _, name = key.rpartition(".")
        value = (params.get(section) or {}).get(name) if section else params.get(key)
        if not isinstance(value, list) or not value:
            problems.append(f"{path}: `{key}` must be a non-empty list")
            continue
        problems += [f"{path}: {key}: {name!r} is not one of {', '.join(known)}" for name in value if name not in known]
    # repeated_cv reads its draw 0 from the stratified cv cells.
    if isinstance(params.get("schemes"), list) and "stratified5" not in params["schemes"]:
        problems.append(f"{path}: schemes must include 'stratified5': repeated_cv reads its first draw from those cells")
    profiles = params.get("profiles") or {}
    profile = profile or params.get("profile")
    if profile not in profiles:
        problems.append(f"{path}: profile {profile!r} is not one of the `profiles:` blocks {sorted(profiles)}")
    if not isinstance(params.get("seed", 42), int):
        problems.append(f"{path}: seed = {params.get('seed')!r} should be an integer")
    for name, block in profiles.items():
        block = block or {}
        for model in params.get("models") or []:
            if model in MODELS and model not in block:
                problems.append(f"{path}: profiles.{name} has no `{model}:` block")
        for key, hyperparameters in block.items():
            if key == "bootstrap":  # the learning-curve settings, checked by the bootstrap stage
                continue
            if key == "discovery":  # the models the discovery benchmark rebuilds
                try:
                    profile_models(block, (params.get("screen") or {}).get("rank_model", ScreenParams().rank_model),
                                   f"{path}: profiles.{name}")
                except ParameterError as error:
                    problems.append(str(error))
                continue
            if key not in MODELS:
                problems.append(f"{path}: profiles.{name}.{key} is neither a model, `bootstrap` nor `discovery`")
                continue
            try:
                make_model(key, **(hyperparameters or {}))
            except ParameterError as error:
                problems.append(f"{path}: profiles.{name}.{error}")
    return problems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml check-params", description=__doc__)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--profile", help="check as if this profile were active (make reproduce's choice)")
    args = parser.parse_args(argv)
    problems = check(args.params, args.profile)
    if problems:
        raise ParameterError(f"{len(problems)} problem(s) in {args.params}:\n  " + "\n  ".join(problems))
    print(f"check-params: {args.params} is usable")
