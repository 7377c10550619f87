"""Stage `folds`: stratified 5-fold assignments as data, so every model sees the same splits.

Stratified by working ion; rows of the same (reduced composition, ion) group stay in one fold.
Outputs: results/folds/stratified5.csv (battery_id, fold), and stratified5_repeated.csv
(battery_id, repeat, fold): `repeats` draws of the same scheme with seeds seed, seed + 1, ...
(repeat 0 is stratified5.csv), for the `repeated_cv` stage. The LOCO folds come from `cluster`.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from electrode_ml import paths
from electrode_ml.files import write_table
from electrode_ml.params import DEFAULT_PARAMS, ParameterError, load_section, parameters


@parameters
class FoldsParams:
    n_splits: int = 5
    seed: int = 42
    repeats: int = 5  # draws of the stratified folds for repeated_cv (fold-choice noise)

    def __post_init__(self):
        if self.n_splits < 2 or self.repeats < 1:
            raise ParameterError(f"folds.n_splits must be at least 2 and folds.repeats at least 1, "
                                 f"got {self.n_splits} and {self.repeats}")


def stratified_group_folds(electrodes: pd.DataFrame, n_splits: int, seed: int) -> pd.DataFrame:
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    fold = pd.Series(-1, index=electrodes.index)
    for number, (_, test) in enumerate(splitter.split(electrodes, electrodes["working_ion"], electrodes["group"])):
        fold.iloc[test] = number
    return pd.DataFrame({"battery_id": electrodes["battery_id"], "fold": fold.to_numpy()})


def repeated_folds(electrodes: pd.DataFrame, n_splits: int, seed: int, repeats: int) -> pd.DataFrame:
    return pd.concat([stratified_group_folds(electrodes, n_splits, seed + repeat).assign(repeat=repeat)
                      for repeat in range(repeats)], ignore_index=True)[["battery_id", "repeat", "fold"]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml folds", description=__doc__)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--electrodes", type=Path, default=paths.ELECTRODES, help="prepared table (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=paths.FOLDS, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    params = load_section("folds", FoldsParams, args.params)
    electrodes = pd.read_csv(args.electrodes)
    folds = stratified_group_folds(electrodes, params.n_splits, params.seed)
    write_table(folds, args.out / paths.fold_file("stratified5").name)
    write_table(repeated_folds(electrodes, params.n_splits, params.seed, params.repeats),
                args.out / paths.fold_file("stratified5_repeated").name)
    print(f"folds: {params.n_splits} stratified group folds, sizes {folds['fold'].value_counts().sort_index().tolist()}")
