"""The package's one thread pool: contiguous blocks of batch members on persistent threads.

The compiled ``*_block`` kernels (solves, energies, the adjoint's forward and backward
sweeps) release the GIL, so blocks of members run in parallel on threads.  The pool is
created once and rebuilt only when the thread count changes (no thread start-up per call).
Work started from one of its own threads runs inline, so nested calls never wait on a
pool they occupy.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["INLINE_SECONDS", "even_blocks", "run_blocks"]

#: Work whose serial run is estimated below this many seconds runs on the calling thread.
INLINE_SECONDS = 1e-2
_PREFIX = "oscihop-pool"
_POOL = [None, 0]
_LOCK = threading.Lock()


def even_blocks(n_members, n_blocks):
    """``n_blocks`` contiguous ``(lo, hi)`` ranges covering ``range(n_members)`` evenly."""
    bounds = np.linspace(0, n_members, n_blocks + 1).astype(np.int64)
    return [(int(bounds[k]), int(bounds[k + 1])) for k in range(n_blocks)]


def _executor(threads):
    with _LOCK:
        pool, n = _POOL
        if pool is None or n != threads:
            if pool is not None:
                pool.shutdown(wait=False)
            pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=_PREFIX)
            _POOL[0], _POOL[1] = pool, threads
        return pool


def run_blocks(blocks, run_block, threads, estimate=math.inf):
    """Run ``run_block(lo, hi)`` over ``blocks``; return the seconds it took.

    On the pool with ``threads`` workers, unless the work is small: ``estimate`` (seconds of
    the serial run) below :data:`INLINE_SECONDS` runs inline on the calling thread; with
    ``estimate=None`` the first block runs inline, timed, and predicts the rest.  One
    block, one thread, or a call from a pool thread also run inline.
    """
    t = time.perf_counter()
    inline = threads <= 1 or len(blocks) == 1 or threading.current_thread().name.startswith(_PREFIX)
    rest = blocks
    if not inline and estimate is None:
        run_block(*blocks[0])
        rest = blocks[1:]
        estimate = (time.perf_counter() - t) * len(rest)
    if inline or estimate < INLINE_SECONDS:
        for lo, hi in rest:
            run_block(lo, hi)
    else:
        futures = [_executor(threads).submit(run_block, lo, hi) for lo, hi in rest]
        for future in futures:
            future.result()
    return time.perf_counter() - t
