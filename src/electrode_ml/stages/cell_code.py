"""Stage `cell_code`: one file that stands for the modules every cell runs.

The cells (cv, repeated_cv, bootstrap and train, 54 stages) run the same seventeen modules besides
their own stage module and their model's package. DVC reads and rewrites the whole of dvc.lock at
every stage, and its time there grows with the lock; those modules, listed with their hashes in each
cell, made two fifths of it. This stage lists them once, as its own `deps` in dvc.yaml, and writes
their MD5s to results/code/cells.json, which the cells depend on instead: editing any of them
changes that file and so reruns every cell, as before.
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import yaml

from electrode_ml import paths
from electrode_ml.errors import ElectrodeMLError
from electrode_ml.files import write_json

STAGE = "cell_code"
PIPELINE = Path("dvc.yaml")


def module_digests(pipeline: Path = PIPELINE) -> dict[str, str]:
    """The MD5 of each file this stage depends on, by its path in dvc.yaml."""
    stage = (yaml.safe_load(pipeline.read_text()).get("stages") or {}).get(STAGE)
    if not stage or not stage.get("deps"):
        raise ElectrodeMLError(f"{pipeline} has no stage {STAGE!r} with deps")
    digests = {}
    for dependency in stage["deps"]:
        path = pipeline.parent / dependency
        if not path.is_file():
            raise ElectrodeMLError(f"{pipeline}: {STAGE} depends on {dependency}, which is not a file")
        digests[dependency] = hashlib.md5(path.read_bytes()).hexdigest()
    return digests


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml cell_code", description=__doc__)
    parser.add_argument("--pipeline", type=Path, default=PIPELINE, help="the pipeline file (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=paths.CELL_CODE, help="output file (default: %(default)s)")
    args = parser.parse_args(argv)
    digests = module_digests(args.pipeline)
    write_json({"modules": digests}, args.out)
    print(f"cell_code: the MD5s of {len(digests)} modules in {args.out}")
