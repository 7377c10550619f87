"""`electrode-ml predict`: screen new electrode compositions with the trained models.

    electrode-ml predict "LiFePO4" --ion Li
    electrode-ml predict --csv candidates.csv --out predictions.csv   # columns: composition, working_ion

The composition is the discharged formula (it contains the working ion), as in training. Every
model under results/models/<model>/<target>/ (written by the `train` stage) gives its prediction.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import joblib
import pandas as pd

from electrode_ml.data import TARGET_KEYS, WORKING_IONS, FormulaError, parse_composition
from electrode_ml.features import REPRESENTATIONS
from electrode_ml.files import write_table
from electrode_ml.models import DISPLAY_NAMES, MODEL_CLASSES

UNITS = {"grav_capacity": "mAh/g", "vol_capacity": "mAh/cm3", "voltage": "V"}


def check_candidates(candidates: pd.DataFrame) -> pd.DataFrame:
    """Refuse, naming the row, anything the models cannot take."""
    missing = {"composition", "working_ion"} - set(candidates.columns)
    if missing:
        raise ValueError(f"input lacks column(s) {sorted(missing)}; expected composition, working_ion")
    problems = []
    for row, (formula, ion) in enumerate(zip(candidates["composition"], candidates["working_ion"]), start=1):
        try:
            composition = parse_composition(formula)
        except FormulaError as error:
            problems.append(f"row {row}: composition {formula!r}: {error}")
            continue
        if ion not in WORKING_IONS:
            problems.append(f"row {row}: working ion {ion!r} is not one of {', '.join(WORKING_IONS)}")
        elif ion not in {str(element) for element in composition}:
            problems.append(f"row {row}: {formula!r} holds no {ion}: give the discharged formula, which contains the working ion")
    if problems:
        raise ValueError("cannot predict:\n  " + "\n  ".join(problems))
    return candidates.reset_index(drop=True)


def load_models(models_dir: Path) -> dict[tuple[str, str], object]:
    models = {}
    for name in MODEL_CLASSES:
        for target in TARGET_KEYS:
            path = models_dir / name / target / "model.joblib"
            if path.exists():
                models[name, target] = joblib.load(path)
    if not models:
        raise FileNotFoundError(f"no trained models under {models_dir}: run `dvc repro train` (or `make reproduce`)")
    return models


def model_inputs_for(candidates: pd.DataFrame, feature_sets: set[str]) -> pd.DataFrame:
    """The model-input table for new compositions, featurized as in the `featurize` stage."""
    table = candidates.set_index(pd.Index([f"candidate{i}" for i in range(len(candidates))], name="battery_id"))
    formulas = list(table["composition"])
    for name in sorted(feature_sets):
        features = REPRESENTATIONS[name]().featurize(list(dict.fromkeys(formulas)), progress=False)
        table = table.join(features.loc[formulas].set_axis(table.index).add_prefix(f"{name}|"))
    return table


def predict(candidates: pd.DataFrame, models_dir: Path) -> pd.DataFrame:
    """One row per candidate; one column per model and target (`crabnet_voltage_V`, ...)."""
    candidates = check_candidates(candidates)
    models = load_models(models_dir)
    inputs = model_inputs_for(candidates, {s for model in models.values() for s in model.input_sets})
    result = candidates[["composition", "working_ion"]].copy()
    for (name, target), model in models.items():
        result[f"{name}_{target}_{UNITS[target].replace('/', '_')}"] = model.predict(inputs)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("composition", nargs="?", help="discharged formula, e.g. LiFePO4")
    parser.add_argument("--ion", help="working ion, e.g. Li")
    parser.add_argument("--csv", type=Path, help="CSV of candidates (composition, working_ion)")
    parser.add_argument("--out", type=Path, help="where --csv mode writes its predictions (default: stdout)")
    parser.add_argument("--models", type=Path, default=Path("results/models"))
    args = parser.parse_args(argv)
    if (args.composition is None) == (args.csv is None):
        parser.error("give one composition (with --ion) or --csv, not both")
    if args.composition is not None and not args.ion:
        parser.error("--ion is required with a composition")
    candidates = (pd.read_csv(args.csv, dtype=str) if args.csv is not None
                  else pd.DataFrame({"composition": [args.composition], "working_ion": [args.ion]}))
    result = predict(candidates, args.models)
    if args.csv is not None:
        if args.out:
            write_table(result, args.out)
            print(f"predict: {len(result)} candidates -> {args.out}")
        else:
            result.to_csv(sys.stdout, index=False)
        return
    rows = []
    for name in MODEL_CLASSES:
        row = {"model": DISPLAY_NAMES[name]}
        for target, unit in UNITS.items():
            column = f"{name}_{target}_{unit.replace('/', '_')}"
            if column in result:
                row[f"{target} ({unit})"] = round(float(result.at[0, column]), 3)
        if len(row) > 1:
            rows.append(row)
    print(f"{args.composition} ({args.ion}):")
    print(pd.DataFrame(rows).to_string(index=False))
