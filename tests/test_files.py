import os
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import MinMaxScaler

from electrode_ml.files import atomic_path, write_joblib, write_json, write_table


def _through_pickle(obj):
    """What a Dask worker receives."""
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


@pytest.fixture
def table():
    return pd.DataFrame(np.random.default_rng(0).normal(size=(60, 3)), columns=["a", "b", "c"])


def test_a_failed_write_keeps_the_old_file_and_leaves_no_partial(tmp_path):
    target = tmp_path / "out" / "table.csv"
    write_table(pd.DataFrame({"a": [1]}), target)
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half a tab")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "a\n1\n"
    assert [path.name for path in target.parent.iterdir()] == ["table.csv"]


def test_outputs_are_readable_by_others(tmp_path):
    write_json({"x": 1}, tmp_path / "m.json")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "m.json").stat().st_mode & 0o777 == 0o666 & ~umask


def test_unknown_table_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unsupported table format"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_a_fitted_model_saves_to_the_same_bytes_however_its_data_came(tmp_path, table):
    X = table
    here, from_pickle = MinMaxScaler().fit(X), MinMaxScaler().fit(_through_pickle(X))
    joblib.dump(here, tmp_path / "plain_here.joblib")
    joblib.dump(from_pickle, tmp_path / "plain_from_pickle.joblib")
    # The case to mend: the same values, other bytes.
    assert (tmp_path / "plain_here.joblib").read_bytes() != (tmp_path / "plain_from_pickle.joblib").read_bytes()
    write_joblib(here, tmp_path / "here.joblib")
    write_joblib(from_pickle, tmp_path / "from_pickle.joblib")
    assert (tmp_path / "here.joblib").read_bytes() == (tmp_path / "from_pickle.joblib").read_bytes()
    np.testing.assert_array_equal(joblib.load(tmp_path / "here.joblib").transform(X), here.transform(X))
