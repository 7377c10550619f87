"""`electrode-ml predict`: screen new electrode compositions with the trained models.

    electrode-ml predict "LiFePO4" --ion Li
    electrode-ml predict --csv candidates.csv --out predictions.csv   # columns: composition, working_ion

One composition prints its table and the domain sentence only: the libraries' progress bars and
warnings (matminer's, Keras', torch's) are kept for `--verbose` and for `--csv`, which is long work.

The composition is the discharged formula (it contains the working ion), as in training. Every
model under results/models/<model>/<target>/ (written by the `train` stage) gives its prediction;
models not trained are named, with the command that trains them. A model refuses a candidate
whose features it reads are undefined where they never were in training (an element without
data, such as Og for Magpie): it would answer from no information at all.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import warnings
from pathlib import Path

import pandas as pd

from electrode_ml import paths
from electrode_ml.data.electrodes import WORKING_IONS
from electrode_ml.data.targets import TARGET_REGISTRY
from electrode_ml.evaluation.conformal import TrustParams
from electrode_ml.files import write_table
from electrode_ml.models.registry import DISPLAY_NAMES, MODELS
from electrode_ml.screening.prediction import (
    PredictionError,
    TrainedModels,
    check_candidates,
    on_stderr,
    predict_checked,
    prediction_column,
    read_candidates,
    refusal,
    untrained_note,
)


@contextlib.contextmanager
def libraries_quiet(quiet: bool):
    """With `quiet`, what the libraries print while they load and run the models (progress bars,
    Keras' per-batch lines, warnings) goes nowhere; this package's own notes are printed outside it."""
    if not quiet:
        yield
        return
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def predict(candidates: pd.DataFrame, models_dir: Path, nan_counts_csv: Path = paths.FEATURE_NAN_COUNTS,
            source: str = "input", trust_dir: Path = paths.TRUST, level: float = TrustParams().level,
            quiet: bool = False) -> pd.DataFrame:
    """One row per candidate; one column per model and target (`crabnet_voltage_V`, ...), with the
    bounds of its interval at `level` beside it (`..._lower`, `..._upper`), and the candidate's
    novelty, the elements never seen with its ion in training, and whether it is in the domain.
    Any candidate the models cannot take stops it, naming every such row. `quiet`: without the
    libraries' own output (`libraries_quiet`)."""
    if not 0 < level < 1:
        raise PredictionError(f"--level must lie between 0 and 1 (0.9 for 90% intervals), got {level}")
    note = on_stderr("predict")
    notes = []
    with libraries_quiet(quiet):
        trained = TrainedModels.load(models_dir, trust_dir, nan_counts_csv, note=notes.append)
    for message in notes:
        note(message)
    candidates = check_candidates(candidates, source, trained.known_elements())
    if trained.untrained:
        note(untrained_note(trained.untrained))
    with libraries_quiet(quiet):
        predictions, undefined = predict_checked(candidates, trained)
    if len(undefined):
        raise refusal(source, undefined)
    result = pd.concat([candidates[["composition", "working_ion"]], predictions.values], axis=1)
    for (name, target), bounds in predictions.bounds(trained, level).items():
        column = prediction_column(name, target)
        result.insert(result.columns.get_loc(column) + 1, f"{column}_lower", bounds[:, 0])
        result.insert(result.columns.get_loc(column) + 2, f"{column}_upper", bounds[:, 1])
    if predictions.assessed is not None:
        result = pd.concat([result, predictions.assessed], axis=1)
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
    parser.add_argument("--verbose", action="store_true",
                        help="one composition: print the libraries' progress bars and warnings too (--csv always does)")
    args = parser.parse_args(argv)
    if (args.composition is None) == (args.csv is None):
        parser.error("give one composition (with --ion) or --csv, not both")
    if args.composition is not None and not args.ion:
        parser.error("--ion is required with a composition")
    if args.csv is not None:
        candidates, source = read_candidates(args.csv), str(args.csv)
    else:
        candidates, source = pd.DataFrame({"composition": [args.composition], "working_ion": [args.ion]}), "input"
    result = predict(candidates, args.models, args.nan_counts, source=source, trust_dir=args.trust, level=args.level,
                     quiet=args.csv is None and not args.verbose)
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
