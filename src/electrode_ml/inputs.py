"""The model-input table: one row per electrode, what any of the four models may read.

`load_model_inputs` returns it apart from the targets, so no model can read an answer. Columns:
`composition`, `working_ion`, `group`, and the feature sets asked for with their prefix (`magpie|MagpieData mean Number`, `modnet|ElementProperty|...`). Only the feature
files asked for are read, so the crabnet path needs neither pyarrow nor the feature stage.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from electrode_ml.data import TARGETS
from electrode_ml.errors import ElectrodeMLError, MissingInputError

FEATURE_SETS = ("magpie", "modnet")


def load_model_inputs(electrodes_csv: str | Path, features_dir: str | Path,
                      feature_sets=FEATURE_SETS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(X, targets), both indexed by battery_id; `targets` has one column per prepared target."""
    if not Path(electrodes_csv).exists():
        raise MissingInputError(f"{electrodes_csv} does not exist: run `dvc repro prepare`")
    electrodes = pd.read_csv(electrodes_csv).set_index("battery_id")
    targets = electrodes[list(TARGETS)]
    electrodes = electrodes.drop(columns=list(TARGETS))
    tables = [electrodes]
    for name in feature_sets:
        if name not in FEATURE_SETS:
            raise ElectrodeMLError(f"unknown feature set {name!r} (known: {FEATURE_SETS})")
        path = Path(features_dir) / f"{name}.parquet"
        if not path.exists():
            raise MissingInputError(f"{path} does not exist: run `dvc repro featurize`")
        features = pd.read_parquet(path)
        missing = electrodes.index.difference(features.index)
        if len(missing):
            raise ElectrodeMLError(f"{path} lacks {len(missing)} electrode(s), e.g. {list(missing[:3])}: rerun featurize")
        tables.append(features.loc[electrodes.index].add_prefix(f"{name}|"))
    return pd.concat(tables, axis=1), targets
