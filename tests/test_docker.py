"""The CUDA image: lint-clean, and built from the same lock and install script as `make install`."""
import re
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPOSITORY / "Dockerfile").read_text()


def test_hadolint_passes():
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), str(REPOSITORY / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_installs_from_the_same_lock_as_make_install():
    makefile = (REPOSITORY / "Makefile").read_text()
    assert "bash scripts/install.sh" in makefile
    assert "RUN bash scripts/install.sh" in DOCKERFILE
    assert "COPY --chown=electrode:electrode requirements/ requirements/" in DOCKERFILE
    # No package is installed in the image except through the install script.
    assert not re.search(r"pip3? install", DOCKERFILE)
    install = (REPOSITORY / "scripts/install.sh").read_text()
    # The script pins nothing itself: every version comes from requirements/.
    assert not re.search(r"[A-Za-z0-9_-]+==\d", install)
    assert "requirements/constraints.txt" in install and "requirements/crabnet.txt" in install


def test_the_lock_pins_every_top_level_requirement():
    def pins(path):
        lines = (REPOSITORY / path).read_text().splitlines()
        return {line.split("#")[0].strip().split("==")[0].lower(): line.split("#")[0].strip().split("==")[1]
                for line in lines if "==" in line.split("#")[0]}

    top, lock = pins("requirements/requirements.txt"), pins("requirements/constraints.txt")
    for name, version in top.items():
        assert lock.get(name) == version, f"{name}=={version} differs in the lock ({lock.get(name)})"
    assert "torch" in lock


def test_dockerignore_keeps_local_state_out():
    ignored = (REPOSITORY / ".dockerignore").read_text().split()
    assert {".venv", "results"} <= set(ignored)
