"""The Docker image: lint-clean, one Dockerfile for users and CI, built from the same lock and install
script as `make install`, a small build context, and a Makefile whose targets work inside it.

CI builds and runs the image itself (`make docker-ci`, which also compares the image's packages
with the lock); these checks are the part that needs no Docker, cheap enough for `make test`.
"""
import json
import os
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


# Stands in for python3.11, and as `python -m venv DIR` makes DIR/bin/python, python3.11 and pip
# of itself: every call is recorded, nothing is installed. Asked for the interpreter a venv was made
# from (sys._base_executable), it names the original, as a venv's python does.
RECORDING_PYTHON = """#!{python}
import json, os, shutil, sys
with open({log!r}, "a") as log:
    log.write(json.dumps([os.path.basename(sys.argv[0]), *sys.argv[1:]]) + "\\n")
if sys.argv[1:3] == ["-m", "venv"]:
    os.makedirs(os.path.join(sys.argv[3], "bin"))
    for name in ("python", "python3.11", "pip"):
        shutil.copy(sys.argv[0], os.path.join(sys.argv[3], "bin", name))
if sys.argv[1] == "-c" and "_base_executable" in sys.argv[2]:
    print({recorder!r})
"""


@pytest.mark.parametrize("torch_index", ["", dockerfile_arg("TORCH_INDEX_URL")])
def test_the_install_script_installs_the_lock_and_nothing_else(tmp_path, torch_index):
    """scripts/install.sh, as `make install` and the image run it (the image with its torch index),
    against a python that records what it is asked: every pip install is the torch pin read from
    requirements/constraints.txt (its CUDA packages under requirements/cuda.txt), requirements.txt under
    that lock, crabnet.txt, or the package."""
    log, python = _recording_python(tmp_path)
    environment = {name: value for name, value in os.environ.items() if name != "TORCH_INDEX_URL"}
    result = subprocess.run(["bash", "scripts/install.sh"], cwd=REPOSITORY, capture_output=True, text=True,
                            env={**environment, "PYTHON": str(python), "VENV": str(tmp_path / "venv"),
                                 **({"TORCH_INDEX_URL": torch_index} if torch_index else {})})
    assert result.returncode == 0, result.stderr
    pip_calls = [call[1:] for call in map(json.loads, log.read_text().splitlines()) if call[0] == "pip"]
    torch_pin = next(line for line in (REPOSITORY / "requirements/constraints.txt").read_text().splitlines()
                     if line.startswith("torch=="))
    # What each call installs: its arguments less pip's options that choose no package.
    choose_no_package = {"install", "--disable-pip-version-check", "--no-input", "-q", "--no-deps",
                         "--ignore-requires-python", "--no-build-isolation"}
    installs = [[argument for argument in call if argument not in choose_no_package] for call in pip_calls]
    assert all(call[0] == "install" for call in pip_calls)
    assert installs == [[torch_pin, "-c", "requirements/cuda.txt", *(["--index-url", torch_index] if torch_index else [])],
                        ["-r", "requirements/requirements.txt", "-c", "requirements/constraints.txt"],
                        ["-r", "requirements/crabnet.txt"],
                        ["-e", "."]]
    assert (tmp_path / "venv/.installed").exists()  # stamped once all of it went through


def _recording_python(folder):
    log, python = folder / "calls.jsonl", folder / "python3.11"
    python.write_text(RECORDING_PYTHON.format(python=sys.executable, log=str(log), recorder=str(python)))
    python.chmod(0o755)
    return log, python


def test_a_rebuild_under_make_does_not_lose_its_interpreter_with_the_old_venv(tmp_path):
    """`make` puts the venv's bin first on PATH, so python3.11 is the old venv's own, which the
    rebuild deletes before it makes the new venv."""
    log, python = _recording_python(tmp_path)
    venv = tmp_path / "venv"
    environment = {**os.environ, "VENV": str(venv)}
    first = subprocess.run(["bash", "scripts/install.sh"], cwd=REPOSITORY, capture_output=True, text=True,
                           env={**environment, "PYTHON": str(python)})
    assert first.returncode == 0, first.stderr
    environment.pop("PYTHON", None)
    again = subprocess.run(["bash", "scripts/install.sh"], cwd=REPOSITORY, capture_output=True, text=True,
                           env={**environment, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"})
    assert again.returncode == 0, again.stderr
    assert (venv / ".installed").exists()


def pins(*paths):
    """name -> version of every `name==version` line of the requirement files, comments dropped."""
    lines = [line.split("#")[0].strip() for path in paths for line in (REPOSITORY / path).read_text().splitlines()]
    return dict(line.lower().split("==") for line in lines if "==" in line)


def test_the_lock_pins_every_top_level_requirement():
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
    cuda = (REPOSITORY / "requirements/cuda.txt").read_text()
    assert build.startswith("cu") and f"torch.version.cuda {build[2:4]}.{build[4:]}" in cuda, \
        f"the default build {build} is not the CUDA build requirements/cuda.txt pins"
    assert index == "https://pypi.org/simple", f"the default index {index} is not PyPI's, whose Linux torch is the CUDA build"
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


def test_make_test_needs_no_docker(tmp_path):
    """What `make test` would run from nothing (environment, data, tests): no command of it is docker."""
    commands = make("-n", "test", VENV=str(tmp_path / "venv")).splitlines()
    assert commands[-1].split()[1:] == ["-m", "pytest", "-q"]
    # Each word by its file name: the temporary folder may be named after this test.
    words = [Path(word).name for command in commands for word in command.split()]
    assert not [word for word in words if word == "docker" or word.startswith("docker-")]  # nor a docker-* target


# Stand-ins for what scripts/docker_ci_image.sh runs in the image; each answers as the image
# would, from the test's environment.
IMAGE_TOOLS = {
    "pip": 'printf "%s\\n" "$FROZEN"',
    "python": 'echo "$TORCH_CUDA $CUDA_AVAILABLE"',
    "make": 'case "$*" in *profile*) echo "make reproduce: profile \'quick\' (no CUDA GPU: ...)";; esac',
    "dvc": 'case "$1" in status) echo "Data and pipelines are up to date.";; esac',
}


@pytest.mark.parametrize("change, complaint", [
    (None, None),
    ("nvidia-cublas", "nvidia-cublas: locked"),
    ("torch.version.cuda", "torch.version.cuda is 12.8, not the 13.0 that requirements/cuda.txt names"),
    ("a GPU", "torch.cuda.is_available() is True"),
])
def test_the_checks_in_the_image_fail_on_a_package_off_the_lock_or_the_wrong_torch(tmp_path, change, complaint):
    """scripts/docker_ci_image.sh, with stand-ins for pip, python, make and dvc: it passes on the
    image as built (every pin at its version, torch with its local tag) and names what differs."""
    for name, body in IMAGE_TOOLS.items():
        (tmp_path / name).write_text(f"#!/bin/sh\n{body}\n")
        (tmp_path / name).chmod(0o755)
    locked = pins("requirements/constraints.txt", "requirements/cuda.txt")
    installed = {**locked, "torch": locked["torch"] + "+cu130",
                 **({"nvidia-cublas": "13.0.0"} if change == "nvidia-cublas" else {})}
    frozen = [f"{name}=={version}" for name, version in installed.items()]
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/pip").symlink_to(tmp_path / "pip")  # the script asks $VENV/bin/pip
    environment = {"PATH": f"{tmp_path}:/usr/bin:/bin", "VENV": str(tmp_path), "FROZEN": "\n".join(frozen),
                   "TORCH_CUDA": "12.8" if change == "torch.version.cuda" else "13.0",
                   "CUDA_AVAILABLE": str(change == "a GPU")}
    result = subprocess.run(["bash", "scripts/docker_ci_image.sh", "prepare"], cwd=REPOSITORY, env=environment,
                            capture_output=True, text=True)
    if complaint is None:
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"{len(locked)} pins of constraints.txt and cuda.txt, each at its version" in result.stdout
        assert "all passed" in result.stdout
    else:
        assert result.returncode != 0 and complaint in result.stderr, result.stdout + result.stderr
