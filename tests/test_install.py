"""`make install`'s stamp: the environment counts as installed when it was built from the checkout's
install inputs (their hash), whatever the file times say. A fresh clone, or the checkout mounted into
the Docker image, always has files newer than the environment."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]


def inputs_hash():
    result = subprocess.run(["bash", "scripts/install.sh", "--inputs-hash"], cwd=REPOSITORY,
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def make_question(venv):
    """`make -q install`: 0 when the environment is up to date, 1 when make would install it."""
    return subprocess.run(["make", "--no-print-directory", "-q", "-C", str(REPOSITORY), "install", f"VENV={venv}"],
                          capture_output=True, text=True).returncode


def test_the_running_environment_was_stamped_with_the_hash_of_its_inputs():
    venv = Path(os.environ.get("VENV", REPOSITORY / ".venv"))
    assert (venv / ".installed").read_text().strip() == inputs_hash()


def test_an_old_stamp_with_the_right_hash_is_up_to_date_and_a_wrong_hash_is_not(tmp_path):
    stamp = tmp_path / ".installed"
    stamp.write_text(inputs_hash() + "\n")
    os.utime(stamp, (0, 0))  # 1970: older than every input file
    assert make_question(tmp_path) == 0
    stamp.write_text("0" * 64 + "\n")  # built from other lock files
    os.utime(stamp, None)
    assert make_question(tmp_path) == 1
    stamp.unlink()
    assert make_question(tmp_path) == 1


def test_the_hash_follows_the_contents_of_the_lock(tmp_path):
    copy = tmp_path / "checkout"
    for relative in ["scripts", "requirements", "pyproject.toml"]:
        source = REPOSITORY / relative
        (shutil.copytree if source.is_dir() else shutil.copy)(source, copy / relative)
    hash_of = lambda: subprocess.run(["bash", "scripts/install.sh", "--inputs-hash"], cwd=copy,  # noqa: E731
                                     capture_output=True, text=True, check=True).stdout.strip()
    assert hash_of() == inputs_hash()
    with open(copy / "requirements/constraints.txt", "a") as constraints:
        constraints.write("# one more line\n")
    assert hash_of() != inputs_hash()


def unprivileged_prefix() -> list[str]:
    """A command prefix that runs as a user who may not write where root made files: none needed
    when the tests are not root; CI runs them as root, so there they drop to nobody."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv"):
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "--"]
    pytest.skip("root, with neither setpriv nor runuser to run the script as an unprivileged user")


def test_an_environment_from_other_lock_files_that_cannot_be_rebuilt_is_left_alone():
    prefix = unprivileged_prefix()
    # Not tmp_path: under root it sits in a folder only root may enter. The script is copied there
    # too, since the checkout may sit in root's home; it reads no other file before it refuses.
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        scratch.chmod(0o755)
        shutil.copy(REPOSITORY / "scripts/install.sh", scratch / "install.sh")
        venv = scratch / "venv"
        venv.mkdir()
        (venv / ".installed").write_text("0" * 64 + "\n")
        (venv / "bin").mkdir()
        venv.chmod(0o555)
        try:
            result = subprocess.run([*prefix, "bash", "install.sh"], cwd=scratch, capture_output=True, text=True,
                                    env={**os.environ, "VENV": str(venv)})
        finally:
            venv.chmod(0o755)
        assert result.returncode == 1, result.stderr
        assert "other lock files" in result.stderr and "make docker-build" in result.stderr
        assert (venv / "bin").is_dir() and (venv / ".installed").exists()
