"""Run every CrabNet cell of the paper profile through the stage commands, resumably, and time each.

The cells are the DVC stages `cv@crabnet-<target>-<scheme>`, `bootstrap@crabnet-<target>` and
`train@crabnet-<target>`, run as `electrode-ml cv|bootstrap|train --model crabnet ...` in this
process, so they write what and where the stages write (results/...) and `dvc commit` can record
them afterwards. A cell named in the timings file is done and skipped; the file is rewritten
after every cell, so a run cut short keeps what it finished. A cell is not started when the time
left before `--deadline` is shorter than the longest finished cell of its kind, so the run ends
by itself with its outputs whole. Needs only the cell stages' imports (torch, pandas,
scikit-learn, pyyaml, tqdm, crabnet), no DVC.

The first cell, `parity`, is no DVC stage: the accuracy check against crabnet's own `CrabNet.fit`
measured with its defaults on fold 0 of `StratifiedKFold(n_splits=5, shuffle=True,
random_state=0)` stratified by working ion over all prepared rows. The three targets' models
train together; their SMAE (MAE over the MAE of the training mean on that fold) goes to the
timings file.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

PARITY_FOLD = {"n_splits": 5, "shuffle": True, "random_state": 0}  # crabnet's own fit was measured on fold 0


def parity(params: Path) -> dict:
    """Each target's SMAE on the parity fold, the three models trained together by the batched trainer."""
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import StratifiedKFold

    from electrode_ml import paths
    from electrode_ml.data.targets import TARGET_KEYS
    from electrode_ml.models.registry import make_model
    from electrode_ml.params import model_hyperparameters, pipeline_matrix

    _, targets, _ = pipeline_matrix(params)
    table = pd.read_csv(paths.ELECTRODES)
    train, test = next(StratifiedKFold(**PARITY_FOLD).split(table, table["working_ion"]))
    model = make_model("crabnet", **model_hyperparameters("crabnet", params))
    # One table per target stacked, so the three targets' models form one group of the trainer.
    stacked = pd.concat([table.assign(target=table[TARGET_KEYS[t]]) for t in targets], ignore_index=True)
    fitted = model.fit_many(stacked[["composition"]], stacked["target"],
                            [train + block * len(table) for block in range(len(targets))])
    result = {}
    for target, target_model in zip(targets, fitted):
        y = table[TARGET_KEYS[target]].to_numpy()
        mae = float(np.abs(target_model.predict(table.iloc[test][["composition"]]) - y[test]).mean())
        baseline = float(np.abs(y[train].mean() - y[test]).mean())
        result[target] = {"mae": mae, "smae": mae / baseline, "epochs_run": int(target_model.epochs_run_)}
    return result


def cells(params: Path) -> list[tuple[str, list[str]]]:
    """(DVC stage name, `electrode-ml` arguments) of every CrabNet cell of params.yaml's matrix, parity first."""
    from electrode_ml.params import pipeline_matrix

    _, targets, schemes = pipeline_matrix(params)
    common = ["--model", "crabnet", "--params", str(params)]
    listed = [("parity", [])]
    listed += [(f"cv@crabnet-{t}-{s}", ["cv", *common, "--target", t, "--scheme", s]) for t in targets for s in schemes]
    listed += [(f"bootstrap@crabnet-{t}", ["bootstrap", *common, "--target", t]) for t in targets]
    listed += [(f"train@crabnet-{t}", ["train", *common, "--target", t]) for t in targets]
    return listed


def expected_seconds(name: str, finished: dict[str, float]) -> float:
    """How long cell `name` may take, from the cells finished so far: the longest of its kind (cv,
    bootstrap, train); a kind not seen yet (a bootstrap cell has six times a cv cell's fits) is
    guessed at twice the longest cell of any kind."""
    kind = name.split("@")[0]
    return max((seconds for done, seconds in finished.items() if done.split("@")[0] == kind),
               default=2 * max(finished.values(), default=0.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=Path, required=True, help="a params.yaml whose `profile` is paper")
    parser.add_argument("--timings", type=Path, required=True, help="JSON: seconds per finished cell")
    parser.add_argument("--only", default="", help="comma-separated cell names (default: all)")
    parser.add_argument("--deadline", type=float, default=float("inf"),
                        help="seconds by which the run must end: a cell that might not finish by then is not started")
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
        if time.perf_counter() - began + expected_seconds(name, record["cells"]) > args.deadline:
            print(f"== stopping before {name}: it might not finish in the {args.deadline:.0f} s given; rerun to resume",
                  flush=True)
            break
        print(f"== {name}: " + (f"electrode-ml {' '.join(argv)}" if argv else "three targets on the parity fold"),
              flush=True)
        start = time.perf_counter()
        if argv:
            cli.main(argv)
        else:
            record["parity"] = {"fold": PARITY_FOLD, "targets": parity(args.params)}
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        record["cells"][name] = round(time.perf_counter() - start, 1)
        record["total_seconds"] = round(sum(record["cells"].values()), 1)
        args.timings.parent.mkdir(parents=True, exist_ok=True)
        args.timings.write_text(json.dumps(record, indent=1) + "\n")
        print(f"== {name}: {record['cells'][name]} s (all finished cells: {record['total_seconds']} s)", flush=True)


if __name__ == "__main__":
    main()
