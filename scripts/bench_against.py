"""The oscihop side of every row of the benchmark suite, on this checkout and optionally another.

Usage::

    python scripts/bench_against.py [--repeats 5] [--quick] [--rows SUBSTRING[,SUBSTRING...]]
    python scripts/bench_against.py --against OTHER_CHECKOUT [--rounds 3] [--repeats 5] [--quick] [--rows ...]

``scripts/bench_suite.py`` times oscihop against its peers (JAX + diffrax, scipy, the
``kuramoto`` package, PyTorch) and skips a row whose peer is not installed, so it cannot
compare two versions of oscihop on a machine without the peers.  This script times only
the oscihop call of each row, with the configuration of the suite's case modules (model,
sizes, method, tolerances, batch, outputs; the builders and constants are imported from
the case modules where they are importable, otherwise reproduced with a comment naming
the case-module function), and needs none of the peers.

Rows (``--rows`` keeps those whose label contains one of the comma-separated substrings,
case-insensitive, e.g. ``--rows paper``, ``--rows "case 5"``):

- case 1 (``bench_paper.py``): the paper's HK model (N = 895, Watts-Strogatz k = 150,
  D = 5, relu/relu, Tsit5 rtol 1e-3 atol 1e-6, t in [0, 1]) with batch 100 and batch 16;
- case 2 (``bench_core.py``): dense tanh Hopfield N = 10, 100, 1000 and mean-field
  Kuramoto N = 100, 1000 (RK45 rtol 1e-6, 21 outputs), HK batch 100 (RK45 rtol 1e-3);
- case 3 (``bench_kuramoto.py``): classic Kuramoto N = 1000 to the ``kuramoto`` package's
  200 outputs (DOP853 rtol = atol = 1.5e-8), and RK4 dt = 0.01 for N = 1e3, 1e4, 1e5;
- case 4 (``bench_akorn.py``): the AKOrN update, dense J (N = 256, batch 32) and an
  8-neighbour 64 x 64 grid (batch 16), 100 updates;
- case 5 (``bench_roofline.py``): one right-hand side evaluation of the kernels: dense
  Hopfield (N = 4000, one state; N = 2000, batch 64 and 256 through ``batched.rhs_t``, the
  GEMM path), sparse Kuramoto N = 1e5 (one state; batch 16 on Numba's threads; randomly
  labelled and RCM-reordered graphs; D = 5 relu batch 16), mean-field N = 1e6, and
  low-rank Hopfield N = 1e5, P = 1000.  The machine-peak and compile rows are left out.

``--quick`` takes the sizes of ``bench_suite.py --quick`` (case 1 batch 20 and 16, fewer
and smaller systems), for a smoke test.  Each row builds its model, calls the timed
function once (it compiles, or loads the Numba cache), then reports the median of
``--repeats`` warm calls, and checks that the result is finite (a solve must also report
success); the row's memory is freed before the next row.  Rows with a batch also give the
time per member.

``--against DIR`` runs this script in fresh processes with ``PYTHONPATH=<tree>`` and a
working directory outside both trees, so each process imports oscihop from its own tree
(this checkout, the one holding this script, and ``DIR``, another checkout of oscihop,
e.g. a ``git worktree`` of an older commit); both processes use the case modules of this
checkout's ``scripts/``, so both run the same configurations.  The two trees alternate
``--rounds`` times (the other checkout first in odd rounds, this one first in even
rounds); each process prints one JSON line ``{label: seconds}`` (``--json``) and the
table gives each row's median over the rounds in both columns and their ratio
(other / this: above 1 means this checkout is faster).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)  # the case modules and bench_common, from this checkout in every process

_TREE_ENV = "OSCIHOP_BENCH_AGAINST_TREE"  # set by the parent: the tree the child must import oscihop from


# --------------------------------------------------------------------------------------------
# checks and timing

def _check_solution(label, sol):
    y = np.asarray(sol.y)
    if not np.all(np.asarray(sol.success)):
        raise RuntimeError(f"{label}: the solve did not succeed (status {sol.status}): {sol.message}")
    if not np.all(np.isfinite(y)):
        raise FloatingPointError(f"{label}: the solution has non-finite values")


def _check_arrays(label, arrays):
    for a in arrays:
        if not np.all(np.isfinite(a)):
            raise FloatingPointError(f"{label}: the output has non-finite values")


def _closure_var(fn, name):
    """A variable captured by one of bench_roofline's rhs closures (its output buffers), so
    that the very callable the suite times is timed here and its output still checked."""
    import inspect

    found = inspect.getclosurevars(fn).nonlocals
    if name not in found:
        raise RuntimeError(f"bench_roofline's rhs closure no longer captures {name!r} (has {sorted(found)}); "
                           "update bench_against.py")
    return found[name]


def _time_row(label, fn, check, repeats):
    """Median of ``repeats`` warm calls of ``fn`` after one compiling call; ``check(result)``
    runs on the first and on the last result."""
    check(fn())  # compiles (or loads the Numba cache)
    times = []
    out = None
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    check(out)
    return float(np.median(times))


def _solve_row(label, *args, **kw):
    """A row timing ``oh.solve(*args, **kw)``."""
    import oscihop as oh

    def fn():
        return oh.solve(*args, **kw)

    return fn, lambda sol: _check_solution(label, sol)


# --------------------------------------------------------------------------------------------
# case 1: bench_paper.py

def _paper_row(batch):
    def build(label):
        import bench_paper as bp

        hk, _ = bp.paper_model()
        # bench_paper.run: y0 = hk.random_state(seed=3, batch=batch),
        # kw = dict(method="Tsit5", rtol=RTOL, atol=ATOL, t_eval=[0.0, 1.0]), t in (0.0, 1.0)
        y0 = hk.random_state(seed=3, batch=batch)
        return _solve_row(label, hk, (0.0, 1.0), y0, method="Tsit5", rtol=bp.RTOL, atol=bp.ATOL, t_eval=[0.0, 1.0])

    return build


# --------------------------------------------------------------------------------------------
# case 2: bench_core.py (no importable builders: each case function builds its model and
# times scipy; the models are reproduced here, with the shared rng replayed in the order of
# bench_core.run so that every row gets the suite's numbers whichever rows are selected)

def _core_sizes(quick):
    # bench_core.run
    return dict(hopfield=(10, 100) if quick else (10, 100, 1000), kuramoto=(100,) if quick else (100, 1000),
                batch_n=100, batch=20 if quick else 100)


def _core_draws(quick, want):
    """The draws of bench_core.run's rng = default_rng(0) up to ``want`` = (kind, n)."""
    s = _core_sizes(quick)
    rng = np.random.default_rng(0)
    for n in s["hopfield"]:  # bench_core.hopfield_case: w, b, y0 in this order
        w = rng.standard_normal((n, n))
        b = rng.standard_normal(n)
        y0 = rng.standard_normal(n)
        if want == ("hopfield", n):
            return dict(w=w, b=b, y0=y0)
    for n in s["kuramoto"]:  # bench_core.kuramoto_case: omega
        omega = rng.standard_normal(n)
        if want == ("kuramoto", n):
            return dict(omega=omega)
    xi = rng.random((5, s["batch_n"]))  # bench_core.batch_case
    if want == ("batch", s["batch_n"]):
        return dict(xi=xi)
    raise KeyError(want)


def _core_hopfield_row(n, quick):
    def build(label):
        import oscihop as oh

        # bench_core.hopfield_case
        d = _core_draws(quick, ("hopfield", n))
        w = d["w"] / np.sqrt(n)
        w = (w + w.T) / 2
        b = 0.1 * d["b"]
        hop = oh.Hopfield(w, bias=b, activation="tanh", beta=2.0)
        return _solve_row(label, hop, (0, 10), d["y0"], method="RK45", rtol=1e-6, atol=1e-9,
                          t_eval=np.linspace(0, 10, 21))

    return build


def _core_kuramoto_row(n, quick):
    def build(label):
        import oscihop as oh

        # bench_core.kuramoto_case
        omega = _core_draws(quick, ("kuramoto", n))["omega"]
        kur = oh.Kuramoto(2, coupling="mean-field", strength=2.0, n=n, omega=omega)
        y0 = kur.random_state(seed=1)
        return _solve_row(label, kur, (0, 10), y0, method="RK45", rtol=1e-6, atol=1e-9,
                          t_eval=np.linspace(0, 10, 21))

    return build


def _core_batch_row(n, batch, quick):
    def build(label):
        import oscihop as oh

        # bench_core.batch_case
        xi = np.where(_core_draws(quick, ("batch", n))["xi"] < 0.5, -1.0, 1.0)
        hop = oh.Hopfield.from_patterns(xi, activation="tanh", beta=4.0)
        kur = oh.Kuramoto(3, edges=oh.watts_strogatz_edges(n, 6, 0.1, seed=0), coupling=0.5)
        hk = oh.HopfieldKuramoto(hop, kur, "all", alpha=1.0 / n, mode="additive")
        y0 = hk.random_state(seed=2, batch=batch)
        return _solve_row(label, hk, (0, 1), y0, method="RK45", rtol=1e-3, atol=1e-6, t_eval=[0.0, 1.0])

    return build


# --------------------------------------------------------------------------------------------
# case 3: bench_kuramoto.py (classic_model is imported; the solve calls are those of
# package_case's and rk4_case's ``ours``)

def _kuramoto_package_row(n=1000, t1=2.0, dt=0.01):
    def build(label):
        import bench_kuramoto as bk
        import oscihop as oh

        kur, _, _, y0 = bk.classic_model(n)
        t_grid = np.linspace(0, t1, int(t1 / dt))  # the kuramoto package's output grid
        tol = 1.49012e-8  # odeint's default rtol and atol
        method = "DOP853" if "DOP853" in oh.METHODS else "RK45"
        return _solve_row(label, kur, (0.0, t1), y0, method=method, rtol=tol, atol=tol, t_eval=t_grid)

    return build


def _kuramoto_rk4_row(n, t1=1.0, dt=0.01):
    def build(label):
        import bench_kuramoto as bk

        kur, _, _, y0 = bk.classic_model(n)
        return _solve_row(label, kur, (0.0, t1), y0, method="RK4", dt=dt, t_eval=[0.0, t1])

    return build


# --------------------------------------------------------------------------------------------
# case 4: bench_akorn.py (bench_akorn.case builds the model next to the torch peer; the
# model is reproduced here; _omega, grid_edges, DIM, GAMMA, STEPS are imported)

def _akorn_row(kind, n, batch):
    def build(label):
        import bench_akorn as ba
        import oscihop as oh

        rng = np.random.default_rng(0)
        omega = ba._omega(rng)
        stim = 0.3 * rng.standard_normal((n, ba.DIM))
        if kind == "dense":
            j = rng.standard_normal((n, n)) / np.sqrt(n)
            j = 0.5 * (j + j.T)
            np.fill_diagonal(j, 0.0)
            kur = oh.Kuramoto(ba.DIM, coupling=j, stimulus=stim, omega=omega)
        else:
            edges = ba.grid_edges(int(round(np.sqrt(n))))
            jv = 0.5 + 0.1 * rng.standard_normal(edges.shape[0])
            kur = oh.Kuramoto(ba.DIM, edges=edges, coupling=jv, stimulus=stim, omega=omega)
        y0 = kur.random_state(seed=1, batch=batch)
        t1 = ba.GAMMA * ba.STEPS
        return _solve_row(label, kur, (0.0, t1), y0, method="AKOrN", dt=ba.GAMMA, t_eval=[0.0, t1])

    return build


# --------------------------------------------------------------------------------------------
# case 5: bench_roofline.py (the timed callables are bench_roofline._rhs_single and
# _rhs_batch_threads, imported; the models are built as in bench_roofline.run, whose rng is
# replayed in order so that each row gets the suite's numbers whichever rows are selected)

def _roofline_sizes(quick):
    # bench_roofline.run and its call of dense_batch_rows
    return dict(dense=2000 if quick else 4000, dense_batch=1000 if quick else 2000, batches=(64, 256),
                sparse=20_000 if quick else 100_000, mean_field=100_000 if quick else 1_000_000,
                low_rank=(20_000, 200) if quick else (100_000, 1_000), sparse_batch=16)


def _roofline_draw(quick, want):
    """The draw ``want`` of bench_roofline.run's rng = default_rng(0), replaying the earlier ones."""
    s = _roofline_sizes(quick)
    rng = np.random.default_rng(0)
    steps = [
        ("dense_w", lambda: rng.standard_normal((s["dense"], s["dense"]))),
        ("dense_batch_w", lambda: rng.standard_normal((s["dense_batch"], s["dense_batch"]))),  # dense_batch_rows
        ("scramble", lambda: rng.permutation(s["sparse"])),
        ("mean_field_omega", lambda: rng.standard_normal(s["mean_field"])),
        ("low_rank_xi", lambda: rng.random((s["low_rank"][1], s["low_rank"][0]), dtype=np.float32)),
    ]
    for name, draw in steps:
        value = draw()
        if name == want:
            return value
        del value
    raise KeyError(want)


def _single_rhs(label, model):
    import bench_roofline as br

    fn = br._rhs_single(model)
    out = _closure_var(fn, "out")
    return fn, lambda _: _check_arrays(label, [out])


def _batch_threads_rhs(label, model, batch):
    import bench_roofline as br

    fn = br._rhs_batch_threads(model, batch)
    blocks = _closure_var(fn, "blocks")
    return fn, lambda _: _check_arrays(label, [blk[1] for blk in blocks])


def _roofline_dense_row(quick):
    def build(label):
        import oscihop as oh

        n = _roofline_sizes(quick)["dense"]
        w = _roofline_draw(quick, "dense_w") / np.sqrt(n)
        hop = oh.Hopfield(0.5 * (w + w.T), activation="tanh")
        return _single_rhs(label, hop)

    return build


def _roofline_dense_batch_row(batch, quick):
    def build(label):
        import oscihop as oh
        from oscihop.kernels import batched as BT

        # bench_roofline.dense_batch_rows (the oscihop side: BT.rhs_t; the numpy product is the peer)
        n = _roofline_sizes(quick)["dense_batch"]
        w = _roofline_draw(quick, "dense_batch_w") / np.sqrt(n)
        bias = np.random.default_rng(1).standard_normal(n)
        hop = oh.Hopfield(0.5 * (w + w.T), bias=bias, activation="tanh", beta=1.5)
        p = hop.params(np.float64)
        yt = np.ascontiguousarray(hop.random_state(seed=0, batch=batch).T)
        out, work = np.empty_like(yt), np.empty(BT.work_t_size(p, batch))
        return (lambda: BT.rhs_t(p, yt, out, work)), (lambda _: _check_arrays(label, [out]))

    return build


def _roofline_sparse_row(variant, quick):
    def build(label):
        import oscihop as oh

        s = _roofline_sizes(quick)
        n = s["sparse"]
        edges = oh.watts_strogatz_edges(n, 10, 0.1, seed=0)
        if variant == "single":
            return _single_rhs(label, oh.Kuramoto(2, edges=edges, coupling=1.0))
        if variant == "batch":
            return _batch_threads_rhs(label, oh.Kuramoto(2, edges=edges, coupling=1.0), s["sparse_batch"])
        if variant == "relu5":
            kur5 = oh.Kuramoto(5, edges=edges, coupling=1.0, interaction="relu", interaction_weights=0.5)
            return _batch_threads_rhs(label, kur5, s["sparse_batch"])
        scrambled = _roofline_draw(quick, "scramble")[edges]
        if variant == "scrambled":
            return _single_rhs(label, oh.Kuramoto(2, edges=scrambled, coupling=1.0))
        perm = oh.graph.rcm_permutation(n, scrambled)  # variant == "rcm"
        return _single_rhs(label, oh.Kuramoto(2, edges=oh.graph.relabel_edges(scrambled, perm), coupling=1.0))

    return build


def _roofline_mean_field_row(quick):
    def build(label):
        import oscihop as oh

        n = _roofline_sizes(quick)["mean_field"]
        kur = oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=n, omega=_roofline_draw(quick, "mean_field_omega"))
        return _single_rhs(label, kur)

    return build


def _roofline_low_rank_row(quick):
    def build(label):
        import oscihop as oh

        xi = np.where(_roofline_draw(quick, "low_rank_xi") < 0.5, -1.0, 1.0)
        hop = oh.Hopfield.from_patterns(xi, activation="tanh")
        del xi
        return _single_rhs(label, hop)

    return build


# --------------------------------------------------------------------------------------------
# the rows

def _sci(x):
    return f"{x:.0e}".replace("e-0", "e-")


def rows_spec(quick):
    """``[(label, members or None, build)]`` in the suite's order; ``build(label)`` returns
    ``(fn, check)``: the timed call and a check of its result."""
    import bench_paper as bp
    import numba

    threads = numba.get_num_threads()
    rows = []
    # case 1: bench_paper.run: batches 16 and 100 (the suite's --quick: 16 and 20)
    for batch in ((20, 16) if quick else (100, 16)):
        rows.append((f"case 1: paper HK N={bp.N_UNITS} WS k={bp.K_WS} p={bp.P_WS} D={bp.DIM} relu/relu, Tsit5 "
                     f"rtol {_sci(bp.RTOL)} atol {_sci(bp.ATOL)}, batch {batch}", batch, _paper_row(batch)))
    # case 2: bench_core.run
    s = _core_sizes(quick)
    for n in s["hopfield"]:
        rows.append((f"case 2: Hopfield tanh dense N={n}, RK45 rtol 1e-6, 21 outputs", None,
                     _core_hopfield_row(n, quick)))
    for n in s["kuramoto"]:
        rows.append((f"case 2: Kuramoto D=2 mean-field N={n}, omega, RK45 rtol 1e-6", None,
                     _core_kuramoto_row(n, quick)))
    rows.append((f"case 2: HK batch {s['batch']}, N={s['batch_n']}, D=3, RK45 rtol 1e-3", s["batch"],
                 _core_batch_row(s["batch_n"], s["batch"], quick)))
    # case 3: bench_kuramoto.run
    rows.append((f"case 3: classic Kuramoto N=1,000, {int(2.0 / 0.01)} outputs, DOP853 rtol=atol=1.5e-8", None,
                 _kuramoto_package_row(1000, 2.0, 0.01)))  # bench_kuramoto.package_case(1000): t1=2.0, dt=0.01
    for n in ((1000, 10_000) if quick else (1000, 10_000, 100_000)):
        rows.append((f"case 3: classic Kuramoto N={n:,}, RK4 dt=0.01, t in [0, 1]", None, _kuramoto_rk4_row(n)))
    # case 4: bench_akorn.run
    b = 8 if quick else 32
    rows.append((f"case 4: AKOrN D=4, dense J N=256, batch {b}, 100 updates", b, _akorn_row("dense", 256, b)))
    n, b = (1024, 8) if quick else (4096, 16)
    side = int(round(np.sqrt(n)))
    rows.append((f"case 4: AKOrN D=4, 8-neighbour grid {side}x{side}, batch {b}, 100 updates", b,
                 _akorn_row("grid", n, b)))
    # case 5: bench_roofline.run, without the machine-peak and compile rows
    r = _roofline_sizes(quick)
    rows.append((f"case 5: dense Hopfield rhs N={r['dense']}, one state", None, _roofline_dense_row(quick)))
    for batch in r["batches"]:
        rows.append((f"case 5: dense Hopfield rhs N={r['dense_batch']}, batch {batch} (rhs_t, GEMM path)", batch,
                     _roofline_dense_batch_row(batch, quick)))
    n, sb = r["sparse"], r["sparse_batch"]
    rows.append((f"case 5: sparse Kuramoto rhs N={n:,} WS k=10 D=2, one state, 1 thread", None,
                 _roofline_sparse_row("single", quick)))
    rows.append((f"case 5: sparse Kuramoto rhs N={n:,} D=2, batch {sb}, {threads} threads", sb,
                 _roofline_sparse_row("batch", quick)))
    rows.append((f"case 5: sparse Kuramoto rhs N={n:,} D=2, random labels, one state", None,
                 _roofline_sparse_row("scrambled", quick)))
    rows.append((f"case 5: sparse Kuramoto rhs N={n:,} D=2, RCM-reordered, one state", None,
                 _roofline_sparse_row("rcm", quick)))
    rows.append((f"case 5: sparse Kuramoto rhs N={n:,} D=5 relu, batch {sb}, {threads} threads", sb,
                 _roofline_sparse_row("relu5", quick)))
    rows.append((f"case 5: mean-field Kuramoto rhs N={r['mean_field']:,} D=2, omega, one state", None,
                 _roofline_mean_field_row(quick)))
    nl, pl = r["low_rank"]
    rows.append((f"case 5: low-rank Hopfield rhs N={nl:,}, P={pl:,} Hebbian, one state", None,
                 _roofline_low_rank_row(quick)))
    return rows


def select(rows, patterns):
    if not patterns:
        return rows
    pats = [p.strip().lower() for p in patterns.split(",") if p.strip()]
    return [r for r in rows if any(p in r[0].lower() for p in pats)]


def measure(repeats, quick, patterns, progress=False):
    """``{label: median seconds}`` of the selected rows, in order."""
    import oscihop

    tree = os.environ.get(_TREE_ENV)
    if tree:  # a child of --against: make sure oscihop came from the tree it stands for
        got = os.path.realpath(oscihop.__file__)
        if not got.startswith(os.path.realpath(tree) + os.sep):
            raise RuntimeError(f"oscihop was imported from {got}, not from {tree}")
    out = {}
    for label, _, build in select(rows_spec(quick), patterns):
        t0 = time.perf_counter()
        fn, check = build(label)
        out[label] = _time_row(label, fn, check, repeats)
        del fn, check
        gc.collect()
        if progress:
            print(f"  {label}: {out[label] * 1e3:.3f} ms ({time.perf_counter() - t0:.0f} s)", file=sys.stderr,
                  flush=True)
    return out


# --------------------------------------------------------------------------------------------
# the parent

def _describe(tree):
    """``path (commit[, uncommitted changes])`` of a checkout; read-only git calls."""
    try:
        head = subprocess.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "--no-optional-locks", "-C", tree, "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True, check=True).stdout.strip()
        return f"{tree} ({head}{', uncommitted changes' if dirty else ''})"
    except (OSError, subprocess.CalledProcessError):
        return tree


def _run_tree(tree, args, cwd):
    tree = os.path.abspath(tree)
    env = dict(os.environ, PYTHONPATH=tree)
    env[_TREE_ENV] = tree
    cmd = [sys.executable, os.path.abspath(__file__), "--json", "--repeats", str(args.repeats)]
    if args.quick:
        cmd.append("--quick")
    if args.rows:
        cmd += ["--rows", args.rows]
    t = time.perf_counter()
    res = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stderr[-4000:])
        raise RuntimeError(f"the run on {tree} failed (exit code {res.returncode})")
    print(f"  {tree}: {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _fmt(t):
    from bench_common import fmt_time

    return fmt_time(t)


def _per_member(t, members):
    return "-" if (t is None or not members) else f"{t / members * 1e3:.3g} ms"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="timed warm calls per row (median reported)")
    ap.add_argument("--against", default=None, help="another oscihop checkout to time alternately with this one")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds with --against")
    ap.add_argument("--rows", default=None, help="keep rows whose label contains one of these comma-separated "
                                                 "substrings (case-insensitive)")
    ap.add_argument("--quick", action="store_true", help="the sizes of bench_suite.py --quick, for a smoke test")
    ap.add_argument("--json", action="store_true", help="print one JSON line {label: seconds} (used by --against)")
    args = ap.parse_args(argv)

    if args.json:
        print(json.dumps(measure(args.repeats, args.quick, args.rows)))
        return 0

    specs = select(rows_spec(args.quick), args.rows)
    if not specs:
        ap.error(f"no row label contains any of {args.rows!r}")
    members = {label: m for label, m, _ in specs}
    from bench_common import machine_info

    command = shlex.join(getattr(sys, "orig_argv", [os.path.basename(sys.executable)] + sys.argv))
    print(f"command: {command}")
    info = machine_info()
    print(f"machine: {info['cpu']} ({info['cores']} cores, {info['memory_gib']} GiB), Numba {info['numba']} "
          f"with {info['numba_threads']} threads, NumPy {info['numpy']}, Python {info['python']}")
    print(f"medians of {args.repeats} warm calls after one compiling call" + (", --quick sizes" if args.quick else ""))

    if args.against is None:
        import oscihop

        print(f"oscihop: {os.path.dirname(os.path.dirname(os.path.realpath(oscihop.__file__)))}\n", flush=True)
        res = measure(args.repeats, args.quick, args.rows, progress=True)
        print("| row | time (median) | per member |")
        print("|---|---|---|")
        for label, t in res.items():
            print(f"| {label} | {_fmt(t)} | {_per_member(t, members[label])} |")
        return 0

    other = os.path.abspath(args.against)
    if not os.path.isdir(os.path.join(other, "oscihop")):
        ap.error(f"--against {args.against}: no oscihop package there")
    print(f"this checkout: {_describe(ROOT)}")
    print(f"other checkout: {_describe(other)}")
    print(f"{args.rounds} rounds, alternating; medians over the rounds; ratio = other / this "
          "(above 1: this checkout is faster)\n", flush=True)
    this_runs, other_runs = [], []
    with tempfile.TemporaryDirectory(prefix="bench_against_") as cwd:  # outside both trees
        for k in range(args.rounds):
            print(f"round {k + 1}/{args.rounds}", file=sys.stderr, flush=True)
            if k % 2 == 0:
                other_runs.append(_run_tree(other, args, cwd))
                this_runs.append(_run_tree(ROOT, args, cwd))
            else:
                this_runs.append(_run_tree(ROOT, args, cwd))
                other_runs.append(_run_tree(other, args, cwd))

    def med(runs, label):
        vals = [r[label] for r in runs if label in r]
        return float(np.median(vals)) if vals else None

    labels = list(this_runs[0]) + [lab for lab in other_runs[0] if lab not in this_runs[0]]
    print("| row | this checkout (median) | other checkout (median) | ratio other/this | per member this / other |")
    print("|---|---|---|---|---|")
    for label in labels:
        tn, to = med(this_runs, label), med(other_runs, label)
        ratio = f"{to / tn:.2f}" if (tn and to) else "-"
        m = members.get(label)
        pm = f"{_per_member(tn, m)} / {_per_member(to, m)}" if m else "-"
        print(f"| {label} | {_fmt(tn)} | {_fmt(to)} | {ratio} | {pm} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
