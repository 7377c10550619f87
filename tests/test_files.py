import os

import pandas as pd
import pytest

from electrode_ml.files import atomic_path, write_json, write_table


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
