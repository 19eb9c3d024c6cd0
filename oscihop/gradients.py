"""Gradients through the dynamics: ``oh.value_and_grad`` and ``oh.gradient``.

``oh.value_and_grad(model, loss, y0, ...)`` checks its arguments, integrates the model forward
with the compiled passes of :mod:`oscihop.adjoint` (recording the accepted step sizes and a
tape), calls ``loss`` on the states they produced, and runs the compiled adjoint of every
step backwards.  Blocks of batch members run on the persistent thread pool of
:mod:`oscihop._threads` (inline when the work is small), each block summing its own
parameter gradient, the blocks' sums added in a fixed order.

The gradient is the exact derivative of the *discrete* map the solver computes, with the
accepted step sizes held fixed.  See ``docs/gradients.md``.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import config
from ._threads import even_blocks, run_blocks
from ._validation import check_size
from .adjoint import backward_member, erk_forward_member, grid_forward_member, grid_forward_tape
from .kernels.params import generic
from .models.base import Model
from .models.stack import ModelStack
from .solvers.loops import N_STATS, ST_NFEV, ST_NREJ, ST_NSTEPS, ST_STATUS, ST_T
from .solvers.methods import METHODS
from .solvers.result import batch_message, status_message
from .solvers.solve import _scalar, _tolerances, fixed_time_grid, initial_states
from .solvers.times import DEFAULT_MAX_STEPS, MAX_STEPS_LIMIT, check_t_eval, check_t_span

__all__ = ["value_and_grad", "gradient", "GradientResult", "SUPPORTED_METHODS"]

#: Methods whose steps the adjoint differentiates.
SUPPORTED_METHODS = ("Tsit5", "RK45", "RK23", "Euler", "RK4", "AKOrN")

_FIXED_TABLEAUS = {
    "Euler": (np.zeros((1, 1)), np.array([1.0])),
    "AKOrN": (np.zeros((1, 1)), np.array([1.0])),
    "RK4": (np.array([[0.0, 0, 0, 0], [0.5, 0, 0, 0], [0.0, 0.5, 0, 0], [0.0, 0, 1.0, 0]]),
            np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6])),
}


@dataclass
class GradientResult:
    """What :func:`value_and_grad` returns.

    Attributes
    ----------
    value : float
        The loss value.
    grads : dict
        Parameter name -> gradient, shaped like ``model.parameters()[name]``.
    y0 : ndarray
        Gradient with respect to the initial state(s), shaped like ``y0``.
    y : ndarray
        The forward states the loss saw.
    stats : dict
        ``nfev`` (forward right-hand-side evaluations, all members), ``nfev_backward``
        (recomputations in the backward pass), ``nvjp`` (vector-Jacobian products),
        ``nsteps`` (accepted steps per member, an int array), ``nrejected``,
        ``step_sizes`` (the accepted steps, an array per member),
        ``checkpoint_every``, ``stage_tape`` (whether a member kept every stage),
        ``memory_bytes`` (tape: stages or checkpoints and step sizes of all members, plus
        the backward pass's per-thread buffers and per-block gradients), ``tape_bytes``,
        ``time_forward``, ``time_loss``, ``time_backward`` (seconds).
    status : int or ndarray (B,)
        The forward solve's status per member, the codes of :class:`oscihop.Solution`:
        0 reached ``t_span[1]``; -1 ``max_steps`` exhausted; -2 step size underflow;
        -3 non-finite state.
    message : str
        What happened, with the time of a failure and what to change.
    success : bool
        ``status >= 0`` for every member.  On failure ``value``, ``grads`` and ``y0`` are
        NaN (the loss is not called) and :func:`value_and_grad` warns (``RuntimeWarning``).
    """

    value: float
    grads: dict
    y0: np.ndarray
    y: np.ndarray
    stats: dict = field(default_factory=dict)
    status: object = 0
    message: str = "The solver successfully reached the end of the integration interval."
    success: bool = True

    def __repr__(self):
        shapes = ", ".join(f"{k}: {np.shape(v)}" for k, v in self.grads.items())
        return (f"GradientResult(value={self.value:.6g}, grads={{{shapes}}}, y0: {self.y0.shape}, "
                f"nsteps={int(np.sum(self.stats.get('nsteps', 0)))}, memory_bytes={self.stats.get('memory_bytes')}, "
                f"success={self.success})")


def _check_method(method):
    if not isinstance(method, str) or method not in SUPPORTED_METHODS:
        why = ""
        if not isinstance(method, str):
            why = f" (a {type(method).__name__}, not a method name)"
        elif method == "Geometric":
            why = " (its exact rotations are not differentiated in this version)"
        elif method == "async":
            why = " (binary updates have no derivative)"
        elif method not in METHODS:
            why = " (not a method name)"
        raise ValueError(
            f"`method` must be one of {list(SUPPORTED_METHODS)} for gradients; got {method!r}{why}. "
            "Use method='RK45' (adaptive, the default) or 'RK4' (fixed step)."
        )


def _seen_states(y_final, out, te, single):
    """The states the loss sees: the final state, or the states at ``t_eval`` ((B,) T x size)."""
    if te is None:
        return y_final[0].copy() if single else y_final
    y_seen = np.ascontiguousarray(np.swapaxes(out, 1, 2))
    return y_seen[0] if single else y_seen


def _check_wrt(wrt, names, aliases=None):
    if wrt is None:
        return list(names)
    if isinstance(wrt, str):
        items = [wrt]
    elif isinstance(wrt, (list, tuple)):
        items = list(wrt)
    else:
        raise ValueError(f"`wrt` must be a parameter name or a list of them; got {wrt!r}. Valid names: {sorted(names)}.")
    for k, name in enumerate(items):
        if isinstance(name, str) and name in (aliases or {}) and name not in names:
            warnings.warn(f"The parameter name {name!r} is deprecated; use {aliases[name]!r}.", DeprecationWarning,
                          stacklevel=3)
            name = items[k] = aliases[name]
        if not isinstance(name, str) or name not in names:
            raise ValueError(
                f"`wrt` names parameters of this model; {name!r} is not one of them. "
                f"Valid names: {sorted(names)} (see model.parameters())."
            )
    return items


def _checkpoint_every(checkpoint, n_steps):
    """Steps between stored states for a run of ``n_steps`` (known) steps."""
    if checkpoint == "all":
        return 1
    if checkpoint == "sqrt":
        return max(1, int(math.ceil(math.sqrt(max(n_steps, 1)))))
    return int(checkpoint)


def _validate_checkpoint(checkpoint):
    if isinstance(checkpoint, str):
        if checkpoint not in ("all", "sqrt"):
            raise ValueError(f"`checkpoint` must be 'all', 'sqrt' or a positive integer; got {checkpoint!r}.")
        return checkpoint
    if isinstance(checkpoint, bool) or not isinstance(checkpoint, (numbers.Integral, np.integer)) or checkpoint < 1:
        raise ValueError(
            f"`checkpoint` must be 'all', 'sqrt' or a positive integer (store every k-th step); got {checkpoint!r}."
        )
    return int(checkpoint)


def _fixed_grid(t0, t1, t_eval, dt, max_steps):
    """Step sizes and output mapping of ``loops.fixed_member`` (steps never cross an output),
    from the grid :func:`oscihop.solvers.solve.fixed_time_grid` checks and cuts."""
    te, n_before, nsub = fixed_time_grid(t0, t1, t_eval, dt, max_steps)
    spans = np.diff(np.concatenate([[t0], te[n_before:]]))
    hs = np.repeat(spans / np.maximum(nsub, 1), nsub)
    if t_eval is None:
        return hs, np.zeros(0, np.int64)
    ev_step = np.concatenate([np.full(n_before, -1, np.int64), np.cumsum(nsub) - 1]).astype(np.int64)
    return hs, ev_step


def value_and_grad(model, loss, y0, t_span, *, method="RK45", rtol=None, atol=None, dt=None, t_eval=None, wrt=None,
                   max_steps=None, checkpoint="all", dtype=None):
    r"""Loss of the solved states and its gradient w.r.t. every parameter and ``y0``.

    Parameters
    ----------
    model : Hopfield, Kuramoto, HopfieldKuramoto or ModelStack
        Smooth activation (``"sign"`` has no derivative).  A stack (:func:`oscihop.stack`)
        runs member ``b`` from ``y0[b]`` with its own parameters, and each gradient then
        has a leading axis of length B: member ``b``'s own gradient (the shapes of
        ``stack.parameters()``), not the sum over members.
    loss : callable
        ``loss(y) -> (value, dvalue_dy)`` with ``y`` shaped as below and ``dvalue_dy`` of
        the same shape.  The loss defines the batch reduction (e.g. a mean).
    y0 : array_like, shape (size,) or (B, size)
        Initial state(s), unit oscillators.  A batch runs its members on threads and
        sums the parameter gradients over members.
    t_span : (float, float)
        ``(t0, t1)`` with ``t1 >= t0``; required, as for :func:`oscihop.solve`.
    method : {"RK45", "RK23", "Tsit5", "Euler", "RK4", "AKOrN"}, default "RK45"
        The default of :func:`oscihop.solve`.  Adaptive methods use scipy's step-size
        controller, exactly as :func:`oscihop.solve`; fixed-step methods need ``dt``.
        ``"Geometric"`` and ``"async"`` are not supported.
    rtol, atol : float (atol also (size,)), default 1e-3, 1e-6
        Tolerances of the adaptive methods (the defaults of :func:`oscihop.solve`).
    dt : float
        Step of the fixed-step methods (``gamma`` of AKOrN).
    t_eval : array_like, optional
        Output times, strictly increasing within ``t_span`` (the rule of
        :func:`oscihop.solve`).  None: the loss sees the final state, shape (size,) or
        (B, size).  Given: the loss sees ``sol.y``-shaped states, (size, T) or
        (B, size, T), taken by the same dense output as :func:`oscihop.solve`, which is
        differentiated too.
    wrt : str or list of str, optional
        Parameter names to return (default: all of ``model.parameters()``); ``[]`` skips
        the parameter part and returns only the gradient w.r.t. ``y0``.
    max_steps : int, optional
        Limit on steps per member, as for :func:`oscihop.solve` (default 10^6).  Running
        out of steps returns a failed result (``success`` False, ``status`` -1, NaN value
        and gradients) with a ``RuntimeWarning``, as :func:`oscihop.solve` returns a failed
        Solution; so do a step size underflow (-2) and a non-finite state (-3).  A fixed
        ``dt`` whose steps exceed the default limit is refused up front (``ValueError``
        naming ``dt``), as by :func:`oscihop.solve`.
    checkpoint : "all", "sqrt" or int, default "all"
        States kept for the backward pass.  ``"all"``: the state of every stage of every
        accepted step (``s + 1`` vectors per step), so the backward pass recomputes nothing;
        when those tapes of all members would exceed 1 GiB, the state of every step instead
        (the stages recomputed, ``s`` right-hand sides per step).  int k: every k-th step
        (each segment of k steps is recomputed once).  ``"sqrt"``: every
        ``ceil(sqrt(n_steps))``-th (adaptive methods then run the forward solve twice, the
        first time to find the steps).  Memory is ``O(size * (s + 1) * n_steps)``
        (``"all"``) or ``O(size * (n_steps / k + (s + 1) k))`` per member; see
        ``stats["memory_bytes"]``.
    dtype : {"float64", "float32"}, optional
        Precision of the solve (default float64, float32 for float32 ``y0``: the rule of
        :func:`oscihop.solve`).  The adjoint is accumulated in float64 either way.

    Returns
    -------
    GradientResult
        ``value``, ``grads`` (dict), ``y0``, ``y``, ``stats``, ``status``, ``message``,
        ``success``.  Check ``success`` (or heed the warning): a failed result holds NaN.

    Notes
    -----
    For an explicit Runge-Kutta step with retraction ``R`` (oscillators scaled to unit
    length), ``Y_s = y_n + h \sum_{j<s} a_{sj} K_j``, ``K_s = f(Y_s)``,
    ``z_n = y_n + h \sum_s b_s K_s``, ``y_{n+1} = R(z_n)``, the adjoint is

    .. math::

        \bar z_n = R'(z_n)^\top \bar y_{n+1},\quad
        \bar K_s = h b_s \bar z_n + h \sum_{t>s} a_{ts} \bar Y_t,\quad
        \bar Y_s = f_y(Y_s)^\top \bar K_s,\quad
        \bar y_n = \bar z_n + \sum_s \bar Y_s,\quad
        \bar\theta \mathrel{+}= \sum_s f_\theta(Y_s)^\top \bar K_s .

    The adaptive methods' first-same-as-last stage is ``f(z_{n-1})`` (the state before
    the previous retraction), as in :func:`oscihop.solve`; the adjoint follows it.  Step
    sizes are held fixed: the gradient is exact for the discrete map on the accepted
    grid, and it differs from finite differences of an adaptive solve by the effect of
    the controller (of the order of the local error).  Symmetric parameters (dense or
    sparse Hopfield weights, dense Kuramoto couplings) get the gradient along symmetric
    perturbations, ``(G + G^T) / 2``; per-edge parameters of undirected edges sum both
    directions; ``omega`` gets its antisymmetric part.

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> hop = oh.Hopfield(np.array([[0.0, 0.5], [0.5, 0.0]]), bias=[0.1, -0.2])
    >>> target = np.array([0.5, -0.5])
    >>> def loss(y):
    ...     r = y - target
    ...     return 0.5 * float(r @ r), r
    >>> res = oh.value_and_grad(hop, loss, np.array([0.2, 0.1]), (0.0, 1.0), method="RK4", dt=0.1)
    >>> sorted(res.grads), res.grads["weights"].shape, res.y0.shape
    (['bias', 'weights'], (2, 2), (2,))
    >>> bool(np.allclose(res.grads["weights"], res.grads["weights"].T))
    True
    """
    if not isinstance(model, Model):
        raise ValueError(f"`model` must be an oscihop model (Hopfield, Kuramoto, HopfieldKuramoto); got {type(model).__name__}.")
    if getattr(model, "activation", None) == "sign":
        raise ValueError(
            "`model` has activation='sign', which is not differentiable (binary units); build it with a smooth "
            "activation ('tanh' with a large beta approximates sign)."
        )
    if not callable(loss):
        raise ValueError(f"`loss` must be a callable loss(y) -> (value, dvalue_dy); got {type(loss).__name__}.")
    _check_method(method)
    checkpoint = _validate_checkpoint(checkpoint)
    if max_steps is not None:
        max_steps = check_size(max_steps, "max_steps", minimum=0, maximum=MAX_STEPS_LIMIT)
    names = list(model.parameters())
    wanted = _check_wrt(wrt, names, getattr(model, "_PARAMETER_ALIASES", None))
    t0, t1 = check_t_span(t_span)
    ys, single, dtp = initial_states(model, y0, dtype)
    # Run-time-dispatched bundle: the VJP kernels cover every model kind in one compilation.
    p = generic(model.params(dtp))
    nb, size = ys.shape
    stacked = isinstance(model, ModelStack)
    # member b's bundle: a stack's own float row (docs/theory.md §9), else the shared one
    bundles = [type(p)(row, p.ip) for row in model.member_rows(dtp)] if stacked else [p] * nb
    te = None if t_eval is None else check_t_eval(t_eval, t0, t1)
    n_eval = 0 if te is None else te.shape[0]
    meth = METHODS[method]
    adaptive = meth.kind == "adaptive"

    # ---- forward
    t_start = time.perf_counter()
    out = np.empty((nb, n_eval, size), dtype=dtp)
    y_final = np.empty((nb, size), dtype=dtp)
    fwd_stats = np.zeros((nb, N_STATS))
    tapes = [None] * nb
    threads = max(1, min(nb, config.num_threads()))
    blocks = _blocks(nb, threads, p.fp.shape[0])
    itemsize = np.dtype(dtp).itemsize
    if adaptive:
        tab = meth.tableau
        A, B, E, Pd = tab.A, tab.B, tab.E, tab.P
        fsal = True
        ns = B.shape[0]
        rtol_v, atol_v = _tolerances(rtol, atol, size, dtp)
        limit = DEFAULT_MAX_STEPS if max_steps is None else max_steps
        ev_steps = np.zeros((nb, n_eval), np.int64)
        ev_thetas = np.zeros((nb, n_eval))
        te_arr = np.zeros(0) if te is None else te
        k_fixed = None if checkpoint == "sqrt" else _checkpoint_every(checkpoint, 0)
        # "all": the stages of every step while the stage tapes fit the budget
        cap = _STAGE_TAPE_BYTES // (nb * (ns + 1) * size * itemsize) if checkpoint == "all" else 0
        stage_tape = cap > 0

        def forward_block(lo, hi):
            for b in range(lo, hi):
                hs, ck, tape = erk_forward_member(
                    bundles[b], ys[b], t0, t1, te_arr, rtol_v, atol_v, np.inf, limit, A, B, E, Pd,
                    tab.error_estimator_order, -1 if k_fixed is None else k_fixed, stage_tape, out[b],
                    ev_steps[b], ev_thetas[b], y_final[b], fwd_stats[b])
                if stage_tape and fwd_stats[b, ST_NSTEPS] <= cap:
                    tapes[b] = [hs, None, k_fixed, tape]
                else:
                    tapes[b] = [hs, ck, k_fixed, None]

        t_fwd = run_blocks(blocks, forward_block, threads, None)
        if _forward_failed(fwd_stats, out, y_final):
            return _failed(model, wanted, ys, single, te, out, y_final, fwd_stats, method)
        if checkpoint == "sqrt":
            def replay_block(lo, hi):
                for b in range(lo, hi):
                    hs = tapes[b][0]
                    n = int(fwd_stats[b, ST_NSTEPS])
                    k = _checkpoint_every("sqrt", n)
                    ck = np.empty(((n + k - 1) // k if n else 1, size), dtype=dtp)
                    if n == 0:
                        ck[0] = ys[b]
                    st = np.zeros(2)
                    grid_forward_member(bundles[b], ys[b], hs, n, True, A, B, Pd, k, _NO_EV, _NO_TH,
                                        np.empty((0, size), dtp), np.empty(size, dtp), ck, st)
                    fwd_stats[b, ST_NFEV] += st[0]
                    tapes[b] = [hs, ck, k, None]

            t_fwd += run_blocks(blocks, replay_block, threads, t_fwd)
    else:
        if dt is None:
            raise ValueError(f"`dt` is required for the fixed-step method {method!r}; pass dt=<step>, e.g. dt=0.01.")
        dt = _scalar(dt, "dt", positive=True)
        A, B = _FIXED_TABLEAUS[method]
        ns = B.shape[0]
        Pd = np.zeros((ns + 1, 1))
        fsal = False
        hs, ev_step = _fixed_grid(t0, t1, te, dt, max_steps)
        n_steps = hs.shape[0]
        if max_steps is not None and n_steps > max_steps:
            # what oh.solve returns for this call: out of steps at the time max_steps of them reach
            fwd_stats[:, ST_NSTEPS] = max_steps
            fwd_stats[:, ST_STATUS] = -1
            fwd_stats[:, ST_T] = t0 + float(np.sum(hs[:max_steps]))
            out.fill(np.nan)
            y_final.fill(np.nan)
            return _failed(model, wanted, ys, single, te, out, y_final, fwd_stats, method)
        k = _checkpoint_every(checkpoint, n_steps)
        stage_tape = checkpoint == "all" and nb * n_steps * (ns + 1) * size * itemsize <= _STAGE_TAPE_BYTES
        ev_steps = np.repeat(ev_step.reshape(1, n_eval), nb, axis=0)
        ev_thetas = np.full((nb, n_eval), -1.0)
        n_ck = (n_steps + k - 1) // k if n_steps else 1
        no_tape = np.empty((1, ns + 1, size), dtype=dtp)

        def forward_block(lo, hi):
            for b in range(lo, hi):
                if stage_tape:
                    ck = no_tape[0, :1]
                    tape = np.empty((max(n_steps, 1), ns + 1, size), dtype=dtp)
                else:
                    ck = np.empty((n_ck, size), dtype=dtp)
                    tape = no_tape
                if n_steps == 0:
                    ck[0] = ys[b]
                st = np.zeros(2)
                grid_forward_tape(bundles[b], ys[b], hs, n_steps, False, A, B, Pd, 0 if stage_tape else k, ev_step,
                                  ev_thetas[b], out[b], y_final[b], ck, tape, stage_tape, st)
                fwd_stats[b, ST_NFEV] = st[0]
                fwd_stats[b, ST_NSTEPS] = n_steps
                fwd_stats[b, ST_STATUS] = st[1]
                tapes[b] = [hs, None, k, tape] if stage_tape else [hs, ck, k, None]

        t_fwd = run_blocks(blocks, forward_block, threads, None)
        if _forward_failed(fwd_stats, out, y_final):
            return _failed(model, wanted, ys, single, te, out, y_final, fwd_stats, method)
    t_forward = time.perf_counter() - t_start

    # ---- loss
    t_start = time.perf_counter()
    y_seen = _seen_states(y_final, out, te, single)
    value, dy = _call_loss(loss, y_seen)
    t_loss = time.perf_counter() - t_start

    # ---- backward
    t_start = time.perf_counter()
    if te is None:
        final_bar = dy.reshape(nb, size)
        out_bar = np.zeros((nb, 0, size))
    else:
        final_bar = np.zeros((nb, size))
        out_bar = np.ascontiguousarray(np.swapaxes(dy.reshape(nb, size, n_eval), 1, 2))
    want_fp = len(wanted) > 0
    y0_bar = np.zeros((nb, size))
    bwd_stats = np.zeros((nb, 2))
    acc = [None] * len(blocks)
    nfp = p.fp.shape[0] if want_fp else 0
    no_ck = np.empty((1, size), dtype=dtp)
    no_tape = np.empty((1, ns + 1, size), dtype=dtp)

    # a stack's members have their own parameters, so each gets its own gradient row
    fp_rows = np.zeros((nb, nfp)) if stacked else None

    def backward_block(lo, hi):
        fpb = np.zeros(nfp)
        for b in range(lo, hi):
            if stacked:
                fpb = fp_rows[b]
            hs_b, ck_b, k_b, tape_b = tapes[b]
            on_tape = tape_b is not None
            backward_member(bundles[b], ys[b], hs_b, int(fwd_stats[b, ST_NSTEPS]), fsal, A, B, Pd, no_ck if on_tape else ck_b,
                            int(k_b or 1), tape_b if on_tape else no_tape, on_tape, ev_steps[b], ev_thetas[b],
                            out_bar[b], final_bar[b], fpb, y0_bar[b], bwd_stats[b])
        acc[blocks.index((lo, hi))] = fpb

    # the backward pass costs about twice the forward: threads pay off when that is long enough
    run_blocks(blocks, backward_block, threads, 2.0 * t_fwd)
    if want_fp and not stacked:
        fp_bar = acc[0]
        for a in acc[1:]:
            fp_bar += a
    t_backward = time.perf_counter() - t_start

    if stacked and want_fp:
        per = [m._grads_from_fp(fp_rows[b], p.ip) for b, m in enumerate(model._models)]
        grads = {name: np.stack([np.asarray(q[name]) for q in per]) for name in wanted}
    else:
        grads = model._grads_from_fp(fp_bar, p.ip) if want_fp else {}
    grads = {name: np.asarray(grads[name], dtype=dtp) for name in wanted}
    tape_bytes = sum(t[0].nbytes + (t[1].nbytes if t[1] is not None else 0) + (t[3].nbytes if t[3] is not None else 0)
                     for t in tapes)
    nsteps_b = fwd_stats[:, ST_NSTEPS].astype(np.int64)
    seg_rows = max([min(int(t[2] or 1), int(nsteps_b[b])) for b, t in enumerate(tapes) if t[3] is None] or [0])
    per_thread = itemsize * size * ((ns + 1) * max(seg_rows, 1) + 2 * ns + 6) + 8 * size * (ns + 6)
    per_block = 8 * nfp
    if stacked:  # plus a gradient row per member
        per_block += 8 * nfp * nb // max(len(blocks), 1)
    steps = [tapes[b][0][: int(nsteps_b[b])].copy() for b in range(nb)]
    stats = dict(
        nfev=int(fwd_stats[:, ST_NFEV].sum()),
        nfev_backward=int(bwd_stats[:, 0].sum()),
        nvjp=int(bwd_stats[:, 1].sum()),
        nsteps=nsteps_b if not single else int(nsteps_b[0]),
        nrejected=fwd_stats[:, ST_NREJ].astype(np.int64) if not single else int(fwd_stats[0, ST_NREJ]),
        checkpoint_every=[int(t[2] or 0) for t in tapes] if not single else int(tapes[0][2] or 0),
        stage_tape=[t[3] is not None for t in tapes] if not single else tapes[0][3] is not None,
        step_sizes=steps[0] if single else steps,
        memory_bytes=int(tape_bytes + threads * per_thread + len(blocks) * per_block),
        tape_bytes=int(tape_bytes),
        time_forward=t_forward,
        time_loss=t_loss,
        time_backward=t_backward,
    )
    y0_grad = (y0_bar[0] if single else y0_bar).astype(dtp, copy=False)
    return GradientResult(float(value), grads, y0_grad, y_seen, stats,
                          status=0 if single else fwd_stats[:, ST_STATUS].astype(int))


# =============================================================================================
# batch members on threads
# =============================================================================================
#: Stage tapes (checkpoint="all") are kept while all members' together fit in this many bytes;
#: beyond it the tape holds every step's state and the backward pass recomputes the stages.
_STAGE_TAPE_BYTES = 1 << 30
_NO_EV = np.zeros(0, np.int64)
_NO_TH = np.zeros(0)


def _blocks(nb, threads, n_fp):
    """Contiguous blocks of members, a function of ``nb`` only for up to 4 threads (so that
    the order of the per-block parameter-gradient sums, and the result, does not depend on
    the thread count or on whether the blocks ran on threads); at most ~256 MB of per-block
    parameter gradients."""
    nblocks = min(nb, max(16, 4 * threads))
    return even_blocks(nb, max(1, min(nblocks, max(threads, (256 << 20) // max(8 * n_fp, 1)))))


def _forward_failed(fwd_stats, out, y_final):
    """Whether any member's forward solve failed: a failure status of its loop, or (status
    0) a non-finite output or final state, which then gets status -3 at the time it shows
    (the final time for the final state), as :func:`oscihop.solve` reports it."""
    status = fwd_stats[:, ST_STATUS]
    for b in np.flatnonzero(status >= 0):
        if not np.isfinite(y_final[b]).all() or not np.isfinite(out[b]).all():
            status[b] = -3
    return bool(np.any(status < 0))


def _failed(model, wanted, ys, single, te, out, y_final, fwd_stats, method):
    """The failed result: NaN value and gradients, the forward states, the status and a
    message; warns (``RuntimeWarning``) with the message."""
    status = fwd_stats[:, ST_STATUS].astype(int)
    t_final = fwd_stats[:, ST_T].astype(float)
    message = (status_message(int(status[0]), float(t_final[0]), method) if single
               else batch_message(status, t_final, method))
    warnings.warn(f"value_and_grad: {message} The value and gradients are NaN.", RuntimeWarning, stacklevel=3)
    dtp = ys.dtype
    params = model.parameters()
    grads = {name: np.full(np.shape(params[name]), np.nan, dtype=dtp) for name in wanted}
    y_seen = _seen_states(y_final, out, te, single)
    nsteps = fwd_stats[:, ST_NSTEPS].astype(np.int64)
    stats = dict(nfev=int(fwd_stats[:, ST_NFEV].sum()), nsteps=int(nsteps[0]) if single else nsteps,
                 nrejected=int(fwd_stats[0, ST_NREJ]) if single else fwd_stats[:, ST_NREJ].astype(np.int64))
    y0_grad = np.full(ys.shape[1:] if single else ys.shape, np.nan, dtype=dtp)
    return GradientResult(float("nan"), grads, y0_grad, y_seen, stats, status=int(status[0]) if single else status,
                          message=message, success=False)


def _call_loss(loss, y):
    res = loss(y)
    try:
        value, dy = res
    except (TypeError, ValueError):
        raise ValueError(
            f"`loss` must return a pair (value, dvalue_dy); got {type(res).__name__}."
        ) from None
    dy = np.asarray(dy, dtype=np.float64)
    if dy.shape != y.shape:
        raise ValueError(f"`loss` must return dvalue_dy with the shape of y, {y.shape}; got {dy.shape}.")
    if not np.all(np.isfinite(dy)):
        raise ValueError("`loss` returned a non-finite dvalue_dy.")
    value = np.asarray(value)
    if value.size != 1:
        raise ValueError(f"`loss` must return a scalar value; got shape {value.shape}.")
    return float(value.reshape(())), np.ascontiguousarray(dy)


def gradient(model, loss, y0, t_span, **kwargs):
    """The gradients of :func:`value_and_grad` only: a dict name -> ndarray (``"y0"`` included).

    Takes the arguments of :func:`value_and_grad`.  A failed solve gives NaN gradients and a
    ``RuntimeWarning`` (see :func:`value_and_grad`).

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> kur = oh.Kuramoto(2, edges=[[0, 1]], coupling=1.0)
    >>> loss = lambda y: (float(y[0]), np.eye(4)[0])
    >>> g = oh.gradient(kur, loss, kur.random_state(seed=0), (0.0, 0.5), method="RK4", dt=0.05)
    >>> sorted(g), g["coupling"].shape
    (['coupling', 'y0'], (1,))
    """
    res = value_and_grad(model, loss, y0, t_span, **kwargs)
    out = dict(res.grads)
    out["y0"] = res.y0
    return out
