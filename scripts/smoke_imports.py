"""Import every library of the stack: a resolution can pass `pip check` and still fail here."""
import importlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
LIBRARIES = ["torch", "tensorflow", "crabnet.crabnet_", "modnet.models", "modnet.preprocessing",
             "matminer.featurizers.composition", "pymatgen.core", "umap", "ElMD",
             "sklearn.ensemble", "pyarrow", "dask.distributed", "dvc", "smact.screening", "electrode_ml"]

failed = []
for name in LIBRARIES:
    try:
        importlib.import_module(name)
    except Exception as error:  # noqa: BLE001 - every failure is reported, then we exit non-zero
        failed.append(f"{name}: {type(error).__name__}: {error}")
if failed:
    sys.exit("smoke import failed:\n  " + "\n  ".join(failed))
print(f"smoke import ok: {len(LIBRARIES)} libraries")
