"""Case 4: the AKOrN discrete update, oscihop against a PyTorch (CPU) loop of the same update.

Usage: python scripts/bench_akorn.py [--repeats 3] [--quick] [--conv-only]

    x <- normalize(x + gamma (Omega x + P_x(c + sum_j J_ij x_j)))      (docs/theory.md §7)

D = 4, a global antisymmetric Omega, a stimulus c, gamma = 0.1, 100 updates, a batch of
initial states.  Two couplings: dense symmetric J (N = 256; torch: one batched matmul per
update) and a local 8-neighbour grid (N = 64 x 64, AKOrN's convolutional coupling as an edge
list; torch: a sparse CSR matrix times the batch).  oscihop runs ``method="AKOrN"``.
torch uses as many threads as Numba.

Case 4c: one AKOrN convolutional layer, ``oh.ConvCoupling`` against the PyTorch layer of the
same update: ``conv2d(x, weight, bias) + c``, AKOrN's channel-pair rotations, the projection and
the normalisation, T = 8 updates with gamma = 1, batch B = 16, C = 64 channels of D = 4
(K = 16 oscillators per pixel), a 3 x 3 kernel, on a 32 x 32 and a 64 x 64 grid, in float32
(torch's default) and float64.  oscihop's energies are computed only at the two outputs.
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


def torch_conv_layer(weight, bias, stim_img, rates, x0_img, steps, gamma, threads):
    """AKOrN's KLayer update in PyTorch (channel-first images): conv2d + c, Omega, projection."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    dt = torch.float32 if x0_img.dtype == np.float32 else torch.float64
    w = torch.from_numpy(weight).to(dt)
    b = torch.from_numpy(bias).to(dt)
    c = torch.from_numpy(stim_img).to(dt)
    om = torch.from_numpy(rates).to(dt)[None, :, None, None]
    bsz, ch, hh, ww = x0_img.shape
    d = DIM

    def run():
        with torch.no_grad():
            x = torch.from_numpy(x0_img.copy())
            for _ in range(steps):
                y = F.conv2d(x, w, b, padding=weight.shape[2] // 2) + c
                xg, yg = x.view(bsz, ch // d, d, hh, ww), y.view(bsz, ch // d, d, hh, ww)
                proj = (yg - (yg * xg).sum(2, keepdim=True) * xg).view(bsz, ch, hh, ww)
                pairs = x.view(bsz, ch // 2, 2, hh, ww)
                rot = torch.stack([om * pairs[:, :, 1], -om * pairs[:, :, 0]], dim=2).view(bsz, ch, hh, ww)
                x = x + gamma * (rot + proj)
                xg = x.view(bsz, ch // d, d, hh, ww)
                x = (xg / torch.linalg.vector_norm(xg, dim=2, keepdim=True)).view(bsz, ch, hh, ww)
            return x.numpy()

    return run


def conv_case(side, batch, repeats, threads, dtype, channels=64, steps=8, gamma=1.0):
    rng = np.random.default_rng(0)
    weight = (rng.standard_normal((channels, channels, 3, 3)) / np.sqrt(9 * channels)).astype(np.float64)
    bias = 0.1 * rng.standard_normal(channels)
    rates = np.abs(rng.standard_normal(channels // 2))
    conv = oh.ConvCoupling(weight, bias, grid=(side, side), dim=DIM)
    kk = channels // DIM
    omega = oh.pair_rotations(np.repeat(rates.reshape(kk, DIM // 2), side * side, axis=0), DIM, n=conv.n)
    stim_img = 0.3 * rng.standard_normal((channels, side, side))
    kur = oh.Kuramoto(DIM, coupling=conv, stimulus=conv.to_state(stim_img).reshape(conv.n, DIM), omega=omega)
    y0 = kur.random_state(seed=1, batch=batch).astype(dtype)
    x0_img = conv.to_images(y0).astype(dtype)
    t1 = gamma * steps

    def ours():
        return oh.solve(kur, (0.0, t1), y0, method="AKOrN", dt=gamma, t_eval=[0.0, t1]).y[:, :, -1]

    peer = torch_conv_layer(weight, bias, stim_img, rates, x0_img, steps, gamma, threads)
    t_oh, t_pt, a, b = interleaved(ours, lambda: conv.to_state(peer()), repeats)
    tol = 1e-9 if dtype == np.float64 else 2e-3
    name = (f"AKOrN conv layer {side}x{side}, C={channels}, D={DIM}, k=3, batch {batch}, {steps} updates, "
            f"{np.dtype(dtype).name}")
    return Row("4c", name, t_oh, "PyTorch CPU layer", t_pt, max_abs_diff(a, b), tol, target=">= 2x",
               met=bool(t_pt / t_oh >= 2.0))


def run(repeats=3, quick=False, conv_only=False):
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        return [Row("4", "AKOrN update", note=f"torch missing: {exc}")]
    threads = oh.config.num_threads()
    rows = [] if conv_only else [case("dense", 256, 8 if quick else 32, repeats, threads),
                                 case("grid", 1024 if quick else 4096, 8 if quick else 16, repeats, threads)]
    for side in ((16,) if quick else (32, 64)):
        for dtype in (np.float32, np.float64):
            rows.append(conv_case(side, 4 if quick else 16, repeats, threads, dtype))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--conv-only", action="store_true", help="case 4c only")
    args = parser.parse_args()
    print_rows(run(args.repeats, args.quick, args.conv_only))


if __name__ == "__main__":
    main()
