"""The CUDA backend of :func:`oscihop.solve` (``backend="cuda"``).

Imported only when a solve asks for CUDA, so ``import oscihop`` never loads
``numba.cuda``.  :mod:`oscihop.cuda.backend` detects the device, moves data and
launches; :mod:`oscihop.cuda.kernels` holds the ``@cuda.jit`` kernels.  See
``docs/gpu.md``.
"""

__all__ = []
