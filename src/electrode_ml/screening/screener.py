"""Screening a list of candidate electrodes, in Parquet partitions, each screened by a Dask worker.

A partition's candidates are checked (a bad row is set aside with its row, column and reason),
featurized, predicted by every chosen model for every target, given their intervals, novelty and
in-domain flag (the `domain` and `trust` stages' outputs), and the derived energy densities with
their propagated bounds (`screening.objectives`). Each worker loads the models from their files
once (never from the task graph) and runs on one thread, so a partition's rows are the same bytes
in whichever worker, or in this process (`in_process`). Only one partition at a time is held in a
worker's memory, and this process never holds the whole candidate list: the input is read and
split a partition at a time, and the ranking reads a few columns back.
"""
from __future__ import annotations

import functools
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from electrode_ml import paths
from electrode_ml.compute import ComputeParams, map_in_workers
from electrode_ml.data.targets import TARGET_KEYS, TARGET_REGISTRY
from electrode_ml.features.magpie_table import FastMagpieFeatures
from electrode_ml.features.representations import REPRESENTATIONS
from electrode_ml.files import disk_full_error
from electrode_ml.models.registry import MODELS, model_entry
from electrode_ml.params import ParameterError, parameters
from electrode_ml.data.electrodes import FormulaError, parse_composition
from electrode_ml.screening.chemistry import CHARGED_COLUMN, ION_CHARGES, USER_RULES, user_electrode
from electrode_ml.screening.objectives import (
    ION_VOLTAGE_LIMITS,
    OBJECTIVES,
    RANK_ON,
    VOLTAGE_WINDOW,
    VoltageWindow,
    factor_level,
    in_window,
    objective_entry,
    product_bounds,
)
from electrode_ml.screening.prediction import (
    REJECTED_CANDIDATE_COLUMNS,
    PredictionError,
    TrainedModels,
    candidate_problems,
    check_header,
    normalized,
    predict_checked,
    prediction_column,
    read_header_of,
)

# Magpie through the vectorized table (matminer's values, features.magpie_table); the rest as
# the featurize stage computes them.
SCREEN_FEATURIZERS = {**REPRESENTATIONS, "magpie": FastMagpieFeatures}
SCREENED = "screened"  # the folder of screened partitions, under the output folder
RANKING = "ranking.parquet"
REJECTED = "rejected.csv"


@parameters
class ScreenParams:
    models: list[str] = field(default_factory=lambda: ["rf_magpie", "crabnet"])  # the models that predict
    objective: str = "grav_energy"  # what the ranking reads (screening.objectives.OBJECTIVES)
    rank_model: str = "crabnet"  # whose prediction of the objective ranks
    rank_on: str = "lower"  # point | lower: the predicted value, or its interval's lower bound
    partition_rows: int = 5000  # candidates per Parquet partition, one task each
    top_per_ion: int = 10  # the report's table of the best candidates of each working ion
    voltage_window: list[float] = field(default_factory=lambda: list(VOLTAGE_WINDOW))  # V: ranked only inside
    # V: an ion's electrolytes' limit, below the window's top (objectives.ION_VOLTAGE_LIMITS)
    ion_voltage_limits: dict[str, float] = field(default_factory=lambda: dict(ION_VOLTAGE_LIMITS))

    def __post_init__(self):
        for name in self.models:
            model_entry(name)
        if not self.models:
            raise ParameterError("screen.models must name at least one model")
        if self.rank_model not in self.models:
            raise ParameterError(f"screen.rank_model {self.rank_model!r} is not one of screen.models {self.models}")
        objective_entry(self.objective)
        if self.rank_on not in RANK_ON:
            raise ParameterError(f"screen.rank_on must be one of {', '.join(RANK_ON)}, got {self.rank_on!r}")
        window = self.voltage_window
        if (not isinstance(window, (list, tuple)) or len(window) != 2
                or not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in window)
                or not window[0] < window[1]):
            raise ParameterError(f"screen.voltage_window = {window!r} should be [low, high] in V with low < high")
        limits = self.ion_voltage_limits
        if not isinstance(limits, dict):
            raise ParameterError(f"screen.ion_voltage_limits = {limits!r} should map working ions to a voltage in V")
        for ion, limit in limits.items():
            if ion not in ION_CHARGES:
                raise ParameterError(f"screen.ion_voltage_limits: {ion!r} is not a working ion ({', '.join(ION_CHARGES)})")
            if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not window[0] < limit:
                raise ParameterError(f"screen.ion_voltage_limits.{ion} = {limit!r} should be a voltage in V above "
                                     f"screen.voltage_window's low end, {window[0]:g}")
        if self.partition_rows < 1 or self.top_per_ion < 1:
            raise ParameterError(f"screen.partition_rows and screen.top_per_ion must be at least 1, "
                                 f"got {self.partition_rows} and {self.top_per_ion}")

    def window(self) -> VoltageWindow:
        return VoltageWindow(float(self.voltage_window[0]), float(self.voltage_window[1]),
                             tuple(sorted((ion, float(limit)) for ion, limit in self.ion_voltage_limits.items())))

    def rank_column(self) -> str:
        column = objective_column(self.rank_model, self.objective)
        return column if self.rank_on == "point" else f"{column}_lower"


def objective_column(model: str, objective: str) -> str:
    """`crabnet_grav_energy_Wh_kg`: unit in the name, no slash."""
    return f"{model}_{objective}_{OBJECTIVES[objective].unit.replace('/', '_')}"


@dataclass(frozen=True)
class ScreenJob:
    """What a worker needs to screen a partition: where the models and their trust outputs lie
    (files, loaded in the worker), which models, and the intervals' level."""

    models_dir: str
    trust_dir: str
    nan_counts: str
    models: tuple[str, ...]
    level: float
    voltage_window: VoltageWindow = VoltageWindow()  # ScreenParams.window()
    check_chemistry: bool = False  # a user's own list: `chemistry.USER_RULES` (the candidates stage's passed its own)

    def check_inputs(self, params: ScreenParams) -> None:
        """Refuse, before any work, a screen whose ranking cannot be computed: a rank model not
        trained for the objective's targets, or (ranking on the lower bound) without intervals."""
        for target in OBJECTIVES[params.objective].targets:
            model = paths.trained_model(params.rank_model, target, Path(self.models_dir)) / "model.joblib"
            if not model.exists():
                raise PredictionError(f"{model} does not exist: the ranking needs {params.rank_model} for {target}; "
                                      f"train it with `dvc repro train@{params.rank_model}-{target}`")
            calibration = paths.trust_cell(params.rank_model, target, Path(self.trust_dir)) / "calibration.joblib"
            if params.rank_on == "lower" and not calibration.exists():
                raise PredictionError(f"{calibration} does not exist: ranking on the lower bound needs the intervals; "
                                      f"make them with `dvc repro trust` or rank on point")


@functools.lru_cache(maxsize=2)
def trained_models(job: ScreenJob) -> TrainedModels:
    """The job's models, loaded once per process (a worker screens many partitions)."""
    return TrainedModels.load(Path(job.models_dir), Path(job.trust_dir), Path(job.nan_counts), job.models,
                              tuple(TARGET_KEYS), note=lambda message: None)


def screen_frame(candidates: pd.DataFrame, trained: TrainedModels, level: float,
                 voltage_window: VoltageWindow = VoltageWindow(),
                 check_chemistry: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The screened candidates and those set aside (`REJECTED_CANDIDATE_COLUMNS`). `candidates`
    holds `row` (its row in the input) and the candidate columns; every other column is kept.
    Capacity bounds are clipped at 0 (`Predictions.bounds`); `<model>_in_window` says whether the model's voltage lies in
    `voltage_window` for the candidate's working ion and its capacities are not negative (a ranking reads only those inside)."""
    candidates = normalized(candidates).reset_index(drop=True)
    problems = candidate_problems(candidates, trained.known_elements(), candidates["row"])
    usable = candidates[~candidates["row"].isin(problems["row"])].reset_index(drop=True)
    if check_chemistry:
        usable, broken = electrode_rules(usable)
        problems = pd.concat([problems, broken], ignore_index=True)
    if usable.empty:  # every row set aside: nothing to predict (a model refuses zero rows)
        return usable, problems.sort_values("row", kind="stable").reset_index(drop=True)
    predictions, undefined = predict_checked(usable, trained, SCREEN_FEATURIZERS, usable["row"])
    screened = usable.iloc[predictions.values.index].reset_index(drop=True)
    values = predictions.values.reset_index(drop=True)
    columns = {}
    bounds = predictions.bounds(trained, level)  # capacities' clipped at 0
    for name, target in trained.models:
        column = prediction_column(name, target)
        columns[column] = values[column].to_numpy()
        if (name, target) in bounds:
            columns[f"{column}_lower"], columns[f"{column}_upper"] = bounds[name, target][:, 0], bounds[name, target][:, 1]
    factor_bounds = predictions.bounds(trained, factor_level(level))
    for name in trained.model_names():
        for objective in OBJECTIVES.values():
            if not all((name, target) in trained.models for target in objective.targets):
                continue
            voltage, capacity = ((name, target) for target in objective.targets)
            column = objective_column(name, objective.key)
            columns[column] = (values[prediction_column(*voltage)] * values[prediction_column(*capacity)]).to_numpy()
            if voltage in factor_bounds and capacity in factor_bounds:
                columns[f"{column}_lower"], columns[f"{column}_upper"] = product_bounds(
                    factor_bounds[voltage][:, 0], factor_bounds[voltage][:, 1],
                    factor_bounds[capacity][:, 0], factor_bounds[capacity][:, 1])
        if (name, "voltage") in trained.models:
            capacities = [columns[prediction_column(name, target)] for model, target in trained.models
                          if model == name and TARGET_REGISTRY[target].positive]
            columns[f"{name}_in_window"] = in_window(columns[prediction_column(name, "voltage")], capacities, voltage_window,
                                                     screened["working_ion"])
    screened = pd.concat([screened, pd.DataFrame(columns)], axis=1)
    if predictions.assessed is not None:
        screened = pd.concat([screened, predictions.assessed.reset_index(drop=True)], axis=1)
    rejected = pd.concat([problems, undefined], ignore_index=True).sort_values("row", kind="stable")
    return screened, rejected.reset_index(drop=True)


def electrode_rules(candidates: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A user's candidates that pass `chemistry.USER_RULES`, with their redox couple and what its
    test read (`redox_checked_on`), and those set aside, named by rule (`REJECTED_CANDIDATE_COLUMNS`)."""
    charged_given = CHARGED_COLUMN in candidates.columns
    problems, couples, read = [], [], []
    for row, formula, ion, charged_text in zip(candidates["row"], candidates["composition"], candidates["working_ion"],
                                               candidates[CHARGED_COLUMN] if charged_given else [""] * len(candidates)):
        charged_text = str(charged_text).strip()
        charged = None
        if charged_text:
            try:
                charged = parse_composition(charged_text)
            except FormulaError as error:
                problems.append((int(row), CHARGED_COLUMN, charged_text, "bad_formula", f"charged formula {charged_text!r}: {error}"))
                couples.append(""), read.append("")
                continue
        rule, couple, detail = user_electrode(parse_composition(formula), ion, charged)
        if rule:
            problems.append((int(row), CHARGED_COLUMN if rule == "charged_balance" else "composition",
                             f"{formula} / {charged_text}" if charged_text else formula, rule, f"{USER_RULES[rule]} ({detail})"))
        couples.append(couple), read.append(detail)
    rejected = pd.DataFrame(problems, columns=list(REJECTED_CANDIDATE_COLUMNS))
    checked = candidates.assign(redox_couple=couples, redox_checked_on=read)
    return checked[~checked["row"].isin(rejected["row"])].reset_index(drop=True), rejected


def screened_row_by_row_on_failure(candidates: pd.DataFrame, job: ScreenJob) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`screen_frame` on the partition; if a row breaks it (a featurizer or model raising inside),
    each row alone, so that only the rows that break are set aside (reason `screen_error`)."""
    def one(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        return screen_frame(frame, trained_models(job), job.level, job.voltage_window, job.check_chemistry)

    try:
        return one(candidates)
    except Exception:  # noqa: BLE001 - whatever a library raises on one row must not stop the screen
        pass
    screened, rejected = [], []
    for position in range(len(candidates)):
        row = candidates.iloc[[position]]
        try:
            good, bad = one(row)
        except Exception as error:  # noqa: BLE001
            bad = pd.DataFrame([(int(row["row"].iloc[0]), "composition", str(row["composition"].iloc[0]), "screen_error",
                                 f"screening this row raised {type(error).__name__}: {error}")],
                               columns=list(REJECTED_CANDIDATE_COLUMNS))
            good = None
        if good is not None and len(good):
            screened.append(good)
        rejected.append(bad)
    screened = pd.concat(screened, ignore_index=True) if screened else candidates.iloc[:0]
    return screened, pd.concat(rejected, ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True)


def peak_memory_mb() -> float:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def screen_partition(partition: tuple[str, str, str], job: ScreenJob) -> dict:
    """Screen the input partition `partition[0]`, writing the screened rows to `partition[1]` and
    those set aside to `partition[2]`; its counts, seconds and this process's peak memory."""
    source, screened_path, rejected_path = partition
    start = time.perf_counter()
    candidates = pd.read_parquet(source)
    screened, rejected = screened_row_by_row_on_failure(candidates, job)
    screened.to_parquet(screened_path, index=False)
    rejected.to_parquet(rejected_path, index=False)
    return {"rows": len(candidates), "screened": len(screened), "rejected": len(rejected),
            "seconds": time.perf_counter() - start, "peak_memory_mb": peak_memory_mb(), "pid": os.getpid()}


def candidate_partitions(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    """The candidates of a CSV or Parquet file, `rows` at a time, as text, with `row` (1 = the
    first candidate); an empty, unreadable or wrongly headed file is refused by name."""
    if not path.exists():
        raise PredictionError(f"{path} does not exist")
    if path.suffix == ".parquet":
        chunks = _parquet_chunks(path, rows)
    elif path.suffix == ".csv":
        chunks = _csv_chunks(path, rows)
    else:
        raise PredictionError(f"{path}: a candidates file is .csv or .parquet, not {path.suffix or 'without a suffix'}")
    first = 1
    for chunk in chunks:
        if "row" in chunk.columns:
            raise PredictionError(f"{path}: a column named `row` is reserved for the candidate's row in the file")
        yield chunk.reset_index(drop=True).assign(row=np.arange(first, first + len(chunk))).pipe(
            lambda table: table[["row", *[column for column in table.columns if column != "row"]]])
        first += len(chunk)
    if first == 1:
        raise PredictionError(f"{path}: a header and no rows: no candidates to screen")


def _csv_chunks(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    check_header(read_header_of(path), path)
    try:
        # The python engine keeps a NUL byte inside a cell (the C engine ends the cell there, and
        # another formula would be screened under the row's number); the checks then refuse it.
        yield from pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=rows, engine="python")
    except pd.errors.EmptyDataError:
        raise PredictionError(f"{path}: empty file; expected a header `composition,working_ion` and one row per candidate") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as error:
        raise PredictionError(f"{path}: not a readable CSV file ({type(error).__name__}: {error})") from None


def _parquet_chunks(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise PredictionError(f"{path}: not a readable Parquet file ({error})") from None
    check_header(file.schema_arrow.names, path)
    for batch in file.iter_batches(batch_size=rows):
        chunk = batch.to_pandas()
        yield chunk.assign(composition=chunk["composition"].astype(str), working_ion=chunk["working_ion"].astype(str))


@contextmanager
def replaced_outputs(out_dir: Path):
    """A new folder to write the outputs into; on success its entries replace those of `out_dir`
    (a crash, Ctrl-C or a full disk leaves `out_dir` as it was)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=out_dir.parent))
    try:
        yield work
        for entry in sorted(work.iterdir()):
            target = out_dir / entry.name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(entry, target)
    except OSError as error:  # a worker's partition too: Dask raises its error here
        shutil.rmtree(work, ignore_errors=True)  # before `disk_full_error` measures what is left
        full = disk_full_error(error, out_dir)
        if full is error:
            raise
        raise full from error
    finally:
        shutil.rmtree(work, ignore_errors=True)


def rank(screened_dir: Path, params: ScreenParams) -> pd.DataFrame:
    """Every screened candidate inside the physical window (`<rank model>_in_window`) by
    `params.rank_column()`, best first (ties by row; undefined last): rank, row, composition,
    working_ion, the objective of the rank model, novelty and in_domain. Those outside stay in the
    screened partitions, flagged, and are not ranked."""
    import pyarrow.dataset as ds

    objective = objective_column(params.rank_model, params.objective)
    window = f"{params.rank_model}_in_window"
    dataset = ds.dataset(screened_dir, format="parquet")
    wanted = ["row", "composition", "working_ion", objective, f"{objective}_lower", f"{objective}_upper",
              "novelty", "in_domain", window]
    table = dataset.to_table(columns=[column for column in wanted if column in dataset.schema.names]).to_pandas()
    key = params.rank_column()
    if table.empty:  # every candidate set aside
        return pd.DataFrame(columns=["rank", *[column for column in wanted if column != window]])
    if key not in table:
        raise PredictionError(f"no {key} to rank by: the rank model {params.rank_model} lacks a target or its intervals")
    if window in table:
        table = table[table.pop(window).astype(bool)]
    table = table.sort_values([key, "row"], ascending=[False, True], na_position="last", kind="stable")
    return table.assign(rank=np.arange(1, len(table) + 1))[["rank", *table.columns]].reset_index(drop=True)


def screen(source: Path, out_dir: Path, job: ScreenJob, params: ScreenParams, compute: ComputeParams,
           in_process: bool = False, progress=None, memory_limit: str | int = "auto") -> dict:
    """Screen every candidate of `source` (CSV or Parquet) into `out_dir`: `screened/` (one
    Parquet file per partition), `ranking.parquet`, `rejected.csv`. Returns the counts (rows in =
    screened + rejected), the seconds, and each partition's record. `progress(tasks, total)` wraps
    the partitions as they are done (a tqdm bar)."""
    job.check_inputs(params)
    start = time.perf_counter()
    with replaced_outputs(out_dir) as work:
        inputs, screened_dir = work / ".inputs", work / SCREENED
        inputs.mkdir()
        screened_dir.mkdir()
        partitions = []
        for number, chunk in enumerate(candidate_partitions(source, params.partition_rows)):
            partition = (str(inputs / f"part-{number:05d}.parquet"), str(screened_dir / f"part-{number:05d}.parquet"),
                         str(inputs / f"rejected-{number:05d}.parquet"))
            chunk.to_parquet(partition[0], index=False)
            partitions.append(partition)
        bar = (lambda tasks: progress(tasks, len(partitions))) if progress else None
        if in_process:
            records = [screen_partition(partition, job) for partition in (bar(partitions) if bar else partitions)]
        else:
            records = map_in_workers(screen_partition, partitions, compute, shared=(job,), progress=bar,
                                     memory_limit=memory_limit)
        rejected = pd.concat([pd.read_parquet(partition[2]) for partition in partitions], ignore_index=True)
        rejected = rejected.astype({"row": int}) if len(rejected) else pd.DataFrame(columns=list(REJECTED_CANDIDATE_COLUMNS))
        rejected.to_csv(work / REJECTED, index=False)
        ranking = rank(screened_dir, params)
        ranking.to_parquet(work / RANKING, index=False)
        shutil.rmtree(inputs)
    rows = sum(record["rows"] for record in records)
    screened = sum(record["screened"] for record in records)
    summary = {"rows": rows, "screened": screened, "ranked": len(ranking), "outside_window": screened - len(ranking),
               "rejected": len(rejected), "partitions": len(records), "seconds": time.perf_counter() - start,
               "records": records}
    if summary["screened"] + summary["rejected"] != rows:
        raise RuntimeError(f"screen lost candidates: {rows} in, {summary['screened']} screened, {summary['rejected']} rejected")
    return summary


def screening_metrics(summary: dict, ranking: pd.DataFrame, params: ScreenParams) -> dict:
    """The stage's flat metrics: counts, the in-domain share, and the best and median of the ranking key."""
    key = params.rank_column()
    metrics = {"screen.candidates": summary["rows"], "screen.screened": summary["screened"],
               "screen.rejected": summary["rejected"], "screen.ranked": summary["ranked"],
               "screen.outside_window": summary["outside_window"]}
    if "in_domain" in ranking:
        metrics["screen.in_domain"] = round(float(ranking["in_domain"].mean()), 6) if len(ranking) else 0.0
    values = ranking[key].dropna()
    if len(values):
        metrics[f"screen.{key}.best"] = round(float(values.max()), 6)
        metrics[f"screen.{key}.median"] = round(float(values.median()), 6)
    return metrics


def screened_rows(screened_dir: Path, rows, columns: list[str] | None = None) -> pd.DataFrame:
    """The screened partitions' rows whose `row` is in `rows` (e.g. the top of the ranking)."""
    import pyarrow.dataset as ds

    dataset = ds.dataset(screened_dir, format="parquet")
    return dataset.to_table(columns=columns, filter=ds.field("row").isin(list(map(int, rows)))).to_pandas()


def models_for(params: ScreenParams) -> tuple[str, ...]:
    """The screen's models in the registry's order."""
    return tuple(name for name in MODELS if name in params.models)
