import os
import warnings
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)

REPOSITORY = Path(__file__).resolve().parents[1]
REAL_DATA = REPOSITORY / "data" / "mp_batteries.csv"


@pytest.fixture(scope="session")
def real_raw() -> pd.DataFrame:
    """The DVC-tracked data set, as text (`make test` runs `dvc pull` first)."""
    from electrode_ml.data.electrodes import load_raw

    if not REAL_DATA.exists():
        pytest.fail(f"{REAL_DATA} is missing: run `make data` (dvc pull)")
    return load_raw(REAL_DATA)


@pytest.fixture(scope="session")
def raw_sample(real_raw) -> pd.DataFrame:
    """150 real rows, every working ion present, the same rows on every run."""
    per_ion = real_raw.groupby("Working Ion", group_keys=False).apply(lambda rows: rows.sample(min(len(rows), 5), random_state=0))
    rest = real_raw.drop(per_ion.index).sample(150 - len(per_ion), random_state=0)
    return pd.concat([per_ion, rest]).reset_index(drop=True)


@pytest.fixture(scope="session")
def model_inputs_sample(real_raw):
    """300 real electrodes: the model-input table (composition, prefixed features) and the targets
    beside it, which tests take out of `X` as the pipeline does."""
    from electrode_ml.data.electrodes import prepare_electrodes
    from electrode_ml.features.representations import MagpieFeatures, ModnetFeatures, featurize_unique

    electrodes = prepare_electrodes(real_raw.sample(300, random_state=1)).electrodes
    table = electrodes.set_index("battery_id")
    for representation in (MagpieFeatures(), ModnetFeatures()):
        features = featurize_unique(representation, electrodes, progress=False)
        table = table.join(features.add_prefix(f"{representation.name}|"))
    return table


# Hypothesis (tests/test_properties.py): `make test` runs a bounded, derandomized profile (the same
# examples on every run); `make test-all` sets HYPOTHESIS_PROFILE=deep for many more, drawn afresh.
from hypothesis import settings  # noqa: E402

settings.register_profile("bounded", max_examples=60, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("deep", max_examples=1500, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "bounded"))


# The fault suite (`make faults`, tests/test_faults.py) records each fault it injects and what
# followed; with FAULTS_TABLE set, the records become the table docs/errors.md "Faults survived" shows.
FAULT_COLUMNS = ("Fault", "What happened", "Recovery", "Bytes after recovery")


@pytest.fixture(scope="session")
def fault_log():
    records: list[dict] = []
    yield records
    table = os.environ.get("FAULTS_TABLE")
    if table and records:
        # A run of some of the faults replaces their rows and keeps the others'.
        rows = {line.split(" | ")[0].removeprefix("| "): line
                for line in (Path(table).read_text().splitlines()[2:] if Path(table).exists() else [])}
        rows.update({record["Fault"]: "| " + " | ".join(str(record[column]) for column in FAULT_COLUMNS) + " |"
                     for record in records})
        lines = ["| " + " | ".join(FAULT_COLUMNS) + " |", "|" + "---|" * len(FAULT_COLUMNS)]
        Path(table).write_text("\n".join(lines + [rows[fault] for fault in sorted(rows)]) + "\n")
