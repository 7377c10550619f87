"""The command line: its usage, version and unknown commands; a user's error as one line (its
traceback on request); library warnings that nobody can act on stay out of the output, others show."""
import os
import subprocess
import sys
import warnings
from importlib import metadata

import pytest

from electrode_ml.cli import COMMANDS, quiet_library_warnings


def test_only_the_library_warnings_nobody_can_act_on_are_hidden():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_library_warnings()
        warnings.warn("pkg_resources is deprecated as an API. See https://setuptools.pypa.io/", UserWarning)
        warnings.warn("n_jobs value 1 overridden to 1 by setting random_state. Use no seed for parallelism.",
                      UserWarning)
        warnings.warn("a warning a user should see", UserWarning)
    assert [str(warning.message) for warning in caught] == ["a warning a user should see"]


def test_importing_elmd_under_the_cli_filters_is_silent():
    code = "from electrode_ml.cli import quiet_library_warnings; quiet_library_warnings(); import ElMD"
    loud = subprocess.run([sys.executable, "-W", "default", "-c", "import ElMD"], capture_output=True, text=True)
    quiet = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True)
    assert quiet.returncode == 0, quiet.stderr
    assert "pkg_resources" in loud.stderr  # the library still warns: otherwise this test proves nothing
    assert "pkg_resources" not in quiet.stderr


def _electrode_ml(*args, cwd, **environment):
    """The command line in a fresh process, without a traceback setting inherited from the caller."""
    inherited = {key: value for key, value in os.environ.items() if key != "ELECTRODE_ML_TRACEBACK"}
    return subprocess.run([sys.executable, "-m", "electrode_ml.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**inherited, **environment})


def _listed_commands(usage: str) -> list[str]:
    """The command names of the usage's listing, in order."""
    return [line.split()[0] for line in usage.split("commands:\n", 1)[1].splitlines()]


@pytest.mark.parametrize("arguments", [["--help"], ["-h"], []], ids=["--help", "-h", "no-arguments"])
def test_help_lists_every_command(arguments, tmp_path):
    result = _electrode_ml(*arguments, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: electrode-ml <command> [options]")
    assert _listed_commands(result.stdout) == list(COMMANDS)


def test_unknown_command_is_named_with_the_usage(tmp_path):
    result = _electrode_ml("frobnicate", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("electrode-ml: unknown command 'frobnicate'\n")
    assert _listed_commands(result.stderr) == list(COMMANDS)


def test_version_is_the_installed_distributions(tmp_path):
    result = _electrode_ml("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"electrode-ml {metadata.version('electrode-ml')}\n"


def test_a_users_error_is_one_line_and_the_traceback_only_on_request(tmp_path):
    # `predict --csv` with no such file: a MissingInputError, raised before any model or library loads.
    absent = tmp_path / "absent.csv"
    plain = _electrode_ml("predict", "--csv", str(absent), cwd=tmp_path)
    assert plain.returncode == 1
    assert plain.stderr.splitlines() == [f"electrode-ml predict: {absent} does not exist",
                                         "(set ELECTRODE_ML_TRACEBACK=1 for the traceback)"]
    switched_off = _electrode_ml("predict", "--csv", str(absent), cwd=tmp_path, ELECTRODE_ML_TRACEBACK="0")
    assert switched_off.stderr == plain.stderr
    traced = _electrode_ml("predict", "--csv", str(absent), cwd=tmp_path, ELECTRODE_ML_TRACEBACK="1")
    assert traced.returncode == 1
    assert traced.stderr.startswith("Traceback (most recent call last):")
    assert traced.stderr.splitlines()[-1] == f"electrode_ml.errors.MissingInputError: {absent} does not exist"
