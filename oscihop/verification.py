"""Numerical verification that a model's energy never increases: :func:`verify`.

``model.is_lyapunov`` is a verdict from sufficient conditions (docs/theory.md §2-§4): it says
when the theory guarantees ``dE/dt <= 0``.  :func:`verify` checks the numbers.  It searches
the state space for the largest ``dE/dt = grad E . f``, solves trajectories with the method a
user integrates with, and, where it finds the energy rising, returns the state (and step) where
it happens, shrunk to a simple one.  The sweep reductions and the command line call the
module-level helpers :func:`energy_increase`, :func:`max_energy_rate`, :func:`verify_config`
and :func:`verify_store`.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

import numpy as np

from ._json import jsonable
from ._validation import as_float_array, check_choice, check_finite, check_positive, check_size
from .models.base import Model
from .solvers import METHODS, solve

__all__ = ["verify", "VerifyReport", "CounterExample", "energy_increase", "max_energy_rate", "energy_tolerance",
           "verify_config", "verify_store", "RTOL", "ATOL"]

#: Default relative and absolute tolerance of the energy checks (:func:`verify`,
#: :func:`energy_increase`, the sweep reduction ``"energy_increase"``, ``oscihop verify``).
RTOL, ATOL = 1e-6, 1e-9

#: Scale ``s`` at which :class:`CounterExample` of kind ``"unbounded"`` evaluates the energy
#: along its ray (``E(h -> s h) / (s^2 |h|^2)``); a second scale checks the growth is quadratic.
RAY_SCALES = (1e4, 1e6)
#: Standard deviations of ``h`` in the random states (cycled): small, order-one and large fields.
H_SCALES = (0.5, 1.5, 4.0)
#: A shrunk counter-example keeps at least this many times its tolerance (or its original
#: excess, if that is smaller): shrinking never turns a clear increase into a rounding-level one.
SHRINK_MARGIN = 10.0
_KINDS = ("rate", "step", "trajectory", "unbounded")


# ---------------------------------------------------------------------------- helpers for sweeps
def energy_tolerance(rtol=None, atol=None):
    """``(rtol, atol)`` of an energy check, checked (``rtol > 0``, ``atol >= 0``).

    None takes the defaults :data:`RTOL` = 1e-6 and :data:`ATOL` = 1e-9.

    Examples
    --------
    >>> from oscihop.verification import energy_tolerance
    >>> energy_tolerance(), energy_tolerance(1e-3)
    ((1e-06, 1e-09), (0.001, 1e-09))
    """
    rtol = check_positive(RTOL if rtol is None else rtol, "rtol")
    atol = check_positive(ATOL if atol is None else atol, "atol", strict=False)
    return rtol, atol


def energy_increase(energy, rtol=RTOL, atol=ATOL):
    """Largest energy increase between consecutive outputs, relative to the tolerance.

    For consecutive energies ``E_k, E_{k+1}`` the allowed increase is
    ``atol + rtol * max(|E_k|, |E_{k+1}|)``; the result is ``max_k (E_{k+1} - E_k) / allowed_k``.
    A value ``<= 1`` means the energy never rose by more than the tolerance (negative: it
    decreased at every output); ``> 1`` means it did.  Pairs with a non-finite energy (the
    outputs after a failed solve) are skipped.

    Parameters
    ----------
    energy : Solution or array_like, shape (..., T)
        A :class:`~oscihop.Solution` (its ``energy``) or energies along the last axis.
    rtol, atol : float
        Relative and absolute tolerance on the energy (``> 0`` and ``>= 0``).

    Returns
    -------
    float or ndarray
        One value per trajectory (shape ``energy.shape[:-1]``); NaN where fewer than two
        consecutive outputs are finite.

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> from oscihop.verification import energy_increase
    >>> energy_increase([3.0, 2.0, 2.0 + 1e-9, 1.0]) <= 1.0      # a rise well below 1e-6 |E|
    True
    >>> float(round(energy_increase([1.0, 1.0 + 1e-3]), 1))       # 1e-3 / (1e-9 + 1e-6 * 1.001)
    998.0
    >>> kur = oh.Kuramoto(3, coupling="mean-field", strength=2.0, n=5)
    >>> sol = oh.solve(kur, (0, 2), kur.random_state(seed=0, batch=3), t_eval=np.linspace(0, 2, 9))
    >>> energy_increase(sol).shape
    (3,)
    """
    rtol, atol = energy_tolerance(rtol, atol)
    e = getattr(energy, "energy", energy)
    e = as_float_array(e, "energy")
    if e.ndim == 0:
        raise ValueError(f"`energy` must have a time axis (shape (..., T)); got a scalar {float(e)!r}.")
    inc, _ = _pair_excess(e, rtol, atol)
    with np.errstate(invalid="ignore"):
        out = np.where(np.isfinite(inc).any(axis=-1), np.nanmax(np.where(np.isfinite(inc), inc, -np.inf),
                                                                 axis=-1, initial=-np.inf), np.nan)
    return float(out) if out.ndim == 0 else out


def _pair_excess(e, rtol, atol):
    """(excess, allowed) of every consecutive pair of ``e`` (..., T): NaN where not finite."""
    e0, e1 = e[..., :-1], e[..., 1:]
    allowed = atol + rtol * np.maximum(np.abs(e0), np.abs(e1))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        exc = (e1 - e0) / allowed
    exc = np.where(np.isfinite(e0) & np.isfinite(e1), exc, np.nan)
    return exc, allowed


def max_energy_rate(model, states):
    """Largest ``dE/dt = grad E . f`` over states along the second-to-last axis.

    Parameters
    ----------
    model : Model
    states : array_like, shape (..., T, size)
        For example ``sol.states`` of a :class:`~oscihop.Solution` (one trajectory or a
        batch).  Rows with a non-finite entry (the outputs after a failed solve) are
        skipped.

    Returns
    -------
    float or ndarray
        Shape ``states.shape[:-2]``; NaN where no row is finite.  ``> 0`` somewhere means the
        energy rises along the flow there.

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> from oscihop.verification import max_energy_rate
    >>> kur = oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=4, omega=[0.0, 1.0, 2.0, 3.0])
    >>> sol = oh.solve(kur, (0, 3), kur.random_state(seed=1), t_eval=np.linspace(0, 3, 31))
    >>> bool(max_energy_rate(kur, sol.states) > 0)     # natural frequencies: not a gradient flow
    True
    """
    _check_model(model)
    s = as_float_array(states, "states")
    if s.ndim < 2 or s.shape[-1] != model.size:
        raise ValueError(f"`states` must have shape (..., T, {model.size}) for this model; got {s.shape}. "
                         "Pass sol.states of a Solution.")
    flat = s.reshape(-1, model.size)
    good = np.isfinite(flat).all(axis=1)
    rate = np.full(flat.shape[0], -np.inf)
    if good.any():
        rate[good] = model.energy_rate(np.ascontiguousarray(flat[good]))
    rate = rate.reshape(s.shape[:-1])
    out = np.where(good.reshape(s.shape[:-1]).any(axis=-1), rate.max(axis=-1), np.nan)
    return float(out) if out.ndim == 0 else out


def _check_model(model):
    if not isinstance(model, Model):
        raise ValueError(f"`model` must be an oscihop model (Hopfield, Kuramoto, HopfieldKuramoto); "
                         f"got {type(model).__name__}.")


# ------------------------------------------------------------------------------ report classes
@dataclass
class CounterExample:
    """A state (and step) where the energy rises; re-checked by :meth:`reproduce`.

    Attributes
    ----------
    kind : {"rate", "step", "trajectory", "unbounded"}
        ``"rate"``: ``dE/dt > 0`` at ``state``.  ``"step"``: one step of ``method`` with step
        ``dt`` from ``state`` raises the energy.  ``"trajectory"``: the trajectory solved from
        ``state`` with ``method`` and ``options`` over ``t_span`` (outputs at
        ``np.linspace(*t_span, n_times)``) has an energy increase beyond the tolerance.
        ``"unbounded"``: the energy is not bounded below: along the ray ``h -> s h`` (the
        oscillators of ``state`` fixed) it falls like ``value * s^2 |h|^2``.
    state : ndarray, shape (size,)
        The flat state, after shrinking.
    value : float
        dE/dt, the energy change of the step, the largest energy change between outputs, or the
        energy slope ``E(s h, x) / (s^2 |h|^2)`` at ``s = 1e6``.
    tolerance : float
        What ``value`` exceeds (for ``"unbounded"``: ``value < -tolerance``).
    method, dt, t_span, n_times, options
        How the step or trajectory was computed (None where they do not apply).
    shrunk : list of str
        The simplifications that were applied, in order (see :func:`verify`).
    found_state, found_value
        The state and value as the search found them, before shrinking.
    """

    kind: str
    state: np.ndarray
    value: float
    tolerance: float
    method: str | None = None
    dt: float | None = None
    t_span: tuple | None = None
    n_times: int | None = None
    options: dict = field(default_factory=dict)
    shrunk: list = field(default_factory=list)
    found_state: np.ndarray | None = None
    found_value: float | None = None

    @property
    def excess(self):
        """``value / tolerance`` (``-value / tolerance`` for ``"unbounded"``); > 1 is an increase."""
        return (-self.value if self.kind == "unbounded" else self.value) / self.tolerance

    def reproduce(self, model):
        """Re-evaluate :attr:`value` at :attr:`state` in float64 from the model's own functions.

        Parameters
        ----------
        model : Model
            The model the counter-example was found for.

        Returns
        -------
        float
            ``model.energy_rate(state)`` (``"rate"``); ``E(y1) - E(state)`` with ``y1`` the
            state after one ``oh.solve`` step (``"step"``); the largest energy change between
            the outputs of the re-solved trajectory (``"trajectory"``); the energy slope along
            the ray (``"unbounded"``).
        """
        _check_model(model)
        y = np.asarray(self.state, dtype=np.float64)
        if self.kind == "rate":
            return float(model.energy_rate(y))
        if self.kind == "step":
            sol = solve(model, (0.0, self.dt), y, method=self.method, dt=self.dt)
            return float(sol.energy[-1] - sol.energy[0])
        if self.kind == "trajectory":
            sol = solve(model, self.t_span, y, method=self.method,
                        t_eval=np.linspace(*self.t_span, self.n_times), **self.options)
            return float(np.nanmax(np.diff(sol.energy)))
        return float(_ray_slopes(model, y[None])[1][0])

    def to_dict(self):
        """A JSON-serialisable dict (arrays as lists, non-finite floats as strings)."""
        out = {k: getattr(self, k) for k in ("kind", "state", "value", "tolerance", "method", "dt", "t_span",
                                               "n_times", "options", "shrunk", "found_state", "found_value")}
        out["excess"] = self.excess
        return jsonable(out, strict=True)


@dataclass
class VerifyReport:
    """The result of :func:`verify`.

    Attributes
    ----------
    model : str
        The model's class and shape, e.g. ``"Kuramoto(n=8, dim=3)"``.
    n, dim, size : int
        Units, oscillator dimension (0 without oscillators), flat state length.
    is_lyapunov : bool
        The analytic verdict, ``model.is_lyapunov``.
    lyapunov_reason : str
        ``model.lyapunov_reason`` ("" when the theory guarantees a non-increasing energy).
    method, dt, rtol, atol, t_span, seed
        The settings checked (``method`` "RK45" when :func:`verify` was given None).
    max_rate : float
        Largest ``dE/dt`` found (NaN for a model without a continuous flow).
    max_rate_tolerance : float
        ``atol + rtol |grad E| |f|`` at that state: ``max_rate`` above it is an increase.
    max_rate_state : ndarray, shape (size,)
        The state of ``max_rate``.
    max_rate_source : str
        Where that state came from: "random", "start", "trajectory" or "ascent".
    max_increase : float
        Largest energy increase along the solved trajectories, as :func:`energy_increase`
        measures it (relative to the tolerance: > 1 is an increase), over consecutive outputs
        (every step for fixed-step methods) and, for fixed steps, single steps from the random
        and the ascended states.
    step_bound : float or None
        ``model.step_bound`` over the visited states (the smallest; Euler and AKOrN only).
    step_exceeds_bound : bool or None
        Whether ``dt`` exceeds ``step_bound`` (Euler and AKOrN only).  The bound is sufficient,
        not necessary: a larger step need not raise the energy.
    min_energy_slope : float or None
        For models with unbounded activations (relu): the smallest ``E(s h, x) / (s^2 |h|^2)``
        found along rays; negative means the energy is unbounded below.  None otherwise.
    counterexamples : list of CounterExample
        At most one per kind, in the order rate, step, trajectory, unbounded.
    n_evals : int
        State evaluations and right-hand side evaluations spent.
    elapsed : float
        Seconds.
    truncated : str
        "" when every phase of the search ran; otherwise which budget (``max_evals`` or
        ``time_limit``) cut it short.
    n_failed : int
        Trajectories whose solve failed (non-finite state or step-size underflow).
    n_incomplete : int
        Trajectories stopped by their share of ``max_evals`` before ``t_span[1]``.
    """

    model: str
    n: int
    dim: int
    size: int
    is_lyapunov: bool
    lyapunov_reason: str
    method: str
    dt: float | None
    rtol: float
    atol: float
    t_span: tuple
    seed: int
    max_rate: float = float("nan")
    max_rate_tolerance: float = float("nan")
    max_rate_state: np.ndarray | None = None
    max_rate_source: str = ""
    max_increase: float = float("nan")
    step_bound: float | None = None
    step_exceeds_bound: bool | None = None
    min_energy_slope: float | None = None
    counterexamples: list = field(default_factory=list)
    n_evals: int = 0
    elapsed: float = 0.0
    truncated: str = ""
    n_failed: int = 0
    n_incomplete: int = 0

    @property
    def counterexample(self):
        """The first counter-example (the simplest kind found), or None."""
        return self.counterexamples[0] if self.counterexamples else None

    @property
    def ok(self):
        """True when no increase beyond the tolerance (and no unbounded energy) was found."""
        return not self.counterexamples

    @property
    def exit_code(self):
        """0 when :attr:`ok`, 1 with a counter-example (the ``oscihop verify`` exit status)."""
        return 0 if self.ok else 1

    def to_dict(self):
        """A JSON-serialisable dict of every field (arrays as lists, non-finite floats as
        the strings ``"nan"``, ``"inf"``, ``"-inf"``), plus ``ok`` and ``exit_code``."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "counterexamples"}
        out["counterexamples"] = [c.to_dict() for c in self.counterexamples]
        out["ok"] = self.ok
        out["exit_code"] = self.exit_code
        return jsonable(out, strict=True)

    def to_json(self, **kwargs):
        """:meth:`to_dict` as a JSON string (strict JSON: no NaN or Infinity literals).

        ``kwargs`` go to :func:`json.dumps` (e.g. ``indent=2``).
        """
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    def to_xarray(self):
        """The report as an :class:`xarray.Dataset`.

        Returns
        -------
        xarray.Dataset
            Dimension ``state`` (flat state index).  Variables ``max_rate_state`` and, per
            counter-example kind found, ``<kind>_state`` and ``<kind>_found_state``;
            attributes: every scalar field of :meth:`to_dict` (None fields left out, booleans
            as 0/1), each counter-example's scalars as ``<kind>_<field>``, and the JSON of
            the whole report as ``report``.
        """
        import xarray as xr

        d = self.to_dict()
        data = {}
        if self.max_rate_state is not None:
            data["max_rate_state"] = ("state", np.asarray(self.max_rate_state, dtype=np.float64))
        attrs = {}
        for c in self.counterexamples:
            data[f"{c.kind}_state"] = ("state", np.asarray(c.state, dtype=np.float64))
            if c.found_state is not None:
                data[f"{c.kind}_found_state"] = ("state", np.asarray(c.found_state, dtype=np.float64))
            for k, v in c.to_dict().items():
                if k not in ("state", "found_state"):
                    attrs[f"{c.kind}_{k}"] = v
        for k, v in d.items():
            if k not in ("max_rate_state", "counterexamples"):
                attrs[k] = v
        attrs = {k: (int(v) if isinstance(v, bool) else json.dumps(v) if isinstance(v, (dict, list)) else v)
                 for k, v in attrs.items() if v is not None}
        attrs["report"] = self.to_json()
        return xr.Dataset(data, coords={"state": np.arange(self.size)}, attrs=attrs)

    def __str__(self):
        verdict = "ok: no energy increase found" if self.ok else "ENERGY INCREASE FOUND"
        lines = [f"oscihop.verify: {self.model}: {verdict}",
                 f"  analytic verdict: is_lyapunov = {self.is_lyapunov}"
                 + (f" ({self.lyapunov_reason})" if self.lyapunov_reason else ""),
                 f"  method {self.method}" + (f", dt = {self.dt:.6g}" if self.dt is not None else "")
                 + f", rtol = {self.rtol:g}, atol = {self.atol:g}, t_span = {tuple(self.t_span)}, seed = {self.seed}",
                 f"  largest dE/dt found: {self.max_rate:.6g} (tolerance {self.max_rate_tolerance:.3g}, "
                 f"from {self.max_rate_source or 'n/a'} states)",
                 f"  largest energy increase along trajectories: {self.max_increase:.6g} x tolerance"]
        if self.step_bound is not None:
            lines.append(f"  step_bound over visited states: {self.step_bound:.6g}; dt "
                         + ("EXCEEDS it" if self.step_exceeds_bound else "is within it"))
        if self.min_energy_slope is not None:
            lines.append(f"  smallest energy slope along rays h -> s h: {self.min_energy_slope:.6g}"
                         + (" (unbounded below)" if self.min_energy_slope < 0 else ""))
        for c in self.counterexamples:
            lines.append(f"  counter-example ({c.kind}): value {c.value:.6g} = {c.excess:.3g} x tolerance"
                         + (f", {c.method} step dt = {c.dt:.6g}" if c.kind == "step" else "")
                         + (f", {c.method} over t_span {tuple(c.t_span)}" if c.kind == "trajectory" else ""))
            lines.append(f"    shrunk by: {', '.join(c.shrunk) if c.shrunk else 'nothing (no simplification kept it)'}")
            lines.extend("    " + s for s in _format_state(c.state, self.n, self.dim, self.size).splitlines())
        lines.append(f"  {self.n_evals} evaluations in {self.elapsed:.3g} s"
                     + (f"; search cut short by {self.truncated}" if self.truncated else "")
                     + (f"; {self.n_failed} trajectory solve(s) failed" if self.n_failed else "")
                     + (f"; {self.n_incomplete} trajectory(ies) cut short by max_evals" if self.n_incomplete else ""))
        return "\n".join(lines)


def _format_state(y, n, dim, size):
    nk = n if dim else 0
    nh = size - nk * dim
    with np.printoptions(precision=4, suppress=True, threshold=60, linewidth=96):
        parts = []
        if nh:
            parts.append(f"h = {np.asarray(y[:nh])}")
        if nk:
            parts.append(f"x = {np.asarray(y[nh:]).reshape(nk, dim).tolist() if nk * dim <= 24 else y[nh:].reshape(nk, dim)}")
        return "\n".join(parts)


# --------------------------------------------------------------------------------- the search
class _Budget:
    """Counts evaluations against ``max_evals`` and wall time against ``time_limit``."""

    def __init__(self, max_evals, time_limit):
        self.max_evals = max_evals
        self.start = time.perf_counter()
        self.deadline = None if time_limit is None else self.start + time_limit
        self.used = 0
        self.cut = ""

    def left(self):
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.cut = self.cut or "time_limit"
            return 0
        left = self.max_evals - self.used
        if left <= 0:
            self.cut = self.cut or "max_evals"
        return max(left, 0)

    def spend(self, n):
        self.used += int(n)


class _Space:
    """The state manifold: h free, each oscillator on its unit sphere."""

    def __init__(self, model):
        self.model = model
        self.nk = model.n if model.dim else 0
        self.d = model.dim
        self.nh = model.size - self.nk * self.d
        self.size = model.size

    def x(self, y):
        return y[..., self.nh:].reshape(y.shape[:-1] + (self.nk, self.d))

    def retract(self, y):
        y = np.array(y, dtype=np.float64)
        if self.nk:
            x = self.x(y)
            nrm = np.linalg.norm(x, axis=-1, keepdims=True)
            x /= np.where(nrm > 0, nrm, 1.0)
        return y

    def tangent(self, y, v):
        """Project directions ``v`` (..., k, size) onto the tangent space at ``y`` (..., size)."""
        v = np.array(v, dtype=np.float64)
        if self.nk:
            x = self.x(y)[..., None, :, :]
            vx = v[..., self.nh:].reshape(v.shape[:-1] + (self.nk, self.d))
            vx -= np.sum(vx * x, axis=-1, keepdims=True) * x
        return v

    @property
    def tangent_dim(self):
        return self.nh + self.nk * max(self.d - 1, 0)


class _RateObjective:
    kind = "rate"

    def __init__(self, model, rtol, atol):
        self.model, self.rtol, self.atol = model, rtol, atol

    def __call__(self, ys):
        """(value, tolerance) of dE/dt at the states ``ys`` (B, size)."""
        g = np.asarray(self.model.energy_gradient(ys), dtype=np.float64)
        f = np.asarray(self.model.rhs(0.0, ys), dtype=np.float64)
        value = np.sum(g * f, axis=-1)
        tol = self.atol + self.rtol * np.linalg.norm(g, axis=-1) * np.linalg.norm(f, axis=-1)
        return value, tol, len(ys)


class _StepObjective:
    kind = "step"

    def __init__(self, model, method, dt, rtol, atol):
        self.model, self.method, self.dt, self.rtol, self.atol = model, method, dt, rtol, atol

    def __call__(self, ys, dt=None):
        """(E(one step) - E(y), tolerance) from the states ``ys`` (B, size)."""
        dt = self.dt if dt is None else dt
        sol = solve(self.model, (0.0, dt), ys, method=self.method, dt=dt)
        e = np.asarray(sol.energy, dtype=np.float64)
        e0, e1 = e[:, 0], e[:, -1]
        with np.errstate(invalid="ignore"):
            tol = self.atol + self.rtol * np.maximum(np.abs(e0), np.abs(e1))
        value = np.where(np.isfinite(e1), e1 - e0, np.nan)
        return value, tol, int(np.sum(sol.nfev)) + len(ys)


def _evaluate(objective, ys, budget):
    """Evaluate ``objective`` on the rows of ``ys`` that the budget allows; NaN for the rest."""
    ys = np.ascontiguousarray(ys, dtype=np.float64)
    n = min(len(ys), budget.left())
    value = np.full(len(ys), np.nan)
    tol = np.full(len(ys), np.inf)
    if n:
        v, t, cost = objective(ys[:n])
        value[:n], tol[:n] = v, t
        budget.spend(cost)
    return value, tol


def _ascend(space, objective, starts, budget, rng, n_dirs=16, max_iter=60, eps=1e-5):
    """Projected ascent of ``objective`` from each row of ``starts`` on the state manifold.

    Each iteration estimates the gradient by central differences along ``n_dirs`` random
    orthonormal tangent directions (all of them when the tangent space is smaller), then
    tries 8 step lengths along it, keeping the best; the step length adapts (doubled after a
    success at the longest, divided by 16 after a failure).  A start stops when four
    iterations gained less than its tolerance.  Retraction: oscillators are renormalised.
    """
    ys = space.retract(starts)
    m = len(ys)
    vals, tols = _evaluate(objective, ys, budget)
    vals = np.where(np.isfinite(vals), vals, -np.inf)
    k = min(n_dirs, space.tangent_dim)
    rho = np.full(m, 0.25)
    etas = 2.0 ** np.arange(1, -7, -1)
    history = [vals.copy()]
    for it in range(max_iter):
        if it >= 4:  # stalled: less than the tolerance gained in four iterations
            rho[(vals - history[-5] <= tols) & np.isfinite(vals)] = 0.0
        active = rho > 1e-9
        cost = int(active.sum()) * (2 * k + len(etas))
        if not active.any() or budget.left() < cost:
            break
        idx = np.nonzero(active)[0]
        dirs = space.tangent(ys[idx], rng.standard_normal((len(idx), k, space.size)))
        dirs = np.linalg.qr(np.swapaxes(dirs, -1, -2))[0]  # (a, size, k) orthonormal columns
        dirs = np.swapaxes(dirs, -1, -2)
        probe = ys[idx, None, None, :] + np.array([eps, -eps])[None, :, None, None] * dirs[:, None]
        pv, _ = _evaluate(objective, space.retract(probe.reshape(-1, space.size)), budget)
        pv = pv.reshape(len(idx), 2, k)
        slope = np.nan_to_num((pv[:, 0] - pv[:, 1]) / (2 * eps))
        grad = np.einsum("ak,aks->as", slope, dirs)
        gn = np.linalg.norm(grad, axis=-1)
        step = rho[idx, None] * etas[None, :]
        cand = ys[idx, None, :] + step[..., None] * (grad / np.where(gn > 0, gn, 1.0)[:, None])[:, None, :]
        cand = space.retract(cand.reshape(-1, space.size))
        cv, ct = _evaluate(objective, cand, budget)
        cv = np.where(np.isfinite(cv), cv, -np.inf).reshape(len(idx), len(etas))
        ct = ct.reshape(len(idx), len(etas))
        best = np.argmax(cv, axis=1)
        for a, i in enumerate(idx):
            b = best[a]
            if cv[a, b] > vals[i] and gn[a] > 0:
                ys[i] = cand.reshape(len(idx), len(etas), -1)[a, b]
                vals[i], tols[i] = cv[a, b], ct[a, b]
                rho[i] = min(step[a, b] * (2.0 if b == 0 else 1.0), 4.0)
            else:
                rho[i] /= 16.0
        history.append(vals.copy())
    return ys, vals, tols


# ---------------------------------------------------------------------------------- shrinking
def _shrink(space, y, holds, budget):
    """Simplify ``y`` while ``holds`` (batch predicate) stays true; returns (y, steps).

    Passes, each over a list of "atoms" (one simplification of one component), applied
    greedily in blocks (delta-debugging style: all atoms at once, then halves, quarters, ...,
    single atoms; the longest run of blocks that still holds is kept):

    1. zero threshold units ``h_i = 0``;
    2. snap oscillators to the nearest coordinate axis (``x_i = +-e_k``);
    3. merge oscillators (``x_i = x_j`` for the nearest other oscillator ``j``): fewer
       distinct directions;
    4. round ``h_i`` to integers, then to one decimal;
    5. snap oscillators to the nearest direction with entries in {0, +-1} (normalised: axes,
       diagonals ``(+-1, +-1, 0) / sqrt(2)``, ...).
    """
    nh, nk, d = space.nh, space.nk, space.d
    steps = []

    def x_of(v):
        return v[nh:].reshape(nk, d)

    def zero_h(v, atoms):
        v = v.copy()
        v[list(atoms)] = 0.0
        return v

    def round_h(decimals):
        def apply(v, atoms):
            v = v.copy()
            a = list(atoms)
            v[a] = np.round(v[a], decimals)
            return v
        return apply

    def snap_axes(v, atoms):
        v = v.copy()
        x = x_of(v)
        for i in atoms:
            k = int(np.argmax(np.abs(x[i])))
            s = 1.0 if x[i, k] >= 0 else -1.0
            x[i] = 0.0
            x[i, k] = s
        return v

    def sign_dirs(v, atoms):
        v = v.copy()
        x = x_of(v)
        for i in atoms:
            x[i] = _nearest_sign_direction(x[i])
        return v

    passes = []
    if nh:
        passes.append(("zeroed h", zero_h, lambda v: [i for i in range(nh) if v[i] != 0.0]))
    if nk:
        passes.append(("snapped oscillators to axes", snap_axes,
                       lambda v: [i for i in range(nk) if np.count_nonzero(x_of(v)[i]) > 1]))

        def merge_plan(v):
            x = x_of(v)
            c = x @ x.T
            np.fill_diagonal(c, -np.inf)
            target = np.argmax(c, axis=1)
            plan = {i: int(target[i]) for i in range(nk) if not np.array_equal(x[i], x[target[i]])}

            def merge(w, atoms):
                w = w.copy()
                xw = x_of(w)
                for i in atoms:
                    xw[i] = x[plan[i]]
                return w
            return merge, sorted(plan)
        passes.append(("merged oscillators", None, merge_plan))
    if nh:
        passes.append(("rounded h to integers", round_h(0), lambda v: [i for i in range(nh) if v[i] != np.round(v[i])]))
        passes.append(("rounded h to 0.1", round_h(1), lambda v: [i for i in range(nh) if v[i] != np.round(v[i], 1)]))
    if nk:
        passes.append(("snapped oscillators to diagonals", sign_dirs,
                       lambda v: [i for i in range(nk) if not np.array_equal(x_of(v)[i], _nearest_sign_direction(x_of(v)[i]))]))

    for name, apply, atoms_of in passes:
        if apply is None:
            apply, atoms = atoms_of(y)
        else:
            atoms = atoms_of(y)
        y, count = _reduce(y, apply, atoms, holds, budget)
        if count:
            steps.append(f"{name} ({count})")
    return y, steps


def _nearest_sign_direction(x):
    """The unit vector with entries in {0, +-c} nearest to ``x`` (|x| = 1): the best k-sparse one."""
    order = np.argsort(-np.abs(x), kind="stable")
    cos = np.cumsum(np.abs(x[order])) / np.sqrt(np.arange(1, len(x) + 1))
    k = int(np.argmax(cos)) + 1
    out = np.zeros_like(x)
    out[order[:k]] = np.where(x[order[:k]] >= 0, 1.0, -1.0) / np.sqrt(k)
    return out


def _reduce(y, apply, atoms, holds, budget):
    """Apply as many ``atoms`` as possible (in blocks of halving size) while ``holds``."""
    remaining = list(atoms)
    chunk = len(remaining)
    applied = 0
    while remaining and chunk >= 1 and budget.left() > 0:
        blocks = [remaining[i:i + chunk] for i in range(0, len(remaining), chunk)]
        good = holds(np.stack([apply(y, b) for b in blocks]))
        passing = [b for b, g in zip(blocks, good) if g]
        if not passing:
            if chunk == 1:
                break
            chunk = max(1, chunk // 2)
            continue
        prefixes, acc = [], []
        for b in passing:
            acc = acc + b
            prefixes.append(list(acc))
        cands = np.stack([apply(y, p) for p in prefixes])
        pg = holds(cands) if len(prefixes) > 1 else np.array([True])
        pg[0] = True  # the first block alone was just seen to hold
        k = int(np.nonzero(pg)[0].max())
        y = cands[k]
        done = set(prefixes[k])
        applied += len(done)
        remaining = [a for a in remaining if a not in done]
        chunk = max(1, min(chunk, len(remaining)) // (1 if len(prefixes) > 1 else 2))
    return y, applied


def _holds(objective, budget, margin_tol):
    """Batch predicate: the objective stays above ``margin_tol`` times its tolerance."""
    def holds(ys):
        v, t = _evaluate(objective, ys, budget)
        return np.isfinite(v) & (v > margin_tol * t)
    return holds


# ------------------------------------------------------------------------ unbounded energies
def _unbounded_activation(model):
    hop = getattr(model, "hopfield", model)
    act = getattr(hop, "activation", None)
    return act is not None and model.size > model.n * model.dim and act == "relu"


def _ray_slopes(model, ys):
    """E(s h, x) / (s^2 |h|^2) at the two :data:`RAY_SCALES` for states ``ys`` (B, size)."""
    space = _Space(model)
    h = ys[:, :space.nh]
    hn2 = np.sum(h * h, axis=1)
    out = []
    for s in RAY_SCALES:
        z = np.array(ys, dtype=np.float64)
        z[:, :space.nh] *= s
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            out.append(np.asarray(model.energy(z), dtype=np.float64) / (s * s * hn2))
    return out


class _RayObjective:
    kind = "unbounded"

    def __init__(self, model, rtol, atol):
        self.model, self.tol = model, atol + rtol

    def __call__(self, ys):
        """(-slope, tolerance): positive where the energy falls quadratically along the ray."""
        q1, q2 = _ray_slopes(self.model, ys)
        with np.errstate(invalid="ignore"):
            quadratic = np.abs(q1 - q2) <= 0.01 * np.abs(q2)
        value = np.where(quadratic & np.isfinite(q2), -q2, np.nan)
        return value, np.full(len(ys), self.tol), 2 * len(ys)


def _ray_candidates(model, space, starts, traj_last, rng):
    """Directions h (with oscillators from a random and an aligned state) to test for E -> -inf."""
    nh = space.nh
    dirs = [np.eye(nh)]
    hop = getattr(model, "hopfield", model)
    if nh <= 2000:
        w = np.asarray(hop.weights_dense())
        vecs = np.linalg.eigh(w)[1][:, -3:].T
        dirs += [np.maximum(vecs, 0), np.maximum(-vecs, 0)]
    dirs.append(rng.standard_normal((16, nh)))
    if traj_last is not None and len(traj_last):
        dirs.append(traj_last[:, :nh])
    dirs = np.concatenate(dirs)
    nrm = np.linalg.norm(dirs, axis=1)
    dirs = dirs[nrm > 0] / nrm[nrm > 0, None]
    base = np.array(starts[:1], dtype=np.float64)
    bases = [base]
    if space.nk:
        aligned = base.copy()
        space.x(aligned)[:] = np.eye(space.d)[0]
        bases.append(aligned)
    out = []
    for b in bases:
        c = np.repeat(b, len(dirs), axis=0)
        c[:, :nh] = dirs
        out.append(c)
    return np.concatenate(out)


# ------------------------------------------------------------------------------ verify itself
def _random_states(model, rng, count):
    ys = model.random_state(seed=rng, batch=count).astype(np.float64)
    space = _Space(model)
    if space.nh:
        scale = np.resize(np.asarray(H_SCALES), count)
        ys[:, :space.nh] *= scale[:, None]
    return ys


def verify(model, *, method=None, dt=None, rtol=RTOL, atol=ATOL, t_span=(0.0, 5.0), starts=None,
           seed=0, n_states=256, n_trajectories=4, n_times=21, max_evals=5000, time_limit=None,
           shrink=True):
    """Check numerically that the energy of ``model`` never increases, and if it can, show where.

    The search runs in phases, all drawing from ``np.random.default_rng(seed)``:

    1. ``n_states`` random states (``h ~ N(0, s^2)`` with ``s`` cycling through 0.5, 1.5, 4;
       oscillators uniform on their spheres): ``dE/dt = grad E . f`` from
       ``model.energy_gradient`` and ``model.rhs`` (batched), and for a fixed-step ``method``
       the energy change of one step from each.
    2. ``n_trajectories`` trajectories (``starts`` first, then random states) solved with
       ``method`` over ``t_span`` (``n_times`` outputs for adaptive methods, every step for
       fixed-step ones): the energy increase between consecutive outputs (see
       :func:`energy_increase`) and ``dE/dt`` at the visited states.
    3. A local maximisation of ``dE/dt`` (and of the one-step energy change) from the four
       worst states: projected ascent on the state manifold with finite-difference
       gradients along random tangent directions.
    4. For relu threshold units, whose energy may be unbounded below: the energy along rays
       ``h -> s h`` (unit vectors, eigenvectors of W, the directions trajectories escape to).
    5. For each kind of increase found (beyond ``atol + rtol * scale``, scale as in
       :class:`VerifyReport`), a counter-example, shrunk (``shrink=True``) by oscihop's own
       shrinker: threshold units zeroed, oscillators snapped to coordinate axes, merged
       onto their nearest neighbour, then values rounded, each kept only while the increase
       stays above ``min(10, its excess)`` times the tolerance; a step counter-example's
       step is then reduced to the smallest of 24 geometrically spaced steps down to
       ``step_bound`` (or ``dt / 100``) that still raises the energy.

    Parameters
    ----------
    model : Hopfield, Kuramoto or HopfieldKuramoto
        A model with a continuous flow (not ``activation="sign"``).
    method : str, optional
        The integration method to check (see :func:`oscihop.solve`); default "RK45".
    dt : float, optional
        The step, required for (and only for) the fixed-step methods "Euler", "AKOrN", "RK4"
        and "Geometric".
    rtol, atol : float, default 1e-6, 1e-9
        The adaptive methods' tolerances, and the tolerance on energy increases.
    t_span : (float, float), default (0, 5)
        Interval of the trajectories.  They get half of ``max_evals``: with a fixed step at
        most ``max_evals / (8 n_trajectories)`` steps are taken, adaptive solves stop after
        ``max_evals / (14 n_trajectories)`` steps (the report's ``n_incomplete`` counts them).
    starts : array_like, shape (size,) or (B, size), optional
        Initial states to include among the trajectories (e.g. the ones you integrate).
    seed : int, default 0
        The search is a deterministic function of the model, the settings and ``seed``
        (unless ``time_limit`` cuts it short; the report's ``truncated`` then says so).
    n_states, n_trajectories, n_times : int, default 256, 4, 21
    max_evals : int, default 5000
        Budget of state evaluations (rates, energies, right-hand sides in the solves).
    time_limit : float or None, default None
        Seconds (compilation excluded); the search stops at the end of the phase step that
        passes it.
    shrink : bool, default True
        Shrink counter-examples.

    Returns
    -------
    VerifyReport
        ``report.ok`` / ``report.exit_code`` (0 or 1), ``report.counterexample``,
        ``print(report)``, ``report.to_dict()``, ``.to_json()``, ``.to_xarray()``.

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> kur = oh.Kuramoto(3, coupling="mean-field", strength=2.0, n=6)
    >>> report = oh.verify(kur)
    >>> report.ok, report.exit_code, report.is_lyapunov
    (True, 0, True)

    Natural frequencies make the flow non-gradient; verify shows a state where dE/dt > 0:

    >>> kur = oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=4, omega=[0.0, 1.0, 2.0, 3.0])
    >>> report = oh.verify(kur)
    >>> report.exit_code, report.counterexample.kind
    (1, 'rate')
    >>> c = report.counterexample
    >>> bool(c.reproduce(kur) > c.tolerance)
    True
    """
    _check_model(model)
    hop = getattr(model, "hopfield", model)
    if getattr(hop, "activation", None) == "sign":
        raise ValueError("`model` has activation='sign' (the binary network), which has no continuous flow for "
                         "verify to check; its async updates never raise the energy when W is symmetric with "
                         "W_ii >= 0 (see model.is_lyapunov). Use a smooth activation such as 'tanh'.")
    method = "RK45" if method is None else method
    check_choice(method, [m for m, meta in METHODS.items() if meta.kind != "async"], "method")
    fixed = METHODS[method].kind == "fixed"
    if fixed:
        if dt is None:
            raise ValueError(f"`dt` is required for the fixed-step method {method!r}; pass dt=<step>, e.g. dt=0.01.")
        dt = check_positive(dt, "dt")
    elif dt is not None:
        raise ValueError(f"`dt` applies to the fixed-step methods only; method {method!r} is adaptive "
                         "(its step follows rtol and atol). Remove `dt` or pass method='Euler'.")
    rtol, atol = energy_tolerance(rtol, atol)
    t_span = as_float_array(t_span, "t_span", ndim=1)
    if t_span.shape != (2,) or not np.all(np.isfinite(t_span)) or not t_span[1] > t_span[0]:
        raise ValueError(f"`t_span` must be two finite times (t0, t1) with t1 > t0; got {t_span.tolist()}.")
    t_span = (float(t_span[0]), float(t_span[1]))
    seed = check_size(seed, "seed", minimum=0)
    n_states = check_size(n_states, "n_states", minimum=1)
    n_trajectories = check_size(n_trajectories, "n_trajectories", minimum=0)
    n_times = check_size(n_times, "n_times", minimum=2)
    max_evals = check_size(max_evals, "max_evals", minimum=1)
    if time_limit is not None:
        time_limit = check_positive(time_limit, "time_limit")
    if not isinstance(shrink, (bool, np.bool_)):
        raise ValueError(f"`shrink` must be True or False; got {shrink!r}.")
    if starts is not None:
        starts = as_float_array(starts, "starts")
        if starts.ndim == 1:
            starts = starts[None]
        if starts.ndim != 2 or starts.shape[1] != model.size:
            raise ValueError(f"`starts` must have shape ({model.size},) or (B, {model.size}) for this model; "
                             f"got {starts.shape}. Use model.pack(h=..., x=...).")
        check_finite(starts, "starts")
        model.check_unit(starts, "starts")

    rng = np.random.default_rng(seed)
    _compile(model, method, dt, rtol, atol)
    budget = _Budget(max_evals, time_limit)
    space = _Space(model)
    report = VerifyReport(
        model=f"{type(model).__name__}(n={model.n}" + (f", dim={model.dim}" if model.dim else "") + ")",
        n=model.n, dim=model.dim, size=model.size, is_lyapunov=bool(model.is_lyapunov),
        lyapunov_reason=str(model.lyapunov_reason), method=method, dt=dt, rtol=rtol, atol=atol, t_span=t_span,
        seed=seed)
    rate = _RateObjective(model, rtol, atol)
    step = _StepObjective(model, method, dt, rtol, atol) if fixed else None

    # 1. random states
    rand = _random_states(model, rng, n_states)
    # 2. trajectories
    n_random_starts = max(n_trajectories - (0 if starts is None else len(starts)), 0)
    y0 = rand[:n_random_starts] if starts is None else np.concatenate([starts, rand[:n_random_starts]])
    visited = np.zeros((0, model.size))
    traj_last = None
    traj_case = None  # (excess, member, k)
    if len(y0) and budget.left():
        kw = {}
        share = max(budget.left() // 2, 4 * len(y0))
        if fixed:
            nstep = int(math.ceil((t_span[1] - t_span[0]) / dt * (1 - 1e-12)))
            nstep = max(1, min(nstep, share // (4 * len(y0))))
            span = (t_span[0], t_span[0] + nstep * dt)
            kw["dt"] = dt
        else:
            span = t_span
            kw.update(rtol=rtol, atol=atol, t_eval=np.linspace(*t_span, n_times),
                      max_steps=max(share // (7 * len(y0)), 10))
        with np.errstate(all="ignore"):
            sol = solve(model, span, np.ascontiguousarray(y0), method=method, **kw)
        budget.spend(int(np.sum(sol.nfev)))
        status = np.atleast_1d(sol.status)
        report.n_failed = int(np.sum(status < -1))
        report.n_incomplete = int(np.sum(status == -1))
        states = sol.states.reshape(len(y0), -1, model.size)
        energy = np.asarray(sol.energy, dtype=np.float64).reshape(len(y0), -1)
        exc, _ = _pair_excess(energy, rtol, atol)
        if np.isfinite(exc).any():
            member, k = np.unravel_index(np.nanargmax(exc), exc.shape)
            traj_case = (float(exc[member, k]), int(member), int(k), span, kw)
            report.max_increase = traj_case[0]
        good = np.isfinite(states).all(axis=-1)
        last = np.array([states[b][good[b]][-1] for b in range(len(y0)) if good[b].any()])
        traj_last = last if len(last) else None
        visited = states[good]
    # dE/dt at the random and visited states
    pool = np.concatenate([rand, visited])
    sources = np.array(["random"] * len(rand) + ["trajectory"] * len(visited))
    if len(visited) > 4 * n_states:  # keep the cost of the visited states in proportion
        keep = np.concatenate([np.arange(len(rand)),
                               len(rand) + np.linspace(0, len(visited) - 1, 4 * n_states).astype(int)])
        pool, sources = pool[keep], sources[keep]
    r_val, r_tol = _evaluate(rate, pool, budget)
    found = {}
    best = _record_best(r_val, r_tol, pool)
    if best is not None:
        report.max_rate, report.max_rate_tolerance, report.max_rate_state = best[0], best[1], pool[best[2]].copy()
        report.max_rate_source = str(sources[best[2]])
    # one step from each random state (fixed-step methods)
    if fixed:
        s_val, s_tol = _evaluate(step, rand, budget)
        s_exc = s_val / s_tol
        if np.isfinite(s_exc).any():
            report.max_increase = float(np.nanmax([report.max_increase, np.nanmax(s_exc)]))
        # 3b. ascent on the step increase
        step_best = _ascent_phase(space, step, rand, s_val, budget, rng, share=0.5)
        if step_best is not None:
            ys_a, v_a, t_a = step_best
            exc_a = v_a / t_a
            if np.isfinite(exc_a).any():
                report.max_increase = float(np.nanmax([report.max_increase, np.nanmax(exc_a)]))
            s_all = np.concatenate([rand, ys_a])
            s_v = np.concatenate([s_val, v_a])
            s_t = np.concatenate([s_tol, t_a])
            with np.errstate(invalid="ignore"):
                sig = np.where(np.isfinite(s_v) & (s_v > s_t), s_v / s_t, -np.inf)
            if np.isfinite(sig).any() and sig.max() > 1:
                i = int(np.argmax(sig))
                found["step"] = (s_all[i], s_v[i], s_t[i])
        if "step" not in found and traj_case is not None and traj_case[0] > 1:
            member, k = traj_case[1], traj_case[2]
            y_k = states[member, k]
            v, t = _evaluate(step, y_k[None], budget)
            if np.isfinite(v[0]) and v[0] > t[0]:
                found["step"] = (y_k, v[0], t[0])
    # 3. ascent on dE/dt from the worst states
    asc = _ascent_phase(space, rate, pool, r_val, budget, rng, share=1.0)
    if asc is not None:
        ys_a, v_a, t_a = asc
        b = _record_best(v_a, t_a, ys_a)
        if b is not None and (not np.isfinite(report.max_rate) or b[0] > report.max_rate):
            report.max_rate, report.max_rate_tolerance, report.max_rate_state = b[0], b[1], ys_a[b[2]].copy()
            report.max_rate_source = "ascent"
    if np.isfinite(report.max_rate) and report.max_rate > report.max_rate_tolerance:
        found["rate"] = (report.max_rate_state, report.max_rate, report.max_rate_tolerance)
    if not fixed and traj_case is not None and traj_case[0] > 1:
        found["trajectory"] = (y0[traj_case[1]], traj_case[0], 1.0)
    # step bound at the visited states
    if method in ("Euler", "AKOrN"):
        at = np.concatenate([rand, visited])
        report.step_bound = float(model.step_bound(at))
        report.step_exceeds_bound = bool(dt > report.step_bound)
    # 4. unbounded energies
    if _unbounded_activation(model):
        ray = _RayObjective(model, rtol, atol)
        cands = _ray_candidates(model, space, rand, traj_last, rng)
        v, t = _evaluate(ray, cands, budget)
        if np.isfinite(v).any():
            i = int(np.nanargmax(v))
            report.min_energy_slope = float(-v[i])
            if v[i] > t[i]:
                found["unbounded"] = (cands[i], v[i], t[i])
        else:
            report.min_energy_slope = float(np.nanmin(_ray_slopes(model, cands[:1])[1]))
    # 5. counter-examples, shrunk
    for kind in _KINDS:
        if kind not in found:
            continue
        y, value, tol = found[kind]
        report.counterexamples.append(_counterexample(kind, model, space, np.array(y, dtype=np.float64), value,
                                                      tol, method, dt, rtol, atol, traj_case, n_times, shrink,
                                                      budget, step, report.step_bound))
    report.n_evals = budget.used
    report.elapsed = time.perf_counter() - budget.start
    budget.left()
    report.truncated = budget.cut
    return report


def _compile(model, method, dt, rtol, atol):
    """Compile the kernels the search calls, so that ``time_limit`` counts the search only."""
    ys = model.random_state(seed=0, batch=2).astype(np.float64)
    model.energy_rate(ys)
    kw = {"dt": dt} if METHODS[method].kind == "fixed" else {"rtol": rtol, "atol": atol, "t_eval": [0.0, 1e-3]}
    with np.errstate(all="ignore"):
        solve(model, (0.0, 1e-3 if dt is None else dt), ys, method=method, **kw)


def _record_best(vals, tols, ys):
    good = np.isfinite(vals)
    if not good.any():
        return None
    i = int(np.argmax(np.where(good, vals, -np.inf)))
    return float(vals[i]), float(tols[i]), i


def _ascent_phase(space, objective, pool, vals, budget, rng, share, n_starts=4):
    """Run :func:`_ascend` from the ``n_starts`` best rows of ``pool``, with a share of the budget."""
    good = np.isfinite(vals)
    if not good.any() or budget.left() <= 0:
        return None
    order = np.argsort(np.where(good, -vals, np.inf), kind="stable")[:n_starts]
    sub = _Budget(int(budget.left() * share * 0.8), None)
    sub.deadline = budget.deadline
    ys, v, t = _ascend(space, objective, pool[order], sub, rng)
    budget.spend(sub.used)
    return ys, v, t


def _counterexample(kind, model, space, y, value, tol, method, dt, rtol, atol, traj_case, n_times, shrink,
                    budget, step, bound):
    found_state, found_value = y.copy(), float(value)
    ce = CounterExample(kind=kind, state=y, value=float(value), tolerance=float(tol), found_state=found_state,
                        found_value=found_value)
    if kind == "step":
        ce.method, ce.dt = method, dt
    objective = None
    if kind == "rate":
        objective = _RateObjective(model, rtol, atol)
    elif kind == "step":
        objective = step
    elif kind == "unbounded":
        objective = _RayObjective(model, rtol, atol)
        ce.value = -float(value)  # the slope itself
        ce.found_value = ce.value
    else:  # trajectory: re-solve from candidate starts
        _, member, k, span, kw = traj_case
        ce.method, ce.t_span, ce.n_times = method, span, n_times
        ce.options = {key: kw[key] for key in ("rtol", "atol") if key in kw}
        objective = _TrajectoryObjective(model, method, span, n_times, ce.options, rtol, atol)
        v, t = _evaluate(objective, y[None], budget)
        ce.value, ce.tolerance, ce.found_value = float(v[0]), float(t[0]), float(v[0])
    if shrink and objective is not None:
        excess = (ce.value if kind != "unbounded" else -ce.value) / ce.tolerance
        holds = _holds(objective, budget, min(SHRINK_MARGIN, excess))
        y_new, steps = _shrink(space, y, holds, budget)
        v, t = _evaluate(objective, y_new[None], budget)
        if np.isfinite(v[0]) and v[0] > t[0]:
            ce.state, ce.shrunk = y_new, steps
            ce.value, ce.tolerance = (float(-v[0]) if kind == "unbounded" else float(v[0])), float(t[0])
        if kind == "step":
            _reduce_step(ce, step, bound, budget, min(SHRINK_MARGIN, excess))
    return ce


class _TrajectoryObjective:
    kind = "trajectory"

    def __init__(self, model, method, span, n_times, options, rtol, atol):
        self.model, self.method, self.span, self.n_times, self.options = model, method, span, n_times, options
        self.rtol, self.atol = rtol, atol

    def __call__(self, ys):
        """(largest energy change between outputs, its allowed increase) of each trajectory."""
        with np.errstate(all="ignore"):
            sol = solve(self.model, self.span, ys, method=self.method, t_eval=np.linspace(*self.span, self.n_times),
                        **self.options)
        e = np.asarray(sol.energy, dtype=np.float64).reshape(len(ys), -1)
        exc, allowed = _pair_excess(e, self.rtol, self.atol)
        exc = np.where(np.isfinite(exc), exc, -np.inf)
        k = np.argmax(exc, axis=1)
        rows = np.arange(len(ys))
        value = np.diff(e, axis=1)[rows, k]
        return np.where(np.isfinite(exc[rows, k]), value, np.nan), allowed[rows, k], int(np.sum(sol.nfev))


def _reduce_step(ce, step, bound, budget, margin):
    """Replace ``ce.dt`` by the smallest of 24 geometric steps in [bound or dt/100, dt] that still raises the energy,
    rounded up to two significant digits when that still does."""
    lo = bound if bound is not None and 0 < bound < ce.dt else ce.dt / 100
    grid = np.geomspace(lo, ce.dt, 24)
    y = ce.state[None]
    for dt in grid:
        if budget.left() <= 0:
            break
        v, t, cost = step(y, dt=float(dt))
        budget.spend(cost)
        if np.isfinite(v[0]) and v[0] > margin * t[0]:
            nice = float(f"{dt:.2g}")
            if nice < dt:
                nice = float(f"{dt * 1.05:.2g}") if float(f"{dt * 1.05:.2g}") >= dt else dt
            for cand in (nice, float(dt)):
                v2, t2, cost = step(y, dt=cand)
                budget.spend(cost)
                if np.isfinite(v2[0]) and v2[0] > margin * t2[0]:
                    if cand < ce.dt:
                        ce.shrunk.append(f"reduced the step {ce.dt:.6g} -> {cand:.6g}")
                        ce.dt, ce.value, ce.tolerance = cand, float(v2[0]), float(t2[0])
                    return
            return


# --------------------------------------------------------------------------- CLI entry points
def verify_config(path, **kwargs):
    """:func:`verify` the model of a TOML config, with its ``[solve]`` settings.

    The method, ``dt``, ``rtol``, ``atol`` and ``(t_start, t_end)`` of the config's
    ``[solve]`` table are checked (verify's defaults where the config has none), and the
    config's initial state is one of the trajectories' starts.

    Parameters
    ----------
    path : str, Path or dict
        A config that ``oscihop run`` accepts, or a spec dict (validated with
        :func:`oscihop.spec.validate_spec`), e.g. a loaded config with overrides.
    **kwargs
        Further :func:`verify` arguments (``seed``, ``max_evals``, ...); they override the
        config's.

    Returns
    -------
    VerifyReport

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from oscihop.verification import verify_config
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "kur.toml"
    >>> _ = path.write_text('[model]\\nkind = "kuramoto"\\nn = 6\\n[kuramoto]\\ndim = 3\\n'
    ...                     'graph = "mean-field"\\ncoupling = 2.0\\n[solve]\\nmethod = "Euler"\\n'
    ...                     'dt = 0.05\\nt_end = 2.0\\n')
    >>> report = verify_config(path)
    >>> report.method, report.dt, report.exit_code
    ('Euler', 0.05, 0)
    """
    from .spec import build_from_spec, load_config, validate_spec

    spec = validate_spec(path) if isinstance(path, dict) else load_config(path)
    model, y0 = build_from_spec(spec)
    return verify(model, **_solve_settings(spec["solve"], y0, kwargs))


def _solve_settings(solve_spec, y0, kwargs):
    settings = {"method": solve_spec["method"], "t_span": (solve_spec["t_start"], solve_spec["t_end"]),
                "starts": y0}
    for name in ("dt", "rtol", "atol"):
        if solve_spec.get(name) is not None:
            settings[name] = solve_spec[name]
    settings.update(kwargs)
    return settings


def verify_store(path, **kwargs):
    """:func:`verify` the model of a trajectory store with the method and options it was solved with.

    The stored trajectory's initial state(s) are among the starts, its method, ``dt``,
    ``rtol``, ``atol`` and ``t_span`` are checked (verify's defaults where the store has none).

    Parameters
    ----------
    path : str, os.PathLike or zarr Store
        A store written by ``sol.to_zarr`` or :func:`oscihop.solve_to_zarr`.
    **kwargs
        Further :func:`verify` arguments; they override the store's.

    Returns
    -------
    VerifyReport

    Examples
    --------
    >>> import numpy as np, oscihop as oh, zarr
    >>> from oscihop.verification import verify_store
    >>> kur = oh.Kuramoto(3, coupling="mean-field", strength=2.0, n=4)
    >>> store = zarr.storage.MemoryStore()
    >>> oh.solve(kur, (0, 1), kur.random_state(seed=0), t_eval=[0, 1]).to_zarr(store)
    >>> verify_store(store).exit_code
    0
    """
    from .io.trajectory import load_model, open_trajectory

    model = load_model(path)
    ds = open_trajectory(path)
    options = json.loads(ds.attrs.get("options", "{}"))
    h = ds["h"].values if "h" in ds else None
    x = ds["x"].values if "x" in ds else None
    states = model.pack(h=h, x=x)  # (..., time, size)
    starts = np.asarray(states, dtype=np.float64)[..., 0, :].reshape(-1, model.size)
    settings = {"method": ds.attrs.get("method", "RK45"), "starts": starts}
    if options.get("t_span") is not None:
        settings["t_span"] = tuple(options["t_span"])
    for name in ("dt", "rtol", "atol"):
        if options.get(name) is not None and (name == "dt") == (METHODS[settings["method"]].kind == "fixed"):
            settings[name] = options[name]
    settings.update(kwargs)
    return verify(model, **settings)
