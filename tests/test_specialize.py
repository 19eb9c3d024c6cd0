"""Kind-specialised compilation (``kernels/params.params_class``, ``kernels/dispatch``).

A model's parameter bundle is a namedtuple whose class records the model kind, so the
kernels compile only the coupling code that kind runs.  These tests check that

- the specialised kernels give the same bits as the run-time-dispatched ones, for every
  representation, interaction and D (specialised and generic D), forces and energy, each compiled
  as the C function the solver loops call (``system.link``);
- the solver loops, which compile once for both builds, solve alike with either build's functions;
- code of other kinds is really left uncompiled (a fresh process, checked through the
  dispatchers' signatures);
- the classes pickle (dask workers, Numba's on-disk cache) and a second process loads the
  compiled kernels from the disk cache instead of compiling again;
- ``OSCIHOP_SPECIALIZE=0`` gives the plain bundle.

The rest of the suite runs with ``OSCIHOP_SPECIALIZE=0`` (``conftest.py``): the same compiled
loops as users, linked to one run-time-dispatched right-hand side and energy that serve its
hundreds of models, where specialising would compile every kind's functions apart.  Here the
bundles are specialised explicitly (``params.specialize``).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

import oscihop as oh
from oscihop.kernels import params as P
from oscihop.kernels import system as S
from oscihop.solvers import loops
from oscihop.solvers.methods import METHODS

from test_speed_paths import _hk_shared, _models


def _kinds(rng, random_edges, random_antisymmetric):
    """One model per representation: every W, K and HK kind, D = 2..5 and a generic D."""
    models = dict(_models(rng, random_edges, random_antisymmetric))
    n = 7
    j = rng.standard_normal((n, n))
    hop = oh.Hopfield.from_patterns(np.where(rng.random((2, n)) < 0.5, -1.0, 1.0))
    kur = oh.Kuramoto(3, edges=random_edges(n), coupling=1.0, interaction="tanh", interaction_weights=0.4)
    yield "hk-shared-relu-d5", models["hk-shared-relu-d5"]  # W, K, HK on one CSR graph: fused pass
    # fused forces, but the fused energy sweep does not sum tanh: the energy's separate passes
    yield "hk-shared-tanh-d3", _hk_shared(rng, 9, 3, "tanh", random_edges, w_on_graph=False, activation="tanh")
    yield "hk-all-lowrank-w-d3", oh.HopfieldKuramoto(hop, kur, "all", alpha=0.2, mode="additive")
    yield "hk-all-dense-j-d3", models["hk-all-fallback"]  # dense W, dense J
    yield "kuramoto-meanfield-omega-d2", models["kuramoto-meanfield-omega"]
    yield "kuramoto-lowrank-d4", models["kuramoto-lowrank-blas"]
    yield "kuramoto-d6-relu", oh.Kuramoto(6, edges=random_edges(n), coupling=0.4, interaction="relu",
                                          interaction_weights=0.3, stimulus=rng.standard_normal((n, 6)))
    yield "hopfield-dense-sigmoid", oh.Hopfield(j + j.T, bias=rng.standard_normal(n), activation="sigmoid")


def test_bundle_class_records_the_kind(rng, random_edges):
    kur = oh.Kuramoto(3, edges=random_edges(6), coupling=1.0)
    p = P.specialize(kur.params())
    assert type(p) is not P.SystemParams and P.spec_of(p) == (P.W_NONE, P.K_CSR, P.HK_NONE, 3, P.SHARED_NONE,
                                                                     P.INT_LINEAR)
    assert P.spec_of(P.generic(p)) is None and P.generic(p).fp is p.fp
    assert P.spec_of(P.specialize(oh.Kuramoto(7, coupling="mean-field", strength=1.0, n=5).params()))[3] == 0
    hop = oh.Hopfield.from_patterns(np.ones((1, 4)))
    assert P.spec_of(P.specialize(hop.params()))[:3] == (P.W_LOWRANK, P.K_NONE, P.HK_NONE)
    # pickling (dask workers, Numba's cache index) goes through the module's __getattr__
    q = pickle.loads(pickle.dumps(p))
    assert type(q) is type(p) and np.array_equal(q.ip, p.ip)
    assert P.params_class(P.spec_of(p)) is type(p)
    with pytest.raises(AttributeError):
        P.SystemParams_not_a_kind  # noqa: B018
    with pytest.raises(ValueError, match="spec must have"):
        P.params_class((1, 2))


def test_specialised_kernels_match_runtime_dispatch(rng, random_edges, random_antisymmetric):
    """Same arithmetic in the same order; fast-math contraction may differ in the last bits."""
    for name, model in _kinds(rng, random_edges, random_antisymmetric):
        for dtype in ((np.float64, np.float32) if name == "hk-shared-relu-d5" else (np.float64,)):
            p = P.specialize(model.params(dtype))
            assert P.spec_of(p) is not None, name
            tol = 1e-12 if dtype == np.float64 else 2e-5
            ys = model.random_state(seed=1, batch=3).astype(dtype)
            got, ref = np.empty_like(ys), np.empty_like(ys)
            lp, lq = S.link(p), S.link(P.generic(p))  # the functions the loops call in either build
            S.batch_rhs(lp, ys, got)
            S.batch_rhs(lq, ys, ref)
            np.testing.assert_allclose(got, ref, rtol=tol, atol=tol, err_msg=f"rhs {name} {dtype.__name__}")
            e_got, e_ref = np.empty(3, dtype=dtype), np.empty(3, dtype=dtype)
            S.batch_energy(lp, p.fp[None], ys[:, None], e_got[:, None])
            S.batch_energy(lq, p.fp[None], ys[:, None], e_ref[:, None])
            np.testing.assert_allclose(e_got, e_ref, rtol=tol, atol=tol, err_msg=f"energy {name} {dtype.__name__}")


def _antisym(rng, n, d):
    a = rng.standard_normal((n, d, d))
    return a - a.transpose(0, 2, 1)


@pytest.mark.parametrize("dim", [3, 5])
def test_meanfield_one_pass_rhs_matches_separate_passes(rng, dim):
    """A kind-specialised mean-field model computes dx/dt in one pass (``fixed_dim.MEANFIELD_RHS[D]``):
    it must give the bits of the stimulus, force and projection passes it replaces, with and
    without a stimulus, with no, shared or per-oscillator rotations, and match a NumPy twin.
    D = 2 runs in ``test_specialised_kernels_match_runtime_dispatch``; float32 at D = 5 only
    (each D and precision is a compilation of its own)."""
    from oscihop.kernels import dispatch, fixed_dim as FD

    n = 9
    kernel = FD.MEANFIELD_RHS[dim]
    cases = [dict(), dict(stimulus=rng.standard_normal((n, dim))), dict(omega=_antisym(rng, 1, dim)[0]),
             dict(omega=_antisym(rng, n, dim), stimulus=rng.standard_normal((n, dim)))]
    dtypes = ((np.float64, 1e-13), (np.float32, 2e-6)) if dim == 5 else ((np.float64, 1e-13),)
    for kw in cases:
        model = oh.Kuramoto(dim, coupling="mean-field", strength=0.7, n=n, **kw)
        for dtype, tol in dtypes:
            p = P.specialize(model.params(dtype))
            ys = model.random_state(seed=4, batch=3).astype(dtype)
            ys[1] *= 1.7  # off the sphere: the projection divides by |x|^2
            got, ref = np.empty_like(ys), np.empty_like(ys)
            S.batch_rhs(S.link(p), ys, got)
            S.batch_rhs(S.link(P.generic(p)), ys, ref)
            np.testing.assert_allclose(got, ref, rtol=tol, atol=tol, err_msg=f"D={dim} {sorted(kw)} {dtype.__name__}")
            # and against a NumPy twin of the mean-field right-hand side (docs/theory.md §3.1)
            x = ys.astype(np.float64).reshape(3, n, dim)
            force = p.fp[P.F_K_STRENGTH] * (x.sum(axis=1, keepdims=True) - x)
            if model.stimulus is not None:
                force = force + model.stimulus
            force -= (np.sum(force * x, axis=2) / np.sum(x * x, axis=2))[..., None] * x
            if model.omega is not None:
                force += np.einsum("nab,knb->kna", np.broadcast_to(model.omega, (n, dim, dim)), x)
            np.testing.assert_allclose(got.reshape(3, n, dim), force, rtol=100 * tol, atol=100 * tol)
    direct = np.empty_like(ys[0])  # the one-pass kernel itself: it takes the model, as in the linked rhs
    assert kernel(p, ys[0], direct) is True
    np.testing.assert_allclose(direct, got[0], rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-13)
    assert dispatch.whole_rhs(p, ys[0], got[0]) is False  # from Python: the general path
    # Hopfield units present: the kernel declines at run time and leaves out untouched
    ip = p.ip.copy()
    ip[P.I_NH] = 1
    out = np.full_like(ys[0], 5.0)
    assert kernel(type(p)(fp=p.fp, ip=ip), ys[0], out) is False and np.all(out == 5.0)


_FRESH = textwrap.dedent("""
    import json, numpy as np, oscihop as oh
    from oscihop.kernels import activations as A, dispatch, fixed_dim as FD, system as S, terms as T
    kur = oh.Kuramoto(3, edges=oh.ring_edges(12), coupling=1.0)
    y = kur.random_state(seed=0)
    kur.rhs(0.0, y)
    compiled = {name: len(getattr(mod, name).signatures) for mod, names in
                [(T, ["kuramoto_csr", "kuramoto_dense", "kuramoto_lowrank", "kuramoto_meanfield",
                      "weights_dense", "weights_csr", "weights_lowrank", "weights_none", "hk_csr", "hk_all"]),
                 (A, ["activate", "lagrangian", "hessian_apply"])] for name in names}
    compiled.update({f"{table}{key}": len(getattr(FD, table)[key].signatures) for table, keys in
                     [("KURAMOTO_CSR", [(3, 0), (2, 0), (5, 0), (3, 1)]), ("FUSED_CSR", [(3, 0), (5, 0)]),
                      ("PROJECT_ROTATE", [3, 4])] for key in keys})
    rhs_c, energy_c = S.linked_functions(kur.params())  # what kur.rhs called
    print(json.dumps(dict(compiled=compiled, linked_hits=rhs_c.cache_hits + energy_c.cache_hits,
                          hits=sum(S.batch_rhs.stats.cache_hits.values()),
                          misses=sum(S.batch_rhs.stats.cache_misses.values()))))
""")


@pytest.mark.timeout(600)
def test_fresh_process_compiles_only_its_kind_and_reloads_from_disk(tmp_path):
    import json

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), OSCIHOP_SPECIALIZE="1")
    env.pop("NUMBA_DISABLE_JIT", None)
    runs = []
    for _ in range(2):
        res = subprocess.run([sys.executable, "-c", _FRESH], env=env, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr[-3000:]
        runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
    first, second = runs
    compiled = first["compiled"]
    # what a CSR Kuramoto model with D = 3 runs ...
    # (the CSR energy term too: system.link builds the kind's energy with its right-hand side)
    mine = ("KURAMOTO_CSR(3, 0)", "PROJECT_ROTATE3", "kuramoto_csr")
    assert all(compiled[k] >= 1 for k in mine), compiled
    # ... and nothing else: other representations, other D or interactions, the fused HK pass, and
    # no Hopfield part (the builds of evaluate_forces / evaluate_energy for a kind without units)
    others = [k for k, v in compiled.items() if v and k not in mine]
    assert others == [], others
    assert first["misses"] >= 1 and first["linked_hits"] == 0, first
    # the second process finds the loop's signature and the kind's two C functions in the disk
    # cache (the class pickled by name, the C functions under their kind's name)
    assert second["hits"] >= 1 and second["misses"] == 0 and second["linked_hits"] == 2, second


@pytest.mark.parametrize("flag, name", [("0", "SystemParams"), ("1", "SystemParams_0_4_0_2_0_0")])
def test_environment_switch(flag, name):
    code = ("import oscihop as oh; "
            "print(type(oh.Kuramoto(2, coupling='mean-field', strength=1.0, n=4).params()).__name__)")
    env = dict(os.environ, OSCIHOP_SPECIALIZE=flag)
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == name


def _erk(q, ys, te, dtype):
    tab = METHODS["RK45"].tableau
    out = np.empty((ys.shape[0], te.size, ys.shape[1]), dtype=dtype)
    stats = np.zeros((ys.shape[0], 5))
    loops.erk_block(q, q.fp[None], ys, 0.0, 1.0, te, 1e-6, np.full(ys.shape[1], 1e-9), np.inf, np.zeros(ys.shape[0]),
                    10_000, 0.0, tab.A, tab.B, tab.E, tab.P, tab.error_estimator_order, out, stats)
    return out, stats


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linked_loops_compile_once_for_every_kind(rng, random_edges, dtype):
    """``system.link``: the solver loops take a LinkedParams and call the kind's own compiled
    right-hand side and energy by address, so one compilation of the loop serves every kind and
    the run-time-dispatched functions too (``OSCIHOP_SPECIALIZE=0``, the rest of the suite).
    Checked against the run-time-dispatched functions."""
    hop = oh.Hopfield.from_patterns(np.where(rng.random((2, 8)) < 0.5, -1.0, 1.0))
    kur = oh.Kuramoto(4, edges=random_edges(8), coupling=0.8, interaction="tanh", interaction_weights=0.5)
    hk = oh.HopfieldKuramoto(hop, kur, "all", alpha=0.3, mode="additive")
    models = [hk, kur, hop, oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=6)]
    if dtype == np.float32:
        models = models[:2]  # the float32 build of the same code: two kinds show it
    te = np.linspace(0.0, 1.0, 4)
    tol = 1e-10 if dtype == np.float64 else 1e-5
    before = set(loops.erk_block.signatures)
    for model in models:
        p = P.specialize(model.params(dtype))
        lp = S.link(p)
        assert type(lp) is P.LinkedParams and lp.rhs != 0 and lp.energy != 0 and lp.fp is p.fp
        lq = S.link(P.generic(p))  # the run-time-dispatched functions, the same for every kind
        assert type(lq) is P.LinkedParams and lq.fp is p.fp and (lq.rhs, lq.energy) != (lp.rhs, lp.energy)
        assert S.link(lp) is lp
        ys = model.random_state(seed=3, batch=2).astype(dtype)
        (out, stats), (ref, ref_stats) = _erk(lp, ys, te, dtype), _erk(lq, ys, te, dtype)
        np.testing.assert_allclose(out, ref, rtol=tol, atol=tol)
        np.testing.assert_array_equal(stats[:, :4], ref_stats[:, :4])
        energy, ref_energy = np.empty((2, te.size), dtype), np.empty((2, te.size), dtype)
        S.batch_energy(lp, lp.fp[None], out, energy)
        S.batch_energy(lq, p.fp[None], out, ref_energy)
        np.testing.assert_allclose(energy, ref_energy, rtol=tol, atol=tol)
    linked = [sig for sig in set(loops.erk_block.signatures) - before
              if getattr(sig[0], "instance_class", None) is P.LinkedParams]
    assert len(linked) <= 1, linked  # every kind, at most one new compilation of the loop (none if cached)
    # every kind, and the run-time build, hands the loop the same type: one compilation serves them all
    assert len({numba.typeof(S.link(q(m.params(dtype)))) for m in models for q in (P.specialize, P.generic)}) == 1


@numba.njit
def _linked_batches(p, yt, out, work, shared):
    """The batch-innermost right-hand sides the lockstep loops call, by address."""
    if shared:
        S.linked_rhs_shared_t(p, yt, out, work)
    else:
        S.linked_rhs_t(p, yt, out, work)


def test_linked_gradient_and_batch_functions(rng, random_edges, random_antisymmetric):
    """``link(p, "gradient", "rhs_t", "rhs_shared_t")``: the energy gradient (``Model.energy_gradient``)
    and the batch-innermost right-hand sides of the lockstep loops, compiled per kind like the
    right-hand side, agree with the run-time-dispatched ones and with the row-wise right-hand side."""
    from oscihop.kernels import batched as BT

    kinds = dict(_kinds(rng, random_edges, random_antisymmetric))
    for name in ("hk-shared-relu-d5", "hopfield-dense-sigmoid"):
        model = kinds[name]
        p = P.specialize(model.params())
        shared = bool(BT.shared_structure(p))
        assert shared == (name == "hk-shared-relu-d5")
        extra = ("gradient", "rhs_t") + (("rhs_shared_t",) if shared else ())
        ys = model.random_state(seed=5, batch=5)
        rows = np.empty_like(ys)
        S.batch_rhs(S.link(P.generic(p)), ys, rows)
        results = []
        for q in (p, P.generic(p)):
            lq = S.link(q, *extra)
            assert all(getattr(lq, f) != 0 for f in extra)
            grad = np.empty_like(ys)
            S.batch_gradient(lq, ys, grad)
            batches = []
            for use_shared in (False, True)[: 1 + shared]:
                out = np.empty(ys.T.shape)
                _linked_batches(lq, np.ascontiguousarray(ys.T), out, np.empty(BT.work_t_size(q, 5)), use_shared)
                np.testing.assert_allclose(out.T, rows, rtol=1e-12, atol=1e-12, err_msg=name)
                batches.append(out)
            results.append((grad, batches))
        np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(results[0][0], model.energy_gradient(ys), rtol=1e-12, atol=1e-12)


def test_link_refusals():
    model = oh.Kuramoto(2, edges=oh.ring_edges(5), coupling=1.0)
    p = P.specialize(model.params())
    lp = S.link(p)
    assert (lp.gradient, lp.rhs_t, lp.rhs_shared_t) == (0, 0, 0)  # compiled only when asked for
    ys = model.random_state(seed=0, batch=2)
    with pytest.raises(ValueError, match="no `gradient` function: system.link"):
        S.batch_gradient(lp, ys, np.empty_like(ys))
    with pytest.raises(ValueError, match="`names` must be among"):
        S.link(p, "jacobian")
    with pytest.raises(ValueError, match="relink the model's own bundle"):
        S.link(lp, "gradient")
    assert S.link(lp) is lp
    lg = S.link(p, "gradient")  # only what is named: Model.energy_gradient compiles no rhs or energy
    assert lg.gradient != 0 and (lg.rhs, lg.energy, lg.rhs_t, lg.rhs_shared_t) == (0, 0, 0, 0)
    with pytest.raises(ValueError, match="no `rhs` function: system.link"):
        S.batch_rhs(lg, ys, np.empty_like(ys))
    with pytest.raises(ValueError, match="no `energy` function: system.link"):
        S.batch_energy(lg, p.fp[None], ys[:, None], np.empty((2, 1)))


def test_linked_call_refuses_strided_arrays():
    from numba.core.errors import TypingError

    model = oh.Kuramoto(2, edges=oh.ring_edges(5), coupling=1.0)
    lp = S.link(P.specialize(model.params()))
    ys = np.asfortranarray(model.random_state(seed=0, batch=3))  # rows are strided views
    with pytest.raises(TypingError, match="1-D C-contiguous"):
        S.batch_rhs(lp, ys, np.empty_like(ys))


def test_linked_call_refuses_another_dtype():
    from numba.core.errors import TypingError

    model = oh.Kuramoto(2, edges=oh.ring_edges(5), coupling=1.0)
    lp = S.link(P.specialize(model.params()))  # float64 functions
    ys = model.random_state(seed=0, batch=3).astype(np.float32)
    with pytest.raises(TypingError, match="must hold float64"):
        S.batch_rhs(lp, ys, np.empty_like(ys))


@pytest.mark.parametrize("method, kw", [("RK45", {}), ("Tsit5", {}), ("RK23", {}), ("RK4", dict(dt=0.02)),
                                        ("Euler", dict(dt=0.02)), ("AKOrN", dict(dt=0.02))])
def test_users_build_solves_like_runtime_dispatch(rng, random_edges, monkeypatch, method, kw):
    """The build users get (kind-specialised bundles, the loops linked to each kind's compiled
    functions) against the run-time-dispatched build the rest of the suite runs: ``oh.solve`` on
    one trajectory, on a batch and with every step recorded, ``Model.rhs`` and ``Model.energy``."""
    import importlib

    SV = importlib.import_module("oscihop.solvers.solve")
    hop = oh.Hopfield.from_patterns(np.where(rng.random((2, 8)) < 0.5, -1.0, 1.0), activation="tanh")
    kur = oh.Kuramoto(3, edges=random_edges(8), coupling=0.8, interaction="relu", interaction_weights=0.3)
    models = [kur, oh.HopfieldKuramoto(hop, kur, "all", alpha=0.3, mode="additive")]  # HK: the Hopfield part too
    linked = []
    real_link = SV.link
    monkeypatch.setattr(SV, "link", lambda p: linked.append(real_link(p)) or linked[-1])
    for model in models:
        ys = model.random_state(seed=4, batch=3)
        runs = []
        for flag in ("0", "1"):
            monkeypatch.setenv("OSCIHOP_SPECIALIZE", flag)
            model.__dict__.pop("_params_cache", None)  # bundles are cached per model
            assert (P.spec_of(model.params()) is None) == (flag == "0")
            one = oh.solve(model, (0.0, 0.4), ys[0], method=method, t_eval=[0.0, 0.2, 0.4], **kw)
            batch = oh.solve(model, (0.0, 0.4), ys, method=method, t_eval=[0.0, 0.2, 0.4], **kw)
            steps = oh.solve(model, (0.0, 0.4), ys[0], method=method, **kw)
            runs.append((one, batch, steps, model.rhs(0.0, ys), model.energy(ys[0])))
        (one, batch, steps, rhs, energy), ref = runs[1], runs[0]
        for got, want in ((one, ref[0]), (batch, ref[1]), (steps, ref[2])):
            assert got.success and want.success
            assert got.t.shape == want.t.shape  # recorded steps: the same steps, up to rounding
            np.testing.assert_allclose(got.t, want.t, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(got.y, want.y, rtol=1e-9, atol=1e-11)
            np.testing.assert_allclose(got.energy, want.energy, rtol=1e-9, atol=1e-11)
            np.testing.assert_array_equal(got.nfev, want.nfev)
        np.testing.assert_allclose(rhs, ref[3], rtol=1e-12, atol=1e-13)
        assert energy == pytest.approx(ref[4], rel=1e-11, abs=1e-12)
    # both builds hand the loops a LinkedParams: the same compiled loops, linked to the kind's own
    # functions (users) or to the run-time-dispatched ones (the rest of the suite)
    assert {type(q) for q in linked} == {P.LinkedParams}
    assert len({q.rhs for q in linked}) == 3  # the run-time functions and one set per kind


def test_units_without_weights_are_refused():
    """A kind with ``w_kind`` W_NONE is built without the Hopfield part, so Hopfield units with no
    weight representation raise instead of being left out of the right-hand side."""
    ints = dict(nh=3, w_kind=P.W_NONE, nk=0, dim=1, k_kind=P.K_NONE, hk_kind=P.HK_NONE, shared_csr=0, inter=0)
    with pytest.raises(ValueError, match="weight representation"):
        P.kind_spec(ints)
    assert P.kind_spec(dict(ints, nh=0))[0] == P.W_NONE
    assert P.kind_spec(dict(ints, w_kind=P.W_DENSE))[0] == P.W_DENSE
