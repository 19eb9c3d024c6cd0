"""Shared helpers of the benchmark suite (``scripts/bench_suite.py``).

Every case times oscihop and its peer *in the same process, interleaved* (one oscihop
run, one peer run, repeated), and reports the median of each and their ratio, so noise
from other work on the machine hits both sides alike.  Each case also checks that the two
answers agree and records how far apart they are.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class Row:
    """One line of the results table.

    ``ratio`` is peer time / oscihop time (> 1: oscihop is faster).  ``metric`` holds a
    throughput or roofline figure, ``target`` the issue's goal for this line and ``met``
    whether it was reached (None: no target on this line).
    """

    case: str
    name: str
    oscihop_s: float | None = None
    peer: str = ""
    peer_s: float | None = None
    diff: float | None = None
    tol: float | None = None
    metric: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self):
        if self.oscihop_s and self.peer_s:
            return self.peer_s / self.oscihop_s
        return None

    @property
    def agrees(self):
        if self.diff is None or self.tol is None:
            return None
        return bool(np.isfinite(self.diff) and self.diff <= self.tol)

    def as_dict(self):
        d = asdict(self)
        d["ratio"] = self.ratio
        d["agrees"] = self.agrees
        return d


def interleaved(fn_a, fn_b, repeats, warmup=True):
    """Median wall times of ``fn_a`` and ``fn_b`` run alternately ``repeats`` times.

    Returns ``(t_a, t_b, out_a, out_b)`` with the outputs of the last runs.  With
    ``warmup`` each function runs once untimed first (JIT compilation, caches).
    """
    out_a = out_b = None
    if warmup:
        out_a = fn_a()
        if fn_b is not None:
            out_b = fn_b()
    ta, tb = [], []
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        out_a = fn_a()
        ta.append(time.perf_counter() - t)
        if fn_b is not None:
            t = time.perf_counter()
            out_b = fn_b()
            tb.append(time.perf_counter() - t)
    return float(np.median(ta)), (float(np.median(tb)) if tb else None), out_a, out_b


def median_time(fn, repeats, warmup=True):
    """Median wall time of ``fn`` over ``repeats`` runs, and its last output."""
    t, _, out, _ = interleaved(fn, None, repeats, warmup)
    return t, out


def max_abs_diff(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"outputs to compare must have the same shape; got {a.shape} and {b.shape}.")
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def machine_info():
    """A short description of the machine and thread settings (no host names or paths)."""
    import numba

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": None if mem is None else round(mem, 1),
        "numba_threads": numba.get_num_threads(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
    }


def fmt_time(t):
    if t is None:
        return "-"
    if t >= 1:
        return f"{t:.3g} s"
    if t >= 1e-3:
        return f"{t * 1e3:.3g} ms"
    return f"{t * 1e6:.3g} us"


def fmt_ratio(r):
    return "-" if r is None else (f"{r:.1f}x" if r >= 1 else f"{r:.2f}x")


def markdown_table(rows):
    """The results table in markdown."""
    lines = [
        "| case | configuration | oscihop | peer | peer time | ratio (peer / oscihop) | max abs diff (tol) | metric | target | met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        diff = "-" if r.diff is None else f"{r.diff:.1e}" + ("" if r.tol is None else f" ({r.tol:.0e})")
        if r.agrees is False:
            diff += " DISAGREE"
        met = "-" if r.met is None else ("yes" if r.met else "no")
        name = r.name + (f" ({r.note})" if r.note else "")
        lines.append(
            f"| {r.case} | {name} | {fmt_time(r.oscihop_s)} | {r.peer or '-'} | {fmt_time(r.peer_s)} | "
            f"{fmt_ratio(r.ratio)} | {diff} | {r.metric or '-'} | {r.target or '-'} | {met} |"
        )
    return "\n".join(lines)


def print_rows(rows):
    print(markdown_table(rows), flush=True)
