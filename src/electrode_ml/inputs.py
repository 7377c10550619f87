"""The model-input table: one row per electrode, what any of the four models may read.

Columns: `composition`, `working_ion`, `group`, the targets, and the feature sets asked for with
their prefix (`magpie|MagpieData mean Number`, `modnet|ElementProperty|...`). Only the feature
files asked for are read, so the crabnet path needs neither pyarrow nor the feature stage.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

FEATURE_SETS = ("magpie", "modnet")


def load_model_inputs(electrodes_csv: str | Path, features_dir: str | Path, feature_sets=FEATURE_SETS) -> pd.DataFrame:
    electrodes = pd.read_csv(electrodes_csv).set_index("battery_id")
    tables = [electrodes]
    for name in feature_sets:
        if name not in FEATURE_SETS:
            raise ValueError(f"unknown feature set {name!r} (known: {FEATURE_SETS})")
        features = pd.read_parquet(Path(features_dir) / f"{name}.parquet")
        missing = electrodes.index.difference(features.index)
        if len(missing):
            raise ValueError(f"{name} features lack {len(missing)} electrode(s), e.g. {list(missing[:3])}: rerun featurize")
        tables.append(features.loc[electrodes.index].add_prefix(f"{name}|"))
    return pd.concat(tables, axis=1)
