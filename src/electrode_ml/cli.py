"""`electrode-ml <command>`: the pipeline's stages and the user-facing tools.

Each command lives in its own module, imported only when called, so that a command never pays
for (or needs) another's libraries: the crabnet path must run without TensorFlow.
"""
from __future__ import annotations

import importlib
import os
import sys
import warnings

from electrode_ml.errors import ElectrodeMLError
from electrode_ml.numerics import pin_numerical_environment

COMMANDS = {
    "prepare": ("electrode_ml.stages.prepare", "validate the raw CSV (DVC stage)"),
    "featurize": ("electrode_ml.stages.featurize", "Magpie and MODNet features (DVC stage)"),
    "cluster": ("electrode_ml.stages.cluster", "t-SNE/UMAP maps, DBSCAN clusters, ElMD representatives (DVC stage)"),
    "inputs": ("electrode_ml.stages.inputs", "each model's input table, without the targets (DVC stage)"),
    "folds": ("electrode_ml.stages.folds", "stratified group 5-fold assignments (DVC stage)"),
    "cell_code": ("electrode_ml.stages.cell_code", "the MD5s of the modules every cell runs, one file the cells depend on (DVC stage)"),
    "cv": ("electrode_ml.stages.cv", "one model x target x scheme cross-validation cell (DVC stage)"),
    "repeated_cv": ("electrode_ml.stages.repeated_cv", "one model x target on repeated draws of the stratified folds (DVC stage)"),
    "bootstrap": ("electrode_ml.stages.bootstrap", "one model x target learning curve (DVC stage)"),
    "train": ("electrode_ml.stages.train", "one model x target fitted on all data (DVC stage)"),
    "domain": ("electrode_ml.stages.domain", "each held-out electrode's novelty, and the domain predict measures against (DVC stage)"),
    "trust": ("electrode_ml.stages.trust", "one model x target's prediction intervals and their measured coverage (DVC stage)"),
    "candidates": ("electrode_ml.stages.candidates", "new electrodes from the known ones: ion swaps, substitutions (DVC stage)"),
    "screen": ("electrode_ml.stages.screen", "rank candidates by energy density with intervals and novelty (DVC stage; or your own list)"),
    "discovery": ("electrode_ml.stages.discovery", "would a screen have found known electrodes? (DVC stage)"),
    "report": ("electrode_ml.stages.report", "paper/: tables, figures, comparison with the published table (DVC stage)"),
    "predict": ("electrode_ml.commands.predict", "predict the three properties of new compositions"),
    "workers": ("electrode_ml.commands.workers", "one-thread fit workers for a whole run (make reproduce starts them)"),
    "stage-progress": ("electrode_ml.commands.stage_progress", "DVC's output with 'stage k of n' lines (make reproduce pipes through it)"),
    "check-params": ("electrode_ml.commands.check_params", "check params.yaml as a whole before DVC runs (make reproduce does)"),
    "compare": ("electrode_ml.commands.compare", "changed params and SMAE per cell, one column per DVC experiment"),
    "verify": ("electrode_ml.commands.verify", "compare this run's outputs and metrics with the committed ones"),
    "plots-template": ("electrode_ml.commands.plots_template", "a DVC plots page template that works offline (make plots)"),
    "bench": ("electrode_ml.commands.bench", "time stages and CrabNet epochs/s here; paper/PERFORMANCE.md"),
    "crabnet-front": ("electrode_ml.commands.crabnet_front", "CrabNet's SMAE for its seconds per fit on a CPU, over a grid"),
    "download": ("electrode_ml.commands.download", "fetch the data from the Materials Project (needs MP_API_KEY)"),
}


def version() -> str:
    from importlib import metadata

    return metadata.version("electrode-ml")


def quiet_library_warnings() -> None:
    """The libraries' warnings that say nothing a user can act on; every other warning still shows."""
    # pymatgen and matminer warn once per composition (deprecations, impute_nan): thousands of lines.
    for category in (FutureWarning, DeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", message=".*impute_nan.*")
    # ElMD imports pkg_resources (hence setuptools<82 in the lock).
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    # UMAP runs single-threaded when seeded: the price of the same map on every run, which we choose.
    warnings.filterwarnings("ignore", message="n_jobs value .* overridden to 1 by setting random_state",
                            category=UserWarning)


def _usage() -> str:
    lines = [f"usage: electrode-ml <command> [options]   (electrode-ml {version()})", "", "commands:"]
    lines += [f"  {name:<12} {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return
    if argv[0] == "--version":
        print(f"electrode-ml {version()}")
        return
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        sys.exit(f"electrode-ml: unknown command {name!r}\n\n{_usage()}")
    # Before the command's module loads numpy, TensorFlow, torch or numba: they choose their kernels then.
    pin_numerical_environment()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    quiet_library_warnings()
    module = importlib.import_module(COMMANDS[name][0])
    try:
        module.main(rest)
    except ElectrodeMLError as error:
        # Bad data, a bad parameter, a missing file: the message names it, a traceback would bury
        # it. Every other exception is a bug and keeps its traceback.
        if os.environ.get("ELECTRODE_ML_TRACEBACK", "0") not in ("", "0"):
            raise
        sys.exit(f"electrode-ml {name}: {error}\n(set ELECTRODE_ML_TRACEBACK=1 for the traceback)")
    except KeyboardInterrupt:
        # Outputs are written atomically at the end of each command: nothing half-written stays.
        print(f"electrode-ml {name}: interrupted; no output of this run was written", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
