"""Where model fits run: worker processes of a Dask cluster, each fit on one thread.

The fits of one cell (the folds of a cv cell, the draws of a bootstrap cell, the folds of every
draw of repeated CV, the one fit of train) are independent. They run in Dask worker processes, as
many as `compute.workers` in params.yaml (0, the default: one per core this process may use), each
process pinned to one thread (BLAS, OpenMP, TensorFlow's and torch's thread pools). A fit then
computes the same bytes whatever the worker count and whatever the machine's core count: only
where it runs changes. For that reason `compute` is a parameter of no DVC stage; changing it
reruns nothing.

By default the workers are a `LocalCluster` started for the cell and closed after it. With
`compute.scheduler` set (a Dask scheduler's address, e.g. from dask-jobqueue or from
`dask scheduler` on one machine and `dask worker` on several GPU machines), the fits go to that
cluster instead; its workers must run with `ONE_THREAD` in their environment and one thread each
(`dask worker --nthreads 1`), and with the same numerical environment (`electrode_ml.numerics`).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

from electrode_ml.errors import ElectrodeMLError
from electrode_ml.params import DEFAULT_PARAMS, ParameterError, from_mapping, parameters, read_params

# Read by each library when it starts its thread pool, so they must be in the worker's environment
# before it imports anything: OpenMP (torch's intra-op pool, scikit-learn), OpenBLAS, MKL, TensorFlow.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}


# The longest a stage waits for the next of its tasks to finish. The slowest task of a quick run on
# 2 cores is a CrabNet LOCO fit, 20 to 30 s in a worker; the slowest any profile sends to a worker
# is crabnet's own loop at its default size on one CPU thread, about 3.5 h (docs/performance.md):
# six hours stops a hung fit on a laptop the same day and no real one.
TASK_TIMEOUT = 6 * 3600


class TaskTimeout(ElectrodeMLError):
    """No task of a stage finished within `compute.task_timeout`: a fit or a partition hangs."""


@parameters
class ComputeParams:
    workers: int = 0
    scheduler: str | None = None
    task_timeout: float = TASK_TIMEOUT  # seconds; 0: wait for ever

    def __post_init__(self):
        if self.workers < 0:
            raise ParameterError(f"compute.workers must be >= 0 (0: one per core), got {self.workers}")
        if self.task_timeout < 0:
            raise ParameterError(f"compute.task_timeout must be >= 0 seconds (0: no limit), got {self.task_timeout}")

    def worker_count(self) -> int:
        """`workers`, with 0 meaning one per core this process may use."""
        return self.workers or usable_cores()


def compute_params(path: str | Path = DEFAULT_PARAMS) -> ComputeParams:
    """params.yaml's `compute:` block; without one, the defaults (a local cluster, one worker per core)."""
    return from_mapping("compute", ComputeParams, read_params(path).get("compute") or {}, source=str(path))


def usable_cores() -> int:
    """The cores this process may run on (a container's or a batch job's share, not the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def fit_client(params: ComputeParams, tasks: int, memory_limit: str | int = 0):
    """A Dask client: of the cluster at `params.scheduler` (else at Dask's own `scheduler-address`,
    e.g. `DASK_SCHEDULER_ADDRESS` in the environment), or of a local cluster of one-thread
    worker processes, no more of them than there are tasks, each held to `memory_limit` (Dask's
    form: "4GiB", "auto" for the machine's memory shared among them; 0 for none)."""
    import dask
    from dask.distributed import Client

    address = params.scheduler or dask.config.get("scheduler-address", None)
    if address:
        with Client(address) as client:
            yield client
        return
    workers = max(1, min(params.worker_count(), tasks))
    with local_cluster(workers, memory_limit) as cluster, Client(cluster) as client:
        yield client


# Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in every worker it spawns, so that glibc hands freed
# memory back to the system sooner. Setting it at all also switches off glibc's dynamic mmap
# threshold: every allocation over 128 KiB is then a fresh mmap and munmap, and each of its pages a
# new page fault. A CrabNet fit of the quick profile allocates such tensors at every step: 35 s
# instead of 23 s, with 6.9 s in the kernel instead of 0.4 s and 6.2 million page faults instead of
# 0.1 million (the same fit in a plain process with and without the variable, measured back to back
# on 2 cores). Its results are the same bytes either way: the allocator moves no number.
UNSET_IN_WORKERS = ("MALLOC_TRIM_THRESHOLD_",)


def local_cluster(workers: int, memory_limit: str | int = 0):
    """A `LocalCluster` of `workers` one-thread worker processes, each held to `memory_limit`."""
    import dask
    from dask.distributed import LocalCluster

    # The workers inherit this process's environment (the numerical pins included) plus ONE_THREAD.
    # The fits have no memory limit: Dask would pause a worker holding a large fit instead of
    # letting it finish.
    # Dask's own logs only when critical: a worker whose heartbeat meets the closing scheduler logs a
    # traceback at ERROR, though nothing failed; an error in a fit comes back as itself (below).
    # No progress bars from the workers (matminer draws one per block it featurizes, modnet offers no
    # switch): the stage draws one over its tasks.
    # None unsets a variable of Dask's pre-spawn environment (read as each worker's nanny is made).
    with dask.config.set({f"distributed.nanny.pre-spawn-environ.{name}": None for name in UNSET_IN_WORKERS}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                            dashboard_address=None, silence_logs=logging.CRITICAL,
                            env={**ONE_THREAD, "TQDM_DISABLE": "1"})


def _quietly(function: Callable, item, *shared):
    """`function(item, *shared)` without the library warnings `electrode-ml` silences (modnet and
    pandas warn about their own future once per fit): a worker is a new interpreter, without them."""
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    return function(item, *shared)


def map_in_workers(function: Callable, items: list, params: ComputeParams, shared: tuple = (),
                   progress: Callable[[Iterable], Iterable] | None = None, memory_limit: str | int = 0,
                   sizes: list[float] | None = None) -> list:
    """`function(item, *shared)` for every item, in the workers; the results in the order of `items`.

    `shared` (the cell's inputs) goes to each worker once, not once per item. An exception in a fit
    is raised here, as it was raised there. `progress` wraps the tasks as they complete (a tqdm bar).
    `sizes` (each item's expected cost, e.g. its training rows) starts the largest first: the last
    task to start is then a small one, and no worker idles long while another finishes a large fit.
    """

    sizes = sizes if sizes is not None else [0] * len(items)
    if len(sizes) != len(items):
        raise ValueError(f"{len(sizes)} sizes for {len(items)} items")
    with fit_client(params, len(items), memory_limit) as client:
        # Under a key of its own (hash=False), never the hash of its value: consecutive cells on a
        # run's kept workers scatter equal inputs (the same model, X or y), and a key that one cell's
        # client is still releasing while the next scatters it can be lost to both
        # (dask/distributed#3703, #8576): the fits that need it then wait, or are cancelled "for
        # reason: unknown" (docs/errors.md "Known limits").
        shared_futures = [client.scatter(value, broadcast=True, hash=False) for value in shared]
        # Submitted largest first too: a worker that is idle takes the first task before the rest arrive.
        largest_first = sorted(range(len(items)), key=lambda index: -sizes[index])
        submitted = {index: client.submit(_quietly, function, items[index], *shared_futures, pure=False,
                                          priority=sizes[index]) for index in largest_first}
        futures = [submitted[index] for index in range(len(items))]
        for _ in (progress(finished(client, futures, params.task_timeout, function)) if progress
                  else finished(client, futures, params.task_timeout, function)):
            pass
        return client.gather(futures)


def finished(client, futures: list, limit: float, function: Callable) -> Iterable:
    """`futures` as each finishes (done or failed); TaskTimeout, naming the tasks still running by
    their number in `futures`, when none finishes within `limit` seconds (0: no limit). A thread
    stuck in a fit cannot be stopped, only its process: a local cluster's goes with the cluster,
    and `make reproduce` stops its kept workers when the run ends."""
    from dask.distributed import wait

    pending = set(futures)
    while pending:
        try:
            done, pending = wait(pending, timeout=limit or None, return_when="FIRST_COMPLETED")
        except TimeoutError:
            running = sorted(number for number, future in enumerate(futures) if future in pending)
            client.cancel(list(pending), force=True)
            raise TaskTimeout(
                f"{getattr(getattr(function, 'func', function), '__name__', 'task')}: none of tasks {running} (of "
                f"{len(futures)}: the fold, draw, block or partition of that number) finished within "
                f"compute.task_timeout = {limit:g} s; a fit that hangs is stopped here. Raise compute.task_timeout "
                "in params.yaml if yours runs that long (docs/errors.md \"Known limits\")") from None
        yield from done
