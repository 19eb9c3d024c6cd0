"""``oh.stack``: batches of models with their own parameters, against single solves.

Member ``b`` of a stacked solve runs the same compiled loop as a solve of model ``b``
alone, reading its own float parameter row, so the results agree bit for bit: every model
kind and representation, every method, float64 and float32, the CPU and the CUDA simulator.
"""
import numpy as np
import pytest
import scipy.sparse

import oscihop as oh
from oscihop.models.stack import structure_key

FIXED = ("Euler", "RK4", "Geometric", "AKOrN")
ADAPTIVE = ("RK45", "RK23", "Tsit5")
T_EVAL = np.array([0.0, 0.15, 0.4])


def _sym(rng, n, s=1.0):
    m = rng.normal(size=(n, n)) * s
    m = (m + m.T) / 2
    np.fill_diagonal(m, 0.0)
    return m


def _models(n=4, dim=3):
    rng = np.random.default_rng(11)
    edges = np.array([[0, 1], [1, 2], [0, 2], [2, 3]])
    om = rng.normal(size=(dim, dim))
    om = om - om.T
    w = _sym(rng, n)
    ws = w.copy()
    ws[np.abs(ws) < 0.3] = 0.0
    hop = oh.Hopfield(w, bias=0.1 * rng.normal(size=n), activation="tanh", beta=1.2)
    kur = oh.Kuramoto(dim, edges=edges, coupling=rng.normal(size=4))
    return {
        "hop-tanh-dense": hop,
        "hop-sigmoid-csr": oh.Hopfield(scipy.sparse.csr_matrix(ws), activation="sigmoid", beta=2.0),
        "hop-relu-lowrank": oh.Hopfield(oh.LowRank(rng.normal(size=(2, n)), scale=0.3), activation="relu"),
        "hop-softmax-dense": oh.Hopfield(w, activation="softmax", beta=2.0),
        "kur-edges-tanh-stim-omega": oh.Kuramoto(dim, edges=edges, coupling=rng.normal(size=4), interaction="tanh",
                                                 stimulus=0.2 * rng.normal(size=(n, dim)), omega=om),
        "kur-ring-d2-natural": oh.Kuramoto(2, edges=oh.ring_edges(n), coupling=0.7, omega=rng.normal(size=n)),
        "kur-dense": oh.Kuramoto(dim, coupling=_sym(rng, n)),
        "kur-lowrank": oh.Kuramoto(dim, coupling=oh.LowRank(rng.normal(size=(2, n)), scale=0.5)),
        "kur-meanfield": oh.Kuramoto(dim, coupling="mean-field", strength=2.0, n=n),
        "hk-network": oh.HopfieldKuramoto(hop, kur, edges, weights=rng.normal(size=4), mode="network", kappa_h=1.5),
        "hk-additive-all": oh.HopfieldKuramoto(hop, kur, "all", alpha=0.4, mode="additive", kappa_k=0.7),
        "hk-multiplicative": oh.HopfieldKuramoto(hop, kur, edges, alpha=0.5, mode="multiplicative"),
    }


MODELS = _models()


def _members(model, scales=(1.0, 0.8, 1.25)):
    """Models of ``model``'s structure with every parameter scaled (so each member differs)."""
    params = model.parameters()
    return [model.replace(**{k: v * s for k, v in params.items()}) for s in scales]


def _y0(members, dtype=np.float64):
    return np.stack([m.random_state(seed=b) for b, m in enumerate(members)]).astype(dtype)


def _solve_both(members, method, dtype=np.float64, **kw):
    if method in FIXED:
        kw.setdefault("dt", 0.05)
    y0 = _y0(members, dtype)
    got = oh.solve(oh.stack(members), (0.0, 0.4), y0, method=method, t_eval=T_EVAL, **kw)
    ref = [oh.solve(m, (0.0, 0.4), y0[b], method=method, t_eval=T_EVAL, **kw) for b, m in enumerate(members)]
    return got, ref


def _assert_members_equal(got, ref, what):
    assert got.batched and got.y.shape[0] == len(ref)
    for b, r in enumerate(ref):
        np.testing.assert_array_equal(got.states[b], r.states, err_msg=f"{what} member {b}")
        np.testing.assert_array_equal(got.energy[b], r.energy, err_msg=f"{what} member {b}")
        for name in ("status", "nfev", "nsteps", "nrejected", "t_final"):
            assert getattr(got, name)[b] == getattr(r, name), (what, name, b)


@pytest.mark.parametrize("name", list(MODELS))
def test_members_equal_single_solves_every_method(name):
    members = _members(MODELS[name])
    assert len({m.parameters()[k].tobytes() for m in members for k in m.parameters()}) > 1
    for method in (*ADAPTIVE, *FIXED):
        got, ref = _solve_both(members, method)
        _assert_members_equal(got, ref, f"{name} {method}")
        # the members really differ: a stack is not one model run B times
        assert not np.array_equal(got.states[0, -1], got.states[1, -1])


@pytest.mark.parametrize("name", ["hk-network", "kur-edges-tanh-stim-omega", "hop-relu-lowrank"])
def test_float32_members_equal_single_solves(name):
    for method in ("RK45", "RK4"):
        got, ref = _solve_both(_members(MODELS[name]), method, dtype=np.float32)
        assert got.states.dtype == np.float32
        _assert_members_equal(got, ref, f"{name} {method} float32")


def test_stack_of_many_members_on_threads_and_lockstep_kinds():
    """Enough members for the thread pool and for the lockstep paths a single dense model takes:
    a stack runs every member with its own parameters all the same."""
    base = MODELS["kur-dense"]
    members = [base.replace(coupling=base.parameters()["coupling"] * (0.5 + 0.1 * b)) for b in range(12)]
    for method in ("RK45", "RK4"):
        got, ref = _solve_both(members, method)
        _assert_members_equal(got, ref, method)


def test_async_stack_members_match_batches_of_each_member():
    """``async`` draws one seed per member from ``seed``: member b of a stack equals member b
    of a batch of model b alone with the same seed."""
    rng = np.random.default_rng(3)
    members = [oh.Hopfield(_sym(rng, 6), activation="sign") for _ in range(3)]
    s0 = np.where(rng.random((3, 6)) < 0.5, -1.0, 1.0)
    got = oh.solve(oh.stack(members), (0, 5), s0, method="async", seed=7)
    for b, m in enumerate(members):
        ref = oh.solve(m, (0, 5), s0, method="async", seed=7)
        np.testing.assert_array_equal(got.states[b], ref.states[b])
        np.testing.assert_array_equal(got.energy[b], ref.energy[b])


@pytest.mark.parametrize("layout", ["thread", "block"])
@pytest.mark.parametrize("name", ["hk-multiplicative", "kur-meanfield", "hop-sigmoid-csr"])
def test_cuda_stack_matches_cpu_stack(name, layout):
    """One launch for the whole stack (the CUDA simulator here): member b reads row b."""
    members = _members(MODELS[name])
    y0 = _y0(members)
    st = oh.stack(members)
    for method, kw in (("RK23", {}), ("RK4", {"dt": 0.1})):
        cpu = oh.solve(st, (0.0, 0.4), y0, method=method, t_eval=T_EVAL, **kw)
        gpu = oh.solve(st, (0.0, 0.4), y0, method=method, t_eval=T_EVAL, backend="cuda", layout=layout,
                       threads_per_block=2 if layout == "block" else None, **kw)
        tol = 1e-13 if layout == "thread" else 1e-9
        np.testing.assert_allclose(gpu.states, cpu.states, rtol=0, atol=tol)
        np.testing.assert_allclose(gpu.energy, cpu.energy, rtol=0, atol=10 * tol)
        np.testing.assert_array_equal(gpu.status, cpu.status)


def test_stack_evaluations_are_the_members():
    members = _members(MODELS["hk-network"])
    st = oh.stack(members)
    y = _y0(members)
    np.testing.assert_array_equal(st.energy(y), [m.energy(y[b]) for b, m in enumerate(members)])
    np.testing.assert_array_equal(st.rhs(0.0, y), [m.rhs(0.0, y[b]) for b, m in enumerate(members)])
    np.testing.assert_array_equal(st.energy_gradient(y), [m.energy_gradient(y[b]) for b, m in enumerate(members)])
    one = st.energy(y[0])  # one state for every member
    np.testing.assert_array_equal(one, [m.energy(y[0]) for m in members])
    assert len(st) == 3 and st[1] is members[1] and list(st) == members
    assert st.size == members[0].size and st.n == members[0].n and st.dim == members[0].dim
    assert "3 x HopfieldKuramoto" in repr(st)
    params = st.parameters()
    assert all(v.shape[0] == 3 for v in params.values())
    again = st.replace(**params)
    np.testing.assert_array_equal(again.member_rows(), st.member_rows())
    bounds = st.step_bound()
    assert bounds.shape == (3,) and np.array_equal(bounds, [m.step_bound() for m in members])


def test_stack_lyapunov_names_the_member():
    rng = np.random.default_rng(0)
    ok = oh.Kuramoto(3, edges=oh.ring_edges(5), coupling=1.0)
    om = rng.normal(size=(3, 3))
    bad = ok.replace(omega=om - om.T) if "omega" in ok.parameters() else oh.Kuramoto(
        3, edges=oh.ring_edges(5), coupling=1.0, stimulus=rng.normal(size=(5, 3)), omega=om - om.T)
    assert oh.stack([ok, ok]).is_lyapunov
    if structure_key(bad) == structure_key(ok):
        st = oh.stack([ok, bad])
        assert not st.is_lyapunov and st.lyapunov_reason.startswith("member 1:")


def test_solution_observables_per_member():
    members = _members(MODELS["kur-ring-d2-natural"])
    sol = oh.solve(oh.stack(members), (0.0, 0.4), _y0(members), t_eval=T_EVAL)
    r = sol.model.order_parameter(sol.states)
    assert r.shape == (3, T_EVAL.size)
    for b, m in enumerate(members):
        np.testing.assert_array_equal(r[b], m.order_parameter(sol.states[b]))
    assert sol.x.shape == (3, T_EVAL.size, members[0].n, 2)


@pytest.mark.parametrize("other, words", [
    (lambda: oh.Kuramoto(3, edges=oh.ring_edges(5), coupling=1.0), "number of oscillators (`nk`) is 5"),
    (lambda: oh.Kuramoto(2, edges=oh.ring_edges(4), coupling=1.0), "oscillator dimension D (`dim`) is 2"),
    (lambda: oh.Kuramoto(3, edges=np.array([[0, 1], [1, 2], [2, 3], [0, 3]]), coupling=[1.0, 2.0, 3.0, 4.0],
                         interaction="tanh"), "interaction"),
    (lambda: oh.Kuramoto(3, edges=np.array([[0, 1], [1, 2], [0, 2], [1, 3]]), coupling=np.ones(4)), "graph differs"),
    (lambda: oh.Kuramoto(3, coupling=np.ones((4, 4)) - np.eye(4)), "Kuramoto coupling representation"),
    (lambda: oh.Hopfield(np.eye(4)), "it is a Hopfield, member 0 a Kuramoto"),
])
def test_bad_stacks_name_the_first_difference(other, words):
    first = oh.Kuramoto(3, edges=np.array([[0, 1], [1, 2], [0, 2], [2, 3]]), coupling=np.ones(4))
    with pytest.raises(ValueError, match="member 1 does not share the structure of member 0") as info:
        oh.stack([first, other()])
    assert words in str(info.value) and "oh.stack needs models of one kind" in str(info.value)


def test_bad_stack_arguments():
    m = MODELS["kur-dense"]
    with pytest.raises(ValueError, match="at least one model"):
        oh.stack([])
    with pytest.raises(TypeError, match="sequence of models"):
        oh.stack(m)
    with pytest.raises(TypeError, match="member 1 must be an oscihop model"):
        oh.stack([m, "model"])
    with pytest.raises(TypeError, match="member 0 must be an oscihop model"):
        oh.stack([oh.stack([m])])
    st = oh.stack([m, m])
    with pytest.raises(ValueError, match=r"`y0` must have shape \(2, 12\)"):
        oh.solve(st, (0, 1), np.zeros((3, 12)))
    with pytest.raises(ValueError, match="leading axis of length 2"):
        st.replace(coupling=np.ones((4, 4)))
