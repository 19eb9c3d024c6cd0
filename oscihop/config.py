"""Numba compilation flags used by every oscihop kernel, in one place.

Every kernel is serial, releases the GIL and is cached on disk; batches run blocks of
members on threads (``oscihop.solvers.solve.run_in_blocks``).  Nothing here changes
numba's global configuration: the flags are passed to each
``@njit`` decorator explicitly.  ``FASTMATH`` deliberately leaves out ``nnan`` and
``ninf`` so that NaN/inf guards in the solvers survive optimisation.
"""

from __future__ import annotations


import numba

#: LLVM fast-math flags: reassociation lets reductions vectorise; no ``nnan``/``ninf``.
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

#: Options for serial kernels (safe to cache on disk).
SERIAL = dict(nogil=True, cache=True, fastmath=set(FASTMATH), error_model="numpy")


def serial_jit(func):
    """Compile ``func`` with the serial kernel options."""
    return numba.njit(**SERIAL)(func)


def num_threads() -> int:
    """Threads a batch solve runs its blocks on (Numba's count: respects ``NUMBA_NUM_THREADS``)."""
    return int(numba.get_num_threads())

