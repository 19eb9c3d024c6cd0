"""Case 1: the paper's Hopfield-Kuramoto configuration, oscihop against JAX + diffrax.

Usage: python scripts/bench_paper.py [--repeats 3] [--batch 16 100]

The model (Fanaskov & Oseledets 2025, small-world HK): N = 895 units on one
Watts-Strogatz graph (k = 150, p = 0.1) that carries the Hopfield weights W_e, the
Kuramoto couplings J_e, B_e (relu interaction) and the HK coefficients a_e (mode
"network"), D = 5, relu activation, kappa_h = kappa_k = 1.  A batch of initial states is
integrated over t in [0, 1] with Tsit5, rtol 1e-3, atol 1e-6, keeping the final state.

The peer is the same equations written in JAX (gathers over the directed edge list and
``segment_sum`` into rows, the usual way to write a sparse graph in JAX) and integrated
by ``diffrax.diffeqsolve`` with ``Tsit5`` and a ``PIDController`` at the same tolerances,
``jax.vmap`` over the batch, ``jax.jit`` compiled (compilation excluded from the timed
runs and reported separately), float64 on the CPU.  Both sides use every core (oscihop:
Numba's thread count; JAX: XLA's CPU thread pool).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import oscihop as oh
from bench_common import Row, interleaved, max_abs_diff, print_rows

N_UNITS, K_WS, P_WS, DIM = 895, 150, 0.1, 5
RTOL, ATOL = 1e-3, 1e-6


def paper_model(seed=0):
    """The HK model of case 1 and its per-edge parameters."""
    rng = np.random.default_rng(seed)
    edges = oh.watts_strogatz_edges(N_UNITS, K_WS, P_WS, seed=seed)
    ne = edges.shape[0]
    w = rng.standard_normal(ne) / np.sqrt(K_WS)
    jv = rng.standard_normal(ne) / np.sqrt(K_WS)
    bv = np.abs(rng.standard_normal(ne)) / np.sqrt(K_WS)
    av = 1e-2 * rng.standard_normal(ne)
    bias = 0.1 * rng.standard_normal(N_UNITS)
    import scipy.sparse as sp

    wmat = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([edges[:, 0], edges[:, 1]]),
                                                    np.concatenate([edges[:, 1], edges[:, 0]]))),
                         shape=(N_UNITS, N_UNITS)).tocsr()
    hop = oh.Hopfield(wmat, bias=bias, activation="relu")
    kur = oh.Kuramoto(DIM, edges=edges, coupling=jv, interaction="relu", interaction_weights=bv)
    hk = oh.HopfieldKuramoto(hop, kur, edges, weights=av, mode="network")
    return hk, dict(edges=edges, w=w, j=jv, b=bv, a=av, bias=bias)


def jax_solver(parts, batch_rtol=RTOL, batch_atol=ATOL):
    """A jitted, vmapped diffrax Tsit5 solve of the same HK equations (float64)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import diffrax
    import jax.numpy as jnp

    e = parts["edges"]
    n, dim = N_UNITS, DIM
    rows = np.concatenate([e[:, 0], e[:, 1]])
    cols = np.concatenate([e[:, 1], e[:, 0]])
    order = np.lexsort((cols, rows))
    rows, cols = jnp.asarray(rows[order]), jnp.asarray(cols[order])

    def per_entry(v):
        return jnp.asarray(np.concatenate([v, v])[order])

    w, jv, bv, av = (per_entry(parts[k]) for k in ("w", "j", "b", "a"))
    bias = jnp.asarray(parts["bias"])

    def seg(v):
        return jax.ops.segment_sum(v, rows, num_segments=n, indices_are_sorted=True)

    def rhs(t, y, args):
        h = y[:n]
        x = y[n:].reshape(n, dim)
        g = jnp.maximum(h, 0.0)
        xi, xj = x[rows], x[cols]
        s = jnp.sum(xi * xj, axis=1)
        gi, gj = g[rows], g[cols]
        dh = seg(w * gj) - h + bias + seg(av * s * gj)
        coef = jv + bv * jnp.maximum(s, 0.0) + av * gi * gj
        f = seg(coef[:, None] * xj)
        c = jnp.sum(f * x, axis=1) / jnp.sum(x * x, axis=1)
        dx = f - c[:, None] * x
        return jnp.concatenate([dh, dx.ravel()])

    term = diffrax.ODETerm(rhs)
    solver = diffrax.Tsit5()
    ctrl = diffrax.PIDController(rtol=batch_rtol, atol=batch_atol)

    def one(y0):
        sol = diffrax.diffeqsolve(term, solver, t0=0.0, t1=1.0, dt0=None, y0=y0, stepsize_controller=ctrl,
                                  saveat=diffrax.SaveAt(t1=True), max_steps=100_000)
        return sol.ys[-1], sol.stats["num_steps"]

    fn = jax.jit(jax.vmap(one))

    def run(y0s):
        ys, steps = fn(jnp.asarray(y0s))
        return np.asarray(ys.block_until_ready()), np.asarray(steps)

    return run


#: The batch sizes case 1 reports: the paper's 100, and 16 for the cost per member of a small batch.
BATCHES = (16, 100)


def run(repeats=3, batches=BATCHES, quick=False):
    """One row per batch size; a batch below the largest also reports its cost per member against
    the largest batch's (target: within 1.5x)."""
    if quick:
        batches = tuple(sorted({min(b, 20) for b in batches}))
    hk, parts = paper_model()
    try:
        jrun = jax_solver(parts)
    except ImportError as exc:  # the peer is in the `bench` extra
        return [Row("1", f"HK paper config B={b}", note=f"JAX/diffrax missing: {exc}") for b in batches]
    rows = [_one_batch(hk, parts, jrun, batch, repeats) for batch in batches]
    big = rows[-1]
    per_big = big.oscihop_s / big.extra["batch"]
    for row in rows[:-1]:
        rel = row.oscihop_s / row.extra["batch"] / per_big
        row.metric += f"; per member {rel:.2f}x batch {big.extra['batch']}'s"
        row.target = f"per member <= 1.5x batch {big.extra['batch']}'s"
        row.met = rel <= 1.5
        row.extra["per_member_vs_largest"] = rel
    return rows


def _one_batch(hk, parts, jrun, batch, repeats):
    y0 = hk.random_state(seed=3, batch=batch)
    kw = dict(method="Tsit5", rtol=RTOL, atol=ATOL, t_eval=[0.0, 1.0])

    def ours():
        return oh.solve(hk, (0.0, 1.0), y0, **kw)

    t = time.perf_counter()
    jrun(y0)
    jax_compile = time.perf_counter() - t
    t_oh, t_jx, sol, (yj, steps_j) = interleaved(ours, lambda: jrun(y0), repeats)
    diff = max_abs_diff(sol.y[:, :, -1], yj)
    nst = int(np.sum(sol.nsteps))
    row = Row(
        "1", f"HK N={N_UNITS}, WS k={K_WS} p={P_WS}, D={DIM}, relu/relu, Tsit5 rtol 1e-3 atol 1e-6, batch {batch}",
        t_oh, "JAX + diffrax (vmap, jit)", t_jx, diff, 2e-2,
        metric=(f"{t_oh / batch * 1e3:.2f} ms per member; steps {nst} / {int(np.sum(steps_j))}; "
                f"JAX compile {jax_compile:.1f} s"),
        target=">= 30x", note="")
    row.met = row.ratio is not None and row.ratio >= 30
    row.extra = dict(batch=batch, steps_oscihop=nst, steps_jax=int(np.sum(steps_j)), jax_compile_s=jax_compile,
                     edges=int(parts["edges"].shape[0]), ms_per_member=t_oh / batch * 1e3)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, nargs="+", default=list(BATCHES),
                        help="batch sizes, smallest first (default: 16 100)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print_rows(run(args.repeats, tuple(sorted(args.batch)), args.quick))


if __name__ == "__main__":
    main()
