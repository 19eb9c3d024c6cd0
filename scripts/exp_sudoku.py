"""Energy voting on Sudoku: held-out generated puzzles solved by oscillators with K = 1 and K votes.

Puzzles with a unique solution are generated (``oscihop.sudoku.generate``, a seed no test or
tuning run used) at each number of givens, and solved by ``oscihop.sudoku.solve``: 729
oscillators on S^2 relax on the designed Sudoku energy of docs/theory.md §11 through the
default continuation, and energy voting keeps the lowest final energy.  Vote k of a puzzle
starts from the same state for K = 1 and K = 16, so the single vote of K = 1 is vote 0 of
K = 16.  A puzzle counts as solved when the decoded grid passes the exact checker
``is_solution`` (every row, column and box a permutation of 1..9, clues kept).  The time per
puzzle is the wall time of the relaxation (all stages, all votes) divided by the puzzles; a
one-puzzle warm-up first compiles the kernels, so compilation is not counted::

    python scripts/exp_sudoku.py                       # 100 puzzles at 30 and at 24 givens
    python scripts/exp_sudoku.py --quick               # 8 puzzles at 30 givens
    python scripts/exp_sudoku.py --givens 30 --n 50 --out sudoku.md
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import oscihop.sudoku as sd

HELD_OUT_SEED = 20261207  # the puzzles; the tests and the tuning runs used other seeds
START_SEED = 7            # the votes' starts


def run(givens, n, votes, chunk):
    t0 = time.perf_counter()
    puzzles, solutions = sd.generate(n, givens=givens, seed=[HELD_OUT_SEED, givens])
    gen_s = time.perf_counter() - t0
    out = {"givens": givens, "n": n, "generate_s": gen_s}
    for k in (1, votes):
        solved, seconds, energies, winners = [], 0.0, [], []
        for lo in range(0, n, chunk):
            res = sd.solve(puzzles[lo:lo + chunk], votes=k, seed=START_SEED)
            seconds += res.seconds
            solved.append(res.solved)
            energies.append(res.energies)
            # every vote's decoded grid, for the fraction of votes that solve
            finals = np.asarray(res.vote.solution.states[:, -1])
            grids = sd.decode(np.where(np.isfinite(finals), finals, 0.0)).reshape(len(res.solved), k, 9, 9)
            winners.append(np.array([[sd.is_solution(g, p) for g in gs]
                                     for gs, p in zip(grids, puzzles[lo:lo + chunk])]))
        solved = np.concatenate(solved)
        ok_votes = np.concatenate(winners)
        out[k] = {"solved": float(solved.mean()), "n_solved": int(solved.sum()), "s_per_puzzle": seconds / n,
                  "vote_rate": float(ok_votes.mean()), "any_vote": float(ok_votes.any(axis=1).mean()),
                  "solved_mask": solved, "vote0": ok_votes[:, 0]}
        print(f"givens {givens}: K = {k:2d}: solved {solved.sum()}/{n} = {solved.mean():.3f}, "
              f"single votes solving {ok_votes.mean():.3f}, some vote solving {ok_votes.any(axis=1).mean():.3f}, "
              f"{seconds / n:.2f} s per puzzle", flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--givens", type=int, nargs="+", default=None, help="clues per puzzle (default 30 24)")
    ap.add_argument("--n", type=int, default=None, help="puzzles per level (default 100, 8 with --quick)")
    ap.add_argument("--votes", type=int, default=16, help="K of the voted run (default 16)")
    ap.add_argument("--chunk", type=int, default=25, help="puzzles solved per batch (default 25)")
    ap.add_argument("--quick", action="store_true", help="8 puzzles at 30 givens")
    ap.add_argument("--out", default=None, help="write the markdown table to this file")
    args = ap.parse_args()
    givens = args.givens or ([30] if args.quick else [30, 24])
    n = args.n or (8 if args.quick else 100)

    warm, _ = sd.generate(1, givens=40, seed=0)
    sd.solve(warm, votes=2, seed=0)  # compiles the kernels; not timed

    rows = []
    for g in givens:
        r = run(g, n, args.votes, args.chunk)
        both = r[1]["vote0"] == r[1]["solved_mask"]
        rows.append((g, r))
        print(f"givens {g}: vote 0 of K = {args.votes} solves the same puzzles as K = 1 on "
              f"{both.mean():.3f} of them; generation {r['generate_s']:.1f} s", flush=True)

    k = args.votes
    lines = ["| givens | puzzles | K | solved exactly | single votes solving | s / puzzle |",
             "|---|---|---|---|---|---|"]
    for g, r in rows:
        for kk in (1, k):
            lines.append(f"| {g} | {r['n']} | {kk} | {r[kk]['solved']:.2f} ({r[kk]['n_solved']}/{r['n']}) | "
                         f"{r[kk]['vote_rate']:.2f} | {r[kk]['s_per_puzzle']:.2f} |")
    cores = os.cpu_count()
    note = (f"\nHeld-out puzzles with a unique solution (seed {HELD_OUT_SEED}); D = 3, schedule "
            f"{sd.SCHEDULE} then mu = 0, stage time 10, A = 1, H = 8, B = 0.05, Tsit5 (rtol 1e-4, atol 1e-6); "
            f"{cores}-core CPU ({platform.machine()}), numba threads {os.environ.get('NUMBA_NUM_THREADS', cores)}.\n")
    table = "\n".join(lines) + "\n" + note
    print(table)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(table)


if __name__ == "__main__":
    main()
