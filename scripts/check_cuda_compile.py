"""Compile every CUDA kernel of oscihop to PTX, without a GPU: proof that they build for a device.

numba's CUDA simulator (used by the test suite) runs kernels as Python, so it cannot
catch code that the CUDA target rejects (NumPy ufuncs on scalars, allocations, returned
array views...).  This script runs the real numba-cuda compiler (NVVM from the CUDA
toolkit that the ``cuda``/``test`` extras install) on every kernel of
:mod:`oscihop.cuda.kernels`, both layouts, float32 and float64.  No driver is needed:
the device query that device-function compilation makes is answered with a fixed
compute capability, here only (never in the package).

    python scripts/check_cuda_compile.py                 # everything
    python scripts/check_cuda_compile.py --kernels erk_block energy --dtypes float32

Exits 1 if any kernel fails to compile (and prints the error), 2 if the simulator is on.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import types as _pytypes

KERNELS = ("erk_thread", "erk_block", "fixed_thread", "fixed_block", "async_thread", "energy")


def signatures(dtype_name):
    """{kernel name: (python function, argument types)} for one float dtype."""
    import numpy as np
    from numba import types

    import oscihop as oh
    from oscihop.cuda import kernels as K

    dt = types.float32 if dtype_name == "float32" else types.float64
    f8 = types.float64
    i8 = types.int64
    a1, a2, a3 = dt[::1], dt[:, ::1], dt[:, :, ::1]
    d1, d2, d3 = f8[::1], f8[:, ::1], f8[:, :, ::1]
    fps, ip = a2, i8[::1]
    # the parameter bundle's field types, as a real model gives them
    p = oh.Kuramoto(2, edges=[[0, 1]]).params(np.dtype(dtype_name))
    assert p.fp.dtype == np.dtype(dtype_name) and p.ip.dtype == np.int64
    b = types.boolean
    erk_common = (f8, d1, f8, a1, f8, d1, i8, f8, d2, d1, d1, d2, i8, d2, a3, b)
    return {
        "erk_thread": (K.erk_thread_kernel.py_func,
                       (fps, ip, a2, a2, d2, a3, a2, a2, a2, a2, b, f8) + erk_common),
        "erk_block": (K.erk_block_kernel.py_func,
                      (fps, ip, a2, a2, d2, a3, a2, a2, a2, a2, d3, d2, b, f8) + erk_common),
        "fixed_thread": (K.fixed_thread_kernel.py_func,
                         (fps, ip, a2, f8, d1, f8, i8, i8, f8, a3, d2, a2, a2, a2, a2, a2, a2)),
        "fixed_block": (K.fixed_block_kernel.py_func,
                        (fps, ip, a2, f8, d1, f8, i8, i8, f8, a3, d2, a2, a2, a2, a2, a2, a2, d3, d2)),
        "async_thread": (K.async_thread_kernel.py_func,
                         (fps, ip, a2, i8[:, ::1], a2, i8[::1], i8, i8, i8[::1], a3, d2)),
        "energy": (K.energy_kernel.py_func, (fps, ip, a2, i8, a2, a1)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", nargs="+", choices=KERNELS, default=list(KERNELS))
    parser.add_argument("--dtypes", nargs="+", choices=("float32", "float64"), default=["float32", "float64"])
    parser.add_argument("--cc", default="9.0", help="compute capability to compile for (default 9.0)")
    args = parser.parse_args(argv)
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        print("NUMBA_ENABLE_CUDASIM is set: unset it to compile real PTX.", file=sys.stderr)
        return 2
    cc = tuple(int(v) for v in args.cc.split("."))

    from numba import cuda
    import numba.cuda.dispatcher as dispatcher

    # Device functions ask the current device for its compute capability; there is none here.
    dispatcher.get_current_device = lambda: _pytypes.SimpleNamespace(compute_capability=cc)

    failures = 0
    for dtype_name in args.dtypes:
        sigs = signatures(dtype_name)
        for name in args.kernels:
            func, argtypes = sigs[name]
            t = time.perf_counter()
            try:
                ptx, _ = cuda.compile_ptx(func, argtypes, cc=cc)
            except Exception as exc:  # noqa: BLE001 - report every failure, then exit 1
                failures += 1
                print(f"FAIL {name:13s} {dtype_name}: {type(exc).__name__}: {exc}", flush=True)
                continue
            print(f"ok   {name:13s} {dtype_name}: {len(ptx) / 1e3:8.0f} kB of PTX in "
                  f"{time.perf_counter() - t:5.1f} s", flush=True)
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
