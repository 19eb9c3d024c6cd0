"""Compile times: the first solve of each model kind and method in a fresh process, cold and warm.

Usage::

    python scripts/bench_compile.py [--cases hopfield,kuramoto,hk] [--methods RK45,Tsit5,RK4]
    python scripts/bench_compile.py --against OLD_CHECKOUT
    python scripts/bench_compile.py --together --methods RK45

Each row runs one fresh Python process with an empty Numba cache (``cold``) and then a
second one on the cache the first filled (``warm``), and reports the seconds of the first
call (compilation included) and the import time.  Cases:

- ``hopfield``: a 50-unit tanh Hopfield model with dense weights (issue target: <= 5 s cold);
- ``kuramoto``: a 50-unit ring Kuramoto model, D = 2 (target: <= 5 s cold);
- ``hk``: the paper's Hopfield-Kuramoto model (scripts/bench_paper.py; target: <= 10 s cold);
- ``energy``: ``model.energy`` after the solve, in the same process (what the energy adds).

The first method is the headline (RK45); every further method is timed in the warm process
of the first, so its row shows what compiling that method adds to a model already compiled.
``--together`` also runs the cases one after another in one cold process: each case's row is
then what compiling that model kind adds to a process that has compiled the kinds before it.
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


def build(case):
    if case == "hopfield":
        rng = np.random.default_rng(0)
        w = rng.standard_normal((50, 50)) / 7
        return oh.Hopfield(w + w.T, activation="tanh")
    if case == "kuramoto":
        return oh.Kuramoto(2, edges=oh.ring_edges(50), coupling=1.0)
    sys.path.insert(0, sys.argv[3])
    from bench_paper import paper_model
    return paper_model()[0]


out = dict(import_s=t_import)
for case in sys.argv[1].split(","):  # several: one after another in this process
    model = build(case)
    y0 = model.random_state(seed=0)
    row = out.setdefault(case, {})
    for m in sys.argv[2].split(","):
        kw = dict(dt=0.01) if m in ("RK4", "Euler") else {}
        t = time.perf_counter()
        oh.solve(model, (0.0, 1.0), y0, method=m, t_eval=[0.0, 1.0], **kw)
        row[m] = time.perf_counter() - t
    t = time.perf_counter()
    model.energy(y0)
    row["energy"] = time.perf_counter() - t
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
            runs = [_run(tree, case, methods, cache) for _ in range(2)]
            rows[case] = {when: dict(r[case], import_s=r["import_s"]) for when, r in zip(("cold", "warm"), runs)}
    return rows


def measure_together(tree, cases, methods):
    """Every case in one fresh process with one empty cache, in the given order: each row is what
    that model kind adds to a process that has compiled the kinds before it."""
    with tempfile.TemporaryDirectory() as cache:
        return _run(tree, ",".join(cases), methods, cache)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="hopfield,kuramoto,hk")
    ap.add_argument("--methods", default="RK45,Tsit5,RK4")
    ap.add_argument("--against", default=None, help="another oscihop checkout, timed the same way")
    ap.add_argument("--together", action="store_true",
                    help="also run the cases one after another in one cold process (what each kind adds)")
    args = ap.parse_args()
    cases, methods = args.cases.split(","), args.methods.split(",")
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trees = [("this", here)] + ([("other", os.path.abspath(args.against))] if args.against else [])
    if args.together:
        together = {name: measure_together(tree, cases, methods) for name, tree in trees}
        print("one cold process, the cases in this order:")
        print(f"{'case':10s} {'what':22s} " + " ".join(f"{c:>10s}" for c, _ in trees))
        for case in cases:
            for key in methods + ["energy"]:
                vals = " ".join(f"{together[c][case][key]:10.2f}" for c, _ in trees)
                print(f"{case:10s} {key:22s} {vals}")
        print(json.dumps(together))
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
