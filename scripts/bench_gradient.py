"""Gradients through the dynamics: oh.value_and_grad against JAX autodiff of the same model.

Usage: python scripts/bench_gradient.py [--quick] [--repeats 5] [--out results.md]

The model is a Hopfield-Kuramoto network (mode "network", tanh units, tanh pair interaction,
a stimulus; N = 100, D = 3, a random graph) and a batch of 32 initial states.  The loss is
the batch mean of the squared distance of the final state to a target.  JAX differentiates a
hand-written float64 Runge-Kutta loop (``jax.lax.scan``, ``jax.vmap`` over the batch, the
same retraction of oscillators to the sphere after every step) with ``jax.grad``:

- RK4 on the same fixed grid as oscihop (dt = 0.01);
- Tsit5 replaying the accepted step grid oscihop's adaptive solve took (per member; shorter
  grids are padded in front with steps of size 0 that leave the state alone), with oscihop's
  first-same-as-last convention.

Both are the same discrete map, so the gradients must agree to rounding (about 1e-10
relative).  Times are medians of ``--repeats`` runs in the same process, after compilation,
with the four timed calls (oscihop RK4, JAX RK4, oscihop Tsit5, JAX Tsit5) interleaved in
every repeat so that both libraries see the same machine load (the header reports the load
average); the ratio is JAX time / oscihop time (> 1: oscihop is faster).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import oscihop as oh
from oscihop.solvers.tableaus import Tsit5


def build_case(n, d, batch, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, n)) / np.sqrt(n)
    w = (w + w.T) / 2
    hop = oh.Hopfield(w, bias=0.1 * rng.standard_normal(n), activation="tanh", beta=1.5)
    e = oh.complete_edges(n)
    edges = e[rng.random(len(e)) < min(1.0, 10.0 / n)]
    kur = oh.Kuramoto(d, edges=edges, coupling=rng.standard_normal(len(edges)) * 0.5, interaction="tanh",
                      interaction_weights=rng.standard_normal(len(edges)) * 0.3,
                      stimulus=0.3 * rng.standard_normal((n, d)))
    hk = oh.HopfieldKuramoto(hop, kur, edges, weights=0.3 * rng.standard_normal(len(edges)), kappa_h=1.0,
                             kappa_k=1.0)
    y0 = hk.random_state(seed=seed + 1, batch=batch)
    target = hk.random_state(seed=seed + 2, batch=batch)
    return hk, edges, y0, target


def jax_model(hk, edges):
    """The HK right-hand side in JAX, written from docs/theory.md §4.1 (ambient projection, §5)."""
    import jax.numpy as jnp

    n, d = hk.n, hk.dim
    beta, kh, kk = hk.hopfield.beta, hk.kappa_h, hk.kappa_k
    i_idx, j_idx = jnp.asarray(edges[:, 0]), jnp.asarray(edges[:, 1])

    def rhs(params, y):
        w, b, jv, bv, c, a = (params[k] for k in ("W", "b", "J", "B", "c", "a"))
        h, x = y[:n], y[n:].reshape(n, d)
        g = jnp.tanh(beta * h)
        xi, xj = x[i_idx], x[j_idx]
        s = jnp.sum(xi * xj, axis=1)
        dh = w @ g - h + b
        dh = dh + (jnp.zeros(n).at[i_idx].add(a * s * g[j_idx]).at[j_idx].add(a * s * g[i_idx])) / kh
        coef = jv + bv * jnp.tanh(s)
        hkc = a * g[i_idx] * g[j_idx] / kk
        f = c + jnp.zeros((n, d)).at[i_idx].add((coef + hkc)[:, None] * xj).at[j_idx].add((coef + hkc)[:, None] * xi)
        f = f - (jnp.sum(f * x, axis=1) / jnp.sum(x * x, axis=1))[:, None] * x
        return jnp.concatenate([dh, f.ravel()])

    def retract(y):
        h, x = y[:n], y[n:].reshape(n, d)
        return jnp.concatenate([h, (x / jnp.linalg.norm(x, axis=1, keepdims=True)).ravel()])

    return rhs, retract


def jax_losses(hk, edges, target, hs_rk4, hs_tsit5):
    import jax
    import jax.numpy as jnp

    rhs, retract = jax_model(hk, edges)
    A, Bw = jnp.asarray(Tsit5.A), jnp.asarray(Tsit5.B)
    tgt = jnp.asarray(target)

    def rk4_final(params, y0):
        def step(y, h):
            k1 = rhs(params, y)
            k2 = rhs(params, y + 0.5 * h * k1)
            k3 = rhs(params, y + 0.5 * h * k2)
            k4 = rhs(params, y + h * k3)
            return retract(y + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)), None

        return jax.lax.scan(step, y0, hs_rk4)[0]

    def tsit5_final(params, y0, hs):
        # carry (y_n, w_n): stage 0 is f(w_n), w_n the state before the previous retraction
        def step(carry, h):
            y, w = carry
            ks = [rhs(params, w)]
            for s in range(1, 6):
                ks.append(rhs(params, y + h * sum(A[s, j] * ks[j] for j in range(s))))
            z = y + h * sum(Bw[j] * ks[j] for j in range(6))
            pad = h == 0.0  # padding in front: an exact identity step
            return (jnp.where(pad, y, retract(z)), jnp.where(pad, w, z)), None

        return jax.lax.scan(step, (y0, y0), hs)[0][0]

    def loss_rk4(params, y0s):
        yt = jax.vmap(rk4_final, in_axes=(None, 0))(params, y0s)
        return 0.5 * jnp.mean(jnp.sum((yt - tgt) ** 2, axis=1))

    def loss_tsit5(params, y0s):
        yt = jax.vmap(tsit5_final, in_axes=(None, 0, 0))(params, y0s, hs_tsit5)
        return 0.5 * jnp.mean(jnp.sum((yt - tgt) ** 2, axis=1))

    argnums = (0, 1)
    return (jax.jit(jax.value_and_grad(loss_rk4, argnums=argnums)),
            jax.jit(jax.value_and_grad(loss_tsit5, argnums=argnums)))


def max_rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def run(n, d, batch, t1, dt, rtol, repeats):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    hk, edges, y0, target = build_case(n, d, batch)

    def loss(y):
        r = y - target
        return 0.5 * float(np.mean(np.sum(r * r, axis=1))), r / batch

    rows = []
    # ---- compile / warm up (oscihop's kernels are cached on disk; its Tsit5 run gives JAX the step grids)
    f_oh_rk4 = lambda: oh.value_and_grad(hk, loss, y0, (0.0, t1), method="RK4", dt=dt)  # noqa: E731
    kw = dict(method="Tsit5", rtol=rtol, atol=rtol * 1e-2)
    f_oh_ts = lambda: oh.value_and_grad(hk, loss, y0, (0.0, t1), **kw)  # noqa: E731
    res_rk4 = f_oh_rk4()
    res_ts = f_oh_ts()
    steps = res_ts.stats["step_sizes"]
    longest = max(len(s) for s in steps)
    hs_ts = np.zeros((batch, longest))
    for b, s in enumerate(steps):
        hs_ts[b, longest - len(s):] = s
    hs_rk4 = np.asarray(res_rk4.stats["step_sizes"][0])

    prm = hk.parameters()
    params = {"W": prm["hopfield.weights"], "b": prm["hopfield.bias"], "J": prm["kuramoto.coupling"],
              "B": prm["kuramoto.interaction_weights"], "c": prm["kuramoto.stimulus"], "a": prm["weights"]}
    params = {k: jnp.asarray(v) for k, v in params.items()}
    f_rk4, f_ts = jax_losses(hk, edges, target, jnp.asarray(hs_rk4), jnp.asarray(hs_ts))
    y0j = jnp.asarray(y0)

    def call(f, *args):
        out = f(*args)
        jax.block_until_ready(out)
        return out

    t = time.perf_counter()
    call(f_rk4, params, y0j)
    compile_rk4 = time.perf_counter() - t
    t = time.perf_counter()
    call(f_ts, params, y0j)
    compile_ts = time.perf_counter() - t

    # ---- timing: the four runs interleaved, so that both libraries see the same load
    fns = {"oh_rk4": f_oh_rk4, "jx_rk4": lambda: call(f_rk4, params, y0j),
           "oh_ts": f_oh_ts, "jx_ts": lambda: call(f_ts, params, y0j)}
    times = {k: [] for k in fns}
    outs = {}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            outs[k] = fn()
            times[k].append(time.perf_counter() - t)
    t_oh_rk4, t_jx_rk4, t_oh_ts, t_jx_ts = (float(np.median(times[k])) for k in ("oh_rk4", "jx_rk4", "oh_ts", "jx_ts"))
    res_rk4, out_rk4, res_ts, out_ts = outs["oh_rk4"], outs["jx_rk4"], outs["oh_ts"], outs["jx_ts"]

    names = {"W": "hopfield.weights", "b": "hopfield.bias", "J": "kuramoto.coupling",
             "B": "kuramoto.interaction_weights", "c": "kuramoto.stimulus", "a": "weights"}

    def agreement(res, out):
        (val, (gp, gy)) = out
        errs = {"value": abs(float(val) - res.value) / abs(res.value), "y0": max_rel(res.y0, gy)}
        for k, name in names.items():
            g = np.asarray(gp[k])
            if k == "W":
                g = 0.5 * (g + g.T)  # oscihop: gradient along symmetric perturbations
            errs[name] = max_rel(res.grads[name], g)
        return errs

    e_rk4 = agreement(res_rk4, out_rk4)
    e_ts = agreement(res_ts, out_ts)
    nsteps_ts = int(np.sum(res_ts.stats["nsteps"]))
    rows.append((f"RK4, dt = {dt}, {len(hs_rk4)} steps", t_oh_rk4, t_jx_rk4, max(e_rk4.values()), compile_rk4,
                 res_rk4.stats["memory_bytes"]))
    rows.append((f"Tsit5 rtol = {rtol} ({nsteps_ts / batch:.0f} steps/member avg), frozen grid", t_oh_ts, t_jx_ts,
                 max(e_ts.values()), compile_ts, res_ts.stats["memory_bytes"]))
    return hk, edges, rows, e_rk4, e_ts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small model and batch (seconds)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", help="write a markdown table to this path")
    args = parser.parse_args()
    if args.quick:
        n, d, batch, t1, dt, rtol = 20, 3, 4, 0.5, 0.02, 1e-5
    else:
        n, d, batch, t1, dt, rtol = 100, 3, 32, 1.0, 0.01, 1e-6
    load0 = os.getloadavg()[0]
    hk, edges, rows, e_rk4, e_ts = run(n, d, batch, t1, dt, rtol, max(1, args.repeats))
    load1 = os.getloadavg()[0]
    head = (f"HK network N = {n}, D = {d}, {len(edges)} edges (pair and HK), batch {batch}, t = (0, {t1}), "
            f"float64; {platform.machine()}, {os.cpu_count()} CPUs, {oh.config.num_threads()} threads; "
            f"median of {max(1, args.repeats)} interleaved repeats; 1-min load average {load0:.1f} before, "
            f"{load1:.1f} after")
    lines = [head, "",
             "| method | oscihop value_and_grad (s) | JAX jit(value_and_grad) (s) | ratio JAX/oscihop | "
             "max rel. difference | JAX compile (s) | oscihop memory (MB) |",
             "|---|---|---|---|---|---|---|"]
    for name, t_oh, t_jx, err, comp, mem in rows:
        lines.append(f"| {name} | {t_oh:.4f} | {t_jx:.4f} | {t_jx / t_oh:.2f} | {err:.1e} | {comp:.1f} | "
                     f"{mem / 1e6:.2f} |")
    text = "\n".join(lines)
    print(text)
    print("\nper-parameter max relative difference (RK4):", {k: f"{v:.1e}" for k, v in e_rk4.items()})
    print("per-parameter max relative difference (Tsit5):", {k: f"{v:.1e}" for k, v in e_ts.items()})
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
