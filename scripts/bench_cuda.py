"""GPU benchmarks of the CUDA backend (``backend="cuda"``).

1. Trajectories per second for a batch of 10,000 small Hopfield-Kuramoto networks
   (thread layout: one thread per trajectory), RK45 and RK4.
2. Right-hand-side evaluations per second for N = 1,000,000 Kuramoto oscillators with a
   sparse ring coupling (k nearest neighbours) and with mean-field coupling (block layout:
   one block per trajectory), from fixed-step Euler solves, with the achieved memory
   bandwidth (bytes a right-hand side must move / time per evaluation) against the device
   peak (memory clock and bus width, read with nvidia-smi and the CUDA driver).

Every solve is run once to compile (and warm the caches), then timed.

    python scripts/bench_cuda.py            # needs a GPU: NUMBA_ENABLE_CUDASIM unset or 0
    python scripts/bench_cuda.py --tiny     # tiny sizes; runs under the simulator (tests)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

import numpy as np

import oscihop as oh
from oscihop.cuda.backend import device_status


def device_peak_bandwidth():
    """(name, GB/s) of GPU 0: 2 x memory clock x bus width / 8, or (description, None) when unknown."""
    from numba import cuda

    if device_status()[0] == "simulator":
        return "CUDA simulator", None
    name, clock_mhz = None, None
    exe = shutil.which("nvidia-smi")
    if exe is not None:
        try:
            out = subprocess.run([exe, "--query-gpu=name,clocks.max.memory", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
            name, clock = (v.strip() for v in out.rsplit(",", 1))
            clock_mhz = float(clock)
        except Exception:  # noqa: BLE001 - older driver or field not supported
            pass
    dev = cuda.get_current_device()
    if name is None:
        name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
    if clock_mhz is None:
        clock_mhz = dev.MEMORY_CLOCK_RATE / 1e3  # kHz -> MHz
    bus_bits = dev.GLOBAL_MEMORY_BUS_WIDTH
    return name, 2.0 * clock_mhz * 1e6 * bus_bits / 8 / 1e9


def _time(fn, repeats):
    fn()  # compile, allocate, warm up
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench_batch(batch, n, t1, repeats):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(n, n)) / np.sqrt(n)
    w = (w + w.T) / 2
    np.fill_diagonal(w, 0.0)
    ring = np.array([[i, (i + 1) % n] for i in range(n)])
    hk = oh.HopfieldKuramoto(oh.Hopfield(w, activation="tanh"), oh.Kuramoto(3, edges=ring, coupling=1.0), ring,
                             alpha=0.5, mode="additive")
    y0 = hk.random_state(seed=1, batch=batch)
    rows = []
    for method, kw in (("RK45", {}), ("RK4", {"dt": t1 / 20})):
        secs, sol = _time(lambda: oh.solve(hk, (0.0, t1), y0, method=method, t_eval=[0.0, t1], backend="cuda",
                                           layout="thread", **kw), repeats)
        rows.append((f"HK batch B={batch} N={n} D=3 {method}", batch / secs, f"{batch / secs:,.0f} trajectories/s",
                     f"(success {bool(sol.success)}, {np.mean(sol.nfev):.0f} RHS/trajectory)"))
    return rows


def bench_large(n, k, steps, repeats, peak):
    rng = np.random.default_rng(0)
    dim = 2
    rows = []
    offsets = np.arange(1, k // 2 + 1)
    edges = np.stack([np.repeat(np.arange(n), offsets.size), (np.arange(n)[:, None] + offsets).ravel() % n], axis=1)
    models = {
        f"sparse ring k={k}": (oh.Kuramoto(dim, edges=edges, coupling=1.0), k),
        "mean field": (oh.Kuramoto(dim, coupling="mean-field", strength=2.0, n=n), 0),
    }
    for label, (kur, degree) in models.items():
        y0 = kur.random_state(seed=2).astype(np.float32)
        dt = 1e-3
        secs, sol = _time(lambda: oh.solve(kur, (0.0, steps * dt), y0, method="Euler", dt=dt, t_eval=[0.0, steps * dt],
                                           backend="cuda", layout="block"), repeats)
        evals = int(sol.nfev)
        per_eval = secs / max(evals, 1)
        # bytes one RHS must move (float32): read x (N D), write dx/dt (N D), Euler update (2 N D),
        # plus per edge: neighbour index (8 B) and coupling (4 B) and the neighbour's D floats
        bytes_eval = 4 * 4 * n * dim + degree * n * (8 + 4 + 4 * dim)
        bw = bytes_eval / per_eval / 1e9
        frac = f", {100 * bw / peak:.0f}% of the {peak:.0f} GB/s peak" if peak else ""
        rows.append((f"Kuramoto N={n:,} D={dim} {label}", evals / secs, f"{evals / secs:,.0f} RHS evaluations/s",
                     f"({bw:.1f} GB/s achieved{frac})"))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (runs under NUMBA_ENABLE_CUDASIM=1)")
    args = parser.parse_args(argv)
    kind = device_status()[0]
    if kind == "none":
        print("No CUDA device (and the simulator is off): nothing to benchmark. Run on a GPU machine, or with "
              "--tiny and NUMBA_ENABLE_CUDASIM=1.", file=sys.stderr)
        return 1
    if args.tiny:
        batch, n_small, t1, n_large, k, steps, repeats = 2, 3, 0.1, 4, 2, 2, 1
    else:
        batch, n_small, t1, n_large, k, steps, repeats = 10_000, 8, 2.0, 1_000_000, 8, 200, 3
    name, peak = device_peak_bandwidth()
    print(f"device: {name} ({kind}); peak memory bandwidth: {'unknown' if peak is None else f'{peak:.0f} GB/s'}")
    for label, _, rate, note in bench_batch(batch, n_small, t1, repeats) + bench_large(n_large, k, steps, repeats, peak):
        print(f"{label:45s} {rate:>32s} {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
