"""The trained models' predictions for new compositions, with intervals, novelty and the domain:
what `electrode-ml predict` prints and what `electrode-ml screen` computes for every partition.

A candidate is a discharged formula (it contains the working ion) and its working ion. It is
checked as `prepare` checks a row; a candidate that fails a check is set aside with its row, the
column at fault and the reason (`candidate_problems`), never predicted from nothing: a model
refuses a candidate whose features it reads are undefined where they never were in training
(an element without data, such as Og for Magpie).
"""
from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
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
from electrode_ml.evaluation.conformal import nearest_neighbours, prediction_bounds
from electrode_ml.features.representations import REPRESENTATIONS, FeaturizationError, elements_with_data
from electrode_ml.models.registry import DISPLAY_NAMES, MODELS
from electrode_ml.screening.objectives import physical_bounds


class PredictionError(ElectrodeMLError):
    """Candidates the models cannot take; the message names each row."""


CANDIDATE_COLUMNS = ("composition", "working_ion")
# A candidate set aside: its row in the input (1 = the first candidate), the column at fault, the
# value found there, and why.
REJECTED_CANDIDATE_COLUMNS = ("row", "column", "value", "reason", "detail")


def prediction_column(model: str, target: str) -> str:
    """`crabnet_voltage_V`, `rf_magpie_grav_capacity_mAh_g`: unit in the name, no slash."""
    return f"{model}_{target}_{TARGET_REGISTRY[target].unit.replace('/', '_')}"


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
    check_header(read_header_of(path), path)
    return candidates


def read_header_of(path: Path) -> list[str]:
    try:
        return read_header(path)
    except DataValidationError as error:
        raise PredictionError(str(error)) from None


def check_header(header: list[str], source: Path | str) -> None:
    """Refuse a header that lacks a candidate column, names one twice or almost (`Composition`)."""
    if not header:
        raise PredictionError(f"{source}: empty file; expected a header `composition,working_ion` and one row per candidate")
    problems = header_problems(header, CANDIDATE_COLUMNS)
    missing = [column for column in CANDIDATE_COLUMNS if column not in header]
    if missing and not problems:
        problems = [f"lacks column(s) {missing}; expected composition, working_ion"]
    if problems:
        raise PredictionError(f"{source}: " + "; ".join(problems))


def normalized(candidates: pd.DataFrame, source: str = "input") -> pd.DataFrame:
    """The candidate columns as text with surrounding spaces stripped, as `prepare` strips them."""
    missing = set(CANDIDATE_COLUMNS) - set(candidates.columns)
    if missing:
        raise PredictionError(f"{source}: lacks column(s) {sorted(missing)}; expected composition, working_ion")
    return candidates.assign(composition=candidates["composition"].astype(str).str.strip(),
                             working_ion=candidates["working_ion"].astype(str).str.strip())


def candidate_problems(candidates: pd.DataFrame, known_elements: dict[str, frozenset[str]] | None = None,
                       rows=None) -> pd.DataFrame:
    """Every candidate the models cannot take, one row each (`REJECTED_CANDIDATE_COLUMNS`).

    `candidates`: normalized; `known_elements`: representation -> the elements its featurizers
    have data for (those the models read); `rows`: each candidate's row number in the input
    (default 1, 2, ...)."""
    rows = range(1, len(candidates) + 1) if rows is None else rows
    problems = []
    for row, formula, ion in zip(rows, candidates["composition"], candidates["working_ion"]):
        def refuse(column: str, value: str, reason: str, detail: str) -> None:
            problems.append((int(row), column, value, reason, detail))

        if CONTROL_CHARACTERS.search(formula) or CONTROL_CHARACTERS.search(ion):
            refuse("composition" if CONTROL_CHARACTERS.search(formula) else "working_ion", f"{formula!r} / {ion!r}",
                   "control_character", f"control character in {formula!r} / {ion!r}")
            continue
        try:
            composition = parse_composition(formula)
        except FormulaError as error:
            refuse("composition", formula, "bad_formula", f"composition {formula!r}: {error}")
            continue
        if ion not in WORKING_IONS:
            refuse("working_ion", ion, "unknown_working_ion", f"working ion {ion!r} is not one of {', '.join(WORKING_IONS)}")
        elif ion not in {str(element) for element in composition}:
            refuse("composition", formula, "ion_not_in_formula",
                   f"{formula!r} holds no {ion}: give the discharged formula, which contains the working ion")
        elif {str(element) for element in composition} == {ion}:
            refuse("composition", formula, "no_host", f"{formula!r} is the working ion {ion} alone: no host to insert it into")
        if known_elements and (lacking := elements_lacking_data(composition, known_elements)) is not None:
            refuse("composition", formula, "element_without_data", f"composition {formula!r}: {lacking}")
    return pd.DataFrame(problems, columns=list(REJECTED_CANDIDATE_COLUMNS))


def refusal(source: str, problems: pd.DataFrame) -> PredictionError:
    return PredictionError(f"{source}: cannot predict:\n  " + "\n  ".join(
        f"row {row}: {detail}" for row, detail in zip(problems["row"], problems["detail"])))


def check_candidates(candidates: pd.DataFrame, source: str = "input",
                     known_elements: dict[str, frozenset[str]] | None = None) -> pd.DataFrame:
    """Normalize, and refuse (naming every row) anything the models cannot take."""
    candidates = normalized(candidates, source)
    problems = candidate_problems(candidates, known_elements)
    if len(problems):
        raise refusal(source, problems)
    return candidates.reset_index(drop=True)


def load_models(models_dir: Path, names=None, targets=None) -> tuple[dict[tuple[str, str], object], list[tuple[str, str]]]:
    """The trained models by (model, target), and the (model, target) pairs not trained; of
    `names` and `targets` (default: every registered model and target)."""
    models, untrained = {}, []
    for name in names or MODELS:
        for target in targets or TARGET_KEYS:
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
    return f"not trained, so not predicted: {names}. Train them with `dvc repro {cells}`"


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


def load_trust(trust_dir: Path, trained, note=print) -> tuple[object | None, dict]:
    """The domain and each trained model x target's interval calibration (the `domain` and `trust`
    stages' outputs); `note` is told what is missing and the command that makes it."""
    domain_path = trust_dir / paths.DOMAIN.name
    if not domain_path.exists():
        note(f"no intervals or novelty: {domain_path} does not exist; make it with `dvc repro trust`")
        return None, {}
    calibrations, missing = {}, []
    for name, target in trained:
        path = paths.trust_cell(name, target, trust_dir) / "calibration.joblib"
        if path.exists():
            calibrations[name, target] = joblib.load(path)
        else:
            missing.append(f"{name} {target}")
    if missing:
        note(f"no intervals for {', '.join(missing)}: make them with `dvc repro trust`")
    return joblib.load(domain_path), calibrations


def on_stderr(command: str):
    return lambda message: print(f"{command}: {message}", file=sys.stderr)


@dataclass
class TrainedModels:
    """What a prediction needs, loaded once: the models by (model, target), the domain and the
    calibrations (None and {} where the trust stages have not run), the feature sets to compute
    for a candidate, and (read when first needed, after the candidates' own checks) the features
    always defined in training."""

    models: dict
    untrained: list
    domain: object | None
    calibrations: dict
    feature_sets: set[str]
    nan_counts_csv: Path

    @classmethod
    def load(cls, models_dir: Path, trust_dir: Path, nan_counts_csv: Path, names=None, targets=None,
             note=print) -> TrainedModels:
        models, untrained = load_models(models_dir, names, targets)
        domain, calibrations = load_trust(trust_dir, models, note)
        feature_sets = {s for name, _ in models for s in MODELS[name].input_sets} | ({"magpie"} if domain else set())
        return cls(models, untrained, domain, calibrations, feature_sets, Path(nan_counts_csv))

    @functools.cached_property
    def always_defined(self) -> set[str]:
        return features_defined_in_training(self.nan_counts_csv) if self.feature_sets else set()

    def known_elements(self) -> dict[str, frozenset[str]]:
        return {name: elements_with_data(name) for name in sorted(self.feature_sets)}

    def model_names(self) -> list[str]:
        return list(dict.fromkeys(name for name, _ in self.models))


def featurized(featurizer, formulas: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """`featurizer`'s table of the formulas it takes, and why it failed on each other one (matminer's
    AtomicOrbitals fails on some plutonium compositions): a failure costs its formula, not the batch.
    Each formula's row is computed alone either way, so the values do not depend on the batch."""
    try:
        return featurizer.featurize(formulas, progress=False), {}
    except FeaturizationError:
        tables, failed = [], {}
        for formula in formulas:
            try:
                tables.append(featurizer.featurize([formula], progress=False))
            except FeaturizationError as error:
                failed[formula] = str(error)
        return (pd.concat(tables) if tables else pd.DataFrame(columns=featurizer.feature_labels())), failed


def model_inputs_for(candidates: pd.DataFrame, feature_sets: set[str],
                     featurizers=REPRESENTATIONS) -> tuple[pd.DataFrame, dict[str, str]]:
    """The model-input table for new compositions, featurized as in the `featurize` stage (each
    distinct formula once; `featurizers`: representation -> its class), its rows empty where a
    featurizer failed; and the formulas that failed, with why."""
    table = candidates[list(CANDIDATE_COLUMNS)].set_axis(
        pd.Index([f"candidate{i}" for i in range(len(candidates))], name="battery_id"))
    formulas = list(table["composition"])
    failures = {}
    for name in sorted(feature_sets):
        features, failed = featurized(featurizers[name](), list(dict.fromkeys(formulas)))
        failures.update({formula: f"{name}: {reason}" for formula, reason in failed.items() if formula not in failures})
        table = table.join(features.reindex(formulas).set_axis(table.index).add_prefix(f"{name}|"))
    return table, failures


@dataclass
class Predictions:
    """One row per candidate predicted: each model and target's value (`prediction_column`), and
    where the trust stages have run, the candidates' distances to every training electrode (for
    intervals at any level) and their novelty, unseen elements and in-domain flag."""

    values: pd.DataFrame
    distances: np.ndarray | None
    assessed: pd.DataFrame | None
    _nearest: dict = field(default_factory=dict, repr=False)

    def bounds(self, trained: TrainedModels, level: float) -> dict[tuple[str, str], np.ndarray]:
        """(model, target) -> the lower and upper bounds (n x 2) of its normalized interval at `level`,
        clipped at the target's physical limit (a capacity's at 0: `objectives.physical_bounds`)."""
        bounds = {}
        for name, target in trained.models:
            if (name, target) in trained.calibrations:
                calibration = trained.calibrations[name, target]
                bounds[name, target] = physical_bounds(target, prediction_bounds(
                    calibration, trained.domain, self.distances, self.values[prediction_column(name, target)].to_numpy(),
                    level, self.nearest(calibration["neighbours"])))
        return bounds

    def nearest(self, neighbours: int) -> np.ndarray:
        """The candidates' `neighbours` nearest training electrodes, found once for every calibration."""
        if neighbours not in self._nearest:
            self._nearest[neighbours] = nearest_neighbours(self.distances, neighbours)
        return self._nearest[neighbours]


def predict_checked(candidates: pd.DataFrame, trained: TrainedModels, featurizers=REPRESENTATIONS,
                    rows=None) -> tuple[Predictions, pd.DataFrame]:
    """The predictions for checked candidates (`check_candidates` or `candidate_problems`), and
    the candidates set aside because a featurizer failed on them or a model reads features
    undefined for them (their rows kept out of the predictions). `rows`: the candidates' row numbers in the input."""
    rows = np.arange(1, len(candidates) + 1) if rows is None else np.asarray(rows)
    inputs, failures = model_inputs_for(candidates, trained.feature_sets, featurizers)
    undefined = {position: ("featurizer_failed", f"{formula!r}: a featurizer failed on it ({failures[formula]})")
                 for position, formula in enumerate(candidates["composition"]) if formula in failures}
    for name in trained.model_names():
        for position, columns in undefined_rows(inputs, MODELS[name].input_sets, trained.always_defined).items():
            undefined.setdefault(position, ("undefined_features", (
                f"{candidates['composition'].iloc[position]!r}: {DISPLAY_NAMES[name]} reads {len(columns)} feature(s) that "
                f"are undefined for it and never were in training (e.g. {columns[0]}): an element without data")))
    rejected = pd.DataFrame([(int(rows[position]), "composition", candidates["composition"].iloc[position], reason, detail)
                             for position, (reason, detail) in sorted(undefined.items())],
                            columns=list(REJECTED_CANDIDATE_COLUMNS))
    kept = np.setdiff1d(np.arange(len(candidates)), list(undefined))
    inputs = inputs.iloc[kept]
    values = pd.DataFrame({prediction_column(name, target): model.predict(inputs)
                           for (name, target), model in trained.models.items()}, index=kept)
    distances = assessed = None
    if trained.domain is not None:
        domain = trained.domain
        magpie = inputs[[f"magpie|{column}" for column in domain.feature_names]].set_axis(domain.feature_names, axis=1)
        distances = domain.distances(magpie)
        assessed = domain.assess(magpie, inputs["composition"], inputs["working_ion"], distances).set_axis(kept)
    return Predictions(values, distances, assessed), rejected
