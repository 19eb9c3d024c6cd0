"""Build functions for tests/test_sweep*.py.

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


def assert_same_energy(actual, desired):
    """Energies a sweep worker computed equal a direct solve's in this process, to rounding.

    The trajectories are the same bits (asserted apart).  An energy is evaluated by a kernel
    compiled with fast-math reassociation, and a process that compiles it fresh (its callees
    inlined from IR) and a worker that compiled it around callees loaded from the disk cache
    (linked as object code) may sum in a different order: with a cold cache the two differ in the
    last bits (docs/theory.md §9).  64 ulp of the largest energy bounds that; a wrong energy is
    off by far more.
    """
    actual, desired = np.asarray(actual), np.asarray(desired)
    scale = max(1.0, float(np.nanmax(np.abs(desired)))) if desired.size else 1.0
    np.testing.assert_allclose(actual, desired, rtol=0, atol=64 * np.finfo(desired.dtype).eps * scale)

#: The grid of the kill-and-resume test: 10 x 20 = 200 points.
KILL_GRID = {"coupling": [0.25 * (i + 1) for i in range(10)], "seed": list(range(20))}
KILL_OPTIONS = dict(t_span=(0.0, 1.0), t_eval=[0.0, 0.5, 1.0], reduce=["final", "energy"], points_per_task=4,
                    progress=False)


def kuramoto_build(coupling, seed, n=4):
    """Kuramoto phase oscillators (D = 2) on a ring of ``n``, random start from ``seed``."""
    model = oh.Kuramoto(2, edges=oh.ring_edges(int(n)), coupling=float(coupling))
    return model, model.random_state(seed=int(seed))


def mixed_build(graph, coupling, seed):
    """Kuramoto oscillators (D = 3, N = 5) of two structures: a ring or a complete graph, with a
    tanh interaction on the complete one; the same kind and sizes, so one sweep holds both."""
    if graph == "ring":
        model = oh.Kuramoto(3, edges=oh.ring_edges(5), coupling=float(coupling))
    else:
        model = oh.Kuramoto(3, edges=oh.complete_edges(5), coupling=float(coupling), interaction="tanh")
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


def bad_build(coupling):
    """Wrong return values: a bare model (coupling 1) or a batch of initial states (coupling 2)."""
    model, _ = kuramoto_build(coupling, 0)
    if coupling == 1.0:
        return model
    return model, model.random_state(seed=0, batch=2)


def _mark(name):
    markers = os.environ.get("OSCIHOP_SWEEP_MARKERS")
    if markers:
        with open(os.path.join(markers, name), "a") as fh:
            fh.write(f"{os.getpid()}\n")


def marked_build(coupling, seed):
    """``kuramoto_build``, recording the call (pid) in a marker file and sleeping first."""
    _mark(f"{coupling!r}_{seed!r}")
    time.sleep(float(os.environ.get("OSCIHOP_SWEEP_SLEEP", "0")))
    return kuramoto_build(coupling, seed)


def kill_fails(coupling, seed):
    """The points where ``marked_failing_build`` fails (20 of the kill grid's 200)."""
    return seed % 10 == 3


def marked_failing_build(coupling, seed):
    """``marked_build`` that raises at the points where :func:`kill_fails` is true."""
    out = marked_build(coupling, seed)
    if kill_fails(coupling, seed):
        raise RuntimeError(f"no model at seed {seed}")
    return out


def run_kill_sweep(store, failing=False):
    """The command of the kill-and-resume test (run as a subprocess), on 2 cores at most.

    Two workers keep the number of points finished between the kill and the workers' exit
    small on machines with many cores.  ``failing``: some points fail (``marked_failing_build``).
    """
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the failure summary of the failing sweep
        oh.sweep(marked_failing_build if failing else marked_build, grid=KILL_GRID, store=store, **KILL_OPTIONS)


def kill_command(store, markers, failing=False):
    """(command, environment) of the kill-and-resume tests: :func:`run_kill_sweep` in a subprocess,
    recording builds in the directory ``markers``."""
    tests = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, OSCIHOP_SWEEP_MARKERS=str(markers), OSCIHOP_SWEEP_SLEEP="0.02",
               PYTHONPATH=os.pathsep.join([tests, os.path.dirname(tests), os.environ.get("PYTHONPATH", "")]))
    env.pop("OSCIHOP_SWEEP_FIXED", None)
    cmd = [sys.executable, "-c", f"import sweep_models; sweep_models.run_kill_sweep({str(store)!r}, {failing!r})"]
    return cmd, env


def read_outcome(store):
    """The ``outcome`` record of a sweep store read straight from zarr (None before it exists)."""
    import zarr

    try:
        return np.asarray(zarr.open_array(os.path.join(store, "outcome"), mode="r")[...])
    except Exception:  # noqa: BLE001 - not created yet
        return None


def assert_same_as_reference(ds, ref):
    """A resumed kill-test store equals an uninterrupted run.

    Everything is compared bit for bit but ``energy``, which gets a few ulp: it is computed by
    a separate compiled kernel, and a kernel compiled in one process and loaded from Numba's disk
    cache in another has been seen to round a sum differently (the states agree exactly).
    """
    for name in ("y_final", "status", "nfev", "nsteps", "outcome", "done"):
        np.testing.assert_array_equal(ds[name].values, ref[name].values, err_msg=name)
    np.testing.assert_array_equal(ds["message"].values, ref["message"].values)
    np.testing.assert_allclose(ds["energy"].values, ref["energy"].values, rtol=1e-12, atol=1e-14)


#: every kind of point failure ``case_build`` makes, with a fragment of its recorded message
FAILURE_CASES = {
    "raise": r"`build` raised RuntimeError: no model for case 'raise'",
    "none": r"`build` must return \(model, y0\); it returned NoneType",
    "not_a_model": r"`build` must return \(model, y0\) with an oscihop model; the model is str",
    "size": r"same kind of model as its first point \{case='ok', seed=0\} \(Kuramoto with n=4, D=2, state size "
            r"8\); this point built Kuramoto with n=5, D=2, state size 10",
    "kind": r"same kind of model .*this point built Hopfield with n=8, D=0, state size 8",
    "nan_y0": r"`y0` must be finite",
    "norm_y0": r"`y0` must hold unit oscillators",
    "complex_y0": r"`y0` must be real; got complex values",
    "batch_y0": r"one initial state y0 of shape \(8,\); y0 has shape \(2, 8\)",
    "short_y0": r"`y0` must have shape \(8,\); got \(7,\)",
}


def case_build(case, seed):
    """A Kuramoto ring (n = 4, D = 2, size 8) for ``case='ok'``; every other case fails in its own way.

    With ``OSCIHOP_SWEEP_FIXED`` set every case builds like "ok" (the build is "fixed"). Calls
    are recorded in marker files ``<case>_<seed>`` (see :func:`marked_build`).
    """
    _mark(f"{case}_{seed}")
    model, y0 = kuramoto_build(1.0, seed)
    if case == "ok" or os.environ.get("OSCIHOP_SWEEP_FIXED"):
        return model, y0
    if case == "float32":
        return model, y0.astype(np.float32)
    if case == "raise":
        raise RuntimeError(f"no model for case {case!r}")
    if case == "none":
        return None
    if case == "not_a_model":
        return "model", y0
    if case == "size":
        return kuramoto_build(1.0, seed, n=5)
    if case == "kind":  # the same state size 8, another model
        hop = oh.Hopfield.from_patterns(np.where(np.random.default_rng(seed).random((2, 8)) < 0.5, -1.0, 1.0))
        return hop, hop.random_state(seed=seed)
    if case == "nan_y0":
        y0 = y0.copy()
        y0[3] = np.nan
        return model, y0
    if case == "norm_y0":
        return model, 2 * y0
    if case == "complex_y0":
        return model, y0 + 1j
    if case == "batch_y0":
        return model, model.random_state(seed=seed, batch=2)
    if case == "short_y0":
        return model, y0[:-1]
    raise ValueError(f"unknown case {case!r}")


def growth_build(rate, seed):
    """Hopfield with relu units whose weights have the eigenvalue ``rate``: h grows like exp((rate - 1) t).

    A large ``rate`` overflows (a solve that runs but fails).
    """
    n = 4
    weights = float(rate) * (np.ones((n, n)) - np.eye(n)) / (n - 1)
    hop = oh.Hopfield(weights, activation="relu")
    return hop, 0.5 + 0.1 * np.random.default_rng(int(seed)).random(n)


if __name__ == "__main__":
    run_kill_sweep(sys.argv[1], failing=len(sys.argv) > 2 and sys.argv[2] == "failing")


def spread_build(sigma, seed):
    """Mean-field Kuramoto (D = 2, N = 6, K = 1) with natural frequencies ``sigma * (-2.5 .. 2.5)``
    (none for ``sigma = 0``: a gradient flow), random start from ``seed``."""
    omega = float(sigma) * (np.arange(6) - 2.5) if sigma else None
    model = oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=6, omega=omega)
    return model, model.random_state(seed=int(seed))


def kuramoto_template(n=4):
    """The template of :func:`kuramoto_build` (``oh.sweep(model, ...)``: parameters filled per point)."""
    return oh.Kuramoto(2, edges=oh.ring_edges(int(n)), coupling=1.0)


def hk_template(mode="additive"):
    """The template of :func:`hk_build`."""
    return hk_build(1.0, 0, mode)[0]


#: The grid of the template kill-and-resume test: 20 x 25 = 500 points, 4 per task.
TEMPLATE_KILL_GRID = {"coupling": [0.1 * (i + 1) for i in range(20)], "seed": list(range(25))}


def run_template_kill_sweep(store):
    """The template sweep of the kill-and-resume test (run as a subprocess), on 2 cores at most."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
    ds = oh.sweep(kuramoto_template(), grid=TEMPLATE_KILL_GRID, store=store, **KILL_OPTIONS)
    print("computed", ds.attrs["sweep_run"]["computed"])


class PickyKuramoto(oh.Kuramoto):
    """A Kuramoto template whose ``replace`` rejects couplings above 2 (a parameter-domain rule)."""

    def _replace(self, new):
        if "coupling" in new and np.max(new["coupling"]) > 2.0:
            raise ValueError(f"`coupling` must be at most 2 for this model; got {np.max(new['coupling'])!r}.")
        return super()._replace(new)
