"""Writing outputs so that a crash never leaves a half-written file behind, and the same result
always writes the same bytes."""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from joblib.numpy_pickle import NumpyPickler

from electrode_ml.errors import ElectrodeMLError


class DiskFullError(ElectrodeMLError, OSError):
    """No space left where an output is written: the message names it and the space left there."""


def disk_full_error(error: OSError, path: Path) -> OSError:
    """`error` as a `DiskFullError` naming `path` (an output being written) where the disk was full,
    else `error` itself. pyarrow reports a full disk as a bare OSError whose errno only its text holds."""
    if getattr(error, "errno", None) not in (errno.ENOSPC, errno.EDQUOT) and "No space left on device" not in str(error):
        return error
    free = shutil.disk_usage(path.parent).free
    return DiskFullError(f"no space left on the device writing {path} ({free / 2**20:.1f} MiB free there); the "
                         f"previous {path.name}, if any, is untouched: free some space and run again")


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside `path`; it replaces `path` only if the block succeeds. A full
    disk is a `DiskFullError` naming `path`: the temporary file goes, `path` stays as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(handle)
    # mkstemp makes the file owner-only; outputs are meant to be read by others (and by Docker).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    except OSError as error:
        if os.path.exists(temporary):  # before `disk_full_error` measures what is left
            os.remove(temporary)
        full = disk_full_error(error, path)
        if full is error:
            raise
        raise full from error
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


@contextmanager
def interrupts_deferred():
    """Hold Ctrl-C (SIGINT) and SIGTERM while a stage writes its set of outputs.

    Each file is written atomically; this makes the set atomic too: an interrupt that arrives
    while the files are written takes effect right after the last one, never between two.
    """
    signals = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_json(data: dict, path: str | Path) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_table(table: pd.DataFrame, path: str | Path, index: bool = False) -> None:
    """CSV or Parquet by suffix."""
    path = Path(path)
    with atomic_path(path) as temporary:
        if path.suffix == ".parquet":
            table.to_parquet(temporary, index=index)
        elif path.suffix == ".csv":
            table.to_csv(temporary, index=index)
        else:
            raise ValueError(f"unsupported table format: {path}")


class _SharedDtypePickler(NumpyPickler):
    """joblib's pickler, writing each plain numpy dtype (float64, int64, bool, object...) once per value.

    A pickle writes an object once per object and refers back to it after, so its bytes depend on
    which arrays share one dtype object, and that depends on how the arrays were made: fitted on
    data that came through pickle (as a Dask worker receives it), a scaler holds copies of float64
    where the same scaler fitted here holds one, and saves to other bytes. make verify found it:
    MODNet's models, fitted in the run's workers, saved other bytes than the same fits in a cell's
    own. Equal dtypes pickle alike, so the first of each value stands for all. Strings are left as
    they are: which of them share an object follows the code path that made the model (a fit here
    or in a worker), and every fit of one model takes the same path (evaluation.validation)."""

    def __init__(self, file, protocol=None):
        super().__init__(file, protocol)
        self._first_of_value = {}

    def save(self, obj):
        if isinstance(obj, np.dtype) and obj.fields is None and obj.subdtype is None and obj.metadata is None:
            obj = self._first_of_value.setdefault(obj.str, obj)
        super().save(obj)


def write_joblib(obj, path: str | Path) -> None:
    """`obj` saved as `joblib.dump` saves it, but in the same bytes whichever dtype objects its arrays
    hold (_SharedDtypePickler): what train writes a fitted model with."""
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        _SharedDtypePickler(handle).dump(obj)
