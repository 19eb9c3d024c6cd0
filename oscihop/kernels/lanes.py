"""Lanes: who runs a loop over the state.

Every function that loops over a state vector and may run inside a CUDA block takes
``ln``.  ``ln`` is None where one thread does all the work (the CPU, the adjoint, the CUDA
thread layout): a loop is ``range(n)``, a reduction is the plain sum.  The CUDA block layout
passes its ``Lanes`` (:class:`oscihop.cuda.kernels.Lanes`): thread ``tid`` of ``nt`` takes the
elements ``tid, tid + nt, ...`` of every loop, written

    for i in range(first(ln), n, stride(ln)):

and a block adds four operations (a barrier, a sum, a maximum, the right-hand side), declared
here and implemented by :mod:`oscihop.cuda.kernels` (``@overload`` for the device; the
methods of ``Lanes`` under the simulator, where the functions that take ``ln`` run as Python).
Every element of a state vector is written and read by one thread, except where a function
works by rows (the right-hand side, the retraction), which synchronises the block before and
after.  The branches on ``ln is None`` are resolved when Numba compiles (the other branch is
pruned), so the code for one thread is the serial loop itself, and vectorises as before.
See "Layouts and lanes" in ``docs/architecture.md``.
"""

from __future__ import annotations

from ..config import serial_jit

__all__ = ["first", "stride", "lane_sync", "lane_sum", "lane_max", "block_sync", "block_sum", "block_max",
           "block_rhs"]


def block_sync(ln):
    """Barrier of the CUDA block's threads."""
    ln.sync()


def block_sum(ln, x):
    """The sum of ``x`` over the block's threads, in thread order; every thread gets it."""
    return ln.sum(x)


def block_max(ln, x):
    """The maximum of ``x`` over the block's threads (NaN wins); every thread gets it."""
    return ln.max(x)


def block_rhs(p, ln, y, out):
    """out = dy/dt at ``y``, the rows split over the block's threads."""
    ln.rhs(p, y, out)


@serial_jit
def first(ln):
    """This thread's first element of a loop over the state (0 on one thread)."""
    if ln is None:
        return 0
    return ln.tid


@serial_jit
def stride(ln):
    """The step between this thread's elements (1 on one thread)."""
    if ln is None:
        return 1
    return ln.nt


@serial_jit
def lane_sync(ln):
    """Wait for the block's other threads (nothing on one thread)."""
    if ln is not None:
        block_sync(ln)


@serial_jit
def lane_sum(ln, x):
    """The sum of every thread's ``x`` (``x`` itself on one thread)."""
    if ln is None:
        return x
    return block_sum(ln, x)


@serial_jit
def lane_max(ln, x):
    """The maximum of every thread's ``x`` (``x`` itself on one thread)."""
    if ln is None:
        return x
    return block_max(ln, x)
