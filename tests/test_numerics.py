"""The numerical environment is pinned, so another CPU computes the committed bytes.

Another CPU is emulated on this one by the switches through which the libraries choose their
kernels: OpenBLAS's core type, numpy's SIMD features, numba's target, oneDNN's and torch's
instruction sets, TensorFlow's choice of oneDNN or Eigen. Unpinned, these change the MODNet
features, MODNet, CrabNet or the UMAP map; pinned, nothing may change.
"""
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from electrode_ml import numerics

WORKLOAD = Path(__file__).with_name("numerics_workload.py")
# What another x86-64 CPU would choose by itself: an older OpenBLAS kernel, no AVX-512 or AVX2 in
# numpy, numba compiling for another model, oneDNN and torch at SSE4, and TensorFlow on Eigen's
# kernels instead of oneDNN's (what it takes on a CPU without VNNI, BF16 or AMX).
ANOTHER_CPU = {
    "OPENBLAS_CORETYPE": "Prescott",
    "NPY_DISABLE_CPU_FEATURES": f"{numerics.AVX512_FEATURES} AVX2 FMA3 F16C AVX",
    "NUMBA_CPU_NAME": "nehalem",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "ATEN_CPU_CAPABILITY": "default",
    "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    "TF_ENABLE_ONEDNN_OPTS": "0",
}


def run_workload(raw_csv: Path, out: Path, environment: dict, *flags: str) -> dict[str, bytes]:
    env = {key: value for key, value in os.environ.items() if key not in ANOTHER_CPU}
    result = subprocess.run([sys.executable, str(WORKLOAD), str(raw_csv), str(out), *flags],
                            env={**env, **environment, "PYTHONWARNINGS": "ignore"}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return {path.name: path.read_bytes() for path in sorted(out.iterdir())}


@pytest.mark.skipif(numerics.unpinnable_reason() is not None, reason="the pin needs an x86-64 CPU with AVX2 and FMA")
@pytest.mark.slow  # four workloads, each in two environments and two processes: about 2 minutes
def test_another_cpu_computes_the_same_bytes_when_pinned(tmp_path):
    raw_csv = Path(__file__).resolve().parents[1] / "data" / "mp_batteries.csv"
    here = run_workload(raw_csv, tmp_path / "here", {})
    there = run_workload(raw_csv, tmp_path / "there", ANOTHER_CPU)
    assert list(here) == ["crabnet_predictions.bin", "modnet_features.bin", "modnet_predictions.bin", "umap.bin"]
    assert [name for name in here if here[name] != there[name]] == []


@pytest.mark.skipif(numerics.unpinnable_reason() is not None, reason="the pin needs an x86-64 CPU with AVX2 and FMA")
@pytest.mark.slow  # two workloads unpinned: about a minute
def test_unpinned_another_cpu_computes_other_bytes(tmp_path):
    """The negative control of the test above: without the pins, the emulated CPU changes the
    bytes, so that their equality pinned is the pins' doing. A part this CPU cannot perturb is
    named (a warning); the test fails only if none moves."""
    raw_csv = Path(__file__).resolve().parents[1] / "data" / "mp_batteries.csv"
    here = run_workload(raw_csv, tmp_path / "here", {}, "--unpinned")
    there = run_workload(raw_csv, tmp_path / "there", ANOTHER_CPU, "--unpinned")
    moved = [name for name in here if here[name] != there[name]]
    unmoved = [name for name in here if name not in moved]
    if unmoved:
        warnings.warn(f"this CPU's emulation of another moves no byte of {unmoved}: for those the pinned "
                      "equality shows nothing here", UserWarning)
    assert moved, "unpinned, the emulated CPU computed every part in the same bytes: the pins are not shown to matter"


def test_the_command_line_pins_before_a_command_loads(tmp_path):
    """`electrode-ml` sets the pins before it imports the command's module (and so numpy & co)."""
    probe = tmp_path / "probe_command.py"
    probe.write_text("import os, sys\n"
                     "def main(argv):\n"
                     "    print(os.environ.get('OPENBLAS_CORETYPE'), 'numpy' in sys.modules)\n")
    code = ("import sys; from electrode_ml import cli; cli.COMMANDS['probe'] = ('probe_command', ''); "
            "cli.main(['probe'])")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]),
                                 "OPENBLAS_CORETYPE": "Prescott"})
    assert result.returncode == 0, result.stderr
    expected = "Prescott" if numerics.unpinnable_reason() else numerics.PINNED_ENVIRONMENT["OPENBLAS_CORETYPE"]
    assert result.stdout.split() == [expected, "False"]


@pytest.mark.parametrize("machine, flags, reason", [
    ("x86_64", {"sse2", "avx", "avx2", "fma"}, None),
    ("x86_64", {"sse2", "avx"}, "an x86-64 CPU without AVX2 and FMA"),
    ("aarch64", set(), "a CPU of another architecture (aarch64), not x86-64"),
])
def test_the_pin_needs_avx2_and_fma(machine, flags, reason):
    assert numerics.unpinnable_reason(machine, flags) == reason


def test_the_pin_replaces_what_the_environment_held(monkeypatch):
    monkeypatch.setattr(numerics, "unpinnable_reason", lambda: None)
    environ = {"OPENBLAS_CORETYPE": "Prescott", "HOME": "/home/x"}
    assert numerics.pin_numerical_environment(environ) is None
    assert environ == {**numerics.PINNED_ENVIRONMENT, "HOME": "/home/x"}
    monkeypatch.setattr(numerics, "unpinnable_reason", lambda: "a CPU of another architecture (riscv64), not x86-64")
    environ = {"OPENBLAS_CORETYPE": "Prescott"}
    assert numerics.pin_numerical_environment(environ) == "a CPU of another architecture (riscv64), not x86-64"
    assert environ == {"OPENBLAS_CORETYPE": "Prescott"}
