"""The activation and phi' paths, timed on the real entry points; optionally against another checkout.

Usage::

    python scripts/bench_activation.py [--repeats 7]
    python scripts/bench_activation.py --against OLD_CHECKOUT [--rounds 3]

Rows (medians of ``--repeats`` warm calls, after one call that compiles):

- ``activate n=100``: ``g = tanh(beta h)`` over 100 units, the activation pass of every
  Hopfield right-hand side (kernels/activations.py);
- ``solve tanh n=50``: one RK45 solve of a 50-unit tanh Hopfield model;
- ``solve batch tanh n=50 B=64``: the same model, 64 members (the batch-innermost path);
- ``solve HK tanh-interaction``: a 40-unit Hopfield-Kuramoto model, D = 3, tanh pair
  interaction (phi' on every edge);
- ``value_and_grad HK B=8``: its gradient through 1 time unit of RK4 (the VJP kernels).

``--against DIR`` runs this script in fresh processes on this checkout and on ``DIR``
(another checkout of oscihop, e.g. a ``git worktree`` of an older commit), alternately
``--rounds`` times, and prints both columns and their ratio (old / new: above 1 means
this checkout is faster).  Each process imports oscihop from its own tree.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def _median_time(fn, repeats):
    fn()  # compiles
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def measure(repeats):
    import oscihop as oh
    from oscihop.kernels.activations import activate
    from oscihop.kernels.params import ACT_TANH

    rng = np.random.default_rng(0)
    rows = {}

    h = rng.standard_normal(100)
    g = np.empty(100)

    def act_100():
        for _ in range(1000):
            activate(None, ACT_TANH, 1.5, h, g)

    rows["activate n=100 (us)"] = _median_time(act_100, repeats) * 1e3  # 1000 calls -> us each

    n = 50
    w = rng.standard_normal((n, n)) / np.sqrt(n)
    w = (w + w.T) / 2
    hop = oh.Hopfield(w, bias=0.1 * rng.standard_normal(n), activation="tanh", beta=1.5)
    y0 = 0.5 * rng.standard_normal(n)
    rows["solve tanh n=50 (ms)"] = _median_time(lambda: oh.solve(hop, (0.0, 10.0), y0, method="RK45"),
                                                repeats) * 1e3
    yb = 0.5 * rng.standard_normal((64, n))
    rows["solve batch tanh n=50 B=64 (ms)"] = _median_time(
        lambda: oh.solve(hop, (0.0, 10.0), yb, method="RK45"), repeats) * 1e3

    m = 40
    wk = rng.standard_normal((m, m)) / np.sqrt(m)
    hop_k = oh.Hopfield((wk + wk.T) / 2, activation="tanh", beta=1.5)
    e = oh.complete_edges(m)
    edges = e[rng.random(len(e)) < 0.25]
    kur = oh.Kuramoto(3, edges=edges, coupling=0.5 * rng.standard_normal(len(edges)), interaction="tanh",
                      interaction_weights=0.3 * rng.standard_normal(len(edges)))
    hk = oh.HopfieldKuramoto(hop_k, kur, edges, weights=0.3 * rng.standard_normal(len(edges)))
    y0k = hk.random_state(seed=1)
    rows["solve HK tanh-interaction (ms)"] = _median_time(lambda: oh.solve(hk, (0.0, 2.0), y0k, method="RK45"),
                                                          repeats) * 1e3
    yk = hk.random_state(seed=2, batch=8)
    target = hk.random_state(seed=3, batch=8)

    def loss(y):
        d = y - target
        return 0.5 * float(np.sum(d * d)) / len(d), d / len(d)

    rows["value_and_grad HK B=8 (ms)"] = _median_time(
        lambda: oh.value_and_grad(hk, loss, yk, (0.0, 1.0), method="RK4", dt=0.01), repeats) * 1e3
    return rows


def _run_tree(tree, repeats):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--json", "--repeats", str(repeats)],
                         env=env, cwd=os.path.abspath(tree), capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--against", default=None, help="another oscihop checkout to time alternately")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON line (used by --against)")
    args = ap.parse_args(argv)
    if args.against is None:
        rows = measure(args.repeats)
        if args.json:
            print(json.dumps(rows))
        else:
            for k, v in rows.items():
                print(f"{k:36s} {v:10.3f}")
        return 0
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    new, old = [], []
    for _ in range(args.rounds):
        old.append(_run_tree(args.against, args.repeats))
        new.append(_run_tree(here, args.repeats))
    print(f"{'row':36s} {'old':>10s} {'new':>10s} {'old/new':>8s}")
    for k in new[0]:
        o = float(np.median([r[k] for r in old]))
        n_ = float(np.median([r[k] for r in new]))
        print(f"{k:36s} {o:10.3f} {n_:10.3f} {o / n_:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
