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

from .api import open_sweep, sweep
from .definition import DEFAULT_N_TIMES, REDUCTIONS  # noqa: F401  (DEFAULT_N_TIMES: not in __all__, as before)
from .lock import LOCK_NAME
from .store import DONE, FAILED, NOT_RUN, OUTCOMES, PENDING, SOLVE_FAILED

__all__ = ["sweep", "open_sweep", "kuramoto_ring_build", "REDUCTIONS", "LOCK_NAME", "NOT_RUN", "OUTCOMES",
           "PENDING", "DONE", "FAILED", "SOLVE_FAILED"]


# Defined here, not in a submodule: a sweep's fingerprint records its build as module:qualname
# ("oscihop.sweep:kuramoto_ring_build"), so stores written with it keep resuming.
def kuramoto_ring_build(coupling=1.0, seed=0, n=8, dim=2):
    """Example ``build`` for sweeps: Kuramoto oscillators on a ring, random start from ``seed``.

    Parameters
    ----------
    coupling : float
        Coupling ``J`` of every ring edge.
    seed : int
        Seed of the random initial state (uniform on the sphere).
    n : int, default 8
    dim : int, default 2

    Returns
    -------
    (Kuramoto, ndarray (n * dim,))

    Examples
    --------
    >>> from oscihop.sweep import kuramoto_ring_build
    >>> model, y0 = kuramoto_ring_build(coupling=0.5, seed=3)
    >>> model.size, y0.shape
    (16, (16,))
    """
    from ..graph import ring_edges
    from ..models import Kuramoto

    model = Kuramoto(int(dim), edges=ring_edges(int(n)), coupling=float(coupling))
    return model, model.random_state(seed=int(seed))
