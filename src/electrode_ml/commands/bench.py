"""`electrode-ml bench` (`make bench`): time each stage's core work and CrabNet's epochs per second
on this machine, compare with the last recorded run on the same device, record the result.

Writes results/bench.json, keeps one record per device in benchmarks/<device>.json (committed),
and renders paper/PERFORMANCE.md from all records, so CPU and GPU figures stand side by side.
Sections whose libraries are missing are skipped (on a CUDA machine without TensorFlow or
matminer only the CrabNet sections run). Needs the outputs of `prepare` (and of `featurize` and
`cluster` for those sections).
"""
from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from electrode_ml import paths
from electrode_ml.errors import ElectrodeMLError
from electrode_ml.files import atomic_path, write_json
from electrode_ml.provenance import device_description, library_versions

ELECTRODES = paths.ELECTRODES
RECORDS = Path("benchmarks")
CPU_INFO = Path("/proc/cpuinfo")
FIT_TARGET = "grav_capacity"  # the target every timed fit learns


def _five_folds(n: int) -> np.ndarray:
    """A fixed draw of five folds over n rows: stratified-fold-sized training sets."""
    return np.random.default_rng(0).permutation(n) % 5


def _training_fold(electrodes: pd.DataFrame) -> pd.DataFrame:
    """The 80% of a fixed shuffle: the size of a stratified-5-fold training set."""
    order = np.random.default_rng(0).permutation(len(electrodes))
    return electrodes.iloc[order[: int(0.8 * len(electrodes))]]


def bench_featurize(electrodes: pd.DataFrame) -> dict:
    from electrode_ml.features.representations import MagpieFeatures, ModnetFeatures

    formulas = sorted(electrodes["composition"].unique())[:300]
    timings = {}
    for representation in (MagpieFeatures(), ModnetFeatures()):
        start = time.perf_counter()
        representation.featurize(formulas, progress=False)
        timings[f"featurize.{representation.name}.seconds_per_1000"] = round(
            (time.perf_counter() - start) / len(formulas) * 1000, 2)
    return timings


def _cluster_inputs():
    from electrode_ml.params import load_section
    from electrode_ml.stages.cluster import ClusterParams

    electrodes = pd.read_csv(ELECTRODES)
    features = pd.read_parquet(paths.feature_table("modnet")).loc[electrodes["battery_id"]]
    unique = features.groupby(electrodes["composition"].to_numpy(), sort=True).first()
    return unique, load_section("cluster", ClusterParams)


def bench_cluster() -> dict:
    from electrode_ml.clustering.clusters import elmd_distances
    from electrode_ml.clustering.embedding import embed_tsne, embed_umap, scale_features

    unique, params = _cluster_inputs()
    scaled = scale_features(unique, params.feature_decimals).to_numpy()
    timings = {}
    for name, step in (("tsne", lambda: embed_tsne(scaled, 30, 42)), ("umap", lambda: embed_umap(scaled, 15, 0.1, 42)),
                       ("elmd_2000x2000", lambda: elmd_distances(list(unique.index[:2000])))):
        start = time.perf_counter()
        step()
        timings[f"cluster.{name}.seconds"] = round(time.perf_counter() - start, 2)
    return timings


def bench_cluster_stability() -> dict:
    """The full-data check of issue 'last-bit noise': perturb every feature by up to 1e-9 of its
    value, redo the map and DBSCAN with params.yaml's settings, and compare the labels."""
    from electrode_ml.clustering.embedding import dbscan_labels, embed_tsne, scale_features

    unique, params = _cluster_inputs()
    noise = np.random.default_rng(0).uniform(-1e-9, 1e-9, size=unique.shape)
    scaled = scale_features(unique, params.feature_decimals)
    perturbed = scale_features(unique * (1 + noise), params.feature_decimals)
    labels = [dbscan_labels(embed_tsne(table.to_numpy(), params.perplexity, params.tsne_seed), params.eps,
                            params.min_samples) for table in (scaled, perturbed)]
    return {"cluster_stability.rounded_values_changed": int((scaled.to_numpy() != perturbed.to_numpy()).sum()),
            "cluster_stability.labels_changed": int((labels[0] != labels[1]).sum())}


def bench_fits(model_name: str, hyperparameters: dict, label: str) -> dict:
    from electrode_ml.models.registry import make_model
    from electrode_ml.stages.cell import model_data

    model = make_model(model_name, **hyperparameters)
    X, y = model_data(model_name, FIT_TARGET)
    X = _training_fold(X)
    start = time.perf_counter()
    fitted = model.fit(X, y.loc[X.index])
    seconds = time.perf_counter() - start
    record = {f"fit.{label}.seconds": round(seconds, 2), f"fit.{label}.rows": len(X)}
    if model_name == "crabnet":
        record[f"fit.{label}.epochs_per_second"] = round(fitted.epochs_run_ / seconds, 3)
        record[f"fit.{label}.device"] = fitted.device_
    return record


def bench_cell_workers(model_name: str, hyperparameters: dict, fits: int = 4) -> dict:
    """A cell's fits (`fits` stratified-fold-sized training sets) on one worker and on two
    (electrode_ml.compute), worker start-up included: the parallel efficiency a cell gets."""
    from electrode_ml.compute import ComputeParams
    from electrode_ml.evaluation.validation import held_out_predictions
    from electrode_ml.models.registry import make_model
    from electrode_ml.stages.cell import model_data

    model = make_model(model_name, **hyperparameters)
    X, y = model_data(model_name, FIT_TARGET)
    fold = _five_folds(len(X))
    splits = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(fits)]
    seconds = {}
    for workers in (1, 2):
        start = time.perf_counter()
        held_out_predictions(model, X, y, splits, ComputeParams(workers=workers))
        seconds[workers] = time.perf_counter() - start
    label = f"cell.{model_name}_{fits}_fits"
    return {f"{label}.seconds_1_worker": round(seconds[1], 1), f"{label}.seconds_2_workers": round(seconds[2], 1),
            f"{label}.speedup_2_workers": round(seconds[1] / seconds[2], 2)}


def bench_crabnet_batched(epochs: int, matmul_precision: str) -> dict:
    """CrabNet at its default size, the five folds of a stratified cell trained together by the
    batched trainer (the paper profile's), for `epochs` epochs: set beside the one-model fit of
    crabnet's own loop (`crabnet_default`), per fit and per step of the five."""
    import math

    from crabnet.crabnet_ import CrabNet

    from electrode_ml.models.registry import make_model
    from electrode_ml.stages.cell import model_data

    model = make_model("crabnet", trainer="batched", epochs=epochs, epochs_step=max(1, epochs // 2),
                       matmul_precision=matmul_precision)
    X, y = model_data("crabnet", FIT_TARGET)
    fold = _five_folds(len(X))
    train_sets = [np.flatnonzero(fold != k) for k in range(5)]
    start = time.perf_counter()
    fitted = model.fit_many(X, y, train_sets)
    seconds = time.perf_counter() - start
    fit_rows = max(len(rows) - math.ceil(model.val_size * len(rows)) for rows in train_sets)
    steps = fitted[0].epochs_run_ * math.ceil(fit_rows / CrabNet._default_batch_size(None, None, fit_rows))
    label = f"fit.crabnet_batched_5_folds_{epochs}_epochs"
    return {f"{label}.seconds": round(seconds, 2), f"{label}.seconds_per_fit": round(seconds / 5, 2),
            f"{label}.seconds_per_step": round(seconds / steps, 3), f"{label}.device": fitted[0].device_,
            f"{label}.matmul_precision": matmul_precision}


SCREEN_SIZES = (10_000, 100_000)


def screening_pool(electrodes: pd.DataFrame, size: int) -> pd.DataFrame:
    """`size` distinct candidates: the candidates stage's rules without its cap, then, where those
    are too few, working-ion swaps of them (candidates of candidates), none a known electrode.
    `electrodes`: the known ones with both formulas (`generation.known_electrodes`)."""
    from electrode_ml.screening.generation import CandidateParams, generate_candidates

    first, _, _ = generate_candidates(electrodes, CandidateParams(max_candidates=size))
    pool = first[["composition", "working_ion"]]
    if len(pool) < size:
        parents = first.rename(columns={"candidate_id": "battery_id"})
        second, _, _ = generate_candidates(parents, CandidateParams(substitutions=False, max_candidates=size))
        known = set(zip(electrodes["composition"], electrodes["working_ion"]))
        second = second[[pair not in known for pair in zip(second["composition"], second["working_ion"])]]
        pool = pd.concat([pool, second[["composition", "working_ion"]]], ignore_index=True).drop_duplicates()
    if len(pool) < size:
        raise ElectrodeMLError(f"bench: only {len(pool)} distinct candidates for the {size:,} asked")
    return pool.sample(size, random_state=0).reset_index(drop=True)


def _timed_screen(source: Path, models: tuple[str, ...], workers: int, in_process: bool = False) -> tuple[float, float]:
    """Seconds to screen `source` with `models` (intervals and novelty included) on `workers`
    one-thread workers, worker start-up included, and the workers' peak memory (MB)."""
    import tempfile

    from electrode_ml.compute import ComputeParams
    from electrode_ml.screening.screener import ScreenJob, ScreenParams, screen

    job = ScreenJob(str(paths.TRAINED_MODELS), str(paths.TRUST), str(paths.FEATURE_NAN_COUNTS), models, 0.9)
    params = ScreenParams(models=list(models), rank_model=models[0])
    with tempfile.TemporaryDirectory(prefix="bench-screen-") as out:
        start = time.perf_counter()
        summary = screen(source, Path(out), job, params, ComputeParams(workers=workers), in_process=in_process)
        seconds = time.perf_counter() - start
    return seconds, max(record["peak_memory_mb"] for record in summary["records"])


MODNET_SCREEN_SIZE = 1_000  # matminer's MODNet featurizers take about 50 ms per composition


def bench_screen(electrodes: pd.DataFrame, sizes=SCREEN_SIZES) -> dict:
    """The screen, intervals and novelty included, worker start-up included: each model's path
    (featurize, predict, intervals, novelty) alone on one worker at the smallest size (MODNet's on
    `MODNET_SCREEN_SIZE` candidates), RF@Magpie and CrabNet together on one and on two workers at
    every size (candidates per second per core, the scaling, each worker's peak memory), and
    `predict --csv`'s path (one process, matminer's Magpie) on the smallest set. Needs the train,
    domain and trust stages' outputs (`dvc repro trust`)."""
    import tempfile

    from electrode_ml.commands.predict import predict
    from electrode_ml.screening.generation import known_electrodes

    pool = screening_pool(known_electrodes(ELECTRODES, paths.PAIRS), max(sizes))
    timings = {}
    with tempfile.TemporaryDirectory(prefix="bench-candidates-") as folder:
        def source(size: int) -> Path:
            path = Path(folder) / f"candidates_{size}.parquet"
            pool.head(size).to_parquet(path, index=False)
            return path

        for models, size in ((("rf_magpie",), min(sizes)), (("crabnet",), min(sizes)), (("modnet",), MODNET_SCREEN_SIZE)):
            seconds, memory = _timed_screen(source(size), models, workers=1)
            label = f"screen.{size}.{models[0]}"
            timings[f"{label}.candidates_per_second_per_core"] = round(size / seconds, 1)
            timings[f"{label}.peak_memory_mb_per_worker"] = round(memory, 1)
        both = ("rf_magpie", "crabnet")
        for size in sizes:
            one, memory_one = _timed_screen(source(size), both, workers=1)
            two, memory_two = _timed_screen(source(size), both, workers=2)
            label = f"screen.{size}.rf_magpie_crabnet"
            timings.update({f"{label}.seconds_1_worker": round(one, 1), f"{label}.seconds_2_workers": round(two, 1),
                            f"{label}.candidates_per_second_per_core": round(size / one, 1),
                            f"{label}.speedup_2_workers": round(one / two, 2),
                            f"{label}.peak_memory_mb_per_worker": round(max(memory_one, memory_two), 1)})
        with tempfile.TemporaryDirectory(prefix="bench-predict-") as models:
            for name in both:  # predict reads every model it finds: only these two
                (Path(models) / name).mkdir()
                for target in ("voltage", "grav_capacity", "vol_capacity"):
                    (Path(models) / name / target).symlink_to(paths.trained_model(name, target).resolve())
            start = time.perf_counter()
            predict(pool.head(min(sizes)), Path(models), paths.FEATURE_NAN_COUNTS, trust_dir=paths.TRUST)
            seconds = time.perf_counter() - start
        label = f"screen.{min(sizes)}"
        timings[f"{label}.predict_csv.rf_magpie_crabnet.seconds"] = round(seconds, 1)
        timings[f"{label}.predict_csv.rf_magpie_crabnet.ratio_to_screen_2_workers"] = round(
            seconds / timings[f"{label}.rf_magpie_crabnet.seconds_2_workers"], 1)
    return timings


def sections(crabnet_default_epochs: int) -> dict:
    """Each model with the hyperparameters of a profile (params.yaml), CrabNet also at its own
    default size for a few epochs (crabnet rounds epochs to a multiple of 2 x epochs_step)."""
    from electrode_ml.params import profile_block

    return {
        "featurize": lambda electrodes: bench_featurize(electrodes),
        "cluster": lambda electrodes: bench_cluster(),
        "cluster_stability": lambda electrodes: bench_cluster_stability(),
        "rf_magpie": lambda electrodes: bench_fits("rf_magpie", profile_block("quick", "rf_magpie"), "rf_magpie"),
        "modnet": lambda electrodes: bench_fits("modnet", profile_block("quick", "modnet"), "modnet"),
        "crabnet_default": lambda electrodes: bench_fits(
            "crabnet", {"epochs": crabnet_default_epochs, "epochs_step": max(1, crabnet_default_epochs // 2)},
            f"crabnet_default_size_{crabnet_default_epochs}_epochs"),
        "crabnet_quick": lambda electrodes: bench_fits("crabnet", profile_block("quick", "crabnet"),
                                                       "crabnet_quick_profile"),
        **{f"cell_workers_{name}": (lambda electrodes, name=name: bench_cell_workers(name, profile_block("quick", name)))
           for name in ("rf_magpie", "modnet", "crabnet")},
        "screen": bench_screen,
        "crabnet_batched": lambda electrodes: bench_crabnet_batched(
            crabnet_default_epochs, profile_block("paper", "crabnet").get("matmul_precision", "highest")),
    }


def cpu_model(cpu_info: Path = CPU_INFO) -> str | None:
    """The CPU's model name with its family and model numbers (Linux's /proc/cpuinfo), or None elsewhere.

    `platform` says only x86_64, and two x86-64 CPUs of the same core count can differ twofold in
    speed (and in CrabNet's last bits: docs/reproducibility.md "Reproducibility"): each keeps its own record."""
    try:
        fields = dict(line.split(":", 1) for line in cpu_info.read_text().splitlines() if ":" in line)
    except OSError:
        return None
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    if "model name" not in fields:
        return None
    numbers = f" (family {fields['cpu family']} model {fields['model']})" if {"cpu family", "model"} <= fields.keys() else ""
    return fields["model name"] + numbers


def bench_device(cpu_info: Path = CPU_INFO) -> str:
    """The device a record is kept for: the accelerator, else the CPU by its model."""
    device = device_description()
    model = cpu_model(cpu_info) if device.startswith("cpu: ") else None
    return device if model is None else device.replace(", ", f" {model}, ", 1)


def record_path(device: str) -> Path:
    return RECORDS / (re.sub(r"[^A-Za-z0-9]+", "_", device).strip("_").lower() + ".json")


def stage_seconds(lock: Path = Path("dvc.lock")) -> dict[str, float]:
    """Each stage's seconds of work in the run that `lock` records, from the timing file among its
    outputs (a cell's: its fits; the report's `results/timings.json` gathers the others and is left out)."""
    import yaml

    stages = (yaml.safe_load(lock.read_text()) or {}).get("stages") or {}
    seconds = {}
    for stage, entry in stages.items():
        for out in entry.get("outs") or []:
            timing = Path(out["path"])
            if timing.name == paths.TIMINGS and timing.exists() and "seconds" in (record := json.loads(timing.read_text())):
                seconds[stage] = record["seconds"]
    return seconds


def render_stage_table(records: list[dict]) -> list[str]:
    """Per stage, the seconds of every run recorded with `--record-stages`, devices and runs side by side."""
    runs = [(record["device"], label, seconds) for record in records
            for label, seconds in (record.get("stages") or {}).items()]
    if not runs:
        return []
    stages = list(dict.fromkeys(stage for _, _, seconds in runs for stage in seconds))
    lines = ["", "## Pipeline stages", "",
             "Seconds per stage of a whole run (`make bench --record-stages LABEL` after `make reproduce`, from",
             "each stage's `timings.json`); the last row is their sum.", "",
             "| Stage | " + " | ".join(f"{device}: {label}" for device, label, _ in runs) + " |",
             "|---|" + "---:|" * len(runs)]
    lines += [f"| {stage} | " + " | ".join(str(seconds.get(stage, "")) for _, _, seconds in runs) + " |"
              for stage in stages]
    lines.append("| all stages | " + " | ".join(str(round(sum(seconds.values()))) for _, _, seconds in runs) + " |")
    return lines


def compare(current: dict, previous: dict | None) -> list[str]:
    if not previous:
        return ["no earlier run on this device to compare with"]
    lines = []
    for key, value in current["timings"].items():
        before = previous.get("timings", {}).get(key)
        if isinstance(value, (int, float)) and isinstance(before, (int, float)) and before:
            lines.append(f"{key}: {before} -> {value} ({value / before:.2f}x)")
    return lines


def render_performance(records_dir: Path) -> str:
    records = [json.loads(path.read_text()) for path in sorted(records_dir.glob("*.json"))]
    keys = sorted({key for record in records for key in record["timings"]})
    lines = ["# Performance", "",
             "Measured by `make bench` (`electrode-ml bench`), one record per device in `benchmarks/`. Fits use a",
             "stratified-fold-sized training set (80% of the electrodes) of the gravimetric capacity. CrabNet's",
             "defaults are 300 epochs: 300 / (epochs per second) is a lower bound for a full default fit, since",
             "its weight-averaging phase adds a validation pass to most epochs.",
             "Empty cells: not measured on that device (a CUDA machine without TensorFlow or matminer).", "",
             "| Measurement | " + " | ".join(record["device"] for record in records) + " |",
             "|---|" + "---|" * len(records)]
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(str(record["timings"].get(key, "")) for record in records) + " |")
    lines += ["", "| Run | " + " | ".join(record["device"] for record in records) + " |", "|---|" + "---|" * len(records),
              "| date | " + " | ".join(record["date"] for record in records) + " |",
              "| torch | " + " | ".join(str(record["versions"].get("torch")) for record in records) + " |",
              "| crabnet | " + " | ".join(str(record["versions"].get("crabnet")) for record in records) + " |",
              "| skipped | " + " | ".join(", ".join(record["skipped"]) or "-" for record in records) + " |"]
    lines += render_stage_table(records)
    from electrode_ml.commands.crabnet_front import front_section, read_records

    lines += front_section(read_records())
    return "\n".join(lines) + "\n"


def write_performance(records_dir: Path) -> None:
    with atomic_path(Path("paper/PERFORMANCE.md")) as temporary:
        temporary.write_text(render_performance(records_dir))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml bench", description=__doc__)
    parser.add_argument("--only", nargs="*", help="sections to run (default: all)")
    parser.add_argument("--crabnet-default-epochs", type=int, default=2,
                        help="epochs of the default-size CrabNet fit (2 on a CPU: about a minute)")
    parser.add_argument("--record-stages", metavar="LABEL",
                        help="record each stage's seconds in the last run (dvc.lock's timing files) as LABEL, time nothing")
    args = parser.parse_args(argv)
    device = bench_device()
    record_file = record_path(device)
    previous = json.loads(record_file.read_text()) if record_file.exists() else None
    if args.record_stages:
        seconds = stage_seconds()
        if not seconds:
            raise ElectrodeMLError("no stage of dvc.lock has its timings.json here: run the pipeline first (make reproduce)")
        record = {**(previous or {"device": device, "date": time.strftime("%Y-%m-%d"), "timings": {}, "skipped": [],
                                  "versions": library_versions()})}
        record["stages"] = {**record.get("stages", {}), args.record_stages: seconds}
        write_json(record, record_file)
        write_performance(RECORDS)
        print(f"bench: {len(seconds)} stages, {round(sum(seconds.values()))} s in all, recorded as "
              f"{args.record_stages!r} in {record_file} and paper/PERFORMANCE.md")
        return
    electrodes = pd.read_csv(ELECTRODES)
    timings, skipped = {}, []
    for name, section in sections(args.crabnet_default_epochs).items():
        if args.only and name not in args.only:
            continue
        try:
            timings.update(section(electrodes))
            print(f"bench: {name} done")
        except ImportError as error:
            skipped.append(name)
            print(f"bench: {name} skipped ({error})")
    record = {"device": device, "date": time.strftime("%Y-%m-%d"), "timings": timings, "skipped": skipped,
              "versions": library_versions()}
    for line in compare(record, previous):
        print(f"bench: {line}")
    write_json(record, Path("results/bench.json"))
    write_json({**record, "timings": {**(previous or {}).get("timings", {}), **timings},
                "stages": (previous or {}).get("stages", {})}, record_file)
    write_performance(RECORDS)
    print(f"bench: results/bench.json, {record_file}, paper/PERFORMANCE.md")
