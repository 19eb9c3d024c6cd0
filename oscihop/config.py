"""Numba compilation flags used by every oscihop kernel, in one place.

Nothing here changes numba's global configuration: the flags are passed to each
``@njit`` decorator explicitly.  ``FASTMATH`` deliberately leaves out ``nnan`` and
``ninf`` so that NaN/inf guards in the solvers survive optimisation.
"""

from __future__ import annotations

import os

import numba

#: LLVM fast-math flags: reassociation lets reductions vectorise; no ``nnan``/``ninf``.
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

#: Options for serial kernels (safe to cache on disk).
SERIAL = dict(nogil=True, cache=True, fastmath=set(FASTMATH), error_model="numpy")

#: Options for kernels that use ``prange`` over independent batch members.
#: No ``cache=True`` on parallel kernels (see STYLE.md).
PARALLEL = dict(nogil=True, parallel=True, fastmath=set(FASTMATH), error_model="numpy")


def serial_jit(func):
    """Compile ``func`` with the serial kernel options."""
    return numba.njit(**SERIAL)(func)


def parallel_jit(func):
    """Compile ``func`` with the parallel (batch) kernel options."""
    return numba.njit(**PARALLEL)(func)


def num_threads() -> int:
    """Number of threads parallel kernels use (respects ``NUMBA_NUM_THREADS``)."""
    return int(numba.get_num_threads())


#: Default floating point type of states and parameters.
DEFAULT_DTYPE = os.environ.get("OSCIHOP_DTYPE", "float64")
