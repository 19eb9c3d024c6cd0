"""The result of :func:`oscihop.solve`."""

from __future__ import annotations

import numpy as np

from . import loops

__all__ = ["STATUS_MESSAGES", "status_message", "batch_message", "Solution"]

STATUS_MESSAGES = {
    0: "The solver successfully reached the end of the integration interval.",
    1: "Stopped early: steady state reached.",
    -1: "Failed: the maximum number of steps (max_steps) was reached before the end of the interval.",
    -2: "Failed: the required step size fell below the spacing of floating point numbers.",
    -3: "Failed: the state or its energy became non-finite (NaN or inf); reduce the step (`dt`, or "
        "`rtol`/`max_step`) or the scale of the model's parameters.",
}


def status_message(status, t_final, method):
    """The message of one trajectory's ``status``, with the time where it applies.

    Shared by :class:`Solution` and :func:`oscihop.value_and_grad`.
    """
    unit = "sweep" if method == "async" else "t"
    if status == 1:
        what = "fixed point" if method == "async" else "steady state (max |dy/dt| < steady_state)"
        return f"Stopped early: {what} reached at {unit} = {t_final:.6g}."
    if status == -1:
        return (f"Failed: the maximum number of steps (max_steps) was reached at {unit} = {t_final:.6g}, before "
                "the end of the interval; raise `max_steps` (or loosen `rtol`/`atol`, or take a larger `dt`).")
    if status == -2:
        return (f"Failed: the required step size fell below the spacing of floating point numbers at "
                f"t = {t_final:.6g}; the solution is too stiff or singular for these tolerances (`rtol`, `atol`).")
    if status == -3:
        return (f"Failed: the state or its energy became non-finite (NaN or inf) by t = {t_final:.6g}; reduce "
                "the step (`dt`, or `rtol`/`max_step`) or the scale of the model's parameters.")
    return STATUS_MESSAGES[status]


def batch_message(status, t_final, method):
    """The message of a batch: how many members ended with each status, and where the
    first member with each failure failed.  Shared with :func:`oscihop.value_and_grad`."""
    parts = []
    for code in sorted(set(status.tolist()), reverse=True):
        count = int(np.sum(status == code))
        msg = STATUS_MESSAGES[code]
        if code < 0:
            b = int(np.argmax(status == code))
            msg = status_message(code, float(t_final[b]), method) + f" (first: member {b})"
        parts.append(f"{count} member(s): {msg}")
    return " ".join(parts)


class Solution:
    """Trajectory (or batch of trajectories) returned by :func:`oscihop.solve`.

    Attributes
    ----------
    t : ndarray, shape (T,)
        Output times (sweeps for ``method="async"``).
    y : ndarray, shape (size, T) or (B, size, T)
        States at ``t``, scipy's layout (a view of :attr:`states`).
    states : ndarray, shape (T, size) or (B, T, size)
        The same states, time-major.
    energy : ndarray, shape (T,) or (B, T)
        Model energy at every output.
    status : int or ndarray (B,)
        0: reached ``t_span[1]``; 1: stopped early (steady state / fixed point);
        -1: ``max_steps`` exhausted; -2: step size underflow; -3: non-finite state or
        energy (checked before every step and at every output, the last one included;
        ``t_final`` is then the time by which it happened).
    message : str
    success : bool
        ``status >= 0`` (for every member of a batch).
    nfev, nsteps, nrejected : int or ndarray (B,)
        Right-hand side evaluations (unit updates for ``async``), accepted steps
        (sweeps for ``async``) and rejected steps.
    t_final : float or ndarray (B,)
        Time at which integration ended (earlier than ``t_span[1]`` when stopped early;
        later outputs then hold the stopped state, or NaN after a failure).
    method : str
    options : dict
        Every option the solve used, defaults included.
    model : Model
    """

    def __init__(self, model, t, states, energy, stats, method, options, batched):
        self.model = model
        self.t = t
        self.states = states
        self.energy = energy
        self.method = method
        self.options = options
        self.batched = batched
        st = np.asarray(stats)
        if not batched:  # one trajectory: Python scalars straight from the row of statistics
            nfev, nsteps, nrej, status, t_final = st[0, :5].tolist()
            self.status, self.nfev, self.nsteps, self.nrejected = int(status), int(nfev), int(nsteps), int(nrej)
            self.t_final = float(t_final)
            self.success = self.status >= 0
            self.message = self._single_message(self.status, self.t_final)
            return
        status = st[:, loops.ST_STATUS].astype(int)
        nfev = st[:, loops.ST_NFEV].astype(np.int64)
        nsteps = st[:, loops.ST_NSTEPS].astype(np.int64)
        nrej = st[:, loops.ST_NREJ].astype(np.int64)
        t_final = st[:, loops.ST_T].astype(float)
        self.status, self.nfev, self.nsteps, self.nrejected, self.t_final = status, nfev, nsteps, nrej, t_final
        self.success = bool(np.all(status >= 0))
        self.message = self._message(status, t_final)

    def member(self, b):
        """Batch member ``b`` as a one-trajectory Solution (its model: member ``b`` of a stack)."""
        if not self.batched:
            raise ValueError("`member` picks one trajectory of a batched Solution; this Solution holds one already.")
        nb = self.states.shape[0]
        if not (isinstance(b, (int, np.integer)) and -nb <= b < nb):
            raise IndexError(f"`b` must be a member index in [0, {nb}); got {b!r}.")
        b = int(b) % nb
        from ..models.stack import ModelStack

        model = self.model[b] if isinstance(self.model, ModelStack) else self.model
        row = np.empty((1, loops.N_STATS))
        row[0, loops.ST_NFEV], row[0, loops.ST_NSTEPS], row[0, loops.ST_NREJ] = (
            self.nfev[b], self.nsteps[b], self.nrejected[b])
        row[0, loops.ST_STATUS], row[0, loops.ST_T] = self.status[b], self.t_final[b]
        return Solution(model, self.t, self.states[b], self.energy[b], row, self.method, self.options, batched=False)

    def _single_message(self, status, t_final):
        return status_message(status, t_final, self.method)

    def _message(self, status, t_final):
        if not self.batched:
            return self._single_message(int(status[0]), float(t_final[0]))
        return batch_message(status, t_final, self.method)

    @property
    def y(self):
        return np.moveaxis(self.states, -2, -1)

    @property
    def h(self):
        """Threshold-unit states, time-major: (T, N) or (B, T, N); None without threshold units."""
        return self.model.unpack(self.states).h

    @property
    def x(self):
        """Oscillators, time-major: (T, N, D) or (B, T, N, D); None without oscillators."""
        return self.model.unpack(self.states).x

    def to_xarray(self):
        """The trajectory as an :class:`xarray.Dataset` (see :func:`oscihop.io.trajectory.solution_to_xarray`).

        Returns
        -------
        xarray.Dataset
            Dimensions ``time``, ``neuron``, ``component`` (oscillators), ``pattern``
            (stored patterns) and, first, ``batch`` for a batch; variables ``h``,
            ``x``, ``energy``, ``order_parameter``, ``overlap`` as the model has them;
            attributes recording the model, its parameters, the method, its options,
            the solve's statistics and the oscihop and numba versions.

        Examples
        --------
        >>> import numpy as np, oscihop as oh
        >>> hop = oh.Hopfield(np.array([[0., 1.], [1., 0.]]))
        >>> ds = oh.solve(hop, (0, 1), [0.5, -0.2], t_eval=[0, 1]).to_xarray()
        >>> ds.h.dims, ds.attrs["model"]
        (('time', 'neuron'), 'Hopfield')
        """
        from ..io.trajectory import solution_to_xarray

        return solution_to_xarray(self)

    def to_zarr(self, path, mode="w-"):
        """Write the trajectory and its model to a zarr store (see :func:`oscihop.open_trajectory`).

        Parameters
        ----------
        path : str, os.PathLike or zarr Store
            A directory, or a store such as ``zarr.storage.MemoryStore()``.
        mode : {"w-", "w"}, default "w-"
            ``"w-"`` refuses an existing store (``FileExistsError``); ``"w"`` replaces it.

        Examples
        --------
        >>> import numpy as np, oscihop as oh, zarr
        >>> hop = oh.Hopfield(np.array([[0., 1.], [1., 0.]]))
        >>> sol = oh.solve(hop, (0, 1), [0.5, -0.2], t_eval=[0, 1])
        >>> store = zarr.storage.MemoryStore()
        >>> sol.to_zarr(store)
        >>> bool(np.array_equal(oh.open_trajectory(store).h.values, sol.h))
        True
        """
        from ..io.trajectory import solution_to_zarr

        solution_to_zarr(self, path, mode=mode)

    def __repr__(self):
        shape = "x".join(str(s) for s in self.states.shape)
        return (f"Solution(method={self.method!r}, states={shape}, status={self.status!r}, "
                f"success={self.success}, nfev={self.nfev!r})")
