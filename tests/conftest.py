"""Shared test configuration for oscihop.

``NUMBA_ENABLE_CUDASIM`` must be set before anything imports numba, so it is set here, first:
CUDA kernels then run on every machine through numba's simulator (a real GPU run sets
``NUMBA_ENABLE_CUDASIM=0`` in the environment explicitly).
"""
import os

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
# The solver loops are the users' compilation either way (kernels/system.link); this links them
# to one run-time-dispatched right-hand side and energy for the hundreds of model kinds the suite
# builds, where users' processes compile each kind's own (docs/architecture.md, "One loop for
# every kind"); tests/test_specialize.py checks the kinds' functions against these.
os.environ.setdefault("OSCIHOP_SPECIALIZE", "0")

import zlib  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

settings.register_profile(
    "ci", deadline=None, max_examples=30, derandomize=True, print_blob=True
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _warm_kernel_cache():
    """Fill Numba's disk cache with the kernels sweep workers run (tests/warm_kernels.py), in two
    subprocesses (one per dtype), before any test process compiles anything: then the test
    processes and the sweep workers load the same compiled code, and a worker's results equal a
    solve in the test process bit for bit.  About 90 s with an empty cache on two cores (kernels
    the tests would otherwise compile once per test process), 2 s with a warm one."""
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "warm_kernels.py")
    procs = [subprocess.Popen([sys.executable, script, dtype], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for dtype in ("float64", "float32")]
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"tests/warm_kernels.py failed (exit {proc.returncode}):\n{out[-4000:]}")


def pytest_configure(config):
    # Here rather than in setup.cfg: resolving the warning class imports numba, which must
    # happen after NUMBA_ENABLE_CUDASIM is set above.
    config.addinivalue_line("filterwarnings", "error::numba.core.errors.NumbaPerformanceWarning")
    if "PYTEST_XDIST_WORKER" not in os.environ:  # once per session: the controller, or a run without xdist
        _warm_kernel_cache()


@pytest.fixture
def rng(request):
    """A ``np.random.default_rng`` seeded from the test's id: reproducible, and different
    for every parametrized case."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def _unit_vectors(rng, n, d, batch=None):
    shape = (n, d) if batch is None else (batch, n, d)
    x = rng.standard_normal(shape)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@pytest.fixture
def unit_vectors(rng):
    """``unit_vectors(n, d, batch=None)`` -> (n, d) or (batch, n, d) rows on the unit sphere."""
    return lambda n, d, batch=None: _unit_vectors(rng, n, d, batch)


def _random_edges(rng, n, p=0.5, min_edges=1):
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    while True:
        keep = rng.random(len(pairs)) < p
        if keep.sum() >= min_edges:
            break
    edges = np.array([pr for pr, k in zip(pairs, keep) if k], dtype=np.int64)
    flip = rng.random(len(edges)) < 0.5  # either orientation of an undirected edge
    edges[flip] = edges[flip][:, ::-1]
    return edges[rng.permutation(len(edges))]


@pytest.fixture
def random_edges(rng):
    """``random_edges(n, p=0.5)`` -> (E, 2) int64 undirected edges: each pair at most once, no
    self loops, random orientation and order."""
    return lambda n, p=0.5, min_edges=1: _random_edges(rng, n, p, min_edges)


@pytest.fixture
def random_symmetric(rng):
    """``random_symmetric(n, density=1.0, scale=1.0)`` -> dense symmetric (n, n) with a random
    (nonzero) diagonal; off-diagonal entries zeroed with probability 1 - density."""
    def make(n, density=1.0, scale=1.0):
        M = rng.standard_normal((n, n)) * scale
        mask = rng.random((n, n)) < density
        M = np.where(mask, M, 0.0)
        return (M + M.T) / 2.0
    return make


@pytest.fixture
def random_antisymmetric(rng):
    """``random_antisymmetric(d, n=None)`` -> (d, d) or (n, d, d) antisymmetric matrices."""
    def make(d, n=None):
        shape = (d, d) if n is None else (n, d, d)
        M = rng.standard_normal(shape)
        return M - np.swapaxes(M, -1, -2)
    return make
