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

from electrode_ml import paths
from electrode_ml.data.targets import TARGETS
from electrode_ml.errors import ElectrodeMLError, MissingInputError
from electrode_ml.files import write_table

FEATURE_SETS = ("magpie", "modnet")  # featurize's REPRESENTATIONS, named without importing them (tests/test_features.py)
ELECTRODES_FILE = "electrodes.csv"  # in a model's input folder


def read_electrodes(electrodes_csv: str | Path) -> pd.DataFrame:
    if not Path(electrodes_csv).exists():
        raise MissingInputError(f"{electrodes_csv} does not exist: run `dvc repro prepare`")
    return pd.read_csv(electrodes_csv).set_index("battery_id")


def model_input_tables(electrodes_csv: str | Path, features_dir: Path,
                       input_sets: tuple[str, ...]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """One model's input folder, built from the prepared table and the feature tables: the
    electrodes without their targets, and each feature set it reads, in the electrodes' order."""
    electrodes = read_electrodes(electrodes_csv)
    features = {}
    for name in input_sets:  # each one of FEATURE_SETS: the model registry refuses any other
        path = paths.feature_table(name, features_dir)
        if not path.exists():
            raise MissingInputError(f"{path} does not exist: run `dvc repro featurize` (with {name!r} in "
                                    f"featurize.representations)")
        table = pd.read_parquet(path)
        missing = electrodes.index.difference(table.index)
        if len(missing):
            raise ElectrodeMLError(f"{path} lacks {len(missing)} electrode(s), e.g. {list(missing[:3])}: rerun featurize")
        features[name] = table.loc[electrodes.index]
    return electrodes.drop(columns=list(TARGETS)), features


def write_model_inputs(electrodes: pd.DataFrame, features: dict[str, pd.DataFrame], model_dir: Path) -> None:
    write_table(electrodes, model_dir / ELECTRODES_FILE, index=True)
    for name, table in features.items():
        write_table(table, paths.feature_table(name, model_dir), index=True)


def load_model_inputs(model_dir: Path, input_sets: tuple[str, ...]) -> pd.DataFrame:
    """A model's `X`, indexed by battery_id, from its input folder: the electrodes, then each
    feature set it reads, prefixed."""
    files = [model_dir / ELECTRODES_FILE, *(paths.feature_table(name, model_dir) for name in input_sets)]
    for path in files:
        if not path.exists():
            raise MissingInputError(f"{path} does not exist: run `dvc repro inputs`")
    features = [pd.read_parquet(path).add_prefix(f"{name}|") for name, path in zip(input_sets, files[1:])]
    return pd.concat([pd.read_csv(files[0]).set_index("battery_id"), *features], axis=1)


def load_targets(electrodes_csv: str | Path, index: pd.Index) -> pd.DataFrame:
    """The prepared targets (one column per target) of the electrodes in `index`, in its order."""
    targets = read_electrodes(electrodes_csv)[list(TARGETS)]
    if not targets.index.equals(index):
        raise ElectrodeMLError(f"the model inputs and {electrodes_csv} hold different electrodes: "
                               f"run `dvc repro inputs` after `prepare`")
    return targets
