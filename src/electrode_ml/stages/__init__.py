"""One module per DVC stage, each with a `main(argv)` that reads its own block of params.yaml."""
from __future__ import annotations

import argparse
from pathlib import Path

from electrode_ml import paths
from electrode_ml.params import DEFAULT_PARAMS


def cell_parser(stage: str, description: str) -> argparse.ArgumentParser:
    """The options every model x target cell stage (cv, bootstrap, train) shares."""
    parser = argparse.ArgumentParser(prog=f"electrode-ml {stage}", description=description)
    parser.add_argument("--model", required=True, help="model key, as in params.yaml `models`")
    parser.add_argument("--target", required=True, help="target key, as in params.yaml `targets`")
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--electrodes", type=Path, default=paths.ELECTRODES, help="prepared table (default: %(default)s)")
    parser.add_argument("--features", type=Path, default=paths.FEATURES, help="feature tables (default: %(default)s)")
    return parser
