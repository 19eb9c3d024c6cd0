"""Case 5: roofline of the main kernels against this machine's measured peaks, and compile times.

Usage: python scripts/bench_roofline.py [--quick]

Peaks, measured here and now: the numpy GEMM rate (float64, BLAS with its default
threads) and a stream triad ``a = b + s c`` over arrays far larger than the caches, on
Numba's thread count.  Each kernel's achieved GFLOP/s or GB/s counts only the compulsory
flops / bytes of one right-hand side evaluation, so the fraction of peak is a lower bound
on how close the kernel is to the hardware limit.

Compile time: a fresh Python process with an empty Numba cache builds a small HK model
and times the first ``model.rhs`` and the first ``oh.solve``; a second process with the
cache now filled times the same calls (loading from disk).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

import oscihop as oh
from bench_common import Row, median_time, print_rows
from oscihop.kernels import batched as BT
from oscihop.kernels import params as P
from oscihop.kernels import system as S


@numba.njit(nogil=True, fastmath=True)
def _triad(a, b, c, s):
    for i in range(a.shape[0]):
        a[i] = b[i] + s * c[i]


def stream_gbs(n=40_000_000, repeats=5):
    """Triad bandwidth in GB/s (24 bytes per element) on Numba's thread count."""
    threads = numba.get_num_threads()
    a, b, c = np.empty(n), np.ones(n), np.ones(n)
    bounds = np.linspace(0, n, threads + 1).astype(int)

    def go():
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda k: _triad(a[bounds[k]:bounds[k + 1]], b[bounds[k]:bounds[k + 1]],
                                           c[bounds[k]:bounds[k + 1]], 3.0), range(threads)))

    t, _ = median_time(go, repeats)
    return 24.0 * n / t / 1e9


def gemm_gflops(n=2000, repeats=5):
    a, b = np.random.rand(n, n), np.random.rand(n, n)
    t, _ = median_time(lambda: a @ b, repeats)
    return 2.0 * n**3 / t / 1e9


def _rhs_single(model):
    p = model.params(np.float64)
    y = model.random_state(seed=0)
    out = np.empty_like(y)
    work = np.empty(p.ip[P.I_WORK_SIZE])
    return lambda: S.system_rhs(p, y, out, work)


def _rhs_batch_threads(model, batch):
    """rhs of a batch, batch innermost, columns split over Numba's thread count."""
    p = model.params(np.float64)
    threads = numba.get_num_threads()
    ys = model.random_state(seed=0, batch=batch)
    bounds = np.linspace(0, batch, threads + 1).astype(int)
    blocks = []
    for k in range(threads):
        yt = np.ascontiguousarray(ys[bounds[k]:bounds[k + 1]].T)
        blocks.append((yt, np.empty_like(yt), np.empty(BT.work_t_size(p, yt.shape[1]))))

    def go():
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda blk: BT.rhs_t(p, *blk), blocks))

    return go


def dense_batch_rows(rng, n, batches, gemm, repeats):
    """Dense Hopfield rhs of a batch (``batched.rhs_t``: BLAS ``W @ G`` plus activation and
    leak passes) against the square numpy GEMM peak ``gemm``, one row per batch size.

    The peer is numpy's own product at the same shape and layout
    (``np.dot(W, G, out=O)``, N x N times N x B, C order: BLAS alone, no activation), so each
    row also tells how far the skinny product itself is from the square-GEMM peak.  The
    flops counted are the product's ``2 N^2 B`` only.
    """
    w = rng.standard_normal((n, n)) / np.sqrt(n)
    bias = np.random.default_rng(1).standard_normal(n)  # own generator: later rows draw from rng as before
    hop = oh.Hopfield(0.5 * (w + w.T), bias=bias, activation="tanh", beta=1.5)
    p = hop.params(np.float64)
    off = int(p.ip[P.I_O_W_DENSE])
    wd = p.fp[off:off + n * n].reshape(n, n)  # the very matrix (and layout) rhs_t multiplies by
    rows = []
    for batch in batches:
        yt = np.ascontiguousarray(hop.random_state(seed=0, batch=batch).T)
        out, work = np.empty_like(yt), np.empty(BT.work_t_size(p, batch))
        gt = np.tanh(1.5 * yt)
        prod = np.empty_like(gt)
        # Not interleaved: numpy calls its own OpenBLAS, Numba's np.dot scipy's, and each
        # library's idle workers spin ~0.1 s after a call; alternating the two would make
        # each compete with the other's spinning threads.  Separate blocks, with pauses.
        time.sleep(0.25)
        t_np, _ = median_time(lambda: np.dot(wd, gt, out=prod), max(repeats, 7))
        time.sleep(0.25)
        t, _ = median_time(lambda: BT.rhs_t(p, yt, out, work), max(repeats, 7))
        twin = wd @ np.tanh(1.5 * yt) - yt + hop.bias[:, None]  # NumPy twin of the rhs
        flops = 2.0 * n * n * batch
        gf, gf_np = flops / t / 1e9, flops / t_np / 1e9
        rows.append(Row("5", f"dense Hopfield rhs, N={n}, batch {batch} (BLAS GEMM path)", t,
                        f"numpy W @ G alone, same shape ({n}x{n} @ {n}x{batch})", t_np,
                        diff=float(np.abs(out - twin).max()), tol=1e-9,
                        metric=f"{gf:.1f} GFLOP/s = {gf / gemm:.0%} of square GEMM; numpy's product at this "
                               f"shape {gf_np:.1f} GFLOP/s = {gf_np / gemm:.0%}; rhs/product {gf / gf_np:.0%}",
                        target=">= 70% of GEMM", met=gf / gemm >= 0.7))
    return rows


def rss_gib():
    """Resident memory of this process now, GiB."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run(repeats=5, quick=False):
    rows = []
    gemm = gemm_gflops(1500 if quick else 2000)
    stream = stream_gbs(10_000_000 if quick else 40_000_000)
    rows.append(Row("5", "machine peak: numpy GEMM float64 (2000^2)", metric=f"{gemm:.1f} GFLOP/s"))
    rows.append(Row("5", f"machine peak: stream triad, {numba.get_num_threads()} threads", metric=f"{stream:.1f} GB/s"))

    # dense Hopfield: one member (GEMV, bandwidth bound) and a batch (GEMM through BLAS)
    rng = np.random.default_rng(0)
    n = 2000 if quick else 4000  # 4000^2 doubles = 128 MB: out of cache
    w = rng.standard_normal((n, n)) / np.sqrt(n)
    hop = oh.Hopfield(0.5 * (w + w.T), activation="tanh")
    t, _ = median_time(_rhs_single(hop), repeats)
    gbs = 8.0 * n * n / t / 1e9
    rows.append(Row("5", f"dense Hopfield rhs, N={n}, one state (matrix-vector, {8 * n * n / 1e6:.0f} MB matrix)", t,
                    metric=f"{2 * n * n / t / 1e9:.1f} GFLOP/s, {gbs:.1f} GB/s = {gbs / stream:.0%} of stream",
                    target=">= 50% of stream", met=gbs / stream >= 0.5))
    rows.extend(dense_batch_rows(rng, 1000 if quick else 2000, (64, 256), gemm, repeats))

    # sparse Kuramoto: N = 100,000, small-world graph, D = 2
    n = 20_000 if quick else 100_000
    edges = oh.watts_strogatz_edges(n, 10, 0.1, seed=0)
    kur = oh.Kuramoto(2, edges=edges, coupling=1.0)
    entries = 2 * edges.shape[0]
    t, _ = median_time(_rhs_single(kur), repeats)
    rows.append(Row("5", f"sparse Kuramoto rhs, N={n:,}, WS k=10, D=2, one state, 1 thread", t,
                    metric=f"{entries / t / 1e6:.0f} M edge-updates/s"))
    batch = 16
    t, _ = median_time(_rhs_batch_threads(kur, batch), repeats)
    eu = entries * batch / t / 1e6
    rows.append(Row("5", f"sparse Kuramoto rhs, N={n:,}, D=2, batch {batch} batch-innermost, "
                         f"{numba.get_num_threads()} threads", t,
                    metric=f"{eu:.0f} M edge-updates/s", target=">= 200 M/s", met=eu >= 200))
    # locality: the same graph with scrambled labels, then relabelled by reverse Cuthill-McKee
    scrambled = rng.permutation(n)[edges]
    t_s, _ = median_time(_rhs_single(oh.Kuramoto(2, edges=scrambled, coupling=1.0)), repeats)
    perm = oh.graph.rcm_permutation(n, scrambled)
    t_r, _ = median_time(_rhs_single(oh.Kuramoto(2, edges=oh.graph.relabel_edges(scrambled, perm), coupling=1.0)),
                         repeats)
    rows.append(Row("5", f"sparse Kuramoto rhs, N={n:,}, D=2, randomly labelled graph vs RCM-reordered", t_r,
                    "same graph, random labels", t_s,
                    metric=f"{entries / t_r / 1e6:.0f} vs {entries / t_s / 1e6:.0f} M edge-updates/s"))
    kur5 = oh.Kuramoto(5, edges=edges, coupling=1.0, interaction="relu", interaction_weights=0.5)
    t, _ = median_time(_rhs_batch_threads(kur5, batch), repeats)
    rows.append(Row("5", f"sparse Kuramoto rhs, N={n:,}, D=5 relu interaction, batch {batch}", t,
                    metric=f"{entries * batch / t / 1e6:.0f} M edge-updates/s"))

    # mean field: N = 1,000,000 oscillators, D = 2, natural frequencies
    n = 100_000 if quick else 1_000_000
    before = rss_gib()
    kur = oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=n, omega=rng.standard_normal(n))
    t, _ = median_time(_rhs_single(kur), repeats)
    # compulsory bytes: read x twice (sum, then per node), omega (4 per unit as stored), write out
    nbytes = 8.0 * n * (2 + 2 + 4 + 2)
    gbs = nbytes / t / 1e9
    rows.append(Row("5", f"mean-field Kuramoto rhs, N={n:,}, D=2, natural frequencies", t,
                    metric=f"{gbs:.1f} GB/s = {gbs / stream:.0%} of stream; memory held +{rss_gib() - before:.2f} GiB",
                    target=">= 50% of stream", met=gbs / stream >= 0.5))

    # low-rank Hopfield: N = 100,000 units, P = 1,000 Hebbian patterns (never N x N)
    n, npat = (20_000, 200) if quick else (100_000, 1_000)
    before = rss_gib()
    xi = np.where(rng.random((npat, n), dtype=np.float32) < 0.5, -1.0, 1.0)
    hop = oh.Hopfield.from_patterns(xi, activation="tanh")
    del xi
    t, _ = median_time(_rhs_single(hop), max(3, repeats // 2))
    gbs = 2 * 8.0 * n * npat / t / 1e9
    rows.append(Row("5", f"low-rank Hopfield rhs, N={n:,}, P={npat:,} Hebbian", t,
                    metric=f"{4 * n * npat / t / 1e9:.1f} GFLOP/s, {gbs:.1f} GB/s = {gbs / stream:.0%} of stream; "
                           f"memory held +{rss_gib() - before:.2f} GiB",
                    target=">= 50% of stream", met=gbs / stream >= 0.5))
    del hop
    rows.extend(compile_rows())
    return rows


_COMPILE_SCRIPT = textwrap.dedent("""
    import time, json
    t0 = time.perf_counter()
    import numpy as np, oscihop as oh
    t_import = time.perf_counter() - t0
    hop = oh.Hopfield.from_patterns(np.where(np.arange(40).reshape(2, 20) % 3 == 0, 1.0, -1.0))
    kur = oh.Kuramoto(3, edges=oh.ring_edges(20), coupling=1.0)
    hk = oh.HopfieldKuramoto(hop, kur, "all", alpha=0.1, mode="additive")
    y0 = hk.random_state(seed=0)
    t = time.perf_counter(); hk.rhs(0.0, y0); t_rhs = time.perf_counter() - t
    t = time.perf_counter(); oh.solve(hk, (0, 1), y0, t_eval=[0, 1]); t_solve = time.perf_counter() - t
    t = time.perf_counter(); oh.solve(hk, (0, 1), hk.random_state(seed=0, batch=4), t_eval=[0, 1])
    t_batch = time.perf_counter() - t
    print(json.dumps(dict(import_s=t_import, rhs_s=t_rhs, solve_s=t_solve, batch_s=t_batch)))
""")


def compile_rows():
    """Cold and warm first calls with kind-specialised kernels (the default), and cold with
    the run-time-dispatched kernels (``OSCIHOP_SPECIALIZE=0``) for comparison."""
    import json

    rows = []
    with tempfile.TemporaryDirectory() as shared, tempfile.TemporaryDirectory() as other:
        runs = [("cold (empty cache)", "1", shared), ("warm (disk cache)", "1", shared),
                ("cold, run-time dispatch (OSCIHOP_SPECIALIZE=0)", "0", other)]
        for label, flag, cache in runs:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache, OSCIHOP_SPECIALIZE=flag)
            res = subprocess.run([sys.executable, "-c", _COMPILE_SCRIPT], env=env, capture_output=True, text=True,
                                 timeout=900)
            if res.returncode != 0:
                rows.append(Row("5", f"compile {label}", note=res.stderr.strip().splitlines()[-1][:200]))
                continue
            d = json.loads(res.stdout.strip().splitlines()[-1])
            total = d["rhs_s"] + d["solve_s"] + d["batch_s"]
            headline = label == "cold (empty cache)"
            rows.append(Row("5", f"compile {label}: first rhs + first RK45 solve + first batch solve, HK model",
                            total,
                            metric=f"rhs {d['rhs_s']:.1f} s, solve {d['solve_s']:.1f} s, batch {d['batch_s']:.1f} s, "
                                   f"import {d['import_s']:.1f} s",
                            target="< 10 s" if headline else "", met=(total < 10) if headline else None))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print_rows(run(args.repeats, args.quick))


if __name__ == "__main__":
    main()
