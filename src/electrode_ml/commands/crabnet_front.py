"""`electrode-ml crabnet-front` (`make crabnet-front`): CrabNet's accuracy for its time on a CPU.

Fits CrabNet (crabnet's own loop, one thread per worker process, as the pipeline's fit workers
run it) over a grid of sizes, head widths, epochs and batch sizes, and records each fit's SMAE and
seconds in `benchmarks/crabnet_front.jsonl`, one line per fit, written as each fit ends: a run
stopped at any point keeps its finished fits, and the next run skips them (resumable).

Two test folds, both fold 0 of five:
- `reference`: `StratifiedKFold(5, shuffle=True, random_state=0)` by working ion over every prepared
  row, ungrouped: the fold on which crabnet's defaults (300 epochs) were measured on a CUDA GPU,
  `gpu_reference()`, so each point's distance to the published-size model is known;
- `grouped`: fold 0 of the pipeline's stratified group folds (results/folds/stratified5.csv), where
  no reduced composition of the test part is in training (one seed: a check that the ranking of
  the points holds there).
`--render` writes the table into paper/PERFORMANCE.md (`front_section`) from the records alone; the
report stage draws the figure (paper/figures/performance/crabnet_front.png) from them.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

from electrode_ml import paths
from electrode_ml.errors import ElectrodeMLError
from electrode_ml.paths import CRABNET_FRONT_FIGURE as FIGURE
from electrode_ml.reporting.crabnet_cpu_front import (
    BAR,
    BUDGET_SHARE,
    RECORDS,
    SEEDS,
    TARGETS,
    TODAY,
    choice,
    gpu_reference,
    on_front,
    read_records,
    record_key,
    reference_table,
    summary,
)

REFERENCE_FOLD = {"n_splits": 5, "shuffle": True, "random_state": 0}  # where the GPU reference was measured


@dataclass(frozen=True)
class FrontPoint:
    """One CrabNet configuration of the grid."""

    d_model: int = 64
    N: int = 1
    dim_feedforward: int = 128
    out_hidden: tuple[int, ...] = (128, 64)
    epochs: int = 40
    epochs_step: int = 4
    batch_size: int | None = 256

    @property
    def name(self) -> str:
        head = "x".join(str(width) for width in self.out_hidden)
        return (f"d{self.d_model}-N{self.N}-ff{self.dim_feedforward}-head{head}-e{self.epochs}s{self.epochs_step}"
                f"-b{self.batch_size or 'auto'}")

    def hyperparameters(self) -> dict:
        return {"d_model": self.d_model, "N": self.N, "dim_feedforward": self.dim_feedforward,
                "out_hidden": list(self.out_hidden), "epochs": self.epochs, "epochs_step": self.epochs_step,
                "batch_size": self.batch_size}


DEFAULT_HEAD = (1024, 512, 256, 128)
# In the order they run: the pipeline's model before the front, then the small head at more epochs
# and smaller batches (on a CPU a step's cost is per formula, so a smaller batch buys more updates
# for the same time), then wider and deeper models.
GRID = (
    FrontPoint(out_hidden=DEFAULT_HEAD, epochs=10, epochs_step=5),
    FrontPoint(epochs=10, epochs_step=5),
    FrontPoint(epochs=40, epochs_step=4),
    FrontPoint(epochs=60, epochs_step=6),
    FrontPoint(epochs=40, epochs_step=4, batch_size=128),
    FrontPoint(epochs=40, epochs_step=4, batch_size=64),
    FrontPoint(epochs=60, epochs_step=6, batch_size=128),
    FrontPoint(epochs=60, epochs_step=3),
    FrontPoint(epochs=80, epochs_step=8),
    FrontPoint(epochs=30, epochs_step=3, batch_size=64),
    FrontPoint(d_model=128, dim_feedforward=256, out_hidden=(256, 128), epochs=40, epochs_step=4),
    FrontPoint(N=2, epochs=40, epochs_step=4),
    FrontPoint(dim_feedforward=256, out_hidden=(256, 128), epochs=40, epochs_step=4),
    FrontPoint(d_model=128, dim_feedforward=256, epochs=30, epochs_step=3, batch_size=128),
)
# crabnet's defaults (d_model 512, 3 layers, its head and batch size) for a few epochs: how far
# their curve runs on a CPU. Voltage and one seed only: about 42 s per epoch.
DEFAULTS = tuple(FrontPoint(d_model=512, N=3, dim_feedforward=2048, out_hidden=DEFAULT_HEAD, epochs=epochs,
                            epochs_step=epochs // 2, batch_size=None) for epochs in (2, 4))


@dataclass(frozen=True)
class Fit:
    point: FrontPoint
    fold: str
    seed: int
    target: str
    environment: tuple[tuple[str, str], ...] = ()  # variables set in the worker before torch loads

    @property
    def key(self) -> tuple:
        return (self.point.name, self.fold, self.seed, self.target, self.environment)


def planned_fits() -> list[Fit]:
    """Every fit of the study, in the order they run: the reference fold first (the bar is set
    there), then crabnet's defaults, then the grouped fold."""
    fits = [Fit(point, "reference", seed, target) for point in GRID for seed in SEEDS for target in TARGETS]
    fits += [Fit(point, "reference", SEEDS[0], "voltage") for point in DEFAULTS]
    fits += [Fit(point, "grouped", SEEDS[0], target) for point in GRID for target in TARGETS]
    return fits


def fold_rows(electrodes: pd.DataFrame, fold: str, grouped_folds: Path = paths.fold_file("stratified5")
              ) -> tuple[np.ndarray, np.ndarray]:
    """(training, test) row positions of `fold` in the prepared table."""
    if fold == "reference":
        from sklearn.model_selection import StratifiedKFold

        return next(StratifiedKFold(**REFERENCE_FOLD).split(electrodes, electrodes["working_ion"]))
    if fold == "grouped":
        number = electrodes[["battery_id"]].merge(pd.read_csv(grouped_folds), on="battery_id", how="left")["fold"]
        if number.isna().any():
            raise ElectrodeMLError(f"{grouped_folds} has no fold for some prepared electrodes: run `dvc repro folds`")
        return np.flatnonzero(number.to_numpy() != 0), np.flatnonzero(number.to_numpy() == 0)
    raise ElectrodeMLError(f"unknown fold {fold!r}: 'reference' or 'grouped'")


def run_fit(fit: Fit, electrodes_path: str) -> dict:
    """One fit in a worker process of one thread; its record."""
    os.environ.update(dict(fit.environment))
    import torch

    from electrode_ml.commands.bench import bench_device
    from electrode_ml.data.targets import TARGET_KEYS
    from electrode_ml.models.crabnet import CrabNetRegressor

    torch.set_num_threads(1)
    electrodes = pd.read_csv(electrodes_path)
    train, test = fold_rows(electrodes, fit.fold)
    y = electrodes[TARGET_KEYS[fit.target]].to_numpy(dtype=float)
    X = electrodes[["composition"]]
    model = CrabNetRegressor(trainer="crabnet", device="cpu", random_state=fit.seed, **fit.point.hyperparameters())
    start = time.perf_counter()
    model.fit(X.iloc[train], y[train])
    seconds = time.perf_counter() - start
    mae = float(np.abs(model.predict(X.iloc[test]) - y[test]).mean())
    baseline = float(np.abs(y[train].mean() - y[test]).mean())
    return {"point": fit.point.name, "hyperparameters": fit.point.hyperparameters(), "fold": fit.fold,
            "seed": fit.seed, "target": fit.target, "environment": dict(fit.environment), "seconds": round(seconds, 2), "epochs_run": int(model.epochs_run_),
            "mae": round(mae, 5), "smae": round(mae / baseline, 5), "load_average": round(os.getloadavg()[0], 2),
            "cpu": bench_device(), "torch_threads": torch.get_num_threads()}


def pinned_fits(point_name: str, environment: dict) -> list[Fit]:
    """`point_name`'s reference-fold fits of the first seed, run under `environment` (for example
    MKL_CBWR=COMPATIBLE): its cost and whether it moves the bytes, against the same fits unpinned."""
    points = {point.name: point for point in GRID}
    if point_name not in points:
        raise ElectrodeMLError(f"--pinned-point: no grid point {point_name!r}; one of {sorted(points)}")
    return [Fit(points[point_name], "reference", SEEDS[0], target, tuple(sorted(environment.items())))
            for target in TARGETS]


def missing_fits(path: Path = RECORDS, planned: list[Fit] | None = None) -> list[Fit]:
    """The fits of `planned` (default: the study's) that `path` has no record of, in their order."""
    done = {record_key(record) for record in read_records(path)}
    return [fit for fit in (planned_fits() if planned is None else planned) if fit.key not in done]


def run(workers: int, limit: int | None = None, path: Path = RECORDS, planned: list[Fit] | None = None) -> int:
    """Run the fits of `planned` not yet recorded (at most `limit`), `workers` at a time; the number run."""
    missing = missing_fits(path, planned)
    todo = missing[:limit]
    print(f"crabnet-front: {len(planned_fits() if planned is None else planned) - len(missing)} fits recorded, "
          f"{len(todo)} to run on {workers} workers of one thread")
    if not todo:
        return 0
    # One thread per worker, set before torch loads in it (the workers are fresh processes).
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = "1"
    path.parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool, path.open("a") as records:
        futures = {pool.submit(run_fit, fit, str(paths.ELECTRODES)): fit for fit in todo}
        for number, future in enumerate(as_completed(futures), 1):
            record = future.result()
            records.write(json.dumps(record, sort_keys=True) + "\n")
            records.flush()
            print(f"crabnet-front: {number}/{len(todo)} {record['point']} {record['fold']} seed {record['seed']} "
                  f"{record['target']}: SMAE {record['smae']:.3f} in {record['seconds']:.1f} s", flush=True)
    return len(todo)


def front_section(records: list[dict]) -> list[str]:
    """PERFORMANCE.md's section on the front, from the records alone."""
    if not records:
        return []
    table = reference_table(records)
    grouped = summary(records)
    grouped = grouped[grouped["fold"] == "grouped"].set_index("point")
    chosen = choice(records)["point"]
    bar = ", ".join(f"{t} {gpu_reference()[t] + BAR:.3f}" for t in TARGETS)
    lines = ["", "## CrabNet's accuracy for its time on a CPU (`make crabnet-front`)", "",
             f"crabnet's own loop, one thread per fit, two fits at a time ({records[0]['cpu']}). SMAE on fold 0 of",
             "`StratifiedKFold(5, shuffle=True, random_state=0)` by working ion (ungrouped: where crabnet's defaults",
             f"reached {', '.join(f'{t} {v}' for t, v in gpu_reference().items())} at 300 epochs on a CUDA GPU), the mean over "
             f"seeds {', '.join(map(str, SEEDS))}; grouped: fold 0 of",
             "the pipeline's stratified group folds, seed 1, mean over the three targets. Seconds: per fit, the median over",
             f"its fits. Bar: within {BAR} of the GPU reference in every target ({bar}). The quick profile takes the",
             f"most accurate point at most {BUDGET_SHARE:.0%} of the former model's seconds (so that the whole quick run",
             "stays under 45 minutes on 2 cores), the bar met if any such point meets it. Raw records:",
             f"`{RECORDS}`; figure: [{FIGURE.name}.png]({FIGURE.relative_to(paths.PAPER).as_posix()}.png) "
             "(drawn by the report stage).", "",
             "| Configuration | s per fit | grav SMAE | vol SMAE | voltage SMAE | mean | grouped mean | front | bar | |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in table.itertuples():
        grouped_mean = (grouped.loc[row.point, list(TARGETS)].mean() if row.point in grouped.index
                        and grouped.loc[row.point, list(TARGETS)].notna().all() else float("nan"))
        note = "quick profile" if row.point == chosen else ("before" if row.point == TODAY else "")
        lines.append(f"| {row.point} | {row.seconds:.1f} | {row.grav_capacity:.3f} | {row.vol_capacity:.3f} | "
                     f"{row.voltage:.3f} | {row.mean_smae:.3f} | {'' if np.isnan(grouped_mean) else f'{grouped_mean:.3f}'} | "
                     f"{'yes' if row.front else ''} | {'yes' if row.meets_bar else ''} | {note} |")
    defaults = summary(records)
    defaults = defaults[defaults["point"].str.startswith("d512-N3") & defaults["voltage"].notna()]
    for row in defaults.itertuples():
        lines.append(f"| {row.point} (crabnet's defaults) | {row.seconds:.1f} |  |  | {row.voltage:.3f} |  |  |  |  | "
                     "voltage, seed 1 |")
    return lines + pinned_section(records)


def pinned_section(records: list[dict]) -> list[str]:
    """Each pinned fit: its seconds, against the same fit pinned to MKL_CBWR=AUTO (MKL's default)
    run just before it when there is one (the grid's own fits shared the machine with other work),
    and whether its MAE is the grid's unpinned fit's (the same bytes)."""
    unpinned = {record_key(record): record for record in records if not record.get("environment")}
    pinned = [record for record in records if record.get("environment")]
    baseline = {record_key({**record, "environment": {}}): record for record in pinned
                if record["environment"] == {"MKL_CBWR": "AUTO"}}
    rows = []
    for record in pinned:
        plain = unpinned.get(record_key({**record, "environment": {}}))
        if plain is None:
            continue
        reference = baseline.get(record_key({**record, "environment": {}}), plain)
        pin = " ".join(f"{name}={value}" for name, value in sorted(record["environment"].items()))
        rows.append(f"| {record['point']} | {record['target']} | {pin} | {record['seconds']:.1f} | "
                    f"{record['seconds'] / reference['seconds']:.2f} | {'yes' if record['mae'] == plain['mae'] else 'no'} |")
    if not rows:
        return []
    return ["", "A pinned environment's cost (`--pinned-point`): the same fits (reference fold, seed 1), two at a",
            "time, back to back; the ratio is to the MKL_CBWR=AUTO run (MKL's default) where there is one; same bytes:",
            "the MAE is the grid's unpinned fit's.", "",
            "| Configuration | target | pin | seconds | ratio | same bytes |", "|---|---|---|---|---|---|", *rows]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml crabnet-front", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="fits at a time, one thread each (default: %(default)s)")
    parser.add_argument("--limit", type=int, help="run at most this many of the missing fits")
    parser.add_argument("--render", action="store_true", help="only write PERFORMANCE.md's table from the records")
    parser.add_argument("--pinned-point", metavar="NAME",
                        help="instead of the grid, run this point's reference fits under --environment (the pin's cost)")
    parser.add_argument("--environment", nargs="*", default=[], metavar="VAR=VALUE",
                        help="variables for --pinned-point, for example MKL_CBWR=COMPATIBLE")
    args = parser.parse_args(argv)
    if args.workers < 1:
        raise ElectrodeMLError(f"--workers must be at least 1, got {args.workers}")
    malformed = [item for item in args.environment if "=" not in item]
    if malformed or (args.pinned_point and not args.environment):
        raise ElectrodeMLError(f"--pinned-point needs --environment VAR=VALUE ...; got {args.environment}")
    if not args.render:
        if not paths.ELECTRODES.exists():
            raise ElectrodeMLError(f"{paths.ELECTRODES} is missing: run `dvc repro prepare folds` first")
        planned = (pinned_fits(args.pinned_point, dict(item.split("=", 1) for item in args.environment))
                   if args.pinned_point else None)
        run(args.workers, args.limit, planned=planned)
    records = read_records()
    from electrode_ml.commands.bench import RECORDS as BENCH_RECORDS, write_performance

    write_performance(BENCH_RECORDS)
    chosen = choice(records)
    print(f"crabnet-front: {len(records)} fits; the quick profile's CrabNet: {chosen['point']} "
          f"({chosen['seconds']:.1f} s per fit, SMAE " + ", ".join(f"{t} {chosen[t]:.3f}" for t in TARGETS) + ")")
