"""Build functions for tests/test_sweep.py.

Sweep workers run in other processes, so build functions must be importable by name: they
live here, not in the test module.  ``marked_build`` records every call in a marker file per
point (directory from ``OSCIHOP_SWEEP_MARKERS``) and sleeps ``OSCIHOP_SWEEP_SLEEP`` seconds,
which lets the kill-and-resume test count how often each point was built.
"""
import os
import sys
import time

import numpy as np

import oscihop as oh

#: The grid of the kill-and-resume test: 10 x 20 = 200 points.
KILL_GRID = {"coupling": [0.25 * (i + 1) for i in range(10)], "seed": list(range(20))}
KILL_OPTIONS = dict(t_span=(0.0, 1.0), t_eval=[0.0, 0.5, 1.0], reduce=["final", "energy"], points_per_task=4,
                    progress=False)


def kuramoto_build(coupling, seed, n=4):
    """Kuramoto phase oscillators (D = 2) on a ring of ``n``, random start from ``seed``."""
    model = oh.Kuramoto(2, edges=oh.ring_edges(int(n)), coupling=float(coupling))
    return model, model.random_state(seed=int(seed))


def hk_build(alpha, seed, mode="additive"):
    """A Hopfield-Kuramoto model with 6 units, 2 stored patterns and D = 3 oscillators."""
    rng = np.random.default_rng(100)
    patterns = np.where(rng.random((2, 6)) < 0.5, -1.0, 1.0)
    hop = oh.Hopfield.from_patterns(patterns, activation="tanh", beta=2.0)
    kur = oh.Kuramoto(3, edges=oh.ring_edges(6), coupling=0.5)
    hk = oh.HopfieldKuramoto(hop, kur, "all", alpha=float(alpha), mode=mode)
    return hk, hk.random_state(seed=int(seed), h_scale=0.3)


def hopfield_build(beta, seed):
    """A continuous Hopfield network (no oscillators) with 5 units."""
    rng = np.random.default_rng(7)
    patterns = np.where(rng.random((2, 5)) < 0.5, -1.0, 1.0)
    hop = oh.Hopfield.from_patterns(patterns, activation="tanh", beta=float(beta))
    return hop, hop.random_state(seed=int(seed))


def binary_build(flip, seed):
    """A binary Hopfield network (8 units, 2 patterns), cued with a fraction ``flip`` of pattern 0 flipped."""
    rng = np.random.default_rng(11)
    patterns = np.where(rng.random((2, 8)) < 0.5, -1.0, 1.0)
    hop = oh.Hopfield.from_patterns(patterns, activation="sign")
    cue = patterns[0] * np.where(np.random.default_rng(int(seed)).random(8) < float(flip), -1.0, 1.0)
    return hop, cue


def size_build(n, seed):
    """Kuramoto ring whose size depends on the parameter ``n`` (for the size-mismatch error)."""
    return kuramoto_build(1.0, seed, n=n)


def failing_build(coupling, seed):
    """Raises at coupling 2.0."""
    if coupling == 2.0:
        raise RuntimeError("no model for coupling 2")
    return kuramoto_build(coupling, seed)


def bad_build(coupling):
    """Wrong return values: a bare model (coupling 1) or a batch of initial states (coupling 2)."""
    model, _ = kuramoto_build(coupling, 0)
    if coupling == 1.0:
        return model
    return model, model.random_state(seed=0, batch=2)


def marked_build(coupling, seed):
    """``kuramoto_build``, recording the call (pid) in a marker file and sleeping first."""
    markers = os.environ.get("OSCIHOP_SWEEP_MARKERS")
    if markers:
        with open(os.path.join(markers, f"{coupling!r}_{seed!r}"), "a") as fh:
            fh.write(f"{os.getpid()}\n")
    time.sleep(float(os.environ.get("OSCIHOP_SWEEP_SLEEP", "0")))
    return kuramoto_build(coupling, seed)


def run_kill_sweep(store):
    """The command of the kill-and-resume test (run as a subprocess), on 2 cores at most.

    Two workers keep the number of points finished between the kill and the workers' exit
    small on machines with many cores.
    """
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
    oh.sweep(marked_build, grid=KILL_GRID, store=store, **KILL_OPTIONS)


if __name__ == "__main__":
    run_kill_sweep(sys.argv[1])
