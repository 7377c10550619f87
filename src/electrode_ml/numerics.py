"""The numerical environment every command runs in, pinned so that any x86-64-v3 CPU computes the
same bytes.

The libraries choose their kernels per CPU when they load, and kernels that sum in another order
or round a transcendental function another way change the last bits of a result:
- OpenBLAS picks a kernel per CPU model (Haswell, SkylakeX, Zen, ...); matminer's Miedema and
  YangSolidSolution go through its `ddot`.
- numpy uses AVX-512 loops for exp, log and power where the CPU has them, and libm elsewhere;
  matminer's IonProperty, Miedema and YangSolidSolution call them.
- numba (UMAP) compiles for the host CPU; UMAP's layout is chaotic in the last bits.
- oneDNN (in TensorFlow, for MODNet, and in torch) JIT-compiles for the widest vector unit it
  finds; torch's own kernels and MKL dispatch per CPU too.
- TensorFlow runs MODNet's layers through its oneDNN operations by default only on a CPU with
  AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX (Intel since Ice Lake and Cascade Lake, AMD since
  Zen 4; tensorflow/core/util/port.cc), and through Eigen's kernels on any other, which sum in
  another order.
`pin_numerical_environment` fixes each choice to one that every x86-64 CPU with AVX2 and FMA
(Intel since Haswell, 2013; AMD since Zen, 2017) runs, before any of them loads: `cli.main` calls
it first. What each pin costs in time is in docs/reproducibility.md "Reproducibility".
"""
from __future__ import annotations

import os
import platform
from pathlib import Path

AVX512_FEATURES = "AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR"
PINNED_ENVIRONMENT = {
    "OPENBLAS_CORETYPE": "Haswell",
    "NPY_DISABLE_CPU_FEATURES": AVX512_FEATURES,
    "NUMBA_CPU_NAME": "generic",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "TF_ENABLE_ONEDNN_OPTS": "1",
}
REQUIRED_CPU_FLAGS = ("avx2", "fma")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def unpinnable_reason(machine: str | None = None, flags: set[str] | None = None) -> str | None:
    """Why this CPU cannot take the pinned environment, or None when it can."""
    machine = platform.machine() if machine is None else machine
    if machine not in ("x86_64", "AMD64"):
        return f"a CPU of another architecture ({machine}), not x86-64"
    missing = [flag for flag in REQUIRED_CPU_FLAGS if flag not in (cpu_flags() if flags is None else flags)]
    return f"an x86-64 CPU without {' and '.join(flag.upper() for flag in missing)}" if missing else None


def pin_numerical_environment(environ=os.environ) -> str | None:
    """Set `PINNED_ENVIRONMENT` in `environ`, replacing what was there, unless this CPU cannot run
    it; returns why not (the results may then differ from the committed ones in their last digits).
    Only processes that have not loaded numpy, TensorFlow, torch or numba yet are affected."""
    reason = unpinnable_reason()
    if reason is None:
        environ.update(PINNED_ENVIRONMENT)
    return reason
