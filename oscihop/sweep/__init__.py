"""Resumable parameter sweeps into one zarr store: :func:`sweep` and :func:`open_sweep`.

The layout of a sweep store is described in :mod:`oscihop.sweep.store`.  One module per job,
each importing only those below it::

    api          sweep() and open_sweep(): validate, lock, plan the tasks, run them, report
    executors    where the tasks run: a local process pool or a dask cluster
    runner       one task (worker side): build, check and integrate its points, write its chunks
    definition   what fixes a sweep's numbers, validated and fingerprinted
    store        the store's layout: create, verify and read it
    lock         the lock file that keeps two sweeps out of one store
"""

from .api import kuramoto_ring_build, open_sweep, sweep
from .definition import DEFAULT_N_TIMES, REDUCTIONS  # noqa: F401  (DEFAULT_N_TIMES: importable as before)
from .lock import LOCK_NAME
from .store import DONE, FAILED, NOT_RUN, OUTCOMES, PENDING, SOLVE_FAILED

__all__ = ["sweep", "open_sweep", "kuramoto_ring_build", "REDUCTIONS", "LOCK_NAME", "NOT_RUN", "OUTCOMES",
           "PENDING", "DONE", "FAILED", "SOLVE_FAILED"]
