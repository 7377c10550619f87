"""The project's error class: problems a user can fix, each message naming the file, row or parameter.

`electrode-ml` prints these as one line; every other exception is a bug (ours or a library's) and
is shown in full, traceback included.
"""
from __future__ import annotations


class ElectrodeMLError(Exception):
    """Bad input, a bad parameter or a missing file: the message says which and what to do."""


class MissingInputError(ElectrodeMLError, FileNotFoundError):
    """A file the command needs does not exist (yet): the message names it and the step that makes it."""
