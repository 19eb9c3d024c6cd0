"""Compile the kernels that sweep tests run in worker processes, once, into Numba's disk cache.

Run by ``conftest.py`` in a subprocess before any test compiles anything.  A kernel compiled with
fast-math in two processes can round differently in the last bits, depending on whether its
callees were compiled in that process or loaded from the cache (docs/theory.md §9).  The sweep
tests compare a worker's results with a solve in the test process bit for bit; with every kernel
they use loaded from one cache, both run the same code.  Loading the cache is also cheaper than
compiling the same kernels in every test process.
"""
import os
import sys

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
os.environ.setdefault("OSCIHOP_SPECIALIZE", "0")

import numpy as np  # noqa: E402

import oscihop as oh  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sweep_models as sm  # noqa: E402

T_EVAL = [0.0, 0.5, 1.0]


def main(dtypes):
    from oscihop.verification import energy_increase, max_energy_rate

    builds = [sm.kuramoto_build(1.0, 0), sm.mixed_build("complete", 1.0, 0), sm.hk_build(0.1, 0),
              sm.hopfield_build(1.0, 0)]
    methods = [("RK45", {}), ("Tsit5", {}), ("RK23", {}), ("RK4", {"dt": 0.1}), ("Euler", {"dt": 0.1})]
    for dtype in dtypes:
        for method, kw in methods:
            for model, y0 in builds:
                sol = oh.solve(model, (0.0, 1.0), y0, method=method, t_eval=T_EVAL, dtype=dtype, **kw)
                oh.solve(oh.stack([model, model]), (0.0, 1.0), np.stack([y0, y0]), method=method, t_eval=T_EVAL,
                         dtype=dtype, **kw)
                if model.dim:
                    model.order_parameter(sol.states)
                energy_increase(np.asarray(sol.energy, dtype=np.float64), 1e-8, 1e-8)
                max_energy_rate(model, np.asarray(sol.states, dtype=np.float64))
        model, y0 = sm.binary_build(0.25, 0)
        oh.solve(model, (0.0, 5.0), y0, method="async", seed=3, t_eval=np.arange(6.0), dtype=dtype)


if __name__ == "__main__":
    main(sys.argv[1:] or ["float64", "float32"])
