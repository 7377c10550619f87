"""`electrode-ml predict`: screen new electrode compositions with the trained models.

    electrode-ml predict "LiFePO4" --ion Li
    electrode-ml predict --csv candidates.csv --out predictions.csv   # columns: composition, working_ion

The composition is the discharged formula (it contains the working ion), as in training. Every
model under results/models/<model>/<target>/ (written by the `train` stage) gives its prediction;
models not trained are named, with the command that trains them. A model refuses a candidate
whose features it reads are undefined where they never were in training (an element without
data, such as Og for Magpie): it would answer from no information at all.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from electrode_ml import paths
from electrode_ml.data.electrodes import (
    CONTROL_CHARACTERS,
    WORKING_IONS,
    DataValidationError,
    FormulaError,
    elements_lacking_data,
    header_problems,
    parse_composition,
    read_header,
)
from electrode_ml.data.targets import TARGET_KEYS, TARGET_REGISTRY
from electrode_ml.errors import ElectrodeMLError, MissingInputError
from electrode_ml.evaluation.conformal import TrustParams, prediction_bounds
from electrode_ml.features.representations import REPRESENTATIONS, elements_with_data
from electrode_ml.files import write_table
from electrode_ml.models.registry import DISPLAY_NAMES, MODELS


def prediction_column(model: str, target: str) -> str:
    """`crabnet_voltage_V`, `rf_magpie_grav_capacity_mAh_g`: unit in the name, no slash."""
    return f"{model}_{target}_{TARGET_REGISTRY[target].unit.replace('/', '_')}"


class PredictionError(ElectrodeMLError):
    """Candidates the models cannot take; the message names each row."""


CANDIDATE_COLUMNS = ("composition", "working_ion")


def read_candidates(path: Path) -> pd.DataFrame:
    """A candidates CSV as text, refusing unreadable or empty files by name."""
    if not path.exists():
        raise MissingInputError(f"{path} does not exist")
    try:
        candidates = pd.read_csv(path, dtype=str, keep_default_na=False, engine="python")
    except pd.errors.EmptyDataError:
        raise PredictionError(f"{path}: empty file; expected a header `composition,working_ion` and one row per candidate") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as error:
        raise PredictionError(f"{path}: not a readable CSV file ({type(error).__name__}: {error})") from None
    if candidates.empty:
        raise PredictionError(f"{path}: a header and no rows: no candidates to predict")
    try:
        problems = header_problems(read_header(path), CANDIDATE_COLUMNS)
    except DataValidationError as error:
        raise PredictionError(str(error)) from None
    if problems:
        raise PredictionError(f"{path}: " + "; ".join(problems))
    return candidates


def check_candidates(candidates: pd.DataFrame, source: str = "input",
                     known_elements: dict[str, frozenset[str]] | None = None) -> pd.DataFrame:
    """Normalize as `prepare` does (surrounding spaces stripped) and refuse, naming the row,
    anything the models cannot take. `known_elements`: representation -> the elements its
    featurizers have data for (those the models read)."""
    missing = set(CANDIDATE_COLUMNS) - set(candidates.columns)
    if missing:
        raise PredictionError(f"{source}: lacks column(s) {sorted(missing)}; expected composition, working_ion")
    candidates = candidates.assign(composition=candidates["composition"].astype(str).str.strip(),
                                   working_ion=candidates["working_ion"].astype(str).str.strip())
    problems = []
    for row, (formula, ion) in enumerate(zip(candidates["composition"], candidates["working_ion"]), start=1):
        if CONTROL_CHARACTERS.search(formula) or CONTROL_CHARACTERS.search(ion):
            problems.append(f"row {row}: control character in {formula!r} / {ion!r}")
            continue
        try:
            composition = parse_composition(formula)
        except FormulaError as error:
            problems.append(f"row {row}: composition {formula!r}: {error}")
            continue
        if ion not in WORKING_IONS:
            problems.append(f"row {row}: working ion {ion!r} is not one of {', '.join(WORKING_IONS)}")
        elif ion not in {str(element) for element in composition}:
            problems.append(f"row {row}: {formula!r} holds no {ion}: give the discharged formula, which contains the working ion")
        if known_elements and (lacking := elements_lacking_data(composition, known_elements)) is not None:
            problems.append(f"row {row}: composition {formula!r}: {lacking}")
    if problems:
        raise PredictionError(f"{source}: cannot predict:\n  " + "\n  ".join(problems))
    return candidates.reset_index(drop=True)


def load_models(models_dir: Path) -> tuple[dict[tuple[str, str], object], list[tuple[str, str]]]:
    """The trained models by (model, target), and the (model, target) pairs not trained."""
    models, untrained = {}, []
    for name in MODELS:
        for target in TARGET_KEYS:
            path = paths.trained_model(name, target, models_dir) / "model.joblib"
            if path.exists():
                models[name, target] = joblib.load(path)
            else:
                untrained.append((name, target))
    if not models:
        raise MissingInputError(f"no trained models under {models_dir}: run `make models` (or `dvc repro train`)")
    return models, untrained


def untrained_note(untrained: list[tuple[str, str]]) -> str:
    cells = " ".join(f"train@{name}-{target}" for name, target in untrained)
    names = ", ".join(f"{DISPLAY_NAMES[name]}/{target}" for name, target in untrained)
    return f"predict: not trained, so not predicted: {names}. Train them with `dvc repro {cells}`"


def model_inputs_for(candidates: pd.DataFrame, feature_sets: set[str]) -> pd.DataFrame:
    """The model-input table for new compositions, featurized as in the `featurize` stage."""
    table = candidates.set_index(pd.Index([f"candidate{i}" for i in range(len(candidates))], name="battery_id"))
    formulas = list(table["composition"])
    for name in sorted(feature_sets):
        features = REPRESENTATIONS[name]().featurize(list(dict.fromkeys(formulas)), progress=False)
        table = table.join(features.loc[formulas].set_axis(table.index).add_prefix(f"{name}|"))
    return table


def features_defined_in_training(nan_counts_csv: Path) -> set[str]:
    """Prefixed feature columns that held a value for every training composition."""
    if not nan_counts_csv.exists():
        raise MissingInputError(f"{nan_counts_csv} does not exist: run `dvc repro featurize` (or `dvc pull`)")
    counts = pd.read_csv(nan_counts_csv)
    always = counts[counts["nan_compositions"] == 0]
    return set(always["representation"] + "|" + always["feature"])


def undefined_rows(inputs: pd.DataFrame, feature_sets, always_defined: set[str]) -> dict[int, list[str]]:
    """Row -> the features (of `feature_sets`) that are NaN although training never had them NaN."""
    columns = [column for column in inputs.columns if column.split("|", 1)[0] in feature_sets and column in always_defined]
    missing = inputs[columns].isna().to_numpy()
    return {row: [columns[i] for i in np.flatnonzero(missing[row])] for row in np.flatnonzero(missing.any(axis=1))}


def load_trust(trust_dir: Path, trained) -> tuple[object | None, dict]:
    """The domain and each trained model x target's interval calibration (the `domain` and `trust`
    stages' outputs), naming on stderr what is missing and the command that makes it."""
    domain_path = trust_dir / paths.DOMAIN.name
    if not domain_path.exists():
        print(f"predict: no intervals or novelty: {domain_path} does not exist; make it with `dvc repro trust`",
              file=sys.stderr)
        return None, {}
    calibrations, missing = {}, []
    for name, target in trained:
        path = paths.trust_cell(name, target, trust_dir) / "calibration.joblib"
        if path.exists():
            calibrations[name, target] = joblib.load(path)
        else:
            missing.append(f"trust@{name}-{target}")
    if missing:
        print(f"predict: no intervals for {', '.join(missing)}: make them with `dvc repro {' '.join(missing)}`",
              file=sys.stderr)
    return joblib.load(domain_path), calibrations


def predict(candidates: pd.DataFrame, models_dir: Path, nan_counts_csv: Path = paths.FEATURE_NAN_COUNTS,
            source: str = "input", trust_dir: Path = paths.TRUST, level: float = TrustParams().level) -> pd.DataFrame:
    """One row per candidate; one column per model and target (`crabnet_voltage_V`, ...), with the
    bounds of its interval at `level` beside it (`..._lower`, `..._upper`), and the candidate's
    novelty, the elements never seen with its ion in training, and whether it is in the domain."""
    if not 0 < level < 1:
        raise PredictionError(f"--level must lie between 0 and 1 (0.9 for 90% intervals), got {level}")
    models, untrained = load_models(models_dir)
    domain, calibrations = load_trust(trust_dir, models)
    feature_sets = {s for name, _ in models for s in MODELS[name].input_sets} | ({"magpie"} if domain else set())
    candidates = check_candidates(candidates, source, {name: elements_with_data(name) for name in sorted(feature_sets)})
    if untrained:
        print(untrained_note(untrained), file=sys.stderr)
    inputs = model_inputs_for(candidates, feature_sets)
    always_defined = features_defined_in_training(nan_counts_csv) if feature_sets else set()
    problems = []
    for name in dict.fromkeys(name for name, _ in models):
        sets = MODELS[name].input_sets
        for row, columns in undefined_rows(inputs, sets, always_defined).items():
            problems.append(f"row {row + 1}: {candidates.at[row, 'composition']!r}: {DISPLAY_NAMES[name]} reads "
                            f"{len(columns)} feature(s) that are undefined for it and never were in training "
                            f"(e.g. {columns[0]}): an element without data")
    if problems:
        raise PredictionError(f"{source}: cannot predict:\n  " + "\n  ".join(problems))
    result = candidates[["composition", "working_ion"]].copy()
    magpie = None if domain is None else inputs[[f"magpie|{column}" for column in domain.feature_names]].set_axis(
        domain.feature_names, axis=1)
    distances = None if domain is None else domain.distances(magpie)
    for (name, target), model in models.items():
        column = prediction_column(name, target)
        result[column] = model.predict(inputs)
        if (name, target) in calibrations:
            bounds = prediction_bounds(calibrations[name, target], domain, distances, result[column].to_numpy(), level)
            result[f"{column}_lower"], result[f"{column}_upper"] = bounds[:, 0], bounds[:, 1]
    if domain is not None:
        assessed = domain.assess(magpie, candidates["composition"], candidates["working_ion"])
        result = pd.concat([result, assessed.set_axis(result.index)], axis=1)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("composition", nargs="?", help="discharged formula, e.g. LiFePO4")
    parser.add_argument("--ion", help=f"working ion, one of {', '.join(WORKING_IONS)}")
    parser.add_argument("--csv", type=Path, help="CSV of candidates (columns composition, working_ion)")
    parser.add_argument("--out", type=Path, help="where --csv mode writes its predictions (default: stdout)")
    parser.add_argument("--models", type=Path, default=paths.TRAINED_MODELS,
                        help="trained models, from the train stage (default: %(default)s)")
    parser.add_argument("--nan-counts", type=Path, default=paths.FEATURE_NAN_COUNTS,
                        help="which features were ever undefined in training, from the featurize stage (default: %(default)s)")
    parser.add_argument("--trust", type=Path, default=paths.TRUST,
                        help="intervals and domain, from the domain and trust stages (default: %(default)s)")
    parser.add_argument("--level", type=float, default=TrustParams().level,
                        help="the intervals' coverage (default: %(default)s)")
    args = parser.parse_args(argv)
    if (args.composition is None) == (args.csv is None):
        parser.error("give one composition (with --ion) or --csv, not both")
    if args.composition is not None and not args.ion:
        parser.error("--ion is required with a composition")
    if args.csv is not None:
        candidates, source = read_candidates(args.csv), str(args.csv)
    else:
        candidates, source = pd.DataFrame({"composition": [args.composition], "working_ion": [args.ion]}), "input"
    result = predict(candidates, args.models, args.nan_counts, source=source, trust_dir=args.trust, level=args.level)
    if args.csv is not None:
        if args.out:
            write_table(result, args.out)
            print(f"predict: {len(result)} candidates -> {args.out}")
        else:
            result.to_csv(sys.stdout, index=False)
        return
    rows = []
    for name in MODELS:
        row = {"model": DISPLAY_NAMES[name]}
        for target, spec in TARGET_REGISTRY.items():
            column = prediction_column(name, target)
            if column in result:
                value = round(float(result.at[0, column]), 3)
                if f"{column}_lower" in result:
                    value = f"{value} [{result.at[0, f'{column}_lower']:.3f}, {result.at[0, f'{column}_upper']:.3f}]"
                row[f"{target} ({spec.unit})"] = value
        if len(row) > 1:
            rows.append(row)
    print(f"{result.at[0, 'composition']} ({result.at[0, 'working_ion']}):")
    print(pd.DataFrame(rows).to_string(index=False))
    if "novelty" in result:
        print(f"{args.level:.0%} intervals in brackets. " + domain_note(result.iloc[0]))


def domain_note(row: pd.Series) -> str:
    """One line on where a candidate lies among the training electrodes."""
    where = "in the domain" if row["in_domain"] else "OUT OF THE DOMAIN"
    unseen = f"; never seen with {row['working_ion']} in training: {row['unseen_elements']}" if row["unseen_elements"] else ""
    return f"Novelty {row['novelty']:.3g} (mean distance to the nearest training electrodes of the ion): {where}{unseen}."
