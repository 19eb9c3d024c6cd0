"""Numba compilation flags used by every oscihop kernel, in one place.

Every kernel is serial, releases the GIL and is cached on disk; batches run blocks of
members on threads (``oscihop.solvers.solve.run_in_blocks``).  Nothing here changes
numba's global configuration: the flags are passed to each
``@njit`` decorator explicitly.  ``FASTMATH`` deliberately leaves out ``nnan`` and
``ninf`` so that NaN/inf guards in the solvers survive optimisation.
"""

from __future__ import annotations

import contextlib

import numba

from ._cache import invalidate_stale_cache

__all__ = ["FASTMATH", "SERIAL", "serial_jit", "inline_jit", "num_threads", "blas_threads"]

# Drop cached kernels compiled from older sources (Numba only checks each function's own file).
invalidate_stale_cache()

#: LLVM fast-math flags: reassociation lets reductions vectorise; no ``nnan``/``ninf``.
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

#: Options for serial kernels (safe to cache on disk).
SERIAL = dict(nogil=True, cache=True, fastmath=set(FASTMATH), error_model="numpy")


def serial_jit(func):
    """Compile ``func`` with the serial kernel options."""
    return numba.njit(**SERIAL)(func)


def inline_jit(func):
    """:func:`serial_jit`, inlined into compiled callers at Numba's IR level.

    For the few large loops with a single call site (the adaptive solver's start, advance and
    initial step) and the thin entry points over the right-hand side and energy: inlining them
    saves compiling each as a library of its own, and so optimising the whole right-hand side
    again at every level of the call chain, which was most of a first call's compile time.
    Called from Python they compile as usual.
    """
    return numba.njit(inline="always", **SERIAL)(func)


def num_threads() -> int:
    """Threads a batch solve runs its blocks on (Numba's count: respects ``NUMBA_NUM_THREADS``)."""
    return int(numba.get_num_threads())


@contextlib.contextmanager
def blas_threads(n):
    """Limit BLAS to ``n`` threads inside the block (threadpoolctl, when installed).

    Used where oscihop already runs one BLAS call per thread of its own pool, so that
    ``threads x BLAS threads`` does not oversubscribe the cores.  Without threadpoolctl
    this is a no-op (then set ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` yourself).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    # Numba's np.dot calls the BLAS that SciPy bundles (through scipy.linalg.cython_blas);
    # threadpoolctl limits only libraries already loaded, so load that one first.
    import scipy.linalg.cython_blas  # noqa: F401

    with threadpool_limits(limits=int(n), user_api="blas"):
        yield
