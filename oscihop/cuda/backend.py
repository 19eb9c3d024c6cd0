"""Host side of the CUDA backend: device detection, launch configuration, transfers.

``oh.solve(..., backend="cuda")`` lands here (through :mod:`oscihop.solvers.solve`).
The model's parameters and the initial states are copied to the device once; the
whole time loop runs in one kernel launch (the thread or block layout of
:mod:`oscihop.cuda.kernels`); outputs, statistics and the energy at every output
(computed on the device, one serial gather per output) are copied back once.  A single
adaptive trajectory with ``t_eval=None`` records every accepted step, like the CPU
backend: the kernel pauses when its output buffer is full, the buffer is copied to the
host and the same launch continues, so device memory stays bounded.
"""

from __future__ import annotations

import functools

import numpy as np

from ..kernels.params import I_DIM, I_K_KIND, I_K_RANK, I_NH, I_NK, I_W_KIND, I_W_RANK, I_WORK_SIZE, K_LOWRANK, W_LOWRANK
from ..solvers.loops import N_STATS, ST_K, ST_LEN, ST_RUN

__all__ = [
    "LAYOUTS", "BLOCK_LAYOUT_MIN_SIZE", "DEVICE_THREADS", "SIMULATOR_THREADS", "RECORD_BLOCK",
    "CudaUnavailableError", "simulator_enabled", "device_status", "resolve_backend", "check_layout",
    "choose_layout", "threads_for", "DeviceModel", "energies", "run_adaptive", "run_fixed", "run_async",
]

LAYOUTS = ("auto", "thread", "block")
#: ``layout="auto"`` picks one block per trajectory from this state size on.
BLOCK_LAYOUT_MIN_SIZE = 2048
#: Default threads per block on a device: thread layout, block layout.
DEVICE_THREADS = {"thread": 64, "block": 256}
#: Default threads per block under the simulator (kernels run as Python threads there).
SIMULATOR_THREADS = 4
#: Rows of the output buffer of a recorded-every-step solve (then streamed to the host).
RECORD_BLOCK = 256

_FIX = ("install the GPU extra (pip install 'oscihop[cuda]', which brings numba-cuda and the CUDA "
        "toolkit) on a machine with an NVIDIA GPU and driver, or use backend='cpu' (or 'auto', which falls "
        "back to the CPU). To run the CUDA kernels without a GPU (slowly, for tests), set the environment "
        "variable NUMBA_ENABLE_CUDASIM=1 before numba is imported.")


class CudaUnavailableError(RuntimeError):
    """``backend="cuda"`` was asked for, but numba can reach no CUDA device (or simulator)."""


def simulator_enabled():
    """True when numba runs CUDA kernels in its simulator (``NUMBA_ENABLE_CUDASIM=1``)."""
    import numba

    return bool(numba.config.ENABLE_CUDASIM)


@functools.lru_cache(maxsize=None)
def device_status():
    """``(kind, detail)``: kind is ``"device"``, ``"simulator"`` or ``"none"``; detail says what was found.

    Imports ``numba.cuda`` (only here, so only when a CUDA backend is asked for).  The
    answer is cached for the process.
    """
    try:
        from numba import cuda
    except Exception as exc:  # noqa: BLE001 - numba-cuda missing or broken
        return "none", f"numba.cuda could not be imported ({type(exc).__name__}: {exc})"
    if simulator_enabled():
        return "simulator", "numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1)"
    try:
        available = bool(cuda.is_available())
    except Exception as exc:  # noqa: BLE001
        return "none", f"CUDA initialisation failed ({type(exc).__name__}: {exc})"
    if not available:
        reason = ""
        try:
            err = cuda.cuda_error()
            reason = " ".join(str(err).split()) if err is not None else ""
        except Exception:  # noqa: BLE001
            pass
        return "none", "numba found no usable CUDA device" + (f" ({reason})" if reason else "")
    try:
        dev = cuda.get_current_device()
        name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
        return "device", f"{name} (compute capability {dev.compute_capability[0]}.{dev.compute_capability[1]})"
    except Exception as exc:  # noqa: BLE001
        return "none", f"numba sees a CUDA driver but no usable device ({type(exc).__name__}: {exc})"


def resolve_backend(backend):
    """The backend a solve runs on: ``"cpu"`` or ``"cuda"``.

    ``"auto"`` picks ``"cuda"`` only when numba sees a real device (never the simulator);
    ``"cuda"`` also runs under the simulator, and raises :class:`CudaUnavailableError`
    (a ``RuntimeError``) saying how to fix it when neither is there.
    """
    if backend == "cpu":
        return "cpu"
    if backend == "auto":
        if simulator_enabled():
            return "cpu"
        return "cuda" if device_status()[0] == "device" else "cpu"
    kind, detail = device_status()
    if kind == "none":
        raise CudaUnavailableError(f"`backend`='cuda' needs a CUDA GPU, but none is available: {detail}. "
                                   f"To fix: {_FIX}")
    return "cuda"


def check_layout(layout, threads_per_block):
    """Validate the CUDA-only options ``layout`` and ``threads_per_block``."""
    if layout not in LAYOUTS:
        raise ValueError(f"`layout` must be one of {list(LAYOUTS)} (backend='cuda'); got {layout!r}.")
    if threads_per_block is not None:
        if (isinstance(threads_per_block, bool) or not isinstance(threads_per_block, (int, np.integer))
                or not 1 <= threads_per_block <= 1024):
            raise ValueError(f"`threads_per_block` must be an integer in [1, 1024]; got {threads_per_block!r}.")


def choose_layout(layout, size, n_members, method_kind):
    """``"thread"`` or ``"block"``: what ``layout="auto"`` does, or the explicit choice.

    ``async`` always uses the thread layout (its unit updates are sequential).  ``auto``
    gives a block per trajectory when the state has at least ``BLOCK_LAYOUT_MIN_SIZE``
    entries, or when there are fewer trajectories than 32 and at least 256 entries; one
    thread per trajectory otherwise.
    """
    if method_kind == "async":
        return "thread"
    if layout != "auto":
        return layout
    if size >= BLOCK_LAYOUT_MIN_SIZE or (n_members < 32 and size >= 256):
        return "block"
    return "thread"


def threads_for(layout, threads_per_block, n_members, rows):
    if threads_per_block is None:
        threads_per_block = SIMULATOR_THREADS if simulator_enabled() else DEVICE_THREADS[layout]
    if layout == "thread":
        return int(max(1, min(threads_per_block, n_members)))
    return int(max(1, min(threads_per_block, 1 << max(0, int(rows - 1).bit_length()))))


def _check_memory(nbytes, what):
    from numba import cuda

    try:
        free = cuda.current_context().get_memory_info()[0]
    except Exception:  # noqa: BLE001
        return
    if np.isfinite(free) and nbytes > 0.9 * free:
        raise ValueError(f"{what} need {nbytes / 2**30:.2f} GiB of GPU memory, but {free / 2**30:.2f} GiB are free. "
                         "Pass fewer output times (`t_eval`) or split the batch `y0` into several solves.")


class DeviceModel:
    """A model's parameters on the device, with the sizes the launches need.

    ``p.fp`` is one float row shared by every member, or (B, n) rows, one per member of a
    stack of models (:func:`oscihop.stack`); the kernels read row ``min(b, rows - 1)``.
    """

    def __init__(self, p, n_members):
        from numba import cuda

        fp = np.ascontiguousarray(p.fp)
        self.fps = cuda.to_device(fp.reshape(-1, fp.shape[-1]))
        self.ip = cuda.to_device(np.ascontiguousarray(p.ip))
        ip = p.ip
        self.nh, self.nk, self.dim = int(ip[I_NH]), int(ip[I_NK]), int(ip[I_DIM])
        self.rows = max(self.nh, self.nk)
        self.work_size = int(ip[I_WORK_SIZE])
        w_rank = int(ip[I_W_RANK]) if ip[I_W_KIND] == W_LOWRANK else 0
        k_rank = int(ip[I_K_RANK]) if ip[I_K_KIND] == K_LOWRANK else 0
        from .kernels import n_reductions

        self.n_red = n_reductions(w_rank, k_rank, self.dim)
        self.dtype = fp.dtype
        self.n_members = n_members


def _empty(shape, dtype):
    from numba import cuda

    return cuda.device_array(shape, dtype=dtype)


def _grid(layout, nt, nb):
    return ((nb + nt - 1) // nt, nt) if layout == "thread" else (nb, nt)


def energies(dm, states):
    """Energy of every output state, on the device: ``states`` (B, T, size) -> (B, T)."""
    from numba import cuda

    from . import kernels

    nb, nt_out, size = states.shape
    flat = np.ascontiguousarray(states.reshape(-1, size))
    m = flat.shape[0]
    if m == 0:
        return np.zeros((nb, nt_out), dtype=states.dtype)
    threads = threads_for("thread", None, m, 1)
    d_states = cuda.to_device(flat)
    d_work = _empty((m, dm.work_size), dm.dtype)
    d_out = _empty(m, dm.dtype)
    kernels.energy_kernel[(m + threads - 1) // threads, threads](dm.fps, dm.ip, d_states, nt_out, d_work, d_out)
    return d_out.copy_to_host().reshape(nb, nt_out)


def run_adaptive(p, ys, t0, t1, te, rtol, atol, max_step, h0s, max_steps, steady, tab, layout, threads_per_block):
    """Adaptive RK on the device.  ``te=None``: record every accepted step (one trajectory).

    Returns ``(states (B, T, size), stats (B, 5), t_out, energy (B, T), layout, threads)``.
    """
    from numba import cuda

    from . import kernels

    nb, size = ys.shape
    dt = ys.dtype
    dm = DeviceModel(p, nb)
    lay = choose_layout(layout, size, nb, "adaptive")
    nt = threads_for(lay, threads_per_block, nb, dm.rows)
    record_all = te is None
    cap = RECORD_BLOCK if record_all else te.shape[0]
    ns = tab.B.shape[0]
    _check_memory(dt.itemsize * nb * size * (cap + ns + 6) + 8 * nb * cap, "The outputs and work buffers")
    d_y = cuda.to_device(ys)
    d_f = _empty((nb, size), dt)
    d_st = cuda.to_device(np.zeros((nb, ST_LEN)))
    d_K = _empty((nb, ns + 1, size), dt)
    d_ynew = _empty((nb, size), dt)
    d_ytmp = _empty((nb, size), dt)
    d_errv = _empty((nb, size), dt)
    d_te = cuda.to_device(np.zeros(1) if record_all else np.ascontiguousarray(te, dtype=np.float64))
    d_atol = cuda.to_device(atol)
    d_h0 = cuda.to_device(np.ascontiguousarray(h0s, dtype=np.float64))
    d_out_t = _empty((nb, cap), np.float64)
    d_out_y = _empty((nb, cap, size), dt)
    tabs = [cuda.to_device(np.ascontiguousarray(a, dtype=np.float64)) for a in (tab.A, tab.B, tab.E, tab.P)]
    blocks, threads = _grid(lay, nt, nb)
    if lay == "thread":
        d_work = _empty((nb, dm.work_size), dt)

        def launch(start):
            kernels.erk_thread_kernel[blocks, threads](
                dm.fps, dm.ip, d_y, d_f, d_st, d_K, d_ynew, d_ytmp, d_errv, d_work, start, t0, t1, d_te, rtol,
                d_atol, max_step, d_h0, max_steps, steady, *tabs, tab.error_estimator_order, d_out_t, d_out_y,
                record_all)
    else:
        d_g = _empty((nb, max(dm.nh, 1)), dt)
        d_part = _empty((nb, nt, dm.n_red), np.float64)
        d_red = _empty((nb, dm.n_red), np.float64)

        def launch(start):
            kernels.erk_block_kernel[blocks, threads](
                dm.fps, dm.ip, d_y, d_f, d_st, d_K, d_ynew, d_ytmp, d_errv, d_g, d_part, d_red, start, t0, t1, d_te,
                rtol, d_atol, max_step, d_h0, max_steps, steady, *tabs, tab.error_estimator_order, d_out_t,
                d_out_y, record_all)

    launch(True)
    if record_all:
        chunks_t, chunks_y = [], []
        while True:
            st = d_st.copy_to_host()
            k = int(st[0, ST_K])
            chunks_t.append(d_out_t[:, :k].copy_to_host())
            chunks_y.append(d_out_y[:, :k].copy_to_host())
            if st[0, ST_RUN] == 0:
                break
            st[:, ST_K] = 0  # the next block of outputs starts at the buffer's first row
            d_st.copy_to_device(st)
            launch(False)
        t_out = np.concatenate(chunks_t, axis=1)[0]
        states = np.concatenate(chunks_y, axis=1)
    else:
        st = d_st.copy_to_host()
        t_out = te
        states = d_out_y.copy_to_host()
    energy = energies(dm, states)
    return states, st[:, :5].copy(), t_out, energy, lay, threads


def run_fixed(p, ys, t0, te, dt_max, scheme, max_steps, steady, layout, threads_per_block):
    """Fixed-step methods on the device; returns like :func:`run_adaptive`."""
    from numba import cuda

    from . import kernels

    nb, size = ys.shape
    dt = ys.dtype
    dm = DeviceModel(p, nb)
    lay = choose_layout(layout, size, nb, "fixed")
    nt = threads_for(lay, threads_per_block, nb, dm.rows)
    _check_memory(dt.itemsize * nb * size * (te.shape[0] + 7), "The outputs and work buffers")
    d_y = cuda.to_device(ys)
    d_te = cuda.to_device(np.ascontiguousarray(te, dtype=np.float64))
    d_out = _empty((nb, te.shape[0], size), dt)
    d_st = cuda.to_device(np.zeros((nb, N_STATS)))
    bufs = [_empty((nb, size), dt) for _ in range(5)]
    blocks, threads = _grid(lay, nt, nb)
    if lay == "thread":
        d_work = _empty((nb, dm.work_size), dt)
        kernels.fixed_thread_kernel[blocks, threads](dm.fps, dm.ip, d_y, t0, d_te, dt_max, scheme, max_steps, steady,
                                                     d_out, d_st, *bufs, d_work)
    else:
        d_g = _empty((nb, max(dm.nh, 1)), dt)
        d_part = _empty((nb, nt, dm.n_red), np.float64)
        d_red = _empty((nb, dm.n_red), np.float64)
        kernels.fixed_block_kernel[blocks, threads](dm.fps, dm.ip, d_y, t0, d_te, dt_max, scheme, max_steps, steady,
                                                    d_out, d_st, *bufs, d_g, d_part, d_red)
    states = d_out.copy_to_host()
    stats = d_st.copy_to_host()
    return states, stats, te, energies(dm, states), lay, threads


def run_async(p, ys, out_sweeps, max_sweeps, target_sweeps, seeds, rank, threads_per_block):
    """Binary Hopfield sweeps on the device (thread layout; the CPU's random streams)."""
    from numba import cuda

    from . import kernels

    nb, n = ys.shape
    dt = ys.dtype
    dm = DeviceModel(p, nb)
    nt = threads_for("thread", threads_per_block, nb, dm.rows)
    _check_memory(dt.itemsize * nb * n * (out_sweeps.shape[0] + 2), "The outputs")
    d_s = cuda.to_device(ys)
    d_perm = _empty((nb, n), np.int64)
    d_m = _empty((nb, max(rank, 1)), dt)
    d_out = _empty((nb, out_sweeps.shape[0], n), dt)
    d_st = cuda.to_device(np.zeros((nb, N_STATS)))
    blocks, threads = _grid("thread", nt, nb)
    kernels.async_thread_kernel[blocks, threads](dm.fps, dm.ip, d_s, d_perm, d_m,
                                                 cuda.to_device(np.ascontiguousarray(out_sweeps, dtype=np.int64)),
                                                 int(max_sweeps), int(target_sweeps),
                                                 cuda.to_device(np.ascontiguousarray(seeds, dtype=np.int64)),
                                                 d_out, d_st)
    states = d_out.copy_to_host()
    return states, d_st.copy_to_host(), energies(dm, states), "thread", threads
