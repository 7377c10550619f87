"""The command line: library warnings that nobody can act on stay out of the output, others show."""
import subprocess
import sys
import warnings

from electrode_ml.cli import quiet_library_warnings


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
