"""Compile times: the first solve of each model kind and method in a fresh process, cold and warm.

Usage::

    python scripts/bench_compile.py [--cases hopfield,kuramoto,hk] [--methods RK45,Tsit5,RK4]
    python scripts/bench_compile.py --against OLD_CHECKOUT

Each row runs one fresh Python process with an empty Numba cache (``cold``) and then a
second one on the cache the first filled (``warm``), and reports the seconds of the first
call (compilation included) and the import time.  Cases:

- ``hopfield``: a 50-unit tanh Hopfield model with dense weights (issue target: <= 5 s cold);
- ``kuramoto``: a 50-unit ring Kuramoto model, D = 2 (target: <= 5 s cold);
- ``hk``: the paper's Hopfield-Kuramoto model (scripts/bench_paper.py; target: <= 10 s cold);
- ``energy``: ``model.energy`` after the solve, in the same process (what the energy adds).

The first method is the headline (RK45); every further method is timed in the warm process
of the first, so its row shows what compiling that method adds to a model already compiled.
``--against DIR`` times another checkout (e.g. a ``git worktree`` of an older commit) the same
way, each in its own processes, and prints both columns.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

_CHILD = r"""
import json, sys, time
t = time.perf_counter()
import numpy as np
import oscihop as oh
t_import = time.perf_counter() - t
case, methods = sys.argv[1], sys.argv[2].split(",")
if case == "hopfield":
    rng = np.random.default_rng(0)
    w = rng.standard_normal((50, 50)) / 7
    model = oh.Hopfield(w + w.T, activation="tanh")
elif case == "kuramoto":
    model = oh.Kuramoto(2, edges=oh.ring_edges(50), coupling=1.0)
else:
    sys.path.insert(0, sys.argv[3])
    from bench_paper import paper_model
    model = paper_model()[0]
y0 = model.random_state(seed=0)
out = dict(import_s=t_import)
for m in methods:
    kw = dict(dt=0.01) if m in ("RK4", "Euler") else {}
    t = time.perf_counter()
    oh.solve(model, (0.0, 1.0), y0, method=m, t_eval=[0.0, 1.0], **kw)
    out[m] = time.perf_counter() - t
t = time.perf_counter()
model.energy(y0)
out["energy"] = time.perf_counter() - t
print(json.dumps(out))
"""


def _run(tree, case, methods, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=tree)
    env.pop("OSCIHOP_SPECIALIZE", None)
    res = subprocess.run([sys.executable, "-c", _CHILD, case, ",".join(methods), os.path.join(tree, "scripts")],
                         env=env, capture_output=True, text=True, timeout=1800, cwd=tempfile.gettempdir())
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-2000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def measure(tree, cases, methods):
    rows = {}
    for case in cases:
        with tempfile.TemporaryDirectory() as cache:
            rows[case] = dict(cold=_run(tree, case, methods, cache), warm=_run(tree, case, methods, cache))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="hopfield,kuramoto,hk")
    ap.add_argument("--methods", default="RK45,Tsit5,RK4")
    ap.add_argument("--against", default=None, help="another oscihop checkout, timed the same way")
    args = ap.parse_args()
    cases, methods = args.cases.split(","), args.methods.split(",")
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trees = [("this", here)] + ([("other", os.path.abspath(args.against))] if args.against else [])
    results = {name: measure(tree, cases, methods) for name, tree in trees}
    cols = [name for name, _ in trees]
    print(f"{'case':10s} {'what':22s} " + " ".join(f"{c:>10s}" for c in cols))
    for case in cases:
        for when in ("cold", "warm"):
            for key in methods + ["energy", "import_s"]:
                label = f"{when} {key}" + (" (first)" if key == methods[0] else "")
                vals = " ".join(f"{results[c][case][when][key]:10.2f}" for c in cols)
                print(f"{case:10s} {label:22s} {vals}")
    print(json.dumps(results))


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"# {time.perf_counter() - t0:.0f} s")
