"""CrabNet's accuracy-for-time front on a CPU, read from its records (`benchmarks/crabnet_front.jsonl`,
made by `electrode-ml crabnet-front`): each point's SMAE and seconds per fit, the front, and the
quick profile's choice. PERFORMANCE.md's table and REPRODUCTION.md's CrabNet section read it."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd

from electrode_ml import paths
from electrode_ml.errors import ElectrodeMLError

RECORDS = paths.CRABNET_FRONT
# crabnet's defaults (300 epochs) on the reference fold, crabnet's own loop on a CUDA GPU
# (reference/crabnet_gpu_reference.json, its source there): the measurement
# scripts/gpu_crabnet_cells.py's parity cell checks against (docs/getting-started.md "CrabNet at its published size").
BAR = 0.06  # the quick profile's CrabNet: within this SMAE of the GPU reference in every target
TARGETS = ("grav_capacity", "vol_capacity", "voltage")
SEEDS = (1, 2)
TODAY = "d64-N1-ff128-head1024x512x256x128-e10s5-b256"  # the quick profile's CrabNet before the front
# The whole quick run must stay under 45 minutes on 2 cores. At TODAY's size CrabNet's fits were
# over half of a quick run's stage work (benchmarks/cpu_x86_64_amd_epyc_family_26_model_2_2_cores.json,
# its uninterrupted fresh-clone run), so the choice may cost at most this share of TODAY's seconds
# per fit. Half (batch 256, 15 s per fit in a plain process against 21 s) was tried for a run
# with more margin under 45 minutes: in the run's Dask workers its CrabNet cells took as long as
# batch 128's (a LOCO cell 168 to 182 s against 151 to 186; docs/performance.md), so it bought
# no time and cost 0.037 of mean SMAE.
BUDGET_SHARE = 0.7


@functools.lru_cache(maxsize=None)
def gpu_reference(path: Path = paths.CRABNET_GPU_REFERENCE) -> dict[str, float]:
    """SMAE per target of crabnet's defaults on the reference fold, on a CUDA GPU."""
    if not path.exists():
        raise ElectrodeMLError(f"{path} does not exist: the GPU reference of CrabNet's front (run from the repository root)")
    return {target: float(json.loads(path.read_text())["smae"][target]) for target in TARGETS}


def read_records(path: Path = RECORDS) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def record_key(record: dict) -> tuple:
    return (record["point"], record["fold"], record["seed"], record["target"],
            tuple(sorted(record.get("environment", {}).items())))


def summary(records: list[dict]) -> pd.DataFrame:
    """Per point and fold: SMAE per target, the mean over seeds; seconds per fit, the median over the
    point's fits on that fold (robust to a fit slowed by other work on the machine)."""
    frame = pd.DataFrame([record for record in records if not record.get("environment")])
    smae = frame.pivot_table(index=["point", "fold"], columns="target", values="smae", aggfunc="mean")
    table = smae.join(frame.groupby(["point", "fold"]).agg(seconds=("seconds", "median"), seeds=("seed", "nunique")))
    return table.reset_index()


def on_front(seconds: np.ndarray, smae: np.ndarray) -> np.ndarray:
    """Points no other point beats on both time and SMAE (lower is better in both)."""
    return np.array([not np.any((seconds <= s) & (smae <= e) & ((seconds < s) | (smae < e)))
                     for s, e in zip(seconds, smae)])


def reference_table(records: list[dict]) -> pd.DataFrame:
    """The reference fold's points with every target measured: SMAE per target, mean SMAE, seconds,
    the front (on the mean SMAE), and whether the point meets the bar."""
    table = summary(records)
    table = table[table["fold"] == "reference"].dropna(subset=list(TARGETS)).copy()
    table["mean_smae"] = table[list(TARGETS)].mean(axis=1)
    table["front"] = on_front(table["seconds"].to_numpy(), table["mean_smae"].to_numpy())
    table["meets_bar"] = np.all([table[t] <= gpu_reference()[t] + BAR for t in TARGETS], axis=0)
    return table.sort_values("seconds").reset_index(drop=True)


def choice(records: list[dict]) -> pd.Series:
    """The quick profile's CrabNet: the most accurate point (mean SMAE) among those that cost at
    most `BUDGET_SHARE` of TODAY's seconds per fit and meet the bar; where none does, the most
    accurate within that budget."""
    table = reference_table(records)
    today = table.loc[table["point"] == TODAY, "seconds"]
    if today.empty:
        raise ElectrodeMLError(f"the front has no record of today's model {TODAY}: run `electrode-ml crabnet-front` first")
    affordable = table[table["seconds"] <= BUDGET_SHARE * today.iloc[0]]
    pool = affordable[affordable["meets_bar"]] if affordable["meets_bar"].any() else affordable
    return pool.sort_values(["mean_smae", "seconds"]).iloc[0]


def measured_point(records: list[dict], hyperparameters: dict) -> pd.Series | None:
    """The front's reference-fold row of the point with these CrabNet hyperparameters, if measured."""
    keys = ("d_model", "N", "dim_feedforward", "out_hidden", "epochs", "epochs_step", "batch_size")
    wanted = {key: (list(hyperparameters[key]) if key == "out_hidden" else hyperparameters.get(key)) for key in keys
              if key in hyperparameters}
    names = {record["point"] for record in records if not record.get("environment")
             and all(record["hyperparameters"].get(key) == value for key, value in wanted.items())}
    table = reference_table(records) if records else pd.DataFrame(columns=["point"])
    rows = table[table["point"].isin(names)]
    return rows.iloc[0] if len(rows) else None


def reproduction_section(records: list[dict], hyperparameters: dict, profile: str) -> list[str]:
    """REPRODUCTION.md's account of which CrabNet a CPU profile fits, against the published size."""
    if profile == "paper":
        return []
    point = measured_point(records, hyperparameters)
    size = ", ".join(f"{key} {'-'.join(map(str, value)) if isinstance(value, (list, tuple)) else value}"
                     for key, value in hyperparameters.items() if key not in ("device", "random_state"))
    lines = ["", f"## Which CrabNet the {profile} profile fits", "",
             "crabnet's defaults (d_model 512, 3 layers, a 1024-512-256-128 head, 300 epochs), the published size, cost",
             "about 42 s per epoch on one CPU thread, 3.5 h per fit. The CrabNet rows above are the "
             f"{profile} profile's: {size} (`params.yaml`), chosen from CrabNet's accuracy-for-time front measured "
             f"on 2 CPU cores ([PERFORMANCE.md](PERFORMANCE.md), "
             f"[figure]({paths.CRABNET_FRONT_FIGURE.relative_to(paths.PAPER).as_posix()}.png))."]
    if point is None:
        return lines + ["That model was not measured on the front."]
    reference = " / ".join(f"{gpu_reference()[target]:.3f}" for target in TARGETS)
    measured = " / ".join(f"{point[target]:.3f}" for target in TARGETS)
    lines += ["", f"On fold 0 of `StratifiedKFold(5, shuffle=True, random_state=0)` by working ion its SMAE "
              f"(gravimetric capacity / volumetric capacity / voltage, mean of seeds {', '.join(map(str, SEEDS))}) is "
              f"{measured}, at {point['seconds']:.1f} s per fit on one thread; crabnet's defaults reached {reference} "
              f"there on a CUDA GPU. So it is {'within' if point['meets_bar'] else 'not within'} {BAR} of the published "
              "size in every target, and its rank among the models above says what a CPU-sized CrabNet does, not what "
              "the published one would: that takes the paper profile (`make reproduce PROFILE=paper`, a CUDA GPU)."]
    return lines


def crabnet_defaults(records: list[dict]) -> pd.DataFrame:
    """crabnet's default size at a few epochs: its rows of `summary` (voltage only)."""
    frame = summary(records)
    return frame[frame["point"].str.startswith("d512-N3") & frame["voltage"].notna()]
