"""Sudoku as an oscillator energy: a puzzle generator, an exact checker, and energy voting.

A 9 x 9 puzzle is solved by oscillators relaxing on a *designed* energy (not a trained
AKOrN): one oscillator on S^(D-1) per (cell, digit) unit, 729 in all, whose projection
``s = <x, e1>`` is the unit's spin (on when ``s > 0``).  Every Sudoku rule "exactly one unit on
in a group of 9" (each cell; each digit in each row, column and box) is the penalty
``A |sum_{i in g} x_i + 7 e1|^2``, which expands into antiferromagnetic Kuramoto couplings and a
field along ``-e1``; a given digit adds a field along ``+e1`` on its unit and ``-e1`` on the
other units of its cell, and a small pair term ``-B log cosh <x_i, x_j>`` makes the puzzle's
solution the energy's only global minimum (docs/theory.md §11).  :func:`solve` relaxes ``K``
random starts per puzzle through a short continuation (a field along ``e2`` that is lowered to
zero in stages, holding the units uncommitted at first) and keeps, with :func:`oscihop.vote`,
the final state of lowest energy.

Grids are integer arrays of shape (9, 9), digits 1..9, 0 for a blank.  The unit of cell
``(r, c)`` and digit ``d`` is oscillator ``9 * (9 * r + c) + d - 1``.

Examples
--------
>>> import oscihop.sudoku as sd
>>> puzzles, solutions = sd.generate(2, givens=40, seed=0)
>>> puzzles.shape, int((puzzles[0] > 0).sum()), sd.is_solution(solutions[0], puzzles[0])
((2, 9, 9), 40, True)
>>> sd.count_solutions(puzzles[0])
1
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ._validation import as_index_array, as_rng, check_real, check_size
from .models.kuramoto import Kuramoto
from .models.stack import stack
from .voting import VoteResult, vote

__all__ = [
    "generate",
    "count_solutions",
    "is_solution",
    "violations",
    "groups",
    "model",
    "encode",
    "decode",
    "solve",
    "SudokuResult",
    "SCHEDULE",
    "N_UNITS",
]

#: Oscillators of the Sudoku energy: one per (cell, digit).
N_UNITS = 729
_BOX = np.array([[3 * (r // 3) + c // 3 for c in range(9)] for r in range(9)])
_ALL = 0x3FE  # bits 1..9: the digits


# ---------------------------------------------------------------- input checks
def _grids(value, name, blanks=True):
    """``value`` as an int64 array of shape (9, 9) or (n, 9, 9) with digits in 0..9 (1..9 when
    ``blanks`` is False), or a ValueError naming ``name``, the rule, the value and the fix."""
    arr = as_index_array(value, name)
    if arr.ndim not in (2, 3) or arr.shape[-2:] != (9, 9) or arr.size == 0:
        raise ValueError(f"`{name}` must be a 9 x 9 grid of shape (9, 9), or a stack of them of shape "
                         f"(n, 9, 9) with n >= 1; got shape {arr.shape}. Pass one row of 9 digits per "
                         "grid row.")
    low = 0 if blanks else 1
    bad = (arr < low) | (arr > 9)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        what = "digits 0..9 (0 for a blank)" if blanks else "digits 1..9 (a filled grid)"
        raise ValueError(f"`{name}` must hold {what}; entry {where} is {int(arr[where])}. "
                         f"Write each cell as a digit{' and each blank as 0' if blanks else ''}.")
    return arr


# ---------------------------------------------------------------- exact solver and generator
def _masks(grid):
    rows, cols, boxes, empty = [0] * 9, [0] * 9, [0] * 9, []
    for r in range(9):
        for c in range(9):
            v = grid[r][c]
            if v:
                bit = 1 << v
                if (rows[r] | cols[c] | boxes[_BOX[r, c]]) & bit:
                    return None  # the givens already break a rule: no solution
                rows[r] |= bit
                cols[c] |= bit
                boxes[_BOX[r, c]] |= bit
            else:
                empty.append((r, c, int(_BOX[r, c])))
    return rows, cols, boxes, empty


def _search(grid, rows, cols, boxes, empty, limit, rng, found):
    """Depth-first search filling the blank with the fewest candidates first; appends solutions to
    ``found`` and returns True once ``limit`` of them are found."""
    best, best_cand, best_n = -1, 0, 10
    for k, (r, c, b) in enumerate(empty):
        if grid[r][c]:
            continue
        cand = _ALL & ~(rows[r] | cols[c] | boxes[b])
        n = bin(cand).count("1")
        if n < best_n:
            best, best_cand, best_n = k, cand, n
            if n <= 1:
                break
    if best < 0:  # no blank left
        found.append([row[:] for row in grid])
        return len(found) >= limit
    if best_n == 0:
        return False
    r, c, b = empty[best]
    digits = [d for d in range(1, 10) if best_cand >> d & 1]
    if rng is not None:
        rng.shuffle(digits)
    for d in digits:
        bit = 1 << d
        grid[r][c] = d
        rows[r] |= bit
        cols[c] |= bit
        boxes[b] |= bit
        stop = _search(grid, rows, cols, boxes, empty, limit, rng, found)
        grid[r][c] = 0
        rows[r] &= ~bit
        cols[c] &= ~bit
        boxes[b] &= ~bit
        if stop:
            return True
    return False


def _solutions(puzzle, limit, rng=None):
    grid = [[int(v) for v in row] for row in puzzle]
    masks = _masks(grid)
    if masks is None:
        return []
    found = []
    _search(grid, *masks, limit, rng, found)
    return found


def count_solutions(puzzle, limit=2):
    """The number of solutions of ``puzzle``, counted up to ``limit`` (exact backtracking).

    Parameters
    ----------
    puzzle : array_like, (9, 9)
        Digits 1..9 and 0 for a blank.
    limit : int, default 2
        Stop counting at this many; ``count_solutions(p) == 1`` says the solution is unique.
    """
    p = _grids(puzzle, "puzzle")
    if p.ndim != 2:
        raise ValueError(f"`puzzle` must be one grid of shape (9, 9); got shape {p.shape}. "
                         "Call count_solutions once per puzzle.")
    return len(_solutions(p, check_size(limit, "limit", 1)))


def generate(n, givens=30, seed=None, unique=True, max_tries=100):
    """Seeded random puzzles with ``givens`` clues each, and their solutions.

    A full grid is drawn by randomised backtracking; its cells are then blanked in a random
    order, a blank being kept only while the puzzle still has exactly one solution (checked by
    :func:`count_solutions`), until ``givens`` clues remain.  When a grid runs out of cells
    that can be blanked first, a new grid is drawn.

    Parameters
    ----------
    n : int
        Number of puzzles (>= 1).
    givens : int, default 30
        Clues per puzzle, 17..81.  Below about 24, unique puzzles get rare and generation slow.
    seed : int or numpy.random.Generator, optional
        The same seed gives the same puzzles.
    unique : bool, default True
        Require a unique solution.  With False, ``81 - givens`` random cells are blanked and
        ``solutions`` holds the grid they came from (the puzzle may have others).
    max_tries : int, default 100
        Grids drawn per puzzle before giving up.

    Returns
    -------
    puzzles : ndarray, int64 (n, 9, 9)
        0 for a blank.
    solutions : ndarray, int64 (n, 9, 9)

    Raises
    ------
    RuntimeError
        When ``max_tries`` grids gave no unique puzzle with ``givens`` clues.
    """
    n = check_size(n, "n", 1)
    givens = check_size(givens, "givens", 17, 81,
                        hint="A 9 x 9 puzzle with a unique solution needs at least 17 clues; pass 17..81.")
    if not isinstance(unique, (bool, np.bool_)):
        raise ValueError(f"`unique` must be True or False; got {unique!r}.")
    max_tries = check_size(max_tries, "max_tries", 1)
    rng = as_rng(seed)
    puzzles = np.zeros((n, 9, 9), dtype=np.int64)
    solutions = np.zeros((n, 9, 9), dtype=np.int64)
    for k in range(n):
        for _ in range(max_tries):
            full = np.array(_solutions(np.zeros((9, 9), dtype=np.int64), 1, rng)[0], dtype=np.int64)
            puzzle = full.copy()
            if not unique:
                puzzle.ravel()[rng.permutation(81)[: 81 - givens]] = 0
                break
            left = 81
            for cell in rng.permutation(81):
                if left == givens:
                    break
                r, c = divmod(int(cell), 9)
                digit = puzzle[r, c]
                puzzle[r, c] = 0
                if len(_solutions(puzzle, 2)) == 1:
                    left -= 1
                else:
                    puzzle[r, c] = digit
            if left == givens:
                break
        else:
            raise RuntimeError(f"generate: {max_tries} grids gave no puzzle with a unique solution and "
                               f"{givens} givens. Raise `givens` or `max_tries`.")
        puzzles[k], solutions[k] = puzzle, full
    return puzzles, solutions


# ---------------------------------------------------------------- exact checker
def violations(grid, puzzle=None):
    """The rules a filled grid breaks, as a dict of counts.

    ``rows``, ``columns``, ``boxes``: how many of the 9 are not a permutation of 1..9;
    ``givens``: how many clues of ``puzzle`` the grid changes (0 without a puzzle);
    ``blanks``: cells of ``grid`` that are 0.
    """
    g = _grids(grid, "grid")
    if g.ndim != 2:
        raise ValueError(f"`grid` must be one grid of shape (9, 9); got shape {g.shape}. Check the grids one by one.")
    want = np.arange(1, 10)
    boxes = g.reshape(3, 3, 3, 3).transpose(0, 2, 1, 3).reshape(9, 9)
    out = {
        "rows": int(sum(not np.array_equal(np.sort(row), want) for row in g)),
        "columns": int(sum(not np.array_equal(np.sort(col), want) for col in g.T)),
        "boxes": int(sum(not np.array_equal(np.sort(box), want) for box in boxes)),
        "givens": 0,
        "blanks": int((g == 0).sum()),
    }
    if puzzle is not None:
        p = _grids(puzzle, "puzzle")
        if p.shape != (9, 9):
            raise ValueError(f"`puzzle` must be one grid of shape (9, 9) like `grid`; got shape {p.shape}.")
        out["givens"] = int(((p > 0) & (p != g)).sum())
    return out


def is_solution(grid, puzzle=None):
    """Whether ``grid`` solves ``puzzle`` exactly: every row, column and 3 x 3 box is a
    permutation of 1..9 and every clue of ``puzzle`` (a nonzero entry) is kept.

    Without ``puzzle``, only the rules are checked.  Digits outside 0..9 or a wrong shape raise
    a ValueError; a grid with blanks (0) is simply not a solution.
    """
    v = violations(grid, puzzle)
    return not any(v.values())


# ---------------------------------------------------------------- the energy
_GROUPS = None
_EDGES = None


def groups():
    """The 324 Sudoku groups as unit indices, (324, 9): the 81 cells (9 digits each), then
    for each digit its 9 rows, 9 columns and 9 boxes."""
    global _GROUPS
    if _GROUPS is None:
        u = np.arange(N_UNITS).reshape(9, 9, 9)  # [row, column, digit]
        boxes = u.reshape(3, 3, 3, 3, 9).transpose(0, 2, 1, 3, 4).reshape(9, 9, 9)  # [box, k, digit]
        g = [u.reshape(81, 9),                       # cell (r, c): its 9 digits
             u.transpose(2, 0, 1).reshape(81, 9),    # digit d in row r
             u.transpose(2, 1, 0).reshape(81, 9),    # digit d in column c
             boxes.transpose(2, 0, 1).reshape(81, 9)]  # digit d in box b
        _GROUPS = np.ascontiguousarray(np.concatenate(g), dtype=np.int64)
    return _GROUPS


def _edges():
    """The coupled pairs (i < j) and how many groups each shares (1, or 2 for a row and a box)."""
    global _EDGES
    if _EDGES is None:
        g = groups()
        a, b = np.triu_indices(9, 1)
        pairs = np.stack([g[:, a].ravel(), g[:, b].ravel()], axis=1)
        pairs = np.sort(pairs, axis=1)
        edges, mult = np.unique(pairs, axis=0, return_counts=True)
        _EDGES = (np.ascontiguousarray(edges, dtype=np.int64), mult.astype(np.float64))
    return _EDGES


def _stimulus(puzzle, dim, penalty, clue_field, drive):
    """The field c (729, D): -4 * 14 A e1 from the four groups of every unit, +-H e1 on the units
    of a given cell, and the continuation's drive mu e2."""
    c = np.zeros((N_UNITS, dim))
    c[:, 0] = -56.0 * penalty
    cells = np.flatnonzero(puzzle.ravel())
    if cells.size:
        cu = c.reshape(81, 9, dim)
        cu[cells, :, 0] -= clue_field
        cu[cells, puzzle.ravel()[cells] - 1, 0] += 2.0 * clue_field
    c[:, 1] += drive
    return c


def model(puzzle, dim=3, penalty=1.0, clue_field=8.0, anisotropy=0.05, drive=0.0):
    r"""The oscillator model whose energy is the Sudoku energy of ``puzzle`` (docs/theory.md §11).

    .. math::

        E(x) = A \sum_g \Big|\sum_{i\in g} x_i + 7 e_1\Big|^2 - 18792 A
               - H \sum_{\text{clue }(r,c)=v} \Big(\langle x_{rcv}, e_1\rangle
                 - \sum_{d\ne v}\langle x_{rcd}, e_1\rangle\Big)
               - B \sum_{(i,j)} \log\cosh\langle x_i, x_j\rangle - \mu \sum_i \langle x_i, e_2\rangle

    over the 324 groups ``g`` and the 10206 pairs ``(i, j)`` that share a group: an
    ``oh.Kuramoto`` with per-pair coupling ``J_ij = -2 A m_ij`` (``m_ij`` groups shared),
    interaction ``tanh`` with weight ``B`` (``linear`` when ``B = 0``) and stimulus
    ``c_i = -56 A e1 (+- H e1 on clue cells) + mu e2``.

    Parameters
    ----------
    puzzle : array_like, (9, 9)
        Digits 1..9, 0 for a blank.
    dim : int, default 3
        D, the oscillators' dimension (>= 2).
    penalty : float, default 1.0
        A > 0, the weight of the group rules.
    clue_field : float, default 8.0
        H >= 0, the field of the clues.
    anisotropy : float, default 0.05
        B >= 0, the weight of ``-log cosh <x_i, x_j>``, which is the same on every spin state
        and, when B > 0, leaves the puzzle's solutions as the only global minima.
    drive : float, default 0.0
        mu >= 0, the continuation field along e2 (0 for the Sudoku energy itself).
    """
    p = _grids(puzzle, "puzzle")
    if p.ndim != 2:
        raise ValueError(f"`puzzle` must be one grid of shape (9, 9); got shape {p.shape}. "
                         "Build one model per puzzle (solve() takes a stack of puzzles).")
    dim = check_size(dim, "dim", 2, hint="The spin axis e1 and the drive axis e2 need D >= 2.")
    a = check_real(penalty, "penalty", low=0.0, strict=True)
    h = check_real(clue_field, "clue_field", low=0.0)
    b = check_real(anisotropy, "anisotropy", low=0.0)
    mu = check_real(drive, "drive", low=0.0)
    edges, mult = _edges()
    c = _stimulus(p, dim, a, h, mu)
    if b > 0.0:
        return Kuramoto(dim, edges=edges, coupling=-2.0 * a * mult, interaction="tanh",
                        interaction_weights=b, stimulus=c, n=N_UNITS)
    return Kuramoto(dim, edges=edges, coupling=-2.0 * a * mult, stimulus=c, n=N_UNITS)


def encode(grid, dim=3):
    """The spin state of a filled grid: ``x = +e1`` on each cell's digit unit, ``-e1`` on the
    other 8; shape (729 * D,), or (n, 729 * D) for a stack of grids.  A blank cell (0) gets
    all 9 units off."""
    g = _grids(grid, "grid")
    dim = check_size(dim, "dim", 2)
    lead = g.shape[:-2]
    on = (g[..., None] == np.arange(1, 10)).reshape(*lead, N_UNITS)
    x = np.zeros((*lead, N_UNITS, dim))
    x[..., 0] = np.where(on, 1.0, -1.0)
    return x.reshape(*lead, N_UNITS * dim)


def decode(states):
    """The grid a state stands for: in each cell, the digit whose unit has the largest
    ``<x, e1>``.  ``states`` of shape (729 * D,) gives (9, 9); (n, 729 * D) gives (n, 9, 9)."""
    y = np.asarray(states, dtype=np.float64)
    if y.ndim not in (1, 2) or y.shape[-1] == 0 or y.shape[-1] % N_UNITS:
        raise ValueError(f"`states` must have shape (729 * D,) or (n, 729 * D), 729 oscillators of "
                         f"dimension D; got shape {y.shape}. Pass model states (e.g. sol.states[:, -1]).")
    dim = y.shape[-1] // N_UNITS
    s = y.reshape(*y.shape[:-1], 81, 9, dim)[..., 0]
    return (np.argmax(s, axis=-1) + 1).reshape(*y.shape[:-1], 9, 9).astype(np.int64)


# ---------------------------------------------------------------- solving by voting
@dataclass(frozen=True)
class SudokuResult:
    """What :func:`solve` returns; for a stack of ``n`` puzzles every field but ``vote`` and
    ``seconds`` has a leading ``(n,)`` axis, for one puzzle none.

    Attributes
    ----------
    grids : ndarray, int64 (9, 9) or (n, 9, 9)
        The decoded winning states.
    solved : bool or ndarray (n,)
        Whether the grid solves its puzzle exactly (:func:`is_solution`).
    energy : float or ndarray (n,)
        The winning vote's Sudoku energy (``drive = 0``).
    energies : ndarray, (K,) or (n, K)
        Every vote's final energy.
    winner : int or ndarray (n,)
        The winning vote.
    vote : VoteResult
        The final stage's :func:`oscihop.vote` result (its ``state`` is the winning states).
    seconds : float
        Wall time of the relaxation (all stages, all puzzles and votes).
    """

    grids: np.ndarray
    solved: object
    energy: object
    energies: np.ndarray
    winner: object
    vote: VoteResult
    seconds: float


def _starts(n, votes, dim, seed):
    """(n, K, 729 D) uniform starts; vote k of puzzle b depends only on (seed, b, k), so the
    first vote of K = 16 is the one vote of K = 1."""
    root = seed if isinstance(seed, (int, np.integer)) else int(as_rng(seed).integers(2**63))
    out = np.empty((n, votes, N_UNITS, dim))
    for b in range(n):
        rng = np.random.default_rng([int(root), b])
        for k in range(votes):
            x = rng.standard_normal((N_UNITS, dim))
            out[b, k] = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return out.reshape(n, votes, N_UNITS * dim)


#: The default continuation: the drive mu of each stage before the last (mu = 0).
SCHEDULE = (40.0, 20.0, 10.0, 5.0, 2.0)


def solve(puzzles, votes=16, seed=None, dim=3, schedule=SCHEDULE, stage_time=10.0, penalty=1.0,
          clue_field=8.0, anisotropy=0.05, method="Tsit5", rtol=1e-4, atol=1e-6, **solve_kwargs):
    """Solve puzzles by relaxing ``votes`` random starts each and keeping the lowest energy.

    Every vote starts uniformly on the spheres and is relaxed through the stages of
    ``schedule``: stage ``s`` integrates the gradient flow of the Sudoku energy with drive
    ``mu_s`` and ``anisotropy`` 0 over ``stage_time``, from where the previous stage ended; a
    last stage integrates the Sudoku energy itself (``mu = 0``, ``anisotropy`` B) over
    ``stage_time``.  :func:`oscihop.vote` runs every stage for all puzzles and votes as one
    batch, and the last stage keeps each puzzle's lowest-energy final state, which is decoded
    with :func:`decode`.

    Parameters
    ----------
    puzzles : array_like, (9, 9) or (n, 9, 9)
        Digits 1..9, 0 for a blank.
    votes : int, default 16
        K >= 1 starts per puzzle.  Vote k of puzzle b starts from the same state whatever K.
    seed : int or numpy.random.Generator, optional
        Seed of the starts.
    dim : int, default 3
        D >= 2.
    schedule : sequence of float, default (40, 20, 10, 5, 2)
        The drives mu >= 0 of the stages before the last; empty for a single stage.
    stage_time : float, default 10.0
        The time of every stage (> 0).
    penalty, clue_field, anisotropy
        A, H and B of :func:`model`.
    method, rtol, atol, **solve_kwargs
        Passed to :func:`oscihop.solve`.

    Returns
    -------
    SudokuResult
    """
    p = _grids(puzzles, "puzzles")
    single = p.ndim == 2
    p = p.reshape(-1, 9, 9)
    n = p.shape[0]
    votes = check_size(votes, "votes", 1, hint="Pass votes=1 for one start per puzzle.")
    dim = check_size(dim, "dim", 2, hint="The spin axis e1 and the drive axis e2 need D >= 2.")
    try:
        mus = [float(v) for v in np.asarray(schedule, dtype=np.float64).ravel()]
    except (TypeError, ValueError):
        mus = None
    if mus is None or isinstance(schedule, (str, bytes, bool, np.bool_)):
        raise ValueError(f"`schedule` must be a sequence of drives mu >= 0; got {schedule!r}. "
                         "Pass e.g. (40, 20, 10, 5, 2), or () for no continuation.")
    for k, mu in enumerate(mus):
        if not np.isfinite(mu) or mu < 0:
            raise ValueError(f"`schedule` must hold finite drives mu >= 0; entry {k} is {mu!r}. "
                             "Pass e.g. (40, 20, 10, 5, 2), or () for no continuation.")
    t1 = check_real(stage_time, "stage_time", low=0.0, strict=True)
    final = [model(q, dim, penalty, clue_field, anisotropy) for q in p]
    y = _starts(n, votes, dim, seed)
    kw = dict(method=method, rtol=rtol, atol=atol, **solve_kwargs)
    t0 = time.perf_counter()
    for mu in mus:
        stage = stack([model(q, dim, penalty, clue_field, 0.0, mu) for q in p])
        res = vote(stage, (0.0, t1), votes=votes, y0=y, **kw)
        y = np.asarray(res.solution.states[:, -1], dtype=np.float64).reshape(n, votes, -1)
        y = stage[0].normalize(y.reshape(n * votes, -1)).reshape(n, votes, -1)
    res = vote(stack(final), (0.0, t1), votes=votes, y0=y, **kw)
    seconds = time.perf_counter() - t0
    state = np.where(np.isfinite(res.state), res.state, 0.0)
    grids = decode(state)
    solved = np.array([bool(ok) and is_solution(g, q) for ok, g, q in zip(res.success, grids, p)])
    if single:
        return SudokuResult(grids[0], bool(solved[0]), float(res.energy[0]), res.energies[0],
                            int(res.winner[0]), res, seconds)
    return SudokuResult(grids, solved, np.asarray(res.energy), res.energies, np.asarray(res.winner), res, seconds)
