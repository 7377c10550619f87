"""Where fits run (electrode_ml.compute): one-thread Dask workers, the same bytes whatever their number."""
import os

import numpy as np
import pytest

from electrode_ml.compute import ONE_THREAD, UNSET_IN_WORKERS, ComputeParams, compute_params, map_in_workers
from electrode_ml.data.targets import TARGETS
from electrode_ml.evaluation.validation import fit_in_worker, held_out_predictions
from electrode_ml.models.registry import make_model
from electrode_ml.params import ParameterError

TINY = {
    "rf_magpie": {"n_estimators": 20, "n_jobs": 1},
    "modnet": {"n_feat": 16, "epochs": 5, "random_state": 3},
    "crabnet": {"epochs": 2, "epochs_step": 1, "d_model": 32, "N": 1, "dim_feedforward": 64, "out_hidden": (32, 16),
                "batch_size": 64, "device": "cpu", "random_state": 3},
}


def _splits(n, folds=3):
    positions = np.arange(n)
    return [(positions[positions % folds != fold], positions[positions % folds == fold]) for fold in range(folds)]


@pytest.mark.parametrize("name", list(TINY))
def test_the_fits_of_a_cell_give_the_same_bytes_on_one_and_on_two_workers(name, model_inputs_sample):
    X, y = model_inputs_sample.drop(columns=list(TARGETS)), model_inputs_sample["voltage_avg_V"]
    model = make_model(name, **TINY[name])
    one, two = (held_out_predictions(model, X, y, _splits(len(X)), ComputeParams(workers=workers))
                for workers in (1, 2))
    assert [predictions.tobytes() for predictions in one] == [predictions.tobytes() for predictions in two]
    # ...and the one fit of `train` is the same fit as a cell's on the same rows. Its predictions
    # are made in a one-thread worker too: this process's thread pools may be wider, and a wider
    # pool may sum a CrabNet's products in another order (last bits).
    everything = np.arange(len(X))
    (alone,) = held_out_predictions(model, X, y, [(everything, everything[:20])], ComputeParams(workers=1))
    trained = fit_in_worker(model, X, y)
    (predicted,) = map_in_workers(_predict, [everything[:20]], ComputeParams(workers=1), shared=(trained, X))
    assert predicted.tobytes() == alone.tobytes()


def _predict(rows, model, X):
    return model.predict(X.iloc[rows])


def _worker_threads(_):
    import threadpoolctl
    import torch

    return {"torch": torch.get_num_threads(), "blas_and_openmp": {pool["num_threads"] for pool in threadpoolctl.threadpool_info()},
            "environment": {name: os.environ.get(name) for name in [*ONE_THREAD, "OPENBLAS_CORETYPE", "NUMBA_CPU_NAME"]},
            "unset": {name: os.environ.get(name) for name in UNSET_IN_WORKERS}}


def test_every_worker_runs_one_thread_in_the_parents_numerical_environment(monkeypatch):
    # As `electrode-ml` pins it before a stage starts its workers (electrode_ml.numerics).
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("NUMBA_CPU_NAME", "generic")
    reports = map_in_workers(_worker_threads, [0, 1, 2, 3], ComputeParams(workers=2))
    for report in reports:
        assert report["torch"] == 1 and report["blas_and_openmp"] == {1}
        assert report["environment"] == {**ONE_THREAD, "OPENBLAS_CORETYPE": "Haswell", "NUMBA_CPU_NAME": "generic"}
        # Dask's nanny would set MALLOC_TRIM_THRESHOLD_ (a CrabNet fit 1.5 times slower: compute.UNSET_IN_WORKERS).
        assert report["unset"] == {"MALLOC_TRIM_THRESHOLD_": None}


def _fails_on_two(item):
    if item == 2:
        raise ParameterError(f"item {item} is refused")
    return item


def test_results_come_back_in_order_and_an_error_in_a_worker_is_raised_as_itself():
    assert map_in_workers(_fails_on_two, [5, 4, 3], ComputeParams(workers=2)) == [5, 4, 3]
    with pytest.raises(ParameterError, match="item 2 is refused"):
        map_in_workers(_fails_on_two, [1, 2, 3], ComputeParams(workers=2))


def test_compute_params_default_to_a_local_cluster_and_refuse_bad_values(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: 1\n")
    assert compute_params(path) == ComputeParams(workers=0, scheduler=None)
    path.write_text("compute: {workers: -1}\n")
    with pytest.raises(ParameterError, match=r"compute.workers must be >= 0"):
        compute_params(path)
    path.write_text("compute: {cores: 2}\n")
    with pytest.raises(ParameterError, match="cores"):
        compute_params(path)


def test_check_params_names_a_bad_compute_block(tmp_path):
    import yaml

    from electrode_ml.commands.check_params import check

    params = yaml.safe_load(open("params.yaml"))
    params["compute"]["workers"] = "two"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    assert check(tmp_path / "params.yaml") == [f"{tmp_path / 'params.yaml'}: compute.workers = 'two' should be int"]


def _process_id(_):
    return os.getpid()


def test_without_compute_scheduler_the_fits_go_to_the_cluster_dasks_own_configuration_names(monkeypatch):
    """DASK_SCHEDULER_ADDRESS (Dask's `scheduler-address`, as a batch system's launcher sets it)."""
    import dask
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, env=ONE_THREAD) as cluster, \
            Client(cluster) as client:
        its_workers = set(client.run(os.getpid).values())
        with dask.config.set({"scheduler-address": cluster.scheduler_address}):
            assert set(map_in_workers(_process_id, [1, 2, 3], ComputeParams())) == its_workers
    assert not set(map_in_workers(_process_id, [1], ComputeParams())) & its_workers  # a local cluster again


def test_fits_go_to_the_cluster_at_compute_scheduler_when_one_is_given():
    """A cluster started elsewhere (here a local one, as `dask scheduler` and `dask worker --nthreads 1`
    would make it): the fits run on its workers."""
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, env=ONE_THREAD) as cluster, \
            Client(cluster) as client:
        its_workers = set(client.run(os.getpid).values())
        params = ComputeParams(scheduler=cluster.scheduler_address)
        assert set(map_in_workers(_process_id, [1, 2, 3], params)) == its_workers
        assert map_in_workers(_fails_on_two, [7, 8], params) == [7, 8]


def test_the_workers_of_a_whole_run_serve_every_cell_and_leave_no_address_behind(tmp_path):
    """`electrode-ml workers` (make reproduce starts it): two cells' fits go to the same processes,
    found through Dask's DASK_SCHEDULER_ADDRESS; stopping it removes the address file."""
    import threading

    import dask

    from electrode_ml.commands.workers import serve

    address_file, stop = tmp_path / "workers.address", threading.Event()
    server = threading.Thread(target=serve, args=(ComputeParams(workers=2), address_file, stop))
    server.start()
    try:
        for _ in range(600):
            if address_file.exists():
                break
            stop.wait(0.1)
        address = address_file.read_text().strip()
        with dask.config.set({"scheduler-address": address}):
            first = set(map_in_workers(_process_id, list(range(6)), ComputeParams()))
            second = set(map_in_workers(_process_id, list(range(6)), ComputeParams()))
        assert first == second and len(first) == 2 and os.getpid() not in first
    finally:
        stop.set()
        server.join(timeout=60)
    assert not server.is_alive() and not address_file.exists()


def _shared_input_keys(_, *shared):
    from distributed import get_worker
    from distributed.worker import thread_state

    return sorted(str(dependency.key) for dependency in get_worker().state.tasks[thread_state.key].dependencies)


def test_cells_that_share_inputs_scatter_them_under_keys_of_their_own():
    """Two cells on one kept cluster with equal inputs (as consecutive cells of one model or target
    are): a key derived from the value would be shared between them, and one cell releasing it while
    the next scatters it is Dask's lost-key race (docs/errors.md "Known limits")."""
    from dask.distributed import LocalCluster

    shared = (make_model("rf_magpie", **TINY["rf_magpie"]), np.arange(50.0))
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, env=ONE_THREAD) as cluster:
        params = ComputeParams(scheduler=cluster.scheduler_address)
        first, second = (map_in_workers(_shared_input_keys, [0, 1], params, shared=shared) for _ in range(2))
    assert len(first[0]) == len(shared) and first[0] == first[1]
    assert not set(first[0]) & set(second[0])


def _sleep_then_report(seconds):
    import time

    time.sleep(seconds)
    return time.monotonic()


def test_the_largest_fits_start_first():
    """`sizes` orders the start: on one worker the largest item finishes first, whatever the order
    of the items; the results still come back in the items' order."""
    items, sizes = [0.01, 0.02, 0.03], [1, 3, 2]
    finished = map_in_workers(_sleep_then_report, items, ComputeParams(workers=1), sizes=sizes)
    assert finished[1] < finished[2] < finished[0]
