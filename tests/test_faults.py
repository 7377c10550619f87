"""Faults injected on purpose (`make faults`): what a user's machine does to a run, and what must hold."""
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from electrode_ml import paths
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
                                                                                                tmp_path, fault_log):
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
    started = time.monotonic()
    disturbed = map_in_workers(_fit_and_predict_marked, splits, compute, shared=(model, X, y, str(marks)))
    seconds = time.monotonic() - started
    killer.join()
    assert len(killed) == 1, "no worker was seen fitting"
    # The killed worker's split was fitted again, by another process.
    starts = [path.name.split("-") for path in marks.iterdir()]
    killed_rows = {row for pid, row in starts if int(pid) == killed[0]}
    assert killed_rows and all(any(row == other and int(pid) != killed[0] for pid, other in starts) for row in killed_rows)
    assert [predictions.tobytes() for predictions in disturbed] == [predictions.tobytes() for predictions in undisturbed]
    fault_log.append({"Fault": "a fit worker killed (SIGKILL) mid-fit", "What happened":
                      "Dask's nanny started a new worker; the killed worker's fit ran again on a live one",
                      "Recovery": f"none needed: the cell took {seconds:.0f} s", "Bytes after recovery": "identical"})


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


def test_a_fit_that_never_returns_stops_the_stage_naming_it(tmp_path, fault_log):
    """compute.task_timeout: a task that hangs (a stand-in that sleeps ten minutes) stops the call
    within the limit, naming it by its number, instead of waiting; its worker does not outlive the call."""
    import psutil
    import pytest

    from electrode_ml.compute import TaskTimeout

    before = {child.pid for child in psutil.Process().children(recursive=True)}
    started = time.monotonic()
    with pytest.raises(TaskTimeout, match=r"_hang_on_two: none of tasks \[1\] \(of 3.*compute.task_timeout = 3 s"):
        map_in_workers(_hang_on_two, [0.1, 2, 0.2], ComputeParams(workers=2, task_timeout=3))
    seconds = time.monotonic() - started
    assert seconds < 60
    time.sleep(1)
    # multiprocessing's resource tracker lives as long as this process, whoever started it first.
    left = {child.pid for child in psutil.Process().children(recursive=True) if child.is_running()
            and child.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(child.cmdline())} - before
    assert not left, f"processes left behind: {left}"
    fault_log.append({"Fault": "a fit that never returns", "What happened":
                      "the stage stopped with TaskTimeout naming the task after compute.task_timeout (3 s here); "
                      "its workers gone", "Recovery": f"stopped {seconds:.0f} s after the start",
                      "Bytes after recovery": "nothing written"})


def test_the_task_timeout_is_a_parameter_with_a_generous_default(tmp_path):
    from electrode_ml.compute import TASK_TIMEOUT, compute_params
    from electrode_ml.params import ParameterError

    assert ComputeParams().task_timeout == TASK_TIMEOUT >= 3 * 3600  # above crabnet's default fit on one thread
    (tmp_path / "params.yaml").write_text("compute:\n  task_timeout: -1\n")
    import pytest
    with pytest.raises(ParameterError, match="compute.task_timeout must be >= 0"):
        compute_params(tmp_path / "params.yaml")


REPOSITORY = Path(__file__).resolve().parents[1]


def _stage_lines(log: Path) -> list[str]:
    """The stages DVC has started, in order, from a `make reproduce` log."""
    return re.findall(r"Running stage '([^']+)'", log.read_text(errors="replace"))


def _session_processes(session: int) -> list:
    """The live processes of a session (`start_new_session`: the run's make and all it started)."""
    import psutil

    alive = []
    for process in psutil.process_iter(["pid", "status", "cmdline"]):
        try:
            if os.getsid(process.pid) == session and process.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(process.info)
        except (ProcessLookupError, PermissionError):
            continue
    return alive


def _reproduce_until(clone: Path, log: Path, stop_in: str | None, signum: int, seconds_in: float
                     ) -> tuple[int, list, float]:
    """`make reproduce` in `clone`, signalled (`signum`, to its whole process group, as a terminal's
    Ctrl-C or `kill -- -PGID` sends it) `seconds_in` after DVC starts stage `stop_in` (None: the
    first stage it runs): (exit status, processes of the run still alive 10 s after it exited,
    seconds from the signal to its exit)."""
    venv = Path(sys.executable).parent.parent
    with open(log, "w") as output:
        run = subprocess.Popen(["make", f"VENV={venv}", "reproduce", "PROFILE=quick"], cwd=clone, stdout=output,
                               stderr=subprocess.STDOUT, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 900
        while not (_stage_lines(log) if stop_in is None else stop_in in _stage_lines(log)):
            assert run.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        time.sleep(seconds_in)
        os.killpg(run.pid, signum)
        signalled = time.monotonic()
        run.wait(timeout=300)
        stopped = time.monotonic() - signalled
    time.sleep(10)
    return run.returncode, _session_processes(run.pid), stopped


def _committed_outputs(clone: Path, stage: str) -> dict[str, str]:
    """A stage's output paths -> md5 in the committed dvc.lock (an undisturbed run's)."""
    import yaml

    lock = yaml.safe_load(subprocess.run(["git", "show", "HEAD:dvc.lock"], cwd=clone, capture_output=True, text=True,
                                         check=True).stdout)
    return {out["path"]: out["md5"] for out in lock["stages"][stage]["outs"] if Path(out["path"]).stem != "timings"}


def _md5(path: Path) -> str:
    import hashlib

    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_make_reproduce_interrupted_mid_stage_keeps_nothing_of_it_and_resumes_where_it_stopped(tmp_path, fault_log):
    """Ctrl-C (SIGINT) in the middle of featurize, then `make reproduce` again, then SIGTERM in the
    stage after it: each time the run exits, its kept workers with it; the interrupted stage leaves
    no output (and no temporary file); the stages done before are not run again; featurize's
    outputs are the committed bytes (an undisturbed run's)."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPOSITORY), str(clone)], check=True)
    data = clone / "data" / "mp_batteries.csv"
    data.parent.mkdir(exist_ok=True)
    shutil.copy2(REPOSITORY / "data" / "mp_batteries.csv", data)
    data.touch()  # newer than data.dvc: `make data` has nothing to pull
    features = {clone / path for path in _committed_outputs(clone, "featurize")}
    prepared = _committed_outputs(clone, "prepare")

    first = tmp_path / "first.log"
    status, alive, stopped = _reproduce_until(clone, first, "featurize", signal.SIGINT, 10)
    assert status != 0, first.read_text()[-3000:]
    assert not alive, f"processes of the interrupted run still alive: {alive}"
    assert not [path for path in features if path.exists()], "featurize's outputs after its interrupt"
    assert not list(clone.glob("results/**/*.partial")) and not list(clone.glob("results/**/.*.partial"))
    assert {path: _md5(clone / path) for path in prepared} == prepared  # done before the interrupt, and kept

    second = tmp_path / "second.log"
    resumed_at = time.monotonic()
    status, alive, _ = _reproduce_until(clone, second, "inputs", signal.SIGTERM, 3)
    recovered = time.monotonic() - resumed_at
    assert status != 0 and not alive, (second.read_text()[-3000:], alive)
    ran = _stage_lines(second)
    assert "prepare" not in ran and "featurize" in ran, ran
    assert {str(path.relative_to(clone)): _md5(path) for path in features} == _committed_outputs(clone, "featurize")

    third = tmp_path / "third.log"  # after a SIGTERM (no Python handler runs): DVC resumes as cleanly
    status, alive, _ = _reproduce_until(clone, third, None, signal.SIGINT, 1)
    assert status != 0 and not alive, (third.read_text()[-3000:], alive)
    assert not {"prepare", "featurize"} & set(_stage_lines(third)), _stage_lines(third)
    fault_log.append({"Fault": "make reproduce interrupted mid-stage (SIGINT, then SIGTERM), run again",
                      "What happened": f"it exited within {stopped:.0f} s, its workers with it; the stage's outputs "
                                       "not kept, the stages before it not run again",
                      "Recovery": f"the interrupted stage done again: {recovered:.0f} s to the next one",
                      "Bytes after recovery": "identical (featurize's outputs: the committed hashes)"})


def _tiny_dvc_repository(root: Path, model_inputs_sample) -> dict:
    """A git and DVC repository whose one stage is the real `folds` stage, on 300 real electrodes,
    run and committed: its dvc.lock is the undisturbed run."""
    root.mkdir()
    (root / "results" / "prepared").mkdir(parents=True)
    model_inputs_sample.reset_index()[["battery_id", "composition", "working_ion", "group"]].to_csv(
        root / paths.ELECTRODES, index=False)
    shutil.copy2(REPOSITORY / "params.yaml", root / "params.yaml")
    (root / "dvc.yaml").write_text(
        "stages:\n  folds:\n    cmd: electrode-ml folds\n    deps:\n      - results/prepared/electrodes.csv\n"
        "    params:\n      - folds\n    outs:\n      - results/folds/stratified5.csv\n"
        "      - results/folds/stratified5_repeated.csv\n")
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                   "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                   "GIT_COMMITTER_EMAIL": "t@t"}
    for command in (["git", "init", "-q"], ["dvc", "init", "-q"], ["dvc", "config", "core.analytics", "false"],
                    ["dvc", "repro", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "run"]):
        subprocess.run(command, cwd=root, env=environment, check=True, capture_output=True)
    return environment


@pytest.mark.slow
def test_a_corrupt_file_in_the_dvc_cache_is_named_by_verify_and_rebuilt_by_a_run(tmp_path, model_inputs_sample,
                                                                                 fault_log):
    """A cached result whose bytes rot (the workspace copy intact): DVC notices the cache file's
    hash is wrong and drops it; `electrode-ml verify` names the output; the next `dvc repro`
    runs the stage again, and the rebuilt output is the committed bytes."""
    root = tmp_path / "repository"
    environment = _tiny_dvc_repository(root, model_inputs_sample)
    output = "results/folds/stratified5.csv"
    committed = _md5(root / output)
    cached = root / ".dvc" / "cache" / "files" / "md5" / committed[:2] / committed[2:]
    cached.chmod(0o644)
    cached.write_bytes(cached.read_bytes().replace(b",0\n", b",1\n", 1))  # one fold label flipped

    verify = subprocess.run([sys.executable, "-m", "electrode_ml.cli", "verify"], cwd=root, env=environment,
                            capture_output=True, text=True)
    assert verify.returncode == 1, verify.stdout + verify.stderr
    assert "stage folds is not up to date" in verify.stderr and output in verify.stderr, verify.stderr
    started = time.monotonic()
    subprocess.run(["dvc", "repro", "-q"], cwd=root, env=environment, check=True, capture_output=True)
    seconds = time.monotonic() - started
    assert _md5(cached) == committed
    verify = subprocess.run([sys.executable, "-m", "electrode_ml.cli", "verify"], cwd=root, env=environment,
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    fault_log.append({"Fault": "a corrupt file in the DVC cache", "What happened":
                      "`make verify` named the output (not in cache: DVC checks a cache file's hash and drops it)",
                      "Recovery": f"the next run rebuilt it: {seconds:.0f} s for the folds stage",
                      "Bytes after recovery": "identical (`make verify`)"})


@pytest.fixture
def small_disk(tmp_path):
    """A folder on an 8 MiB tmpfs of its own (mounting one needs root: skipped where it is refused)."""
    folder = tmp_path / "small_disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path, leave: int) -> Path:
    """Fill `folder`'s file system but `leave` bytes."""
    filler = folder / "filler"
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(shutil.disk_usage(folder).free - leave, 0))
    return filler


def _contents(folder: Path, timings: bool = True) -> dict[str, bytes]:
    """Every file's bytes under `folder` (the filler aside; the timing records too, unless `timings`)."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name != "filler" and (timings or path.name != paths.TIMINGS)}


@pytest.mark.slow
def test_a_full_disk_during_featurize_names_the_path_and_keeps_the_previous_outputs(tmp_path, raw_sample, small_disk,
                                                                                   fault_log):
    import yaml

    (tmp_path / "data").mkdir()
    raw_sample.head(40).to_csv(tmp_path / "data" / "sample.csv", index=False)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({
        "prepare": {"raw_csv": "data/sample.csv"}, "featurize": {"representations": ["magpie", "modnet"]},
        "compute": {"workers": 1}}))
    electrode_ml = [sys.executable, "-m", "electrode_ml.cli"]
    subprocess.run([*electrode_ml, "prepare"], cwd=tmp_path, check=True, capture_output=True)
    featurize = [*electrode_ml, "featurize", "--out", str(small_disk)]
    subprocess.run(featurize, cwd=tmp_path, check=True, capture_output=True)
    before = _contents(small_disk)

    filler = _fill(small_disk, leave=16 * 1024)
    result = subprocess.run(featurize, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-2]
    assert re.fullmatch(rf"electrode-ml featurize: no space left on the device writing {small_disk}/\S+ \(\d+\.\d MiB "
                        r"free there\); the previous \S+, if any, is untouched: free some space and run again", last), last
    assert "Traceback" not in result.stderr
    assert _contents(small_disk) == before and not list(small_disk.glob(".*.partial"))

    filler.unlink()
    started = time.monotonic()
    subprocess.run(featurize, cwd=tmp_path, check=True, capture_output=True)
    assert _contents(small_disk, timings=False) == {name: data for name, data in before.items()
                                                    if Path(name).name != paths.TIMINGS}
    fault_log.append({"Fault": "a full disk while featurize writes", "What happened":
                      "it stopped with one line naming the file and the space left; the previous outputs untouched",
                      "Recovery": f"space freed, run again: {time.monotonic() - started:.0f} s (40 electrodes)",
                      "Bytes after recovery": "identical"})


@pytest.fixture(scope="module")
def screen_workspace(tmp_path_factory, model_inputs_sample):
    """What a screen reads, fitted on 300 real electrodes (RF@Magpie for voltage and gravimetric
    capacity, the featurize stage's nan_counts.csv), and 200 real candidates."""
    import joblib

    from electrode_ml.data.targets import TARGET_KEYS
    from electrode_ml.stages import featurize

    root = tmp_path_factory.mktemp("screen")
    X = model_inputs_sample.drop(columns=list(TARGET_KEYS.values()))
    for target in ("voltage", "grav_capacity"):
        folder = paths.trained_model("rf_magpie", target, root / "models")
        folder.mkdir(parents=True)
        joblib.dump(make_model("rf_magpie", n_estimators=5, n_jobs=1).fit(X, model_inputs_sample[TARGET_KEYS[target]]),
                    folder / "model.joblib")
    electrodes = root / "electrodes.csv"
    model_inputs_sample.reset_index()[["battery_id", "composition", "working_ion", "group", *TARGET_KEYS.values()]
                                      ].to_csv(electrodes, index=False)
    featurize.run(featurize.FeaturizeParams(representations=["magpie"]), electrodes, root / "features", progress=False)
    model_inputs_sample[["composition", "working_ion"]].head(200).to_csv(root / "candidates.csv", index=False)
    return root


def _screen(root: Path, out: Path) -> dict:
    """The screen stage on `screen_workspace`'s candidates, 20 to a partition, on two workers."""
    from electrode_ml.screening.screener import ScreenParams
    from electrode_ml.stages import screen as screen_stage

    params = ScreenParams(models=["rf_magpie"], rank_model="rf_magpie", rank_on="point", partition_rows=20)
    return screen_stage.run(root / "candidates.csv", out, params, 0.9, ComputeParams(workers=2), root / "models",
                            root / "trust", root / "features" / paths.FEATURE_NAN_COUNTS.name)


# Loaded by each screen worker at its start (Dask's preload): a partition leaves `<pid>-<partition>`
# in MARKS, then takes a second longer, so that a kill lands inside one.
MARK_PARTITIONS = """
import os, time
from pathlib import Path
from electrode_ml.screening import screener

original = screener.screen_partition

def screen_partition(partition, job):  # named as the function it replaces: Dask finds it by name
    Path({marks!r}, f"{{os.getpid()}}-{{Path(partition[0]).stem}}").touch()
    time.sleep(1.0)
    return original(partition, job)

screener.screen_partition = screen_partition
"""


@pytest.mark.slow
def test_a_worker_killed_during_a_screen_partition_is_replaced_and_the_screen_is_the_same_bytes(
        screen_workspace, tmp_path, monkeypatch, fault_log):
    marks = tmp_path / "marks"
    marks.mkdir()
    import dask

    (tmp_path / "mark_partitions.py").write_text(MARK_PARTITIONS.format(marks=str(marks)))
    # A worker process is spawned with this process' sys.path and its nanny's Dask configuration.
    monkeypatch.syspath_prepend(str(tmp_path))
    with dask.config.set({"distributed.worker.preload": ["mark_partitions"]}):
        _screen(screen_workspace, tmp_path / "undisturbed")
        assert list(marks.iterdir()), "the workers did not load the marking preload"
        for mark in marks.iterdir():
            mark.unlink()
        killed: list[int] = []
        killer = threading.Thread(target=_kill_one_fitting_worker, args=(marks, killed))
        killer.start()
        started = time.monotonic()
        _screen(screen_workspace, tmp_path / "disturbed")
        seconds = time.monotonic() - started
        killer.join()
    assert len(killed) == 1, "no worker was seen screening"
    starts = [path.name.split("-", 1) for path in marks.iterdir()]
    killed_partitions = {partition for pid, partition in starts if int(pid) == killed[0]}
    assert killed_partitions and all(any(partition == other and int(pid) != killed[0] for pid, other in starts)
                                      for partition in killed_partitions)
    assert _contents(tmp_path / "disturbed", timings=False) == _contents(tmp_path / "undisturbed", timings=False)
    fault_log.append({"Fault": "a screen worker killed (SIGKILL) mid-partition", "What happened":
                      "Dask's nanny started a new worker; the partition was screened again on a live one",
                      "Recovery": f"none needed: the screen took {seconds:.0f} s", "Bytes after recovery": "identical"})


@pytest.mark.slow
def test_a_full_disk_during_a_screen_names_the_path_and_keeps_the_previous_outputs(screen_workspace, small_disk,
                                                                                  fault_log):
    """The screen's partitions are written by its Dask workers: the error comes back from one."""
    from electrode_ml.files import DiskFullError

    out = small_disk / "screen"  # the screen builds its outputs beside it, on the same small disk

    def screen():
        return _screen(screen_workspace, out)

    screen()
    before = _contents(out)
    filler = _fill(small_disk, leave=64 * 1024)
    with pytest.raises(DiskFullError, match=rf"no space left on the device writing {out} \(\d+\.\d MiB free there\)"):
        screen()
    assert _contents(out) == before and not list(small_disk.glob(".screen.*.partial"))

    filler.unlink()
    started = time.monotonic()
    screen()
    assert _contents(out, timings=False) == {name: data for name, data in before.items()
                                             if Path(name).name != paths.TIMINGS}
    fault_log.append({"Fault": "a full disk while a screen writes (in its workers)", "What happened":
                      "it stopped with DiskFullError naming its folder and the space left; the previous "
                      "screen untouched", "Recovery": f"space freed, run again: {time.monotonic() - started:.0f} s "
                      "(200 candidates)", "Bytes after recovery": "identical (timings aside)"})


def test_the_docs_table_of_faults_is_the_suites_record_of_every_fault():
    """docs/errors.md includes the table `make faults` writes; it has a row for each fault this file
    injects (a fault added without running `make faults` leaves it stale, and this fails)."""
    if os.environ.get("FAULTS_TABLE"):
        pytest.skip("this run of the suite writes the table")
    injected = set(re.findall(r'fault_log\.append\(\{"Fault": "([^"]+)"', Path(__file__).read_text()))
    table = (REPOSITORY / "benchmarks" / "faults.md").read_text().splitlines()[2:]
    recorded = {line.split(" | ")[0].removeprefix("| ") for line in table}
    assert recorded == injected
    assert '--8<-- "benchmarks/faults.md"' in (REPOSITORY / "docs" / "errors.md").read_text()
