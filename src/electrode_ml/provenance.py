"""What made a result: profile, hyperparameters, device, library versions, time."""
from __future__ import annotations

import datetime
import os
import platform
from importlib import metadata

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


def device_description() -> str:
    """The accelerator torch would use, else the CPU."""
    try:
        import torch

        if torch.cuda.is_available():
            return f"cuda: {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def run_record(model, profile: str, seconds: float, fits: int) -> dict:
    parameters = {key: (list(value) if isinstance(value, tuple) else value) for key, value in model.get_params().items()}
    return {
        "model": type(model).__name__,
        "hyperparameters": parameters,
        "profile": profile,
        "device": device_description(),
        "fits": fits,
        "seconds": round(seconds, 1),
        "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "versions": library_versions(),
    }
