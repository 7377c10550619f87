"""Stage `folds`: stratified 5-fold assignments as data, so every model sees the same splits.

Stratified by working ion; rows of the same (reduced composition, ion) group stay in one fold.
Output: results/folds/stratified5.csv (battery_id, fold). The LOCO folds come from `cluster`.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from electrode_ml.files import write_table
from electrode_ml.params import DEFAULT_PARAMS, load_section


@dataclass(frozen=True)
class FoldsParams:
    n_splits: int = 5
    seed: int = 42


def stratified_group_folds(electrodes: pd.DataFrame, n_splits: int, seed: int) -> pd.DataFrame:
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    fold = pd.Series(-1, index=electrodes.index)
    for number, (_, test) in enumerate(splitter.split(electrodes, electrodes["working_ion"], electrodes["group"])):
        fold.iloc[test] = number
    return pd.DataFrame({"battery_id": electrodes["battery_id"], "fold": fold.to_numpy()})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml folds", description=__doc__)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS)
    parser.add_argument("--electrodes", type=Path, default=Path("results/prepared/electrodes.csv"))
    parser.add_argument("--out", type=Path, default=Path("results/folds/stratified5.csv"))
    args = parser.parse_args(argv)
    params = load_section("folds", FoldsParams, args.params)
    folds = stratified_group_folds(pd.read_csv(args.electrodes), params.n_splits, params.seed)
    write_table(folds, args.out)
    print(f"folds: {params.n_splits} stratified group folds, sizes {folds['fold'].value_counts().sort_index().tolist()}")
