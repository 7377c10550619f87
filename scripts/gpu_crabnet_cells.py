"""Run every CrabNet cell of the paper profile through the stage commands, resumably, and time each.

The cells are the DVC stages `cv@crabnet-<target>-<scheme>`, `bootstrap@crabnet-<target>` and
`train@crabnet-<target>`, run as `electrode-ml cv|bootstrap|train --model crabnet ...` in this
process, so they write what and where the stages write (results/...) and `dvc commit` can record
them afterwards. A cell named in the timings file is done and skipped; the file is rewritten
after every cell, so a run cut short keeps what it finished. Needs only the cell stages' imports
(torch, pandas, scikit-learn, pyyaml, tqdm, crabnet), no DVC.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

TARGETS = ("grav_capacity", "vol_capacity", "voltage")
SCHEMES = ("stratified5", "loco")


def cells(params: Path) -> list[tuple[str, list[str]]]:
    common = ["--model", "crabnet", "--params", str(params)]
    listed = [(f"cv@crabnet-{t}-{s}", ["cv", *common, "--target", t, "--scheme", s]) for t in TARGETS for s in SCHEMES]
    listed += [(f"bootstrap@crabnet-{t}", ["bootstrap", *common, "--target", t]) for t in TARGETS]
    listed += [(f"train@crabnet-{t}", ["train", *common, "--target", t]) for t in TARGETS]
    return listed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=Path, required=True, help="a params.yaml whose `profile` is paper")
    parser.add_argument("--timings", type=Path, required=True, help="JSON: seconds per finished cell")
    parser.add_argument("--only", default="", help="comma-separated cell names (default: all)")
    parser.add_argument("--stop-after", type=float, default=float("inf"),
                        help="seconds after which no new cell starts (a cell cut off by a time limit is lost)")
    args = parser.parse_args()
    import torch

    from electrode_ml import cli

    os.environ.setdefault("ELECTRODE_ML_TRACEBACK", "1")
    record = json.loads(args.timings.read_text()) if args.timings.exists() else {"cells": {}}
    record["machine"] = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.machine(),
                         "torch": torch.__version__, "python": platform.python_version()}
    wanted = set(filter(None, args.only.split(",")))
    began = time.perf_counter()
    for name, argv in cells(args.params):
        if name in record["cells"] or (wanted and name not in wanted):
            continue
        if time.perf_counter() - began > args.stop_after:
            print(f"== stopping before {name}: {args.stop_after:.0f} s have passed; rerun to resume", flush=True)
            break
        print(f"== {name}: electrode-ml {' '.join(argv)}", flush=True)
        start = time.perf_counter()
        cli.main(argv)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        record["cells"][name] = round(time.perf_counter() - start, 1)
        record["total_seconds"] = round(sum(record["cells"].values()), 1)
        args.timings.parent.mkdir(parents=True, exist_ok=True)
        args.timings.write_text(json.dumps(record, indent=1) + "\n")
        print(f"== {name}: {record['cells'][name]} s (all finished cells: {record['total_seconds']} s)", flush=True)


if __name__ == "__main__":
    main()
