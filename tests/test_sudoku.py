"""oscihop.sudoku: the generator, the exact checker, the designed Sudoku energy (docs/theory.md
§11) and energy voting on it.

The energy is checked against the penalty counted independently from a grid (the digits each
row, column and box holds): on spin states it must be E_min + 4 A sum_g (k_g - 1)^2 + 4 H (clues
changed), so a grid that breaks a rule has a higher energy than the solution."""
import numpy as np
import pytest

import oscihop as oh
import oscihop.sudoku as sd

A, H, B = 1.0, 8.0, 0.05  # the defaults of sd.model


@pytest.fixture(scope="module")
def bank():
    """Three unique puzzles with 36 givens and their solutions."""
    return sd.generate(3, givens=36, seed=11)


def counted_penalty(grid):
    """sum_g (k_g - 1)^2 over the 324 groups, counted from the grid itself (not from sd.groups)."""
    total = 0
    for d in range(1, 10):
        hit = grid == d
        total += ((hit.sum(axis=1) - 1) ** 2).sum() + ((hit.sum(axis=0) - 1) ** 2).sum()
        boxes = hit.reshape(3, 3, 3, 3).sum(axis=(1, 3))
        total += ((boxes - 1) ** 2).sum()
    total += ((grid == 0).sum()) * 1  # a blank cell has no unit on: (0 - 1)^2
    return int(total)


def e_min(puzzle):
    n_edges = sd._edges()[0].shape[0]
    return -18792 * A - 9 * H * int((puzzle > 0).sum()) - B * n_edges * np.log(np.cosh(1.0))


# ---------------------------------------------------------------- generator
def test_generate_gives_unique_puzzles_with_the_requested_givens(bank):
    puzzles, solutions = bank
    assert puzzles.shape == solutions.shape == (3, 9, 9) and puzzles.dtype == np.int64
    for p, s in zip(puzzles, solutions):
        assert int((p > 0).sum()) == 36
        assert np.array_equal(p[p > 0], s[p > 0])          # the clues are the solution's digits
        assert sd.is_solution(s, p)
        assert sd.count_solutions(p) == 1                   # unique
    again, _ = sd.generate(3, givens=36, seed=11)
    other, _ = sd.generate(3, givens=36, seed=12)
    assert np.array_equal(again, puzzles) and not np.array_equal(other, puzzles)


def test_generate_without_uniqueness_and_solution_counts():
    puzzles, solutions = sd.generate(2, givens=20, seed=3, unique=False)
    assert all(int((p > 0).sum()) == 20 and sd.is_solution(s, p) for p, s in zip(puzzles, solutions))
    assert sd.count_solutions(np.zeros((9, 9), int)) == 2     # counted up to limit
    assert sd.count_solutions(np.zeros((9, 9), int), limit=5) == 5
    clash = np.zeros((9, 9), int)
    clash[0, 0] = clash[0, 5] = 4                              # two 4s in a row: no solution
    assert sd.count_solutions(clash) == 0


def test_groups_cover_every_unit_four_times():
    g = sd.groups()
    assert g.shape == (324, 9)
    assert np.array_equal(np.bincount(g.ravel(), minlength=729), np.full(729, 4))
    edges, mult = sd._edges()
    assert edges.shape == (10206, 2) and set(np.unique(mult)) == {1.0, 2.0}
    assert np.all(np.bincount(edges.ravel(), minlength=729) == 28)   # 8 + 8 + 8 + 8 - 4 neighbours


# ---------------------------------------------------------------- checker
def broken_grids(solution, puzzle):
    """One grid per kind of violation, with the kind(s) it breaks."""
    out = {}
    s = solution.copy()
    s[[0, 1], 0] = s[[1, 0], 0]                    # swap in a column, inside a box: rows only
    out["rows"] = s
    s = solution.copy()
    s[0, [0, 1]] = s[0, [1, 0]]                    # swap in a row, inside a box: columns only
    out["columns"] = s
    s = solution[:, [3, 1, 2, 0, 4, 5, 6, 7, 8]]   # swap two columns of different stacks: boxes only
    out["boxes"] = s
    relabel = np.array([0, 2, 1, 3, 4, 5, 6, 7, 8, 9])
    out["givens"] = relabel[solution]              # a valid grid (1 <-> 2), but not the clues'
    s = solution.copy()
    s[4, 4] = 0
    out["blanks"] = s
    return out


def test_checker_rejects_each_kind_of_violation(bank):
    puzzles, solutions = bank
    p, s = puzzles[0], solutions[0]
    assert sd.is_solution(s, p) and sd.is_solution(s)
    assert sd.violations(s, p) == dict(rows=0, columns=0, boxes=0, givens=0, blanks=0)
    for kind, grid in broken_grids(s, p).items():
        v = sd.violations(grid, p)
        assert v[kind] > 0, kind
        assert not sd.is_solution(grid, p)
        if kind in ("rows", "columns", "boxes"):          # that rule only (clues aside)
            rules = sd.violations(grid)
            assert rules[kind] > 0 and sum(rules.values()) == rules[kind], (kind, rules)
    assert sd.is_solution(broken_grids(s, p)["givens"])      # a valid grid when no clues are asked


# ---------------------------------------------------------------- energy
def test_the_solution_is_a_fixed_point_at_the_lower_bound(bank):
    puzzles, solutions = bank
    for p, s in zip(puzzles, solutions):
        m = sd.model(p)
        y = sd.encode(s)
        assert m.size == 729 * 3 and m.is_lyapunov
        assert np.isclose(m.energy(y), e_min(p), rtol=1e-12, atol=1e-9)
        assert np.abs(m.rhs(0.0, y)).max() < 1e-9
        assert np.array_equal(sd.decode(y), s)


def test_energy_of_violations_is_the_counted_penalty_above_the_solution(bank):
    puzzles, solutions = bank
    p, s = puzzles[1], solutions[1]
    m = sd.model(p)
    e_sol = m.energy(sd.encode(s))
    rng = np.random.default_rng(0)
    grids = list(broken_grids(s, p).values())
    for _ in range(10):                                   # random digit changes
        g = s.copy()
        cells = rng.choice(81, size=rng.integers(1, 5), replace=False)
        g.ravel()[cells] = rng.integers(1, 10, size=cells.size)
        grids.append(g)
    for g in grids:
        changed = int(((p > 0) & (g != p)).sum())
        gap = m.energy(sd.encode(g)) - e_sol
        assert np.isclose(gap, 4 * A * counted_penalty(g) + 4 * H * changed, rtol=1e-9, atol=1e-8)
        if not sd.is_solution(g, p):
            assert gap >= 4 * A - 1e-8                    # strictly above the solution
    # off the spin states too: random unit states lie above the bound
    starts = m.random_state(seed=1, batch=5)
    assert np.all(m.energy(starts) > e_min(p) + 1.0)


def test_the_solution_attracts_a_perturbed_start(bank):
    puzzles, solutions = bank
    p, s = puzzles[2], solutions[2]
    m = sd.model(p)
    y0 = m.normalize(sd.encode(s) + 0.3 * np.random.default_rng(2).standard_normal(m.size))
    sol = oh.solve(m, (0.0, 10.0), y0, method="Tsit5", rtol=1e-6, atol=1e-8, t_eval=[0.0, 5.0, 10.0])
    assert sol.success and np.all(np.diff(sol.energy) <= 1e-9)
    assert np.array_equal(sd.decode(sol.states[-1]), s)
    assert sol.energy[-1] - e_min(p) < 1e-4


# ---------------------------------------------------------------- voting
def test_sixteen_votes_solve_at_least_what_one_vote_solves(bank):
    puzzles, _ = bank
    kw = dict(seed=5, schedule=(40.0, 10.0, 2.0), stage_time=5.0)
    one = sd.solve(puzzles, votes=1, **kw)
    many = sd.solve(puzzles, votes=16, **kw)
    assert one.grids.shape == many.grids.shape == (3, 9, 9) and many.energies.shape == (3, 16)
    # vote 0 of K = 16 starts where the vote of K = 1 does
    np.testing.assert_allclose(many.energies[:, 0], one.energies[:, 0], rtol=1e-6)
    assert many.solved.sum() >= one.solved.sum() and many.solved.sum() >= 1
    assert np.all(many.energy <= one.energy + 1e-6)
    for g, p, ok in zip(many.grids, puzzles, many.solved):
        assert ok == sd.is_solution(g, p)
    # a solved puzzle's winner sits at the energy's lower bound
    assert np.all(np.abs(many.energy[many.solved] - [e_min(p) for p in puzzles[many.solved]]) < 1e-2)
    single = sd.solve(puzzles[0], votes=1, **kw)
    assert single.grids.shape == (9, 9) and isinstance(single.solved, bool) and single.seconds > 0


# ---------------------------------------------------------------- bad input
GOOD = np.zeros((9, 9), int)


@pytest.mark.parametrize("call, name", [
    (lambda: sd.generate(0), "n"),
    (lambda: sd.generate(1, givens=16), "givens"),
    (lambda: sd.generate(1, givens=82), "givens"),
    (lambda: sd.generate(1, givens=30.5), "givens"),
    (lambda: sd.generate(1, seed=-1), "seed"),
    (lambda: sd.generate(1, unique="yes"), "unique"),
    (lambda: sd.is_solution(np.ones((9, 8), int)), "grid"),
    (lambda: sd.is_solution(np.full((9, 9), 10)), "grid"),
    (lambda: sd.is_solution(np.ones((9, 9), int), np.full((9, 9), -1)), "puzzle"),
    (lambda: sd.count_solutions(np.full((9, 9), 1.5)), "puzzle"),
    (lambda: sd.count_solutions(GOOD, limit=0), "limit"),
    (lambda: sd.model(np.zeros((9, 9), bool)), "puzzle"),
    (lambda: sd.model(np.zeros((2, 9, 9), int)), "puzzle"),
    (lambda: sd.model(GOOD, dim=1), "dim"),
    (lambda: sd.model(GOOD, penalty=0.0), "penalty"),
    (lambda: sd.model(GOOD, clue_field=-1.0), "clue_field"),
    (lambda: sd.model(GOOD, anisotropy=np.nan), "anisotropy"),
    (lambda: sd.model(GOOD, drive=-2.0), "drive"),
    (lambda: sd.encode(np.zeros((3, 3), int)), "grid"),
    (lambda: sd.decode(np.zeros(100)), "states"),
    (lambda: sd.solve(np.zeros((2, 9, 8), int)), "puzzles"),
    (lambda: sd.solve(np.full((9, 9), 12)), "puzzles"),
    (lambda: sd.solve(GOOD, votes=0), "votes"),
    (lambda: sd.solve(GOOD, votes=2.5), "votes"),
    (lambda: sd.solve(GOOD, schedule=(10.0, -1.0)), "schedule"),
    (lambda: sd.solve(GOOD, schedule="fast"), "schedule"),
    (lambda: sd.solve(GOOD, stage_time=0.0), "stage_time"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=rf"`{name}`") as err:
        call()
    msg = str(err.value)
    assert "got" in msg or " is " in msg          # the value seen, in the helpers' wording
