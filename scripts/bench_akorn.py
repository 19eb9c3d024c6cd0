"""Case 4: the AKOrN discrete update, oscihop against a PyTorch (CPU) loop of the same update.

Usage: python scripts/bench_akorn.py [--repeats 3] [--quick]

    x <- normalize(x + gamma (Omega x + P_x(c + sum_j J_ij x_j)))      (docs/theory.md §7)

D = 4, a global antisymmetric Omega, a stimulus c, gamma = 0.1, 100 updates, a batch of
initial states.  Two couplings: dense symmetric J (N = 256; torch: one batched matmul per
update) and a local 8-neighbour grid (N = 64 x 64, AKOrN's convolutional coupling as an edge
list; torch: a sparse CSR matrix times the batch).  oscihop runs ``method="AKOrN"``.
torch uses as many threads as Numba.
"""

from __future__ import annotations

import argparse

import numpy as np

import oscihop as oh
from bench_common import Row, interleaved, max_abs_diff, print_rows

DIM, GAMMA, STEPS = 4, 0.1, 100


def _omega(rng):
    a = rng.standard_normal((DIM, DIM))
    return 0.5 * (a - a.T)


def grid_edges(side):
    """8-neighbour grid of side x side units, each pair once."""
    idx = np.arange(side * side).reshape(side, side)
    pairs = []
    for di, dj in ((0, 1), (1, -1), (1, 0), (1, 1)):
        a = idx[max(0, -di): side - max(0, di), max(0, -dj): side - max(0, dj)]
        b = idx[max(0, di): side + min(0, di) or None, max(0, dj): side + min(0, dj) or None]
        pairs.append(np.stack([a.ravel(), b.ravel()], axis=1))
    return np.concatenate(pairs).astype(np.int64)


def torch_loop(jmat, stim, omega, x0, threads):
    """The AKOrN update in PyTorch; ``jmat`` dense (N, N) or a torch sparse CSR matrix."""
    import torch

    torch.set_num_threads(threads)
    sparse = not isinstance(jmat, np.ndarray)
    j = jmat if sparse else torch.from_numpy(jmat)
    c = torch.from_numpy(stim)
    om = torch.from_numpy(omega)
    b, n = x0.shape[0], stim.shape[0]

    def run():
        with torch.no_grad():
            x = torch.from_numpy(x0.reshape(b, n, DIM).copy())
            for _ in range(STEPS):
                if sparse:
                    f = (j @ x.permute(1, 0, 2).reshape(n, b * DIM)).reshape(n, b, DIM).permute(1, 0, 2)
                else:
                    f = torch.matmul(j, x)
                f = f + c
                f = f - (f * x).sum(-1, keepdim=True) * x
                x = x + GAMMA * (x @ om.T + f)
                x = x / torch.linalg.vector_norm(x, dim=-1, keepdim=True)
            return x.reshape(b, n * DIM).numpy()

    return run


def case(kind, n, batch, repeats, threads):
    rng = np.random.default_rng(0)
    omega = _omega(rng)
    stim = 0.3 * rng.standard_normal((n, DIM))
    if kind == "dense":
        j = rng.standard_normal((n, n)) / np.sqrt(n)
        j = 0.5 * (j + j.T)
        np.fill_diagonal(j, 0.0)
        kur = oh.Kuramoto(DIM, coupling=j, stimulus=stim, omega=omega)
        peer_j = j
        label = f"dense J, N={n}"
    else:
        side = int(round(np.sqrt(n)))
        edges = grid_edges(side)
        jv = 0.5 + 0.1 * rng.standard_normal(edges.shape[0])
        kur = oh.Kuramoto(DIM, edges=edges, coupling=jv, stimulus=stim, omega=omega)
        import scipy.sparse as sp
        import torch

        m = sp.coo_matrix((np.concatenate([jv, jv]), (np.concatenate([edges[:, 0], edges[:, 1]]),
                                                       np.concatenate([edges[:, 1], edges[:, 0]]))),
                          shape=(n, n)).tocsr()
        peer_j = torch.sparse_csr_tensor(torch.from_numpy(m.indptr.astype(np.int64)),
                                         torch.from_numpy(m.indices.astype(np.int64)),
                                         torch.from_numpy(m.data), size=(n, n))
        label = f"8-neighbour grid {side}x{side}, {edges.shape[0]:,} edges"
    y0 = kur.random_state(seed=1, batch=batch)
    t1 = GAMMA * STEPS

    def ours():
        return oh.solve(kur, (0.0, t1), y0, method="AKOrN", dt=GAMMA, t_eval=[0.0, t1]).y[:, :, -1]

    t_oh, t_pt, a, b = interleaved(ours, torch_loop(peer_j, stim, omega, y0, threads), repeats)
    return Row("4", f"AKOrN D={DIM}, {label}, batch {batch}, {STEPS} updates", t_oh, "PyTorch CPU loop", t_pt,
               max_abs_diff(a, b), 1e-9)


def run(repeats=3, quick=False):
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        return [Row("4", "AKOrN update", note=f"torch missing: {exc}")]
    threads = oh.config.num_threads()
    return [case("dense", 256, 8 if quick else 32, repeats, threads),
            case("grid", 1024 if quick else 4096, 8 if quick else 16, repeats, threads)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print_rows(run(args.repeats, args.quick))


if __name__ == "__main__":
    main()
