"""The two kinds of compiled kernel (``config.serial_jit`` and ``config.entry_jit``).

A ``serial_jit`` kernel is compiled without Numba's wrappers for Python and C callers
(docs/architecture.md, "One loop for every kind"): only compiled code calls it.  Python can
still call it, through a compiled one-line caller, and gets the compiled kernel's result.  What
oscihop's own Python code calls is ``entry_jit``, so that no user-facing path builds such a
caller (which is not cached on disk) in every process.
"""

import importlib
import math
import pkgutil
from pathlib import Path

import numpy as np
import pytest
from numba.core.registry import CPUDispatcher

import oscihop as oh
from oscihop import config
from oscihop.kernels import elementary, terms
from oscihop.solvers import control

PACKAGE = Path(oh.__file__).resolve().parent


def _dispatchers():
    """{qualified name: dispatcher} of every compiled kernel at the top level of a CPU module."""
    out = {}
    for info in pkgutil.walk_packages([str(PACKAGE)], "oscihop."):
        if ".cuda" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.py_func.__module__ == info.name:
                out[f"{info.name}.{name}"] = value
    return out


def test_serial_kernels_have_no_wrappers_and_entry_kernels_do():
    kernels = _dispatchers()
    serial = {k: d for k, d in kernels.items() if isinstance(d, config._Kernel)}
    entry = {k: d for k, d in kernels.items() if not isinstance(d, config._Kernel)}
    assert len(serial) > 50 and len(entry) > 10
    for name, disp in serial.items():
        assert disp.targetoptions.get("no_cpython_wrapper") and disp.targetoptions.get("no_cfunc_wrapper"), name
        assert disp._cache.__class__.__name__ != "NullCache", f"{name} is not cached on disk"
    for name in ("oscihop.solvers.loops.erk_member", "oscihop.solvers.loops.erk_block",
                 "oscihop.kernels.system.batch_energy", "oscihop.kernels.system.batch_rhs"):
        assert name in entry and not entry[name].targetoptions.get("no_cpython_wrapper"), name


def test_python_calls_run_the_compiled_kernel():
    x = np.linspace(-3.0, 3.0, 7)
    got = np.array([elementary.tanh(v) for v in x])  # elementary.tanh: vectorisable arithmetic
    np.testing.assert_allclose(got, np.tanh(x), rtol=4 * np.finfo(float).eps, atol=0)
    assert control.rms(8.0, 2) == math.sqrt(4.0)
    y = np.arange(6.0)
    assert terms._dot(y, 0, 3, 3) == 0 * 3 + 1 * 4 + 2 * 5
    assert elementary.tanh.signatures  # compiled as the callee of the Python call's caller


def test_user_paths_call_no_serial_kernel_from_python(monkeypatch):
    """Solves (single and batch, with and without t_eval, every kind of method), model.rhs,
    energies, gradients and overlaps reach the compiled code only through entry kernels."""
    called = []
    original = config._Kernel.__call__

    def record(self, *args, **kwargs):
        called.append(self.py_func.__qualname__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(config._Kernel, "__call__", record)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((12, 12)) / 4
    hop = oh.Hopfield(w + w.T, activation="tanh")
    kur = oh.Kuramoto(2, edges=oh.ring_edges(12), coupling=1.0)
    hk = oh.HopfieldKuramoto(hop, kur, "all", alpha=0.2, mode="additive")
    for model in (hop, hk):
        y0 = model.random_state(seed=0)
        oh.solve(model, (0.0, 0.5), y0)
        oh.solve(model, (0.0, 0.5), y0, t_eval=[0.0, 0.5])
        oh.solve(model, (0.0, 0.5), np.stack([y0, model.random_state(seed=1)]), t_eval=[0.0, 0.5])
        oh.solve(model, (0.0, 0.5), y0, method="RK4", dt=0.05)
        model.rhs(0.0, y0)
        model.energy(y0)
        model.energy_gradient(y0)
    binary = oh.Hopfield(np.sign(w + w.T), activation="sign")
    oh.solve(binary, (0.0, 3.0), np.sign(rng.standard_normal(12)), method="async", seed=0)
    c = np.ones(12)
    oh.value_and_grad(hop, lambda y: (float(c @ y), c), hop.random_state(seed=0), (0.0, 0.5))
    assert called == []


@pytest.mark.parametrize("name", ["serial_jit", "entry_jit", "inline_jit", "noalias_jit"])
def test_every_decorator_is_used(name):
    text = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py") if p.name != "config.py")
    assert f"@{name}" in text or f"{name}(" in text
