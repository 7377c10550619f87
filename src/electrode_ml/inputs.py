"""Each model's input table: one row per electrode, what that model may read, and never a target.

Stage `inputs` writes one folder per model, results/inputs/<model>/: `electrodes.csv`
(battery_id, composition, working_ion, group) and `<set>.parquet` for each feature set the model
reads (the registry's `input_sets`). A cell depends on its model's folder alone, so a featurizer
change reruns the models that read its features and no other (CrabNet and the control read
none). `load_model_inputs` joins a folder back into the model's `X`: `composition`,
`working_ion`, `group` and the prefixed features (`magpie|MagpieData mean Number`,
`modnet|ElementProperty|...`). A folder without feature sets needs no parquet reader, so the
crabnet path runs without pyarrow.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from electrode_ml.data import TARGETS
from electrode_ml.errors import ElectrodeMLError, MissingInputError

FEATURE_SETS = ("magpie", "modnet")
ELECTRODES_FILE = "electrodes.csv"


def feature_file(feature_set: str) -> str:
    return f"{feature_set}.parquet"


def read_electrodes(electrodes_csv: str | Path) -> pd.DataFrame:
    if not Path(electrodes_csv).exists():
        raise MissingInputError(f"{electrodes_csv} does not exist: run `dvc repro prepare`")
    return pd.read_csv(electrodes_csv).set_index("battery_id")


def model_input_tables(electrodes_csv: str | Path, features_dir: str | Path,
                       input_sets: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """File name -> table of one model's input folder, built from the prepared table and the
    feature tables: the electrodes without their targets, and each feature set in their order."""
    electrodes = read_electrodes(electrodes_csv)
    tables = {ELECTRODES_FILE: electrodes.drop(columns=list(TARGETS))}
    for name in input_sets:  # each one of FEATURE_SETS: the model registry refuses any other
        path = Path(features_dir) / feature_file(name)
        if not path.exists():
            raise MissingInputError(f"{path} does not exist: run `dvc repro featurize` (with {name!r} in "
                                    f"featurize.representations)")
        features = pd.read_parquet(path)
        missing = electrodes.index.difference(features.index)
        if len(missing):
            raise ElectrodeMLError(f"{path} lacks {len(missing)} electrode(s), e.g. {list(missing[:3])}: rerun featurize")
        tables[feature_file(name)] = features.loc[electrodes.index]
    return tables


def joined(tables: dict[str, pd.DataFrame], input_sets: tuple[str, ...]) -> pd.DataFrame:
    """A model's `X` from the tables of its input folder: the electrodes, then each feature set, prefixed."""
    features = [tables[feature_file(name)].add_prefix(f"{name}|") for name in input_sets]
    return pd.concat([tables[ELECTRODES_FILE], *features], axis=1)


def build_model_inputs(electrodes_csv: str | Path, features_dir: str | Path,
                       input_sets: tuple[str, ...]) -> pd.DataFrame:
    """A model's `X`, straight from the prepared table and the feature tables (for `bench`)."""
    return joined(model_input_tables(electrodes_csv, features_dir, input_sets), input_sets)


def load_model_inputs(model_dir: str | Path, input_sets: tuple[str, ...]) -> pd.DataFrame:
    """A model's `X`, indexed by battery_id, from its folder under results/inputs/."""
    model_dir = Path(model_dir)
    for name in (ELECTRODES_FILE, *map(feature_file, input_sets)):
        if not (model_dir / name).exists():
            raise MissingInputError(f"{model_dir / name} does not exist: run `dvc repro inputs`")
    tables = {ELECTRODES_FILE: pd.read_csv(model_dir / ELECTRODES_FILE).set_index("battery_id")}
    tables.update({feature_file(name): pd.read_parquet(model_dir / feature_file(name)) for name in input_sets})
    return joined(tables, input_sets)


def load_targets(electrodes_csv: str | Path, index: pd.Index) -> pd.DataFrame:
    """The prepared targets (one column per target) of the electrodes in `index`, in its order."""
    targets = read_electrodes(electrodes_csv)[list(TARGETS)]
    if not targets.index.equals(index):
        raise ElectrodeMLError(f"the model inputs and {electrodes_csv} hold different electrodes: "
                               f"run `dvc repro inputs` after `prepare`")
    return targets
