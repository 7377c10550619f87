"""What made a result (run.json) and where and how long it ran (timings.json), kept apart.

A run record holds only what decides the numbers (model, hyperparameters, profile, library
versions), so it hashes the same on every rerun and every machine with the same lock. Wall-clock
seconds, the device and the clock time go to the timings file, which the reproducibility check
(`electrode-ml verify`) leaves out.
"""
from __future__ import annotations

import datetime
import os
import platform
from importlib import metadata
from pathlib import Path

LIBRARIES = ("electrode-ml", "torch", "crabnet", "tensorflow", "modnet", "matminer", "pymatgen", "scikit-learn",
             "umap-learn", "ElMD", "pandas", "numpy")


def library_versions() -> dict:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


# Where the NVIDIA driver lists its GPUs (also inside a container given them): without it torch
# can see no CUDA device, and a stage need not import torch (a second per stage) to learn so.
NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")


def device_description() -> str:
    """The accelerator torch would use, else the CPU."""
    if NVIDIA_GPUS.is_dir():
        try:
            import torch

            if torch.cuda.is_available():
                return f"cuda: {torch.cuda.get_device_name(0)}"
        except ImportError:
            pass
    return f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def run_record(model, profile: str, fits: int) -> dict:
    parameters = {key: (list(value) if isinstance(value, tuple) else value) for key, value in model.get_params().items()}
    return {
        "model": type(model).__name__,
        "hyperparameters": parameters,
        "profile": profile,
        "fits": fits,
        "versions": library_versions(),
    }


def timing_record(seconds: float, **counts) -> dict:
    return {
        "seconds": round(seconds, 1),
        **counts,
        "device": device_description(),
        "python": platform.python_version(),
        "finished_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
