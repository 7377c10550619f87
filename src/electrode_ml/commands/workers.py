"""`electrode-ml workers`: the one-thread fit workers of a whole run, started once.

Without it, every cell starts its own local cluster and each of its workers imports its model's
libraries again (torch and CrabNet, or TensorFlow and MODNet), in some 50 cells (docs/performance.md "Where the fits run" has what it saves). `make reproduce` starts this command before DVC and stops it
after; the stages find its scheduler through Dask's own `DASK_SCHEDULER_ADDRESS`
(`electrode_ml.compute.fit_client`) and their fits run on workers that are already up. A fit computes the same bytes there as in a fresh
worker: every model seeds itself inside `fit`, and MODNet clears Keras' global state first.

It writes the scheduler's address to `--address-file` once the workers are up (atomically, so a
reader never sees half an address), removes the file when it stops, and runs until it is stopped
(SIGTERM, SIGINT).
"""
from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from electrode_ml.compute import ComputeParams, compute_params, local_cluster
from electrode_ml.files import atomic_path
from electrode_ml.params import DEFAULT_PARAMS


def serve(params: ComputeParams, address_file: Path, stop: threading.Event) -> None:
    """Run `params.worker_count()` one-thread workers until `stop` is set; their scheduler's address
    in `address_file` meanwhile."""
    with local_cluster(params.worker_count()) as cluster:
        with atomic_path(address_file) as temporary:
            temporary.write_text(cluster.scheduler_address + "\n")
        try:
            stop.wait()
        finally:
            address_file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml workers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS,
                        help="parameter file: compute.workers, the number of workers (default: %(default)s)")
    parser.add_argument("--address-file", type=Path, required=True, help="where to write the scheduler's address")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serve(compute_params(args.params), args.address_file, stop)
