"""``oh.solve``: a scipy-style driver over the compiled loops."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import config
from .._threads import even_blocks, run_blocks
from .._validation import as_float_array, check_choice, check_size, resolve_dtype, warn_unknown_options
from ..kernels.system import batch_energy, link
from ..models.base import Model
from ..models.stack import ModelStack
from . import loops
from .methods import METHODS
from .result import Solution
from .times import (
    DEFAULT_MAX_STEPS,
    MAX_STEPS_LIMIT,
    check_step_count,
    check_t_eval,
    check_t_span,
    fixed_substeps,
)

__all__ = [
    "BACKENDS", "DEFAULT_RTOL", "DEFAULT_ATOL", "run_in_blocks", "solve", "flag_nonfinite",
    "fixed_time_grid", "initial_states", "LOCKSTEP_MIN_BATCH",
]

BACKENDS = ("cpu", "cuda", "auto")
DEFAULT_RTOL = 1e-3
DEFAULT_ATOL = 1e-6

# Per-call constants, computed once (``np.dtype.name`` and ``np.finfo`` cost microseconds a call).
_F64, _F32 = np.dtype(np.float64), np.dtype(np.float32)
_DTYPE_NAMES = {_F64: "float64", _F32: "float32"}
_EPS = {_F64: float(np.finfo(np.float64).eps), _F32: float(np.finfo(np.float32).eps)}


def _scalar(value, name, positive=False, allow_inf=False):
    if type(value) is float:  # the common case: skip the (slow) abstract-base-class checks
        v = value
    elif isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"`{name}` must be a real number; got {value!r}.")
    else:
        v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"`{name}` must be finite; got {value!r}.")
    if positive and v <= 0:
        raise ValueError(f"`{name}` must be > 0; got {value!r}.")
    return v


#: Entries (rows x state size) from which a batch's output energies are shared out over
#: threads: below it the pool costs more than it saves (tens of microseconds).
_PARALLEL_ENERGY_MIN = 200_000


def run_in_blocks(n_members, run_block):
    """Call ``run_block(lo, hi)`` over contiguous blocks of batch members on the thread pool.

    The compiled ``*_block`` kernels release the GIL, so threads run them in parallel;
    the thread count is Numba's (``NUMBA_NUM_THREADS``).  More blocks than threads
    balance members of uneven cost.  The pool (:mod:`oscihop._threads`) is the adjoint's too.
    """
    threads = min(config.num_threads(), n_members)
    nblocks = 1 if threads <= 1 else min(n_members, 4 * threads)
    run_blocks(even_blocks(n_members, nblocks), run_block, threads)


def _check_backend(backend):
    """``"cpu"`` or ``"cuda"``; CUDA modules are imported only when CUDA is asked for."""
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"`backend` must be one of {list(BACKENDS)}; got {backend!r}.")
    if backend == "cpu":
        return "cpu"
    from ..cuda.backend import resolve_backend

    return resolve_backend(backend)


def _tolerances(rtol, atol, size, dtype):
    eps = _EPS[dtype] if (dtype is _F64 or dtype is _F32) else float(np.finfo(dtype).eps)
    rtol = _scalar(DEFAULT_RTOL if rtol is None else rtol, "rtol", positive=True)
    if rtol < 100 * eps:
        warnings.warn(f"`rtol` = {rtol:g} is too small for {np.dtype(dtype).name}; using 100 eps = {100 * eps:.3g}.",
                      UserWarning, stacklevel=4)
        rtol = 100 * eps
    atol = DEFAULT_ATOL if atol is None else atol
    if type(atol) is float and math.isfinite(atol) and atol >= 0:
        # fast path of a valid scalar: the same values as the general path's full + astype
        return rtol, np.full(size, atol, dtype=dtype)
    a = as_float_array(atol, "atol")
    if a.ndim == 0:
        a = np.full(size, float(a))
    if a.shape != (size,):
        raise ValueError(f"`atol` must be a scalar or have shape ({size},) (one per state entry); got {a.shape}.")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"`atol` must be finite and >= 0; got min {a.min()!r}.")
    return rtol, a.astype(dtype)


#: The one validator of output times (:func:`oscihop.solvers.times.check_t_eval`), under
#: the name the storage layer imports.
_time_grid = check_t_eval


def solve(model, t_span, y0, method="RK45", t_eval=None, rtol=None, atol=None, max_step=np.inf,
          first_step=None, dt=None, max_steps=None, steady_state=None, backend="cpu", dtype=None,
          seed=None, **options):
    """Integrate a model over ``t_span`` from ``y0`` (one state or a batch).

    Parameters
    ----------
    model : Hopfield, Kuramoto or HopfieldKuramoto
    t_span : (float, float)
        ``(t0, t1)``, finite reals with ``t1 >= t0`` (required, as by every entry point).
        For ``method="async"``: sweeps ``(0, S)``.
    y0 : array_like, shape (size,) or (B, size)
        Initial state(s); oscillators must have unit length (see ``model.normalize``).
        A batch integrates every member with its own step size, in parallel.
    method : str, default "RK45"
        ``"RK45"``, ``"RK23"``, ``"Tsit5"`` (adaptive), ``"Euler"``, ``"RK4"``,
        ``"Geometric"``, ``"AKOrN"`` (fixed step ``dt``), ``"async"`` (binary Hopfield).
        The default of :func:`oscihop.value_and_grad` and :func:`oscihop.sweep` too.
    t_eval : array_like, optional
        Output times: finite, within ``t_span`` and strictly increasing (scipy's rule;
        :func:`oscihop.solvers.times.check_t_eval`, shared by every entry point).
        Default: every accepted step (one adaptive trajectory), the ends of ``t_span``
        (an adaptive batch), every step (fixed-step methods), every sweep (``async``).
    rtol, atol : float (atol also (size,)), default 1e-3, 1e-6
        Tolerances of the adaptive methods (scipy's error norm).
    max_step : float, default inf
    first_step : float, optional
        Initial step; default chosen by scipy's algorithm.
    dt : float
        Step of the fixed-step methods (required there); steps never cross an
        output time.  ``gamma`` is an alias for ``method="AKOrN"``.  The steps it
        implies are counted before anything runs: more than ``max_steps`` when that is
        not given (10^6), or more than 2**53 ever, is a ``ValueError`` naming ``dt``
        (pass a larger ``dt``, or ``max_steps``).
    max_steps : int, optional
        Limit on steps (accepted steps of the adaptive methods, steps of the fixed-step
        ones, sweeps of ``async``); default 10^6 for every method, as for
        :func:`oscihop.value_and_grad`.  Running out returns a failed Solution
        (``status`` -1, ``success=False``, later outputs NaN), not an exception; a
        ``max_steps`` given explicitly below the steps ``dt`` needs stops the run there
        in the same way.  Integral floats (``1e6``) are accepted.
    steady_state : float, optional
        Stop once ``max |dy/dt| < steady_state``; later outputs hold that state.
    backend : {"cpu", "cuda", "auto"}, default "cpu"
        ``"cuda"`` runs the whole solve on an NVIDIA GPU (or numba's CUDA simulator when
        ``NUMBA_ENABLE_CUDASIM=1``) and raises ``RuntimeError`` saying how to fix it when
        there is none; ``"auto"`` picks CUDA when a real GPU is present, the CPU otherwise.
        Same methods, options and results (to rounding) on both.  CUDA-only options:
        ``layout`` (``"auto"``, ``"thread"``: one thread per trajectory, ``"block"``: one
        thread block per trajectory) and ``threads_per_block``.  See the GPU guide.
    dtype : {"float64", "float32"}, optional
        Precision of the whole solve; default float64, or float32 when ``y0`` is a
        float32 array (pass ``dtype="float64"`` to solve a float32 ``y0`` in double).
    seed : int, optional
        Random unit order of ``method="async"`` (one stream per batch member).

    Returns
    -------
    Solution
        ``t``, ``y`` ((size, T) or (B, size, T)), ``energy``, ``status``, ``message``,
        ``success``, ``nfev``, ``nsteps``, ``method``, ``options``.  A state or energy
        that is NaN or inf at any output (the last one included) makes its member fail
        with ``status`` -3, whatever the method or backend; the message gives the time.

    Notes
    -----
    The whole loop over steps and stages is compiled.  RK23 and RK45 reproduce
    scipy's step-size control (initial step, error norm, safety factors), so on models
    without oscillators they take the steps ``scipy.integrate.solve_ivp(model.rhs, ...)``
    takes; with oscillators the renormalisation below makes the steps differ by the
    order of the local error.  Non-geometric
    methods keep oscillators on the sphere by the retraction ``x_i <- x_i / |x_i|``
    after every accepted step and at every output; ``"Geometric"`` moves them by exact
    rotations instead.

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> kur = oh.Kuramoto(3, edges=[[0, 1], [1, 2]], coupling=1.0)
    >>> y0 = kur.random_state(seed=1, batch=4)
    >>> sol = oh.solve(kur, (0.0, 5.0), y0, t_eval=np.linspace(0, 5, 6))
    >>> sol.y.shape, sol.energy.shape, sol.success
    ((4, 9, 6), (4, 6), True)
    """
    if not isinstance(model, Model):
        raise ValueError(f"`model` must be an oscihop model (Hopfield, Kuramoto, HopfieldKuramoto); got {type(model).__name__}.")
    check_choice(method, METHODS, "method")
    meth = METHODS[method]
    used_backend = _check_backend(backend)

    # ---- options that apply to this method (or backend) only
    extraneous = dict(options)
    cuda_opts = {}
    if used_backend == "cuda":
        from ..cuda.backend import check_layout

        cuda_opts = {"layout": extraneous.pop("layout", "auto"),
                     "threads_per_block": extraneous.pop("threads_per_block", None)}
        check_layout(cuda_opts["layout"], cuda_opts["threads_per_block"])
    if "gamma" in extraneous and method == "AKOrN":
        gamma = extraneous.pop("gamma")
        if dt is not None and dt != gamma:
            raise ValueError(f"`gamma` and `dt` are the same step for method='AKOrN'; got gamma={gamma!r}, dt={dt!r}.")
        dt = gamma
    given = dict(rtol=rtol, atol=atol, first_step=first_step, dt=dt, seed=seed)
    if not (math.isinf(max_step) if type(max_step) is float
            else isinstance(max_step, (numbers.Real, np.floating)) and np.isinf(max_step)):
        given["max_step"] = max_step
    for name, value in given.items():
        if value is not None and name not in meth.options:
            extraneous[name] = value
    if extraneous:
        warn_unknown_options(extraneous, f"method={method!r}")

    # ---- time span
    t0, t1 = check_t_span(t_span)

    # ---- state and precision
    ys, single, dt_type = initial_states(model, y0, dtype)
    p = model.params(dt_type)
    # the float parameter rows of the members: a stack's own (one per member), else the one row they share
    fps = model.member_rows(dt_type) if isinstance(model, ModelStack) else p.fp[None]
    nb, size = ys.shape

    steady = 0.0 if steady_state is None else _scalar(steady_state, "steady_state", positive=True)
    if max_steps is not None:
        max_steps = check_size(max_steps, "max_steps", minimum=0, maximum=MAX_STEPS_LIMIT)
    opts = dict(t_span=(t0, t1), dtype=_DTYPE_NAMES.get(dt_type) or dt_type.name, backend=used_backend,
                steady_state=steady_state)
    if used_backend == "cuda":
        opts["cuda"] = dict(cuda_opts)

    is_sign = getattr(model, "activation", None) == "sign"
    if meth.kind == "async":
        if not is_sign:
            raise ValueError(
                "`method`='async' integrates the binary Hopfield network only; build it with activation='sign'."
            )
        states, stats, t_out = _solve_async(p, fps, ys, t0, t1, t_eval, max_steps, seed, opts, cuda_opts)
    else:
        if is_sign:
            raise ValueError(
                f"`method`={method!r} needs a smooth activation; the binary model (activation='sign') "
                "is integrated with method='async'."
            )
        if meth.kind == "fixed":
            states, stats, t_out = _solve_fixed(p, fps, ys, t0, t1, t_eval, dt, meth, max_steps, steady, opts,
                                                cuda_opts)
        else:
            states, stats, t_out = _solve_adaptive(p, fps, ys, t0, t1, t_eval, rtol, atol, max_step, first_step,
                                                   max_steps, steady, meth, single, opts, cuda_opts)

    if used_backend == "cuda":
        energy = opts["cuda"].pop("energy")  # computed on the device
        flag_nonfinite(states, energy, t_out, stats)
        if single:
            states, energy = states[0], energy[0]
    elif (energy := _conv_energies(p, fps, states)) is not None:  # a convolution: members batched
        states = np.ascontiguousarray(states)
        flag_nonfinite(states, energy, t_out, stats)
        if single:
            states, energy = states[0], energy[0]
    elif single:  # one trajectory: its energies go straight into a (T,) array
        states = np.ascontiguousarray(states[0])
        energy = np.empty(states.shape[0], dtype=dt_type)
        lp = link(p)  # the energy loop compiles once for every model kind
        batch_energy(lp, fps, states[None], energy[None])
        flag_nonfinite(states[None], energy[None], t_out, stats)
    else:
        states = np.ascontiguousarray(states)
        energy = np.empty(states.shape[:2], dtype=dt_type)
        lp = link(p)
        if states.size >= _PARALLEL_ENERGY_MIN and fps.shape[0] > 1:  # members on the thread pool, like the solves
            run_in_blocks(nb, lambda lo, hi: batch_energy(lp, _rows(fps, lo, hi), states[lo:hi], energy[lo:hi]))
        elif states.size >= _PARALLEL_ENERGY_MIN:  # one model: every output row on the thread pool
            flat, e_flat = states.reshape(-1, 1, size), energy.reshape(-1, 1)
            run_in_blocks(flat.shape[0], lambda lo, hi: batch_energy(lp, fps, flat[lo:hi], e_flat[lo:hi]))
        else:
            batch_energy(lp, fps, states, energy)
        flag_nonfinite(states, energy, t_out, stats)
    return Solution(model, t_out, states, energy, stats, method, opts, batched=not single)


def _rows(fps, lo, hi):
    """The parameter rows of batch members ``lo:hi``: a stack's own rows, or the one shared row."""
    return fps if fps.shape[0] == 1 else fps[lo:hi]


def flag_nonfinite(states, energy, t_out, stats):
    """Fail the members whose outputs hold a non-finite state or energy, from the first one.

    ``states`` (B, T, size), ``energy`` (B, T) and ``stats`` (B, 5) rows of the compiled
    loops, updated in place.  A member with a NaN or inf state or energy at output ``j``
    that reported success (status >= 0), or a failure only later than ``t_out[j]``, gets
    status -3 (:data:`loops.STATUS_NONFINITE`), ``t_final = t_out[j]``, and NaN outputs
    after ``j``, as after any failure.  The loops check the state before every step; this
    catches the last step's overflow and energies that overflow on their own, the same way
    whatever the method, backend or (for streamed solves) block boundaries.
    """
    good = np.isfinite(energy) & np.isfinite(states).all(axis=-1)
    if good.all():
        return
    for b in np.flatnonzero(~good.all(axis=1)):
        j = int(np.argmin(good[b]))
        if stats[b, loops.ST_STATUS] >= 0 or t_out[j] < stats[b, loops.ST_T]:
            stats[b, loops.ST_STATUS] = loops.STATUS_NONFINITE
            stats[b, loops.ST_T] = t_out[j]
            states[b, j + 1:] = np.nan
            energy[b, j + 1:] = np.nan


def _cuda_done(opts, energy, layout, threads):
    opts["cuda"].update(energy=energy, layout=layout, threads_per_block=threads)


def initial_states(model, y0, dtype):
    """``(ys, single, dtype)``: ``y0`` checked and converted for ``model``, as ``oh.solve`` and
    ``oh.value_and_grad`` take it.

    ``ys`` is (B, size) and C-contiguous in the solve's dtype: ``dtype`` if given, else
    float32 for a float32 ``y0`` and float64 otherwise; ``single`` says whether ``y0`` was one
    state.  Complex, bool, masked or string input, a wrong shape, and oscillators off the unit
    sphere raise ``ValueError`` naming ``y0``.
    """
    if not (type(y0) is np.ndarray and y0.dtype.kind == "f"):  # refuse complex, bool, masked, strings
        y0 = as_float_array(y0, "y0", dtype=None)
    ys, single = model._coerce(y0, "y0")
    dt_type = resolve_dtype(dtype if dtype is not None else (np.float32 if ys.dtype == np.float32 else None))
    ys = np.ascontiguousarray(ys, dtype=dt_type)
    model.check_unit(ys, "y0")
    return ys, single, dt_type


def _solve_adaptive(p, fps, ys, t0, t1, t_eval, rtol, atol, max_step, first_step, max_steps, steady, meth, single, opts,
                    cuda_opts):
    nb, size = ys.shape
    dt_type = ys.dtype
    uniform = atol is None or type(atol) is float  # a scalar atol fills every entry alike
    rtol, atol = _tolerances(rtol, atol, size, dt_type)
    max_step = _scalar(max_step, "max_step", positive=True, allow_inf=True)
    h0 = 0.0
    if first_step is not None:
        h0 = _scalar(first_step, "first_step", positive=True)
        if h0 > max(t1 - t0, 0.0) and t1 > t0:
            raise ValueError(f"`first_step` must not exceed the interval length {t1 - t0}; got {first_step!r}.")
    limit = DEFAULT_MAX_STEPS if max_steps is None else int(max_steps)
    tab = meth.tableau
    opts.update(rtol=rtol, atol=float(atol[0]) if uniform or (atol == atol[0]).all() else atol, max_step=max_step,
                first_step=first_step, max_steps=limit)
    stats = np.zeros((nb, loops.N_STATS))
    if cuda_opts:
        from ..cuda import backend as gpu

        te = None if (t_eval is None and single) else (np.array([t0, t1]) if t_eval is None
                                                       else check_t_eval(t_eval, t0, t1))
        states, stats, t_out, energy, lay, nt = gpu.run_adaptive(
            p._replace(fp=fps), ys, t0, t1, te, rtol, atol, max_step, np.full(nb, h0), limit, steady, tab,
            cuda_opts["layout"], cuda_opts["threads_per_block"])
        _cuda_done(opts, energy, lay, nt)
        return states, stats, t_out
    if t_eval is None and single:
        cap = 256
        out_t, out_y, n_out = loops.erk_member(
            link(p), ys[0], t0, t1, np.empty(0), rtol, atol, max_step, h0, limit, steady,
            tab.A, tab.B, tab.E, tab.P, tab.error_estimator_order,
            np.empty(cap), np.empty((cap, size), dtype=dt_type), stats[0], True)
        return out_y[:n_out][None].copy(), stats, out_t[:n_out].copy()
    te = np.array([t0, t1]) if t_eval is None else check_t_eval(t_eval, t0, t1)
    out = np.empty((nb, te.shape[0], size), dtype=dt_type)
    if single:  # the member loop itself, compiled once for both single paths (erk_block adds a level)
        loops.erk_member(link(p)._replace(fp=fps[0]), ys[0], t0, t1, te, rtol, atol, max_step, h0, limit, steady,
                         tab.A, tab.B, tab.E, tab.P, tab.error_estimator_order, te, out[0], stats[0], False)
    elif nb >= LOCKSTEP_MIN_BATCH and fps.shape[0] == 1 and _use_erk_lockstep(p):
        _run_erk_lockstep(p, ys, t0, t1, te, rtol, atol, max_step, np.full(nb, h0), limit, steady, tab, out, stats)
    else:
        h0s = np.full(nb, h0)
        lp = link(p)  # the loops compile once for every model kind (docs/architecture.md)
        run_in_blocks(nb, lambda lo, hi: loops.erk_block(
            lp, _rows(fps, lo, hi), ys[lo:hi], t0, t1, te, rtol, atol, max_step, h0s[lo:hi], limit, steady,
            tab.A, tab.B, tab.E, tab.P, tab.error_estimator_order, out[lo:hi], stats[lo:hi]))
    return out, stats, te


def fixed_time_grid(t0, t1, t_eval, dt, max_steps):
    """Output times and step counts of a fixed-step solve, checked before anything runs.

    Returns ``(te, n_before, nsub)``: the output times (every step when ``t_eval`` is None),
    the outputs at ``t0`` and the steps of each later output interval (int64), as the
    compiled loops cut them.  The total must pass
    :func:`oscihop.solvers.times.check_step_count` (``ValueError`` naming ``dt``).
    """
    over = f"t_span = ({t0}, {t1})"
    if t_eval is None:
        with np.errstate(over="ignore"):
            n = float(np.ceil((t1 - t0) / dt * (1.0 - 1e-12))) if t1 > t0 else 0.0
        check_step_count(n, max_steps, name="dt", value=dt, over=over, every_step=True)
        nstep = int(n)
        te = t0 + dt * np.arange(nstep + 1)
        te[-1] = t1
    else:
        te = check_t_eval(t_eval, t0, t1)
    n_before, nsub = fixed_substeps(t0, te, dt)
    if t_eval is not None:
        check_step_count(float(nsub.sum()), max_steps, name="dt", value=dt, over=over)
    return te, n_before, nsub.astype(np.int64)


def _solve_fixed(p, fps, ys, t0, t1, t_eval, dt, meth, max_steps, steady, opts, cuda_opts):
    nb, size = ys.shape
    if dt is None:
        alias = " (or `gamma`)" if meth.name == "AKOrN" else ""
        raise ValueError(f"`dt`{alias} is required for the fixed-step method {meth.name!r}; pass dt=<step>, e.g. dt=0.01.")
    dt = _scalar(dt, "dt", positive=True)
    te = fixed_time_grid(t0, t1, t_eval, dt, max_steps)[0]
    limit = MAX_STEPS_LIMIT if max_steps is None else int(max_steps)  # the count is checked above
    opts.update(dt=dt, max_steps=max_steps)
    if cuda_opts:
        from ..cuda import backend as gpu

        states, stats, t_out, energy, lay, nt = gpu.run_fixed(p._replace(fp=fps), ys, t0, te, dt, meth.scheme, limit, steady,
                                                              cuda_opts["layout"], cuda_opts["threads_per_block"])
        _cuda_done(opts, energy, lay, nt)
        return states, stats, t_out
    out = np.empty((nb, te.shape[0], size), dtype=ys.dtype)
    stats = np.zeros((nb, loops.N_STATS))
    if nb == 1:  # a block of one: the same compiled loop as a batch (one compilation, not two)
        loops.fixed_block(link(p), fps, ys, t0, te, dt, meth.scheme, limit, steady, out, stats)
    elif fps.shape[0] == 1 and _use_lockstep(p, nb, meth.scheme):
        _run_lockstep(p, ys, t0, te, dt, meth.scheme, limit, steady, out, stats)
    else:
        lp = link(p)
        run_in_blocks(nb, lambda lo, hi: loops.fixed_block(
            lp, _rows(fps, lo, hi), ys[lo:hi], t0, te, dt, meth.scheme, limit, steady, out[lo:hi], stats[lo:hi]))
    return out, stats, te


def _conv_energies(p, fps, states):
    """Energies (B, T) of a convolutional Kuramoto model's outputs through the batched products
    of :func:`oscihop.kernels.batched.conv_energies`; None for other models."""
    from ..kernels.batched import conv_energies, conv_energy_ok, work_t_size

    if not conv_energy_ok(p, fps):
        return None
    nb, nt, size = states.shape
    energy = np.empty((nb, nt), dtype=states.dtype)
    states = np.ascontiguousarray(states)

    def block(lo, hi):
        conv_energies(p, states[lo:hi], energy[lo:hi],
                      np.empty(work_t_size(p, hi - lo) + 2 * size * (hi - lo), dtype=states.dtype))

    threads = min(config.num_threads(), nb)
    if threads <= 1:
        block(0, nb)
    else:  # members on Numba's threads, one BLAS thread each, as in _run_lockstep
        with config.blas_threads(1):
            run_blocks(even_blocks(nb, threads), block, threads)
    return energy


#: Smallest batch worth stepping in lockstep (one BLAS product for all members).
LOCKSTEP_MIN_BATCH = 4


def _use_lockstep(p, nb, scheme):
    """Lockstep batches (:mod:`oscihop.solvers.lockstep`) pay off where a dense or low-rank
    coupling turns the members' matrix-vector products into one BLAS matrix product, and for
    a convolution (a product per kernel tap; from one member on: the images are large)."""
    from ..kernels import params as P
    from ..kernels.batched import has_fast_path

    if scheme not in (loops.SCHEME_EULER, loops.SCHEME_RK4):
        return False
    ip = p.ip
    if int(ip[P.I_NK]) > 0 and int(ip[P.I_K_KIND]) == P.K_CONV:
        return bool(has_fast_path(p))
    if nb < LOCKSTEP_MIN_BATCH:
        return False
    matrix = (int(ip[P.I_NH]) > 0 and int(ip[P.I_W_KIND]) in (P.W_DENSE, P.W_LOWRANK)) or (
        int(ip[P.I_NK]) > 0 and int(ip[P.I_K_KIND]) in (P.K_DENSE, P.K_LOWRANK))
    return matrix and bool(has_fast_path(p))


def _use_erk_lockstep(p):
    """Adaptive lockstep (:func:`oscihop.solvers.lockstep.erk_lockstep`) where its batched
    right-hand side is vectorised across members; see ``batched.fused_lockstep_ok``."""
    from ..kernels.batched import fused_lockstep_ok

    return fused_lockstep_ok(p)


def _run_erk_lockstep(p, ys, t0, t1, te, rtol, atol, max_step, h0s, limit, steady, tab, out, stats):
    """One adaptive lockstep block per thread (each member keeps its own step size)."""
    from ..kernels.batched import work_t_size
    from .lockstep import erk_lockstep

    nb = ys.shape[0]
    threads = min(config.num_threads(), nb // LOCKSTEP_MIN_BATCH) or 1

    lp = link(p, "rhs_shared_t")  # the lockstep loop compiles once for every model kind

    def block(lo, hi):
        erk_lockstep(lp, ys[lo:hi], t0, t1, te, rtol, atol, max_step, h0s[lo:hi], limit, steady,
                     tab.A, tab.B, tab.E, tab.P, tab.error_estimator_order, out[lo:hi], stats[lo:hi],
                     np.empty(work_t_size(p, hi - lo), dtype=ys.dtype))

    run_blocks(even_blocks(nb, threads), block, threads)


def _run_lockstep(p, ys, t0, te, dt, scheme, limit, steady, out, stats):
    """Lockstep blocks on Numba's threads; BLAS gets one thread per block (no oversubscription)."""
    from ..kernels.batched import work_t_size
    from .lockstep import fixed_lockstep

    nb = ys.shape[0]
    threads = min(config.num_threads(), nb // LOCKSTEP_MIN_BATCH) or 1

    lp = link(p, "rhs_t")  # the lockstep loop compiles once for every model kind

    def block(lo, hi):
        fixed_lockstep(lp, ys[lo:hi], t0, te, dt, scheme, limit, steady, out[lo:hi], stats[lo:hi],
                       np.empty(work_t_size(p, hi - lo), dtype=ys.dtype))

    if threads <= 1:
        block(0, nb)
        return
    with config.blas_threads(1):
        run_blocks(even_blocks(nb, threads), block, threads)


def _solve_async(p, fps, ys, t0, t1, t_eval, max_steps, seed, opts, cuda_opts):
    nb, size = ys.shape
    if t0 != 0 or t1 != int(t1):
        raise ValueError(f"`t_span` counts sweeps for method='async': it must be (0, S) with integer S; got ({t0}, {t1}).")
    if np.any(np.abs(np.abs(ys) - 1) > 0):
        b, i = np.argwhere(np.abs(np.abs(ys) - 1) > 0)[0]
        raise ValueError(
            f"`y0` must hold +-1 spins for method='async'; unit {i} is {ys[b, i]!r}. Use np.where(h > 0, 1.0, -1.0)."
        )
    check_step_count(t1, max_steps, name="t_span", value=(t0, t1), what="sweeps", over="t_span",
                     every_step=t_eval is None)
    sweeps = int(t1)
    if max_steps is not None:
        sweeps = min(sweeps, int(max_steps))
    if t_eval is None:
        te = np.arange(int(t1) + 1, dtype=np.float64)
    else:
        te = check_t_eval(t_eval, t0, t1)
        if np.any(te != np.round(te)):
            raise ValueError("`t_eval` must hold whole sweeps (integers) for method='async'.")
    if seed is not None and (isinstance(seed, (bool, np.bool_))
                             or not isinstance(seed, (numbers.Integral, np.integer, np.random.SeedSequence))
                             or (not isinstance(seed, np.random.SeedSequence) and seed < 0)):
        raise ValueError(f"`seed` must be a non-negative integer or a numpy SeedSequence; got {seed!r}.")
    seeds = np.random.default_rng(seed).integers(0, 2**63 - 1, size=nb, dtype=np.int64)
    opts.update(seed=seed, max_steps=max_steps, member_seeds=seeds)
    out = np.empty((nb, te.shape[0], size), dtype=ys.dtype)
    stats = np.zeros((nb, loops.N_STATS))
    out_sweeps = te.astype(np.int64)
    if cuda_opts:
        from ..cuda import backend as gpu
        from ..kernels.params import I_W_KIND, I_W_RANK, W_LOWRANK

        rank = int(p.ip[I_W_RANK]) if p.ip[I_W_KIND] == W_LOWRANK else 0
        states, stats, energy, lay, nt = gpu.run_async(p._replace(fp=fps), ys, out_sweeps, sweeps, int(t1), seeds, rank,
                                                       cuda_opts["threads_per_block"])
        _cuda_done(opts, energy, lay, nt)
        return states, stats, te
    if nb == 1:
        loops.async_member(p._replace(fp=fps[0]), ys[0], out_sweeps, sweeps, int(t1), seeds[0], out[0], stats[0])
    else:
        run_in_blocks(nb, lambda lo, hi: loops.async_block(
            p, _rows(fps, lo, hi), ys[lo:hi], out_sweeps, sweeps, int(t1), seeds[lo:hi], out[lo:hi], stats[lo:hi]))
    return out, stats, te
