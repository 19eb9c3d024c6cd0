"""Test-time energy voting: several random starts per input, the lowest final energy wins.

An energy-based network settles from a start into a nearby minimum of its energy, and which
minimum depends on the start.  Voting solves ``K`` starts of the same input as one batch and
keeps the final state whose energy is lowest (AKOrN's test-time inference; docs/theory.md,
"Energy voting").  Inputs are the members of a stack of models sharing a structure
(:func:`oscihop.stack`, e.g. one stimulus per input); every vote of every input is one member of
one batched :func:`oscihop.solve`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ._validation import as_float_array, check_size
from .models.base import Model
from .models.stack import ModelStack
from .solvers import Solution, solve

__all__ = ["vote", "VoteResult"]


@dataclass(frozen=True)
class VoteResult:
    """What :func:`vote` returns; with a stack of ``B`` inputs every field has a leading
    ``(B,)`` axis, with one model none.

    Attributes
    ----------
    state : ndarray, (size,) or (B, size)
        The winning vote's state at the last output time (NaN where every vote failed).
    energy : float or ndarray (B,)
        Its energy (NaN where every vote failed).
    winner : int or ndarray (B,)
        The index of the winning vote among the ``K`` (-1 where every vote failed).
    energies : ndarray, (K,) or (B, K)
        The energy of every vote's state at the last output time; NaN for a vote whose solve
        failed or whose state is not finite (it cannot win).
    success : bool or ndarray (B,)
        Whether some vote of the input succeeded.
    solution : Solution
        The batched solve of all ``B * K`` votes, input by input (member ``b * K + k`` is vote
        ``k`` of input ``b``).
    """

    state: np.ndarray
    energy: object
    winner: object
    energies: np.ndarray
    success: object
    solution: Solution


def _starts(model, n_inputs, votes, y0, seed, h_scale):
    """The votes' starts, (n_inputs * votes, size): given, or ``model.random_state`` draws."""
    size = model.size
    if y0 is None:
        return model.random_state(seed=seed, batch=n_inputs * votes, h_scale=h_scale)
    y = as_float_array(y0, "y0", dtype=None)
    shapes = [(votes, size), (n_inputs, votes, size)]
    if y.shape not in shapes:
        want = " or ".join(str(s) for s in shapes)
        raise ValueError(f"`y0` must hold the votes' starts, of shape {want} ({n_inputs} input(s) x `votes` = {votes} "
                         f"x state size {size}); got shape {y.shape}. Leave it out to draw random starts.")
    return y.reshape(n_inputs * votes, size) if y.ndim == 3 else np.tile(y, (n_inputs, 1))


def vote(model, t_span, votes=16, y0=None, seed=None, h_scale=1.0, **solve_kwargs):
    """Solve ``votes`` starts of each input as one batch and keep the lowest-energy final state.

    Parameters
    ----------
    model : Model or ModelStack
        One model (one input), or a stack of ``B`` models sharing a structure (``oh.stack``),
        one per input.
    t_span : (float, float)
        The interval every vote is integrated over.
    votes : int, default 16
        Starts per input (``K`` >= 1).
    y0 : array_like, optional
        The starts: ``(K, size)`` (the same ``K`` starts for every input) or ``(B, K, size)``.
        Default: ``model.random_state(seed=seed, batch=B * K, h_scale=h_scale)``, input by input.
    seed : int or numpy.random.Generator, optional
        Seed of the random starts.
    h_scale : float, default 1.0
        Spread of the random threshold-unit starts (as in ``random_state``).
    **solve_kwargs
        Passed to :func:`oscihop.solve` (``method``, ``t_eval``, ``rtol``, ``atol``, ``dt``,
        ``dtype``, ``backend``...).  The votes are compared at the last output time
        (``t_span[1]`` unless ``t_eval`` ends earlier).

    Returns
    -------
    VoteResult
        The winning states, their energies and indices, every vote's energy, whether each
        input had a successful vote, and the batched Solution.  An input whose votes all
        failed has ``success`` False, a NaN state and ``winner`` -1, and a RuntimeWarning
        names it.

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> patterns = np.where(np.random.default_rng(0).random((3, 32)) < 0.5, -1.0, 1.0)
    >>> net = oh.Hopfield.from_patterns(patterns, activation="tanh", beta=4.0)
    >>> res = oh.vote(net, (0.0, 10.0), votes=8, seed=1)
    >>> res.energies.shape, bool(res.energy == np.nanmin(res.energies)), bool(res.success)
    ((8,), True, True)
    """
    if not isinstance(model, Model):
        raise ValueError(f"`model` must be an oscihop model or a stack of models (oh.stack); got "
                         f"{type(model).__name__}.")
    votes = check_size(votes, "votes", 1)
    single = not isinstance(model, ModelStack)
    n_inputs = 1 if single else len(model)
    starts = _starts(model, n_inputs, votes, y0, seed, h_scale)
    if single:
        batch = model
    else:  # every input's model, votes times in a row: its parameter row is shared, not copied
        batch = ModelStack._of_distinct(model._distinct, np.repeat(model._member_slot, votes))
    sol = solve(batch, t_span, starts, **solve_kwargs)
    final = np.asarray(sol.states[:, -1], dtype=np.float64)
    energy = np.asarray(sol.energy[:, -1], dtype=np.float64)
    ok = (np.asarray(sol.status) >= 0) & np.isfinite(final).all(axis=1) & np.isfinite(energy)
    energies = np.where(ok, energy, np.nan).reshape(n_inputs, votes)
    success = ok.reshape(n_inputs, votes).any(axis=1)
    winner = np.where(success, np.argmin(np.where(np.isnan(energies), np.inf, energies), axis=1), -1)
    rows = np.arange(n_inputs) * votes + np.maximum(winner, 0)
    state = np.where(success[:, None], final[rows], np.nan)
    best = np.where(success, energies[np.arange(n_inputs), np.maximum(winner, 0)], np.nan)
    if not success.all():
        lost = np.flatnonzero(~success)
        k = int(lost[0]) * votes
        warnings.warn(f"oh.vote: every vote of input(s) {lost.tolist()[:10]} failed (e.g. vote 0 of input "
                      f"{int(lost[0])}: status {int(np.asarray(sol.status)[k])}); their state and energy are NaN and "
                      "success is False. Loosen the tolerances, raise max_steps or take more votes.",
                      RuntimeWarning, stacklevel=2)
    if single:
        return VoteResult(state[0], float(best[0]), int(winner[0]), energies[0], bool(success[0]), sol)
    return VoteResult(state, best, winner, energies, success, sol)
