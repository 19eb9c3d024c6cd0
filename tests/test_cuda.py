"""The CUDA backend against the CPU backend (same seed, same models, same methods).

Runs everywhere: ``tests/conftest.py`` turns on numba's CUDA simulator, so the kernels of
``oscihop.cuda`` execute as Python threads (tiny networks, blocks of 2-4 threads).  On a
machine with a GPU, run with ``NUMBA_ENABLE_CUDASIM=0`` to test the device itself.

Tolerances.  The thread layout runs the CPU's own compiled cores (one source), so the
fixed-step methods and ``async`` agree exactly, and the adaptive ones to a few ulps
(fast-math may reassociate the dense-output sums differently in the two builds).  The
block layout sums the O(N) reductions in another order, so it agrees to rounding,
amplified by the adaptive step control over the run: ``TOL`` below.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given
from hypothesis import strategies as st

import oscihop as oh
from oscihop.solvers import loops

ROOT = Path(__file__).resolve().parents[1]
TOL = {np.float64: 1e-9, np.float32: 2e-4}
FIXED = ("Euler", "RK4", "Geometric", "AKOrN")
ADAPTIVE = ("RK45", "RK23", "Tsit5")

pytestmark = pytest.mark.skipif(
    os.environ.get("NUMBA_ENABLE_CUDASIM", "0") in ("", "0") and not __import__("numba").cuda.is_available(),
    reason="needs numba's CUDA simulator (set by conftest) or a GPU")


def _sym(rng, n, s=1.0):
    m = rng.normal(size=(n, n)) * s
    m = (m + m.T) / 2
    np.fill_diagonal(m, 0.0)
    return m


def _models(n=3, dim=3):
    rng = np.random.default_rng(7)
    edges = np.array([[0, 1], [1, 2], [0, 2]])
    om = rng.normal(size=(dim, dim))
    om = om - om.T
    w = _sym(rng, n)
    ws = w.copy()
    ws[np.abs(ws) < 0.2] = 0.0
    hop = oh.Hopfield(w, activation="tanh", beta=1.2)
    kur = oh.Kuramoto(dim, edges=edges, coupling=0.8)
    return {
        "hop-tanh-dense": oh.Hopfield(w, bias=0.1 * rng.normal(size=n), activation="tanh", beta=1.5),
        "hop-sigmoid-csr": oh.Hopfield(scipy.sparse.csr_matrix(ws), activation="sigmoid", beta=2.0),
        "hop-relu-lowrank": oh.Hopfield(oh.LowRank(rng.normal(size=(2, n)), scale=0.3), activation="relu"),
        "hop-softmax-dense": oh.Hopfield(w, activation="softmax", beta=2.0),
        "kur-edges-tanh-stim-omega": oh.Kuramoto(dim, edges=edges, coupling=rng.normal(size=3), interaction="tanh",
                                                 stimulus=0.2 * rng.normal(size=(n, dim)), omega=om),
        "kur-edges-relu": oh.Kuramoto(dim, edges=edges, coupling=1.0, interaction="relu", interaction_weights=0.5),
        "kur-edges-sigmoid-natural": oh.Kuramoto(2, edges=edges, coupling=0.7, interaction="sigmoid",
                                                 omega=rng.normal(size=n)),
        "kur-dense": oh.Kuramoto(dim, coupling=_sym(rng, n)),
        "kur-lowrank": oh.Kuramoto(dim, coupling=oh.LowRank(rng.normal(size=(2, n)), scale=0.5)),
        "kur-meanfield": oh.Kuramoto(dim, coupling="mean-field", strength=2.0, n=n),
        "kur-blocks": oh.Kuramoto(dim, edges=edges, coupling=rng.normal(size=(len(edges), dim, dim)),
                                  stimulus=0.2 * rng.normal(size=(n, dim))),
        "kur-dense-blocks": oh.Kuramoto(dim, coupling=0.5 * rng.normal(size=(n, n, dim, dim))),
        "kur-conv": oh.Kuramoto(dim, coupling=oh.ConvCoupling(0.5 * rng.normal(size=(dim, dim, 3, 3)),
                                                              rng.normal(size=dim), grid=(1, n), dim=dim),
                                omega=om),
        "hk-network": oh.HopfieldKuramoto(hop, kur, edges, weights=rng.normal(size=3), mode="network", kappa_h=1.5),
        "hk-additive-all": oh.HopfieldKuramoto(hop, kur, "all", alpha=0.4, mode="additive", kappa_k=0.7),
        "hk-multiplicative": oh.HopfieldKuramoto(hop, kur, edges, alpha=0.5, mode="multiplicative"),
    }


MODELS = _models()
# one fixed-step method per model (all four covered), the adaptive ones all on each layout
_FIXED_OF = {name: FIXED[k % 4] for k, name in enumerate(MODELS)}


def _pair(model, method, dtype=np.float64, batch=2, layout="thread", t_eval=(0.0, 0.2, 0.4), **kw):
    y0 = model.random_state(seed=3, batch=batch).astype(dtype)
    if method in FIXED:
        kw.setdefault("dt", 0.1)
    te = None if t_eval is None else np.array(t_eval)
    cpu = oh.solve(model, (0.0, 0.4), y0, method=method, t_eval=te, **kw)
    gpu = oh.solve(model, (0.0, 0.4), y0, method=method, t_eval=te, backend="cuda", layout=layout,
                   threads_per_block=2 if layout == "block" else None, **kw)
    return cpu, gpu


def _close(cpu, gpu, tol):
    assert gpu.states.shape == cpu.states.shape and gpu.states.dtype == cpu.states.dtype
    np.testing.assert_allclose(gpu.t, cpu.t, rtol=0, atol=0)
    np.testing.assert_allclose(gpu.states, cpu.states, rtol=0, atol=tol)
    np.testing.assert_allclose(gpu.energy, cpu.energy, rtol=0, atol=10 * tol)
    np.testing.assert_array_equal(gpu.status, cpu.status)


@pytest.mark.parametrize("name", list(MODELS))
def test_thread_layout_matches_cpu_every_method(name):
    """One thread per trajectory runs the CPU's cores: fixed steps bit for bit, adaptive to ulps.
    Bit for bit needs the same right-hand side: the CUDA kernels always dispatch at run time, so
    under a kind-specialised CPU build (``OSCIHOP_SPECIALIZE=1``: the kind's own functions, whose
    fast-math contractions may differ) fixed steps agree to ulps too."""
    from oscihop.kernels import params as P

    model = MODELS[name]
    same_functions = P.spec_of(model.params()) is None
    for method in (*ADAPTIVE, _FIXED_OF[name]):
        cpu, gpu = _pair(model, method)
        if method in FIXED and (name == "kur-conv" or not same_functions):
            # the CPU steps a convolution's batch as BLAS products per tap (kernels.batched), the
            # GPU thread runs the stencil rows: the same sums in another order (or the CPU runs
            # the kind's own functions)
            _close(cpu, gpu, 1e-14)
        elif method in FIXED:
            np.testing.assert_array_equal(gpu.states, cpu.states)
            np.testing.assert_array_equal(gpu.energy, cpu.energy)
        else:
            _close(cpu, gpu, 1e-13)
        np.testing.assert_array_equal(gpu.nfev, cpu.nfev)
        np.testing.assert_array_equal(gpu.nsteps, cpu.nsteps)
        assert gpu.options["backend"] == "cuda" and gpu.options["cuda"]["layout"] == "thread"


@pytest.mark.parametrize("name", list(MODELS))
def test_block_layout_matches_cpu(name):
    """One block per trajectory (2 threads splitting the units): same steps, results to rounding."""
    model = MODELS[name]
    for method in ("RK23", _FIXED_OF[name]):
        cpu, gpu = _pair(model, method, layout="block", batch=1)
        _close(cpu, gpu, TOL[np.float64])
        np.testing.assert_array_equal(gpu.nsteps, cpu.nsteps)
        assert gpu.options["cuda"]["layout"] == "block" and gpu.options["cuda"]["threads_per_block"] == 2


@pytest.mark.parametrize("layout", ["thread", "block"])
@pytest.mark.parametrize("name", ["hk-additive-all", "kur-edges-tanh-stim-omega", "hop-softmax-dense"])
def test_float32(name, layout):
    cpu, gpu = _pair(MODELS[name], "RK45", dtype=np.float32, batch=1, layout=layout)
    assert gpu.states.dtype == np.float32 and gpu.energy.dtype == np.float32
    _close(cpu, gpu, TOL[np.float32])


def test_block_layout_more_threads_than_units_and_odd_counts():
    """Threads without units of their own still take part in every reduction."""
    model = MODELS["hk-additive-all"]
    y0 = model.random_state(seed=5)
    cpu = oh.solve(model, (0.0, 0.3), y0, method="RK4", dt=0.1)
    for threads in (1, 3, 4):
        gpu = oh.solve(model, (0.0, 0.3), y0, method="RK4", dt=0.1, backend="cuda", layout="block",
                       threads_per_block=threads)
        np.testing.assert_allclose(gpu.states, cpu.states, rtol=0, atol=1e-12)


def test_async_matches_cpu_exactly():
    """Binary Hopfield on the device: the same splitmix64 streams from the same seed."""
    rng = np.random.default_rng(1)
    pats = np.sign(rng.normal(size=(2, 6))) + 0.0
    for dense in (False, True):
        hop = oh.Hopfield.from_patterns(pats, activation="sign", dense=dense)
        y0 = np.where(rng.normal(size=(3, 6)) > 0, 1.0, -1.0)
        cpu = oh.solve(hop, (0, 4), y0, method="async", seed=11)
        gpu = oh.solve(hop, (0, 4), y0, method="async", seed=11, backend="cuda")
        np.testing.assert_array_equal(gpu.states, cpu.states)
        np.testing.assert_array_equal(gpu.energy, cpu.energy)
        np.testing.assert_array_equal(gpu.status, cpu.status)
        np.testing.assert_array_equal(gpu.nsteps, cpu.nsteps)


@pytest.mark.parametrize("layout", ["thread", "block"])
def test_every_step_recorded_and_streamed_in_blocks(monkeypatch, layout):
    """t_eval=None on one adaptive trajectory records every accepted step, as on the CPU; the
    device buffer (here 3 rows) is copied out and reused each time it fills."""
    from oscihop.cuda import backend

    monkeypatch.setattr(backend, "RECORD_BLOCK", 3)
    model = MODELS["kur-edges-relu"]
    y0 = model.random_state(seed=2)
    cpu = oh.solve(model, (0.0, 2.0), y0, method="RK45", rtol=1e-6)
    gpu = oh.solve(model, (0.0, 2.0), y0, method="RK45", rtol=1e-6, backend="cuda", layout=layout,
                   threads_per_block=2)
    assert cpu.t.size > 7  # several buffer fills
    tol = 1e-12 if layout == "thread" else 1e-7  # block sums round differently; the steps follow
    np.testing.assert_allclose(gpu.t, cpu.t, rtol=0, atol=tol)
    np.testing.assert_allclose(gpu.y, cpu.y, rtol=0, atol=tol)
    assert gpu.nsteps == cpu.nsteps


def test_batch_without_t_eval_gives_the_ends():
    model = MODELS["kur-meanfield"]
    cpu, gpu = _pair(model, "RK45", t_eval=None)
    np.testing.assert_array_equal(gpu.t, [0.0, 0.4])
    _close(cpu, gpu, 1e-13)


def test_statuses_steady_state_and_max_steps_match_cpu():
    model = MODELS["kur-dense"]
    y0 = model.random_state(seed=4, batch=2)
    for kw in (dict(method="RK45", steady_state=10.0), dict(method="RK45", max_steps=2),
               dict(method="RK4", dt=0.1, max_steps=2), dict(method="Euler", dt=0.1, steady_state=10.0)):
        for layout in ("thread", "block"):
            cpu = oh.solve(model, (0.0, 0.4), y0, t_eval=[0.0, 0.2, 0.4], **kw)
            gpu = oh.solve(model, (0.0, 0.4), y0, t_eval=[0.0, 0.2, 0.4], backend="cuda", layout=layout,
                           threads_per_block=2, **kw)
            np.testing.assert_array_equal(gpu.status, cpu.status)
            np.testing.assert_array_equal(np.isnan(gpu.states), np.isnan(cpu.states))
            np.testing.assert_allclose(gpu.states, cpu.states, rtol=0, atol=1e-12)
            assert gpu.message == cpu.message


def test_energy_is_reproducible_bit_for_bit():
    model = MODELS["hk-additive-all"]
    y0 = model.random_state(seed=9, batch=2)
    runs = [oh.solve(model, (0.0, 0.4), y0, method="RK23", t_eval=[0.0, 0.4], backend="cuda", layout=layout,
                     threads_per_block=3) for layout in ("block", "block", "thread", "thread")]
    assert np.array_equal(runs[0].energy, runs[1].energy) and np.array_equal(runs[0].states, runs[1].states)
    assert np.array_equal(runs[2].energy, runs[3].energy)


def test_unit_norm_and_energy_decrease_on_device():
    """The properties the CPU backend guarantees hold on the device too."""
    model = MODELS["hk-network"]
    assert model.is_lyapunov
    sol = oh.solve(model, (0.0, 1.0), model.random_state(seed=1), method="RK45", t_eval=np.linspace(0, 1, 5),
                   backend="cuda", layout="block", threads_per_block=2, rtol=1e-6)
    x = sol.x
    np.testing.assert_allclose(np.linalg.norm(x, axis=-1), 1.0, atol=1e-12)
    assert np.all(np.diff(sol.energy) <= 1e-9)


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_spacing_up_equals_nextafter(t):
    """The CUDA-safe ulp used for the minimum step equals NumPy's nextafter spacing."""
    expected = np.nextafter(t, np.inf) - t
    if np.isinf(expected):
        return  # t is the largest float
    assert loops.spacing_up(t) == expected


def test_auto_does_not_pick_the_simulator_and_cpu_never_imports_cuda():
    code = ("import sys, numpy as np, oscihop as oh\n"
            "kur = oh.Kuramoto(2, edges=[[0, 1]])\n"
            "sol = oh.solve(kur, (0, 0.1), kur.random_state(seed=0))\n"
            "assert 'numba.cuda' not in sys.modules and 'oscihop.cuda' not in sys.modules\n"
            "sol = oh.solve(kur, (0, 0.1), kur.random_state(seed=0), backend='auto')\n"
            "print(sol.options['backend'])\n")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "cpu"


def test_cuda_without_a_device_says_how_to_fix_it():
    code = ("import oscihop as oh\n"
            "kur = oh.Kuramoto(2, edges=[[0, 1]])\n"
            "try:\n"
            "    oh.solve(kur, (0, 0.1), kur.random_state(seed=0), backend='cuda')\n"
            "    print('RAN')\n"
            "except RuntimeError as exc:\n"
            "    print(exc)\n"
            "print(oh.solve(kur, (0, 0.1), kur.random_state(seed=0), backend='auto').options['backend'])\n")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    import numba

    if out.startswith("RAN"):  # a real GPU: auto picks it
        assert out.split()[-1] == "cuda"
        return
    assert not numba.cuda.is_available() or os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
    for words in ("`backend`='cuda'", "oscihop[cuda]", "backend='cpu'", "NUMBA_ENABLE_CUDASIM=1"):
        assert words in out, out
    assert out.split()[-1] == "cpu"


def test_cuda_options_are_validated_and_cpu_warns_about_them():
    model = MODELS["kur-dense"]
    y0 = model.random_state(seed=0)
    with pytest.raises(ValueError, match="`layout`"):
        oh.solve(model, (0, 0.1), y0, backend="cuda", layout="warp")
    with pytest.raises(ValueError, match="`threads_per_block`"):
        oh.solve(model, (0, 0.1), y0, backend="cuda", threads_per_block=0)
    with pytest.warns(UserWarning, match="layout"):
        oh.solve(model, (0, 0.1), y0, backend="cpu", layout="block")


def test_auto_layout_rule():
    from oscihop.cuda.backend import choose_layout

    assert choose_layout("auto", 10, 10_000, "adaptive") == "thread"
    assert choose_layout("auto", 4096, 10_000, "fixed") == "block"
    assert choose_layout("auto", 300, 4, "adaptive") == "block"
    assert choose_layout("block", 10, 10, "async") == "thread"
    assert choose_layout("block", 10, 10, "fixed") == "block"


def test_sweep_on_cuda_matches_cpu_and_resumes_across_backends(tmp_path):
    from oscihop.sweep import kuramoto_ring_build

    grid = {"coupling": [0.5, 1.5], "seed": [0]}
    kw = dict(t_span=(0, 0.5), reduce=["final", "energy"], progress=False, method="RK23")
    cpu = oh.sweep(kuramoto_ring_build, grid=grid, store=tmp_path / "cpu.zarr", **kw)
    gpu = oh.sweep(kuramoto_ring_build, grid=grid, store=tmp_path / "gpu.zarr", backend="cuda", layout="block",
                   threads_per_block=2, **kw)
    np.testing.assert_allclose(gpu["y_final"].values, cpu["y_final"].values, rtol=0, atol=1e-9)
    np.testing.assert_allclose(gpu["energy"].values, cpu["energy"].values, rtol=0, atol=1e-8)
    # the backend does not enter the fingerprint: a CPU run resumes (here: finds complete) the GPU store
    again = oh.sweep(kuramoto_ring_build, grid=grid, store=tmp_path / "gpu.zarr", **kw)
    assert again.attrs["sweep_run"]["computed"] == 0


def test_ptx_compile_check_script_runs():
    """scripts/check_cuda_compile.py compiles kernels with the real CUDA compiler (no GPU needed).

    Here: the energy kernel in float32, which reaches the shared evaluation code and its
    generic-target overloads (``kernels/dispatch.py``) as device code.  The full set, block
    layouts included, both dtypes, takes minutes: ``python scripts/check_cuda_compile.py``.
    """
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    cmd = [sys.executable, str(ROOT / "scripts" / "check_cuda_compile.py"), "--kernels", "energy",
           "--dtypes", "float32"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "ok   energy" in proc.stdout and "0 failure(s)" in proc.stdout


def test_bench_script_tiny():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_cuda.py"), "--tiny"], capture_output=True,
                          text=True, env=env, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "trajectories/s" in proc.stdout and "RHS evaluations/s" in proc.stdout


def test_template_sweep_on_cuda_is_one_launch_per_stack(tmp_path, monkeypatch):
    """A template sweep on the GPU solves each task's points as one stack: one device run
    (one kernel launch with its continuations) per task, not one per point; the numbers
    match the CPU's to rounding."""
    from oscihop.cuda import backend as gpu

    runs = []
    real = gpu.run_adaptive

    def counting(p, ys, *args, **kw):
        runs.append(ys.shape[0])
        return real(p, ys, *args, **kw)

    monkeypatch.setattr(gpu, "run_adaptive", counting)
    model = oh.Kuramoto(2, edges=oh.ring_edges(4), coupling=1.0)
    grid = {"coupling": [0.5, 1.5], "seed": [0, 1, 2]}
    kw = dict(t_span=(0, 0.5), reduce=["final", "energy"], progress=False, method="RK23", points_per_task=3)
    gpu_ds = oh.sweep(model, grid=grid, store=tmp_path / "gpu.zarr", backend="cuda", layout="thread", **kw)
    probe, *stacks = runs
    assert probe == 1 and stacks == [3, 3]  # the probe's zero-step check, then one run per task of 3 points
    cpu_ds = oh.sweep(model, grid=grid, store=tmp_path / "cpu.zarr", **kw)
    np.testing.assert_allclose(gpu_ds["y_final"].values, cpu_ds["y_final"].values, rtol=0, atol=1e-9)
    np.testing.assert_allclose(gpu_ds["energy"].values, cpu_ds["energy"].values, rtol=0, atol=1e-8)
