"""Adaptive lockstep batches (``solvers/lockstep.erk_lockstep``) and their batched kernels.

The lockstep solver steps every member with its own step size and controller while all
members' stages are evaluated together in the batch-innermost layout.  It must give each
member the steps, rejections, statuses and outputs of the member-by-member loop
(``loops.erk_block``), up to the rounding of the right-hand side, which sums the same
terms in another order.  The D-specialised batched kernels (``fixed_dim.FUSED_CSR_T``)
are checked against the runtime-D batched kernel, itself checked against the row-wise
right-hand side in ``test_speed_paths.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import oscihop as oh
from oscihop.kernels import batched as BT
from oscihop.kernels import params as P
from oscihop.kernels import system as S
from oscihop.kernels.fixed_dim import FUSED_CSR_T as FUSED_T
from oscihop.solvers import loops
from oscihop.solvers.lockstep import erk_lockstep
from oscihop.solvers.methods import METHODS
from test_speed_paths import _hk_shared

#: A short span: these models amplify a relative change of 1e-15 in y0 to about 1e-10 by
#: t = 0.1 and to 1e-5 by t = 0.8 (measured with the member loop itself, through the step
#: size controller), so outputs are compared to 1e-9 up to t = 0.1.
T_EVAL = np.array([0.0, 0.02, 0.05, 0.051, 0.1])


@pytest.mark.parametrize("dim", sorted(FUSED_T))
def test_fixed_d_batched_kernel_matches_runtime_d(rng, random_edges, dim):
    for interaction, w_on_graph in (("relu", True), ("linear", True), ("relu", False)):
        model = _hk_shared(rng, 9, dim, interaction, random_edges, w_on_graph=w_on_graph)
        p = P.specialize(model.params())
        assert P.spec_of(p)[3] == dim and P.spec_of(p)[4] != P.SHARED_NONE
        for nb in (1, 6, 8, 13, 37):  # below, at and past the vector width; 13 and 37 leave a scalar tail
            yt = np.ascontiguousarray(model.random_state(seed=nb, batch=nb).T)
            gt = np.maximum(yt[: model.n], 0.0).copy()  # any g works: the kernel takes it as given
            got = rng.standard_normal(yt.shape)
            ref = got.copy()
            with_w = w_on_graph
            assert FUSED_T[dim](p, yt, gt, got, with_w)
            BT._fused_csr_t(P.generic(p), yt, gt, ref, with_w, np.empty(3 * nb))
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * max(1.0, np.abs(ref).max()),
                                       err_msg=f"D={dim} {interaction} nb={nb}")
    tanh = P.specialize(_hk_shared(rng, 9, dim, "tanh", random_edges).params())
    yt = np.ones((tanh.ip[P.I_NH] + 9 * dim, 2))
    assert not FUSED_T[dim](tanh, yt, yt[:9].copy(), np.zeros_like(yt), True)  # declines: runtime-D kernel


def _tame_model(rng, n=10, dim=3, interaction="relu"):
    """A shared-CSR HK model (ring with second neighbours, every unit on the graph) with
    weights small enough that rounding differences grow slowly along a trajectory."""
    import scipy.sparse as sp

    edges = np.array([(i, (i + s) % n) for i in range(n) for s in (1, 2)])
    ne = len(edges)
    w = 0.3 * rng.standard_normal(ne)
    rows, cols = np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]]
    weights = sp.coo_matrix((np.r_[w, w], (rows, cols)), shape=(n, n)).tocsr()
    hop = oh.Hopfield(weights, bias=0.3 * rng.standard_normal(n), activation="relu")
    kur = oh.Kuramoto(dim, edges=edges, coupling=0.5 * rng.standard_normal(ne), interaction=interaction,
                      interaction_weights=0.5 * rng.standard_normal(ne) if interaction != "linear" else None,
                      stimulus=0.3 * rng.standard_normal((n, dim)))
    return oh.HopfieldKuramoto(hop, kur, edges, weights=0.3 * rng.standard_normal(ne), mode="network",
                               kappa_h=1.5, kappa_k=0.7)


def _lockstep_model(rng, random_edges, dim=3, interaction="relu"):
    model = _tame_model(rng, dim=dim, interaction=interaction)
    p = P.specialize(model.params())
    assert BT.fused_lockstep_ok(p)
    return model, p


def _both(p, ys, method, steady=0.0, max_steps=10_000, first_step=0.0, rtol=1e-6, atol=1e-9, max_step=np.inf):
    """(outputs, stats) of the lockstep solver and of the member-by-member loop."""
    tab = METHODS[method].tableau
    nb, size = ys.shape
    args = (ys, 0.0, T_EVAL[-1], T_EVAL, rtol, np.full(size, atol, dtype=ys.dtype), max_step,
            np.full(nb, first_step), max_steps, steady, tab.A, tab.B, tab.E, tab.P, tab.error_estimator_order)
    got, ref = (np.empty((nb, T_EVAL.size, size), dtype=ys.dtype) for _ in range(2))
    st_got, st_ref = np.zeros((nb, 5)), np.zeros((nb, 5))
    erk_lockstep(S.link(p, "rhs_shared_t"), *args, got, st_got, np.empty(BT.work_t_size(p, nb), dtype=ys.dtype))
    loops.erk_block(S.link(P.generic(p)), p.fp[None], *args, ref, st_ref)
    return got, st_got, ref, st_ref


def _same_stats(got, ref, msg=""):
    """Same evaluations, steps, rejections and statuses; the stopping times to rounding."""
    np.testing.assert_array_equal(got[:, :4], ref[:, :4], err_msg=msg)
    np.testing.assert_allclose(got[:, 4], ref[:, 4], rtol=1e-7, atol=0, err_msg=msg)


def _close(got, ref, msg=""):
    """Equal up to rounding: the batched kernel sums the same terms in another order, and
    the difference grows along the trajectory as the model amplifies it."""
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=msg)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9, err_msg=msg)


@pytest.mark.parametrize("method", ["Tsit5", "RK45"])
def test_erk_lockstep_matches_member_loop(rng, random_edges, method):
    """Same steps, rejections, statuses and outputs as erk_block, member by member."""
    model, p = _lockstep_model(rng, random_edges)
    ys = model.random_state(seed=4, batch=7, h_scale=2.0)
    cases = [dict(), dict(first_step=0.01), dict(steady=1e9), dict(max_steps=3), dict(max_step=0.004),
             dict(steady=2.0, rtol=1e-3, atol=1e-6)]
    for kw in cases:
        got, st_got, ref, st_ref = _both(p, ys, method, **kw)
        _same_stats(st_got, st_ref, str(kw))
        _close(got, ref, str(kw))
    # a tight tolerance from a large first step forces rejections: handled member by member
    got, st_got, ref, st_ref = _both(p, ys, method, first_step=0.09, rtol=1e-9, atol=1e-12)
    assert (st_ref[:, 2] > 0).all()
    _same_stats(st_got, st_ref)
    _close(got, ref)


def test_erk_lockstep_float32(rng, random_edges):
    model, _ = _lockstep_model(rng, random_edges, dim=5)
    p = P.specialize(model.params(np.float32))
    ys = model.random_state(seed=5, batch=5).astype(np.float32)
    got, st_got, ref, st_ref = _both(p, ys, "Tsit5", rtol=1e-3, atol=1e-6)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(st_got[:, :4], st_ref[:, :4])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)


def test_erk_lockstep_freezes_a_failing_member(rng, random_edges):
    model, p = _lockstep_model(rng, random_edges)
    ys = model.random_state(seed=6, batch=5)
    ys[2, 0] = 1e300  # that member's steps shrink and it runs out of steps; the others go on
    got, st_got, ref, st_ref = _both(p, ys, "Tsit5", max_steps=300)
    assert st_got[2, 3] < 0 and (np.delete(st_got[:, 3], 2) == loops.STATUS_DONE).all()
    assert np.isnan(got[2, 1:]).all() and not np.isnan(np.delete(got, 2, axis=0)).any()
    _same_stats(st_got, st_ref)
    _close(got, ref)


def test_solve_uses_adaptive_lockstep_for_specialised_shared_csr(rng, random_edges, monkeypatch):
    """oh.solve on a batch of a kind-specialised shared-CSR HK model runs erk_lockstep and
    agrees with the member-by-member solve of the run-time-dispatched bundle."""
    import importlib

    S = importlib.import_module("oscihop.solvers.solve")  # the package exports the function
    model = _tame_model(rng)
    ys = model.random_state(seed=8, batch=6)
    kw = dict(method="Tsit5", t_eval=T_EVAL, rtol=1e-6, atol=1e-9)
    monkeypatch.setenv("OSCIHOP_SPECIALIZE", "0")  # as in the suite (conftest), whatever the caller set
    model.__dict__.pop("_params_cache", None)
    ref = oh.solve(model, (0.0, T_EVAL[-1]), ys, **kw)
    assert not S._use_erk_lockstep(model.params())
    monkeypatch.setenv("OSCIHOP_SPECIALIZE", "1")
    model.__dict__.pop("_params_cache", None)  # bundles are cached per model
    p = model.params()
    assert P.spec_of(p) is not None and S._use_erk_lockstep(p)
    calls = []
    real = S._run_erk_lockstep
    monkeypatch.setattr(S, "_run_erk_lockstep", lambda *a: calls.append(1) or real(*a))
    sol = oh.solve(model, (0.0, T_EVAL[-1]), ys, **kw)
    assert calls
    _close(np.moveaxis(sol.y, 2, 1), np.moveaxis(ref.y, 2, 1))
    np.testing.assert_array_equal(sol.nfev, ref.nfev)
    np.testing.assert_array_equal(sol.status, ref.status)
