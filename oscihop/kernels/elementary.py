"""The package's one ``tanh``, ``exp(-a)`` and ``sigmoid``: branch-free, in plain arithmetic,
so that they vectorise.

``math.tanh`` compiles to a call into the C library, one element at a time;
a loop ``g[i] = tanh(beta h[i])`` then costs about 20 ns per element and dominates a
small network's right-hand side.  These are written with a polynomial, at most one
division and an exponent built from integer bits, so LLVM vectorises the loop around them
(4 doubles per AVX2 instruction): about 0.25 us instead of 1.9 us for 100 tanh.  ``tanh`` is
within 3 ulp of NumPy's over the whole real line, ``sigmoid`` within 3e-14 relative of the
exact value (tested in ``tests/test_speed_paths.py``); all are device code as well: no
allocation, no NumPy ufuncs.  :func:`local_vector` gives the fixed-D kernels their stack vectors.

Bound used (float64): for ``|x| > 19.1`` tanh(x) rounds to +-1.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ..config import serial_jit

__all__ = ["tanh", "exp_neg", "sigmoid", "local_vector"]

_LOG2E = 1.4426950408889634
_LN2_HI = 0.693147180369123816490  # high part of ln 2 (exact in 32 bits)
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_EXP_NEG_MAX = 708.3964185322641  # 1022 ln 2: exp(-a) is a normal number up to here


@intrinsic
def _int_bits_as_float(typingctx, bits):
    """Reinterpret the 64 bits of an int64 as a float64 (no conversion)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@serial_jit
def _expm1_poly(r):
    """expm1(r) for |r| <= 0.35 by its Taylor series to degree 13 (error < 1e-17 relative)."""
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    return p * r


@serial_jit
def _pow2_split(z):
    """``(2^-k, r)`` with ``z = k ln 2 - r``, ``|r| <= ln 2 / 2``, for ``0 <= z <= 1022 ln 2``.

    ``k`` is converted through int32, not int64: AVX2 converts four doubles to and from
    int32 in one instruction and has no packed conversion for int64 (LLVM would do those
    one lane at a time); ``2^-k`` is built from its bits (a normal number: ``k <= 1022``).
    """
    ki = np.int32(z * _LOG2E + 0.5)  # round(z / ln 2): a positive argument truncates to its floor
    k = float(ki)
    return _int_bits_as_float(np.int64(1023 - ki) << 52), (k * _LN2_HI - z) + k * _LN2_LO


@serial_jit
def tanh(x):
    """tanh(x) in vectorisable arithmetic, within 3 ulp of NumPy's, with one exponential.

    With ``z = 2|x| = k ln 2 - r`` (:func:`_pow2_split`): ``em = expm1(-z) = 2^-k (1 +
    expm1(r)) - 1`` (exactly ``expm1(r)`` for ``k = 0``, so small arguments keep full
    relative accuracy) and ``tanh|x| = -em / (2 + em)``.  NaN propagates; +-inf give +-1.
    This is the one tanh of the package: the activation pass, phi', the batch path, the
    VJPs and the CUDA kernels all call it.
    """
    s, r = _pow2_split(min(2.0 * abs(x), 40.0))  # tanh(20) rounds to 1
    em = s * _expm1_poly(r) + (s - 1.0)
    t = -em / (2.0 + em)
    return t if x >= 0 else -t


@serial_jit
def exp_neg(a):
    """exp(-a) for ``a >= 0`` in vectorisable arithmetic; 0 where exp(-a) is below the smallest
    normal number (``a > 1022 ln 2``).  Relative error below 3e-14 (6 ulp for ``a <= 20``): the
    kernels' fast-math reassociation merges the two parts of ln 2 in the argument reduction,
    so the error grows with ``k`` (tested in ``tests/test_speed_paths.py``)."""
    s, r = _pow2_split(min(a, _EXP_NEG_MAX))
    e = s * (_expm1_poly(r) + 1.0)
    return e if a <= _EXP_NEG_MAX else 0.0


@serial_jit
def sigmoid(z):
    """1 / (1 + exp(-z)) without overflow, in vectorisable arithmetic: ``e / (1 + e)`` with
    ``e = exp(-|z|)`` for negative ``z``, so large negative ``z`` keep their relative accuracy
    (relative error below 3e-14 over the real line, 16 ulp for ``|z| <= 40``).  NaN propagates.
    The one sigmoid of the package (activation, phi', batch path, CUDA)."""
    e = exp_neg(abs(z))
    s = 1.0 / (1.0 + e)
    t = s if z >= 0 else e * s
    return t if z == z else z


@intrinsic
def local_vector(typingctx, n, like):
    """A length-``n`` scratch array on the stack (``n`` a compile-time constant), of the
    dtype of ``like`` (an array or a scalar).

    For the kernels specialised to the oscillator dimension D (:mod:`oscihop.kernels.fixed_dim`):
    with ``n`` and every index constant once the loops over D are unrolled, LLVM promotes
    the elements to registers, so a D-generic body compiles to the code hand-written
    scalars ``x0 .. x{D-1}`` would.  No allocation, so it is device code as well (the same
    ``alloca`` that ``cuda.local.array`` emits).
    """
    if not isinstance(n, types.IntegerLiteral):
        return None
    dtype = like.dtype if isinstance(like, types.Array) else like
    if not isinstance(dtype, types.Number):
        return None
    count = n.literal_value
    arrty = types.Array(dtype, 1, "C")

    def codegen(context, builder, signature, args):
        from numba.core import cgutils
        from numba.np.arrayobj import make_array, populate_array

        lty = context.get_data_type(dtype)
        intp = context.get_value_type(types.intp)
        itemsize = context.get_abi_sizeof(lty)
        ary = make_array(arrty)(context, builder)
        populate_array(ary, data=cgutils.alloca_once(builder, lty, size=count),
                       shape=cgutils.pack_array(builder, [intp(count)]),
                       strides=cgutils.pack_array(builder, [intp(itemsize)]),
                       itemsize=intp(itemsize), meminfo=None)
        return ary._getvalue()

    return arrty(n, like), codegen
