"""The Docker image: lint-clean, one Dockerfile for users and CI, built from the same lock and install
script as `make install`, a small build context, and a Makefile whose targets work inside it.

CI builds and runs the image itself (`make docker-ci`); these checks are the static part, cheap
enough for `make test`, which never needs Docker.
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPOSITORY / "Dockerfile").read_text()
IMAGE_CHECKOUT = "/home/electrode/electrode-ml"
IMAGE_VENV = "/home/electrode/venv"


def dockerfile_arg(name):
    match = re.search(rf"^ARG {name}=(.*)$", DOCKERFILE, re.MULTILINE)
    assert match, f"the Dockerfile has no default for ARG {name}"
    return match.group(1)


def make(*arguments, **variables):
    """`make` as a fresh shell in the image would run it: no inherited environment."""
    environment = ["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", *(f"{k}={v}" for k, v in variables.items())]
    result = subprocess.run([*environment, "make", "--no-print-directory", "-C", str(REPOSITORY), *arguments],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


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
    assert "TORCH_INDEX_URL" in install


def test_the_lock_pins_every_top_level_requirement():
    def pins(path):
        lines = (REPOSITORY / path).read_text().splitlines()
        return {line.split("#")[0].strip().split("==")[0].lower(): line.split("#")[0].strip().split("==")[1]
                for line in lines if "==" in line.split("#")[0]}

    top, lock = pins("requirements/requirements.txt"), pins("requirements/constraints.txt")
    for name, version in top.items():
        assert lock.get(name) == version, f"{name}=={version} differs in the lock ({lock.get(name)})"
    assert "torch" in lock


def test_one_dockerfile_whose_base_is_a_build_argument():
    dockerfiles = [path for path in REPOSITORY.rglob("*ockerfile*")
                   if ".venv" not in path.parts and path.name != ".dockerignore"]
    assert dockerfiles == [REPOSITORY / "Dockerfile"]
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", DOCKERFILE, re.MULTILINE)
    # Users pull debian:<release>-slim; CI debootstraps the release it reads from this same line.
    release = re.fullmatch(r"debian:([a-z]+)-slim", dockerfile_arg("BASE_IMAGE"))
    assert release, "BASE_IMAGE must default to debian:<release>-slim (scripts/docker_base.sh reads the release)"
    assert "s/^ARG BASE_IMAGE=debian:\\([a-z]*\\)-slim$/\\1/p" in (REPOSITORY / "scripts/docker_base.sh").read_text()
    # Python 3.11 from the distribution, no CUDA base: torch's CUDA wheels bring their own runtime.
    assert "python3.11-venv" in DOCKERFILE and "nvidia/cuda" not in DOCKERFILE


def test_labels_say_where_torch_came_from_and_the_build_checks_them():
    index, build = dockerfile_arg("TORCH_INDEX_URL"), dockerfile_arg("TORCH_BUILD")
    assert index.endswith("/" + build), f"the default index {index} is not the {build} build the label names"
    assert 'io.electrode-ml.torch-build="${TORCH_BUILD}"' in DOCKERFILE
    assert 'io.electrode-ml.torch-source="${TORCH_INDEX_URL:-' in DOCKERFILE
    assert "ELECTRODE_ML_TORCH_BUILD=${TORCH_BUILD}" in DOCKERFILE
    install_step = DOCKERFILE[DOCKERFILE.index("RUN bash scripts/install.sh"):]
    assert 'torch.__version__.endswith("+" + build)' in install_step.split("\n\n")[0]


def dockerignore_excludes(path, patterns):
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    excluded = False
    parts = path.split("/")
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        if any(re.fullmatch(regex, "/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            excluded = not negated
    return excluded


def test_dockerignore_keeps_local_state_out_and_lets_the_copied_files_in():
    patterns = [line.strip() for line in (REPOSITORY / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for local_state in [".venv/bin/python", ".venv.partial/x", "results/cv/control/metrics.json", ".dvc/cache/ab/cdef",
                        ".dvc/tmp/lock", "data/mp_batteries.csv", "scratch/x", ".git/HEAD",
                        "src/electrode_ml/__pycache__/x.pyc", "requirements/__pycache__/x.pyc"]:
        assert dockerignore_excludes(local_state, patterns), f"{local_state} would be sent to the Docker daemon"
    copied = [source for line in re.findall(r"^COPY (?:--\S+ )*(.+)$", DOCKERFILE, re.MULTILINE)
              for source in line.split()[:-1]]
    assert copied
    for source in copied:
        assert (REPOSITORY / source).exists(), source
        assert not dockerignore_excludes(source.rstrip("/") + ("/constraints.txt" if source.endswith("/") else ""),
                                         patterns), f"COPY {source} is kept out of the context by .dockerignore"


@pytest.mark.parametrize("venv, expected", [(IMAGE_VENV, f"{IMAGE_VENV}/bin"), (None, f"{REPOSITORY}/.venv/bin")])
def test_make_puts_the_venv_on_path_whether_venv_is_absolute_or_relative(venv, expected):
    database = make("-pn", "profile", **({"VENV": venv} if venv else {}))
    assert f"PATH := {expected}:/usr/local/bin:/usr/bin:/bin" in database.splitlines()


def test_docker_reproduce_mounts_the_checkout_at_the_images_workdir_and_runs_as_the_host_user():
    assert f"WORKDIR {IMAGE_CHECKOUT}" in DOCKERFILE
    assert f"VENV={IMAGE_VENV}" in DOCKERFILE
    commands = make("-n", "docker-reproduce", IMAGE="electrode-ml:test", DOCKER_USER="1234:5678", SHARED="/x/shared")
    run = " ".join(commands.replace("\\\n", " ").split())  # one line: the recipe continues with backslashes
    run = run[run.index("docker run"):]
    assert "--user 1234:5678" in run and "-e HOME=/tmp" in run
    assert "-v /etc/passwd:/etc/passwd:ro" in run  # dvc looks the user up by uid
    assert f"-v {REPOSITORY}:{IMAGE_CHECKOUT} " in run and "-v /x/shared:/home/electrode/shared:ro " in run
    assert run.endswith("electrode-ml:test make reproduce")


def test_make_test_needs_no_docker_and_ci_runs_the_docker_part_after_it():
    assert "docker" not in make("-n", "test", VENV=IMAGE_VENV).lower()
    ci = [line for line in (REPOSITORY / ".ci/run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci.index("make test") < ci.index("make docker-ci")
