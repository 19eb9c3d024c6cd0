"""The Python side of ``oh.solve`` (validation, packing, ``Solution``) keeps its contract.

``oh.solve``'s per-call work has fast paths for the common case (a float ``atol``, a valid
``t_eval``, a cached parameter bundle, one trajectory); these tests pin that the fast paths
give exactly (bit for bit, type for type) what the general paths give, and that bad input
still gets the same messages.  No timings here: performance lives in ``scripts/bench_core.py``.
"""
import importlib
import re
import warnings

import numpy as np
import pytest

import oscihop as oh
from oscihop._validation import check_finite, resolve_dtype
from oscihop.solvers.result import STATUS_MESSAGES, Solution, status_message

S = importlib.import_module("oscihop.solvers.solve")  # the module (``oscihop.solvers.solve`` is the function)

N = 6
T_EVAL = np.linspace(0.0, 2.0, 9)


def _hopfield(n=N, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, n)) / np.sqrt(n)
    return oh.Hopfield((w + w.T) / 2, bias=0.1 * rng.standard_normal(n), activation="tanh", beta=2.0), \
        rng.standard_normal(n)


def _kuramoto(n=4):
    kur = oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=n, omega=np.linspace(-1, 1, n))
    return kur, kur.random_state(seed=3)


def _same_solution(a, b, raw_options=()):
    for name in ("t", "states", "energy", "y"):
        va, vb = getattr(a, name), getattr(b, name)
        assert va.dtype == vb.dtype and va.shape == vb.shape, name
        assert va.tobytes() == vb.tobytes(), name
    for name in ("status", "nfev", "nsteps", "nrejected", "t_final", "success", "message", "method", "batched"):
        va, vb = getattr(a, name), getattr(b, name)
        if isinstance(va, np.ndarray):
            assert va.dtype == vb.dtype and va.tobytes() == vb.tobytes(), name
        else:
            assert type(va) is type(vb) and va == vb, name
    oa, ob = dict(a.options), dict(b.options)
    for name in raw_options:  # recorded as passed (np.float64 vs float)
        assert oa.pop(name) == ob.pop(name)
    assert repr(oa) == repr(ob)


# --------------------------------------------------------------------------------------------
# fast paths == general paths
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_scalar_atol_fast_path_matches_general_path(dtype):
    dt = np.dtype(dtype)
    for atol in (1e-9, 0.0, -0.0, 1e-300, 3.5):
        fast = S._tolerances(1e-3, atol, 5, dt)
        general = S._tolerances(1e-3, np.array(atol), 5, dt)  # a 0-d array takes the general path
        assert fast[0] == general[0]
        assert fast[1].dtype == general[1].dtype == dt
        assert fast[1].tobytes() == general[1].tobytes()
    # dtype given as a type (oscihop.gradients passes one) still works
    assert S._tolerances(1e-6, 1e-9, 3, np.float64)[1].tobytes() == np.full(3, 1e-9).tobytes()


@pytest.mark.parametrize("model_and_y0", [_hopfield, _kuramoto])
def test_solve_same_with_float_and_array_atol(model_and_y0):
    model, y0 = model_and_y0()
    kw = dict(method="RK45", rtol=1e-6, t_eval=T_EVAL)
    a = oh.solve(model, (0.0, 2.0), y0, atol=1e-9, **kw)
    b = oh.solve(model, (0.0, 2.0), y0, atol=np.float64(1e-9), **kw)
    c = oh.solve(model, (0.0, 2.0), y0, atol=np.full(model.size, 1e-9), **kw)
    _same_solution(a, b)
    _same_solution(a, c)
    assert type(a.options["atol"]) is float and a.options["atol"] == 1e-9


def test_max_step_and_first_step_scalar_kinds_agree():
    model, y0 = _hopfield()
    base = oh.solve(model, (0.0, 2.0), y0, t_eval=T_EVAL, rtol=1e-6, atol=1e-9)
    for inf in (np.inf, float("inf"), np.float64(np.inf), np.float32(np.inf)):
        _same_solution(base, oh.solve(model, (0.0, 2.0), y0, t_eval=T_EVAL, rtol=1e-6, atol=1e-9, max_step=inf))
    a = oh.solve(model, (0.0, 2.0), y0, t_eval=T_EVAL, rtol=1e-6, atol=1e-9, max_step=0.25, first_step=0.01)
    b = oh.solve(model, (0.0, 2.0), y0, t_eval=T_EVAL, rtol=np.float64(1e-6), atol=1e-9,
                 max_step=np.float64(0.25), first_step=np.float64(0.01))
    _same_solution(a, b, raw_options=("first_step",))
    for bad in (-np.inf, float("-inf"), 0.0, -1.0):
        with pytest.raises(ValueError, match=re.escape(f"`max_step` must be > 0; got {bad!r}.")):
            oh.solve(model, (0.0, 1.0), y0, max_step=bad)
    with pytest.raises(ValueError, match=re.escape("`max_step` must be finite; got nan.")):
        oh.solve(model, (0.0, 1.0), y0, max_step=float("nan"))


def test_scalar_checks_and_messages():
    for value in (0.5, np.float64(0.5), np.float32(0.5), 1, np.int64(1)):
        assert S._scalar(value, "x", positive=True) == float(value)
        assert type(S._scalar(value, "x")) is float
    assert S._scalar(float("inf"), "x", allow_inf=True) == np.inf
    cases = [(float("nan"), "`x` must be finite; got nan."), (float("inf"), "`x` must be finite; got inf."),
             (np.float64("nan"), "`x` must be finite; got np.float64(nan)."),
             (True, "`x` must be a real number; got True."), ("1", "`x` must be a real number; got '1'."),
             (-1.0, "`x` must be > 0; got -1.0."), (0.0, "`x` must be > 0; got 0.0.")]
    for value, msg in cases:
        if "np.float64" in msg and repr(np.float64(1)) == "1.0":  # numpy < 2 prints scalars bare
            msg = msg.replace("np.float64(nan)", "nan")
        with pytest.raises(ValueError, match=re.escape(msg)):
            S._scalar(value, "x", positive=True)


def test_time_grid_is_a_clipped_copy():
    t0, t1 = 0.0, 2.0
    for t_eval in (T_EVAL, [0.0, 2.0], [1.0], [-0.0, 1.0, 2.0], [-1e-13, 1.0, 2.0 + 1e-13], [0.5, 0.75, 1.0]):
        got = S._time_grid(t_eval, t0, t1)
        want = np.clip(np.asarray(t_eval, dtype=np.float64), t0, t1)
        assert got.dtype == np.float64 and got.tobytes() == want.tobytes()
        assert not np.shares_memory(got, np.asarray(t_eval))
    model, y0 = _hopfield()
    t_eval = T_EVAL.copy()
    sol = oh.solve(model, (0.0, 2.0), y0, t_eval=t_eval)
    assert not np.shares_memory(sol.t, t_eval)


@pytest.mark.parametrize("t_eval,msg", [
    ([0.0, np.nan, 1.0], "`t_eval` must be finite; found nan at index (1,)."),
    ([np.inf], "`t_eval` must be finite; found inf at index (0,)."),
    ([0.0, 1.0, -np.inf], "`t_eval` must be finite; found -inf at index (2,)."),
    ([np.nan, 0.5], "`t_eval` must be finite; found nan at index (0,)."),
    ([0.0, 1.5, 1.0], "`t_eval` must be strictly increasing (every output a distinct time); it decreases at "
                      "index 2: t_eval[1] = 1.5, t_eval[2] = 1.0. Pass np.unique(t_eval) to sort it and drop repeats."),
    ([0.0, 0.5, 0.5], "`t_eval` must be strictly increasing (every output a distinct time); it repeats at "
                      "index 2: t_eval[1] = 0.5, t_eval[2] = 0.5."),
    ([], "`t_eval` must be a non-empty 1-D array of times; got shape (0,)."),
    ([[0.0, 1.0]], "`t_eval` must be a non-empty 1-D array of times; got shape (1, 2)."),
    ([0.0, 3.0], "`t_eval` must lie within t_span = (0.0, 2.0); got values in [0.0, 3.0]."),
    ([-0.5, 1.0], "`t_eval` must lie within t_span = (0.0, 2.0); got values in [-0.5, 1.0]."),
])
def test_bad_t_eval_messages(t_eval, msg):
    with pytest.raises(ValueError, match=re.escape(msg)):
        S._time_grid(t_eval, 0.0, 2.0)
    model, y0 = _hopfield()
    with pytest.raises(ValueError, match=re.escape(msg)):
        oh.solve(model, (0.0, 2.0), y0, t_eval=t_eval)


def test_check_finite_and_resolve_dtype():
    a = np.array([1.0, 2.0])
    assert check_finite(a, "a") is a
    check_finite(np.zeros(0), "a")
    with pytest.raises(ValueError, match=re.escape("`a` must be finite; found nan at index (1, 0).")):
        check_finite(np.array([[0.0], [np.nan]]), "a")
    for value, want in ((None, np.float64), (np.float64, np.float64), ("float32", np.float32),
                        (np.dtype("float32"), np.float32), (np.dtype(np.float64), np.float64), ("f8", np.float64)):
        got = resolve_dtype(value)
        assert isinstance(got, np.dtype) and got == np.dtype(want)
    with pytest.raises(ValueError, match=re.escape("`dtype` must be 'float64' or 'float32'; got 'int64'.")):
        resolve_dtype("int64")
    with pytest.raises(ValueError, match="`dtype` must be 'float64' or 'float32'"):
        resolve_dtype(np.float16)


def test_params_cache_is_shared_across_dtype_spellings():
    model, _ = _hopfield()
    p = model.params(np.dtype(np.float64))
    assert model.params() is p and model.params("float64") is p and model.params(np.float64) is p
    assert model.params(np.float64(0).dtype) is p
    q = model.params("float32")
    assert q is not p and model.params(np.dtype(np.float32)) is q
    assert q.fp.dtype == np.float32 and p.fp.dtype == np.float64
    with pytest.raises(ValueError, match="`dtype` must be 'float64' or 'float32'"):
        model.params("int32")


# --------------------------------------------------------------------------------------------
# energy at outputs and Solution fields
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("model_and_y0", [_hopfield, _kuramoto])
def test_energy_is_model_energy_bit_for_bit(model_and_y0, dtype):
    model, y0 = model_and_y0()
    for t_eval in (T_EVAL, None):
        sol = oh.solve(model, (0.0, 2.0), y0, t_eval=t_eval, rtol=1e-4, atol=1e-8, dtype=dtype)
        want = model.energy(sol.states)  # the batch kernel over the same rows
        assert sol.energy.dtype == np.dtype(dtype) and sol.energy.shape == (sol.t.size,)
        assert sol.energy.tobytes() == want.tobytes()
        assert sol.states.dtype == np.dtype(dtype) and sol.y.shape == (model.size, sol.t.size)
    Y0 = np.stack([y0, y0])
    bsol = oh.solve(model, (0.0, 2.0), Y0, t_eval=T_EVAL, rtol=1e-4, atol=1e-8, dtype=dtype)
    assert bsol.energy.shape == (2, T_EVAL.size)
    for b in range(2):
        assert bsol.energy[b].tobytes() == model.energy(bsol.states[b]).tobytes()


def test_fixed_step_and_async_single_solutions():
    model, y0 = _hopfield()
    sol = oh.solve(model, (0.0, 1.0), y0, method="RK4", dt=0.1)
    assert sol.energy.tobytes() == model.energy(sol.states).tobytes()
    assert type(sol.nfev) is int and type(sol.t_final) is float and sol.success is True
    binary = oh.Hopfield(model.weights, activation="sign")
    s0 = np.where(y0 > 0, 1.0, -1.0)
    asol = oh.solve(binary, (0, 5), s0, method="async", seed=1)
    assert asol.energy.tobytes() == binary.energy(asol.states).tobytes()
    assert type(asol.status) is int and asol.status in (0, 1)


def _old_fields(stats, method, batched):
    """The statistics conversion of ``Solution.__init__`` as it was before its fast path."""
    st = np.asarray(stats)
    status = st[:, 3].astype(int)
    nfev, nsteps, nrej = (st[:, k].astype(np.int64) for k in range(3))
    t_final = st[:, 4].astype(float)
    if batched:
        return dict(status=status, nfev=nfev, nsteps=nsteps, nrejected=nrej, t_final=t_final)
    msg = status_message(int(status[0]), float(t_final[0]), method)
    return dict(status=int(status[0]), nfev=int(nfev[0]), nsteps=int(nsteps[0]), nrejected=int(nrej[0]),
                t_final=float(t_final[0]), success=bool(np.all(status >= 0)), message=msg)


@pytest.mark.parametrize("code", sorted(STATUS_MESSAGES))
@pytest.mark.parametrize("method", ["RK45", "async"])
def test_solution_fields_single_and_batched(code, method):
    model, y0 = _hopfield()
    states = np.zeros((3, model.size))
    for stats in (np.array([[230.0, 37.0, 2.0, code, 1.2345678]]),
                  np.array([[7.0, 3.0, 0.0, code, 3.0]], dtype=np.float32)):
        sol = Solution(model, np.arange(3.0), states, np.zeros(3), stats, method, {}, batched=False)
        for name, want in _old_fields(stats, method, False).items():
            got = getattr(sol, name)
            assert type(got) is type(want) and got == want, name
    bstats = np.array([[230.0, 37.0, 2.0, code, 1.5], [12.0, 2.0, 1.0, 0.0, 2.0]])
    bsol = Solution(model, np.arange(3.0), np.zeros((2, 3, model.size)), np.zeros((2, 3)), bstats, method, {},
                    batched=True)
    for name, want in _old_fields(bstats, method, True).items():
        got = getattr(bsol, name)
        assert got.dtype == want.dtype and np.array_equal(got, want), name
    assert bsol.success == (code >= 0)
    assert "member(s)" in bsol.message
    assert repr(sol).startswith("Solution(method=")


def test_warnings_still_raised_at_the_caller():
    model, y0 = _hopfield()
    with pytest.warns(UserWarning, match="`rtol` = 1e-20 is too small for float64") as rec:
        oh.solve(model, (0.0, 1.0), y0, rtol=1e-20)
    assert rec[0].filename == __file__
    with pytest.warns(UserWarning, match=re.escape("have no effect for method='RK45': `dt`, `frobnicate`")) as rec:
        oh.solve(model, (0.0, 1.0), y0, dt=0.1, frobnicate=1)
    assert rec[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        oh.solve(model, (0.0, 1.0), y0, t_eval=T_EVAL / 2, rtol=1e-6, atol=1e-9)
