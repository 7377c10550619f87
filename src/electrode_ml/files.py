"""Writing outputs so that a crash never leaves a half-written file behind."""
from __future__ import annotations

import json
import os
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside `path`; it replaces `path` only if the block succeeds."""
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
