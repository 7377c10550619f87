"""Faults injected on purpose (`make faults`): what a user's machine does to a run, and what must hold."""
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np

from electrode_ml.compute import ComputeParams, map_in_workers
from electrode_ml.data.targets import TARGETS
from electrode_ml.evaluation.validation import _fit_and_predict
from electrode_ml.models.registry import make_model


def _fit_and_predict_marked(split, model, X, y, marks: str):
    """A cell's fit, first leaving `<pid>-<first test row>` in `marks`: which worker fits which split."""
    Path(marks, f"{os.getpid()}-{split[1][0]}").touch()
    return _fit_and_predict(split, model, X, y)


def _kill_one_fitting_worker(marks: Path, killed: list, delay: float = 0.5, give_up: float = 60.0) -> None:
    """SIGKILL the first worker seen fitting (as the kernel's OOM killer would), `delay` into its fit."""
    deadline = time.monotonic() + give_up
    while time.monotonic() < deadline:
        started = sorted(marks.iterdir(), key=lambda path: path.stat().st_mtime)
        if started:
            time.sleep(delay)
            pid = int(started[0].name.split("-")[0])
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.05)


def test_a_worker_killed_during_a_cells_fits_is_replaced_and_the_predictions_are_the_same_bytes(model_inputs_sample,
                                                                                                tmp_path):
    """A worker process killed mid-fit (SIGKILL): Dask's nanny starts a new one, the fit is run again
    there, and the cell's predictions are the bytes of an undisturbed run."""
    X, y = model_inputs_sample.drop(columns=list(TARGETS)), model_inputs_sample["voltage_avg_V"]
    # Long enough (seconds per fit) that the kill, half a second into a fit, lands inside it on a fast machine too.
    model = make_model("rf_magpie", n_estimators=1000, n_jobs=1, random_state=0)
    positions = np.arange(len(X))
    splits = [(positions[positions % 4 != fold], positions[positions % 4 == fold]) for fold in range(4)]
    compute = ComputeParams(workers=2)
    undisturbed_marks, marks = tmp_path / "undisturbed", tmp_path / "disturbed"
    undisturbed_marks.mkdir(), marks.mkdir()
    undisturbed = map_in_workers(_fit_and_predict_marked, splits, compute, shared=(model, X, y, str(undisturbed_marks)))

    killed: list[int] = []
    killer = threading.Thread(target=_kill_one_fitting_worker, args=(marks, killed))
    killer.start()
    disturbed = map_in_workers(_fit_and_predict_marked, splits, compute, shared=(model, X, y, str(marks)))
    killer.join()
    assert len(killed) == 1, "no worker was seen fitting"
    # The killed worker's split was fitted again, by another process.
    starts = [path.name.split("-") for path in marks.iterdir()]
    killed_rows = {row for pid, row in starts if int(pid) == killed[0]}
    assert killed_rows and all(any(row == other and int(pid) != killed[0] for pid, other in starts) for row in killed_rows)
    assert [predictions.tobytes() for predictions in disturbed] == [predictions.tobytes() for predictions in undisturbed]


def test_a_killed_worker_leaves_no_process_behind(tmp_path):
    """After a cell whose worker was killed, the replacement and the rest are gone with the cluster."""
    import psutil

    before = {child.pid for child in psutil.Process().children(recursive=True)}
    marks = tmp_path / "marks"
    marks.mkdir()
    killed: list[int] = []
    killer = threading.Thread(target=_kill_one_fitting_worker, args=(marks, killed, 0.2))
    killer.start()
    assert map_in_workers(_sleep_marked, [1.0, 1.0, 1.0], ComputeParams(workers=2), shared=(str(marks),)) == [1.0] * 3
    killer.join()
    assert killed
    time.sleep(1)
    left = {child.pid for child in psutil.Process().children(recursive=True) if child.is_running()
            and child.status() != psutil.STATUS_ZOMBIE} - before
    assert not left, f"processes left behind: {left}"


def _sleep_marked(seconds: float, marks: str) -> float:
    Path(marks, f"{os.getpid()}-{time.monotonic_ns()}").touch()
    time.sleep(seconds)
    return seconds


def _hang_on_two(seconds: float) -> float:
    """A stand-in fit: returns at once, except the one given 2, which sleeps for `seconds`."""
    time.sleep(seconds if seconds != 2 else 600)
    return seconds


def test_a_fit_that_never_returns_stops_the_stage_naming_it(tmp_path):
    """compute.task_timeout: a task that hangs (a stand-in that sleeps ten minutes) stops the call
    within the limit, naming it by its number, instead of waiting; its worker does not outlive the call."""
    import psutil
    import pytest

    from electrode_ml.compute import TaskTimeout

    before = {child.pid for child in psutil.Process().children(recursive=True)}
    started = time.monotonic()
    with pytest.raises(TaskTimeout, match=r"_hang_on_two: none of tasks \[1\] \(of 3.*compute.task_timeout = 3 s"):
        map_in_workers(_hang_on_two, [0.1, 2, 0.2], ComputeParams(workers=2, task_timeout=3))
    assert time.monotonic() - started < 60
    time.sleep(1)
    # multiprocessing's resource tracker lives as long as this process, whoever started it first.
    left = {child.pid for child in psutil.Process().children(recursive=True) if child.is_running()
            and child.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(child.cmdline())} - before
    assert not left, f"processes left behind: {left}"


def test_the_task_timeout_is_a_parameter_with_a_generous_default(tmp_path):
    from electrode_ml.compute import TASK_TIMEOUT, compute_params
    from electrode_ml.params import ParameterError

    assert ComputeParams().task_timeout == TASK_TIMEOUT >= 3 * 3600  # above crabnet's default fit on one thread
    (tmp_path / "params.yaml").write_text("compute:\n  task_timeout: -1\n")
    import pytest
    with pytest.raises(ParameterError, match="compute.task_timeout must be >= 0"):
        compute_params(tmp_path / "params.yaml")
