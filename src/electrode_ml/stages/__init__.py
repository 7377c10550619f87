"""One module per DVC stage, each with a `main(argv)` that reads its own block of params.yaml."""
from __future__ import annotations

import argparse
from pathlib import Path

from electrode_ml.params import DEFAULT_PARAMS


def cell_parser(stage: str, description: str) -> argparse.ArgumentParser:
    """The options every model x target cell stage (cv, bootstrap, train) shares."""
    parser = argparse.ArgumentParser(prog=f"electrode-ml {stage}", description=description)
    parser.add_argument("--model", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS)
    parser.add_argument("--electrodes", type=Path, default=Path("results/prepared/electrodes.csv"))
    parser.add_argument("--features", type=Path, default=Path("results/features"))
    return parser
