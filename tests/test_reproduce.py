"""`make reproduce` picks the paper profile with a CUDA GPU, quick without, and says why first."""
import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "reproduce.sh"
GPU_LISTED = "echo 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-test)'"
# nvidia-smi where the driver is installed but no GPU is: it says so on stdout and fails.
NO_GPU = "echo 'No devices were found'; exit 6"


def _choose(tmp_path, profile=None, nvidia_smi=None):
    """`reproduce.sh --choose-only` with a PATH of only the tools it calls, and a fake nvidia-smi
    running the shell commands `nvidia_smi` if given: the machine's own nvidia-smi, if it has one,
    must not decide."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("bash", "head"):
        if not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(shutil.which(tool))
    if nvidia_smi is not None:
        fake = bin_dir / "nvidia-smi"
        fake.write_text(f"#!/bin/sh\n{nvidia_smi}\n")
        fake.chmod(0o755)
    env = {"PATH": str(bin_dir), "HOME": os.environ.get("HOME", "/tmp")}
    if profile is not None:
        env["PROFILE"] = profile
    return subprocess.run([str(bin_dir / "bash"), str(SCRIPT), "--choose-only"], capture_output=True, text=True,
                          env=env)


def test_without_a_gpu_it_takes_quick_and_says_why(tmp_path):
    result = _choose(tmp_path)
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].startswith("make reproduce: profile 'quick' (no CUDA GPU")


def test_an_nvidia_smi_that_finds_no_gpu_means_quick(tmp_path):
    result = _choose(tmp_path, nvidia_smi=NO_GPU)
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].startswith("make reproduce: profile 'quick' (no CUDA GPU")


def test_with_a_gpu_it_takes_paper(tmp_path):
    result = _choose(tmp_path, nvidia_smi=GPU_LISTED)
    assert result.stdout.splitlines()[0].startswith("make reproduce: profile 'paper' (a CUDA GPU is present: GPU 0")


def test_profile_overrides_and_bad_names_are_refused(tmp_path):
    assert "profile 'quick' (PROFILE=quick was given" in _choose(tmp_path, profile="quick", nvidia_smi=GPU_LISTED).stdout
    bad = _choose(tmp_path, profile="fast")
    assert bad.returncode == 2 and "PROFILE must be 'paper' or 'quick', not 'fast'" in bad.stderr


def test_dvc_exp_run_set_leaves_params_yaml_as_written(tmp_path):
    """`make reproduce` runs `dvc exp run -S profile=...`, which rewrites params.yaml through ruamel:
    flow-style lists, long lines and some blank lines came back reformatted, leaving git status
    dirty. The committed file is written in the form that rewrite keeps."""
    from dvc.utils.hydra import apply_overrides

    copy = tmp_path / "params.yaml"
    original = (Path(__file__).resolve().parents[1] / "params.yaml").read_text()
    copy.write_text(original)
    apply_overrides(str(copy), ["profile=quick"])
    assert copy.read_text() == original
