"""Compiled arithmetic only: contiguous arrays and scalars in, ``out=`` arrays written.

Kernels never validate; the models in :mod:`oscihop.models` build a
:class:`SystemParams` bundle that every kernel reads.
"""

from .params import SystemParams  # noqa: F401

__all__ = ["SystemParams"]
