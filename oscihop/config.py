"""Numba compilation flags used by every oscihop kernel, in one place.

Every kernel is serial, releases the GIL and is cached on disk; batches run blocks of
members on threads (``oscihop.solvers.solve.run_in_blocks``).  Nothing here changes
numba's global configuration: the flags are passed to each
``@njit`` decorator explicitly.  ``FASTMATH`` deliberately leaves out ``nnan`` and
``ninf`` so that NaN/inf guards in the solvers survive optimisation.
"""

from __future__ import annotations

import contextlib
import inspect

import numba
import numba.core.compiler
import numba.core.compiler_machinery
import numba.core.untyped_passes
from numba.core.registry import CPUDispatcher

from ._cache import invalidate_stale_cache

__all__ = ["FASTMATH", "SERIAL", "OVERLOAD", "KERNEL", "serial_jit", "entry_jit", "inline_jit", "noalias_jit",
           "num_threads", "blas_threads"]

# Drop cached kernels compiled from older sources (Numba only checks each function's own file).
invalidate_stale_cache()

#: LLVM fast-math flags: reassociation lets reductions vectorise; no ``nnan``/``ninf``.
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

#: Options for serial kernels (safe to cache on disk).
SERIAL = dict(nogil=True, cache=True, fastmath=set(FASTMATH), error_model="numpy")

#: Options of what only compiled code calls: no wrapper for Python callers and none for C
#: callers.  Numba lowers, optimises and compiles each wrapper to machine code with the function
#: it wraps, and every caller that links the function takes the wrapper along, so at every level
#: of a call chain (docs/architecture.md, "One loop for every kind"; the figures are in
#: docs/benchmarks.md, "Wrappers").  Every ``@overload`` implementation of the generic target
#: takes these options (Python calls its stub instead), and so does every :func:`serial_jit`
#: kernel.
OVERLOAD = dict(no_cpython_wrapper=True, no_cfunc_wrapper=True)

#: A :func:`serial_jit` kernel's options, less ``cache`` (which the decorator turns on itself):
#: also those of an ``@overload`` whose implementation is a kernel of oscihop's own, compiled
#: with the same flags in place of its stub.
KERNEL = dict({key: value for key, value in SERIAL.items() if key != "cache"}, **OVERLOAD)
_PYTHON_CALL = {key: value for key, value in SERIAL.items() if key != "cache"}


class _Kernel(CPUDispatcher):
    """The dispatcher of a :func:`serial_jit` kernel: compiled without wrappers.

    A call from Python (a test, the CUDA simulator, a user exploring) goes through a one-line
    compiled function that calls the kernel, built on the first such call and not cached on
    disk, so it runs the very code that compiled callers run.  Without it, Numba would jump
    to a wrapper that does not exist.
    """

    def __call__(self, *args, **kwargs):
        call = self.__dict__.get("_python_call")
        if call is None:
            names = ", ".join(("*" if q.kind == q.VAR_POSITIONAL else "") + q.name
                              for q in inspect.signature(self.py_func).parameters.values())
            scope = {"kernel": self}
            exec(f"def {self.py_func.__name__}({names}):\n    return kernel({names})\n", scope)
            call = scope[self.py_func.__name__]
            call.__defaults__ = self.py_func.__defaults__
            call = self.__dict__["_python_call"] = numba.njit(**_PYTHON_CALL)(call)
        return call(*args, **kwargs)


def serial_jit(func):
    """Compile ``func`` with the serial kernel options, without wrappers: for a kernel that
    compiled code calls (Python calls reach it through :class:`_Kernel`)."""
    disp = _Kernel(func, targetoptions=dict(KERNEL))
    disp.enable_caching()
    return disp


def entry_jit(func):
    """Compile ``func`` with the serial kernel options, with Numba's wrapper for Python callers:
    for the kernels that oscihop's Python code calls (the solver loops, the batch right-hand
    sides and energies, the adjoint's passes)."""
    return numba.njit(**SERIAL)(func)


def inline_jit(func):
    """:func:`serial_jit`, inlined into compiled callers at Numba's IR level.

    For the few large loops with a single call site (the adaptive solver's start, advance and
    attempt loop; the fixed-step loop and its wrapper, inlined into ``fixed_block``) and the thin
    entry points over the right-hand side and energy: inlining them saves compiling each as a
    library of its own, and so optimising its callees again at every level of the call chain.
    Small functions (the step-size rules, the initial step) compile faster on their own: Numba
    runs its untyped passes again for every inlined call site.  Called from Python, an
    ``inline_jit`` function compiles as usual.
    """
    return numba.njit(inline="always", **SERIAL)(func)


class _NoAliasPass(numba.core.compiler_machinery.FunctionPass):
    """Marks the function's pointer arguments (each array's data) ``noalias`` for LLVM."""

    _name = "oscihop_noalias_arguments"

    def __init__(self):
        numba.core.compiler_machinery.FunctionPass.__init__(self)

    def run_pass(self, state):
        state.flags.noalias = True
        return False


numba.core.compiler_machinery.register_pass(mutates_CFG=False, analysis_only=True)(_NoAliasPass)


class _NoAliasCompiler(numba.core.compiler.CompilerBase):
    """Numba's nopython pipeline with :class:`_NoAliasPass` first."""

    def define_pipelines(self):
        pm = numba.core.compiler.DefaultPassBuilder.define_nopython_pipeline(self.state)
        pm.add_pass_after(_NoAliasPass, numba.core.untyped_passes.TranslateByteCode)
        pm.finalize()
        return [pm]


def noalias_jit(func):
    """:func:`serial_jit`, with every array argument's data declared not to overlap any other's
    (LLVM's ``noalias``, which Numba otherwise sets only on its own parallel loops).

    For the batch-innermost kernels, whose loop over the members reads rows of one array and
    updates rows of another: unable to prove the rows apart, LLVM guards the vectorised loop
    with a run-time overlap check per pair of rows and, weighing its cost, ran fewer than 32
    members scalar (docs/benchmarks.md, "Small batches").  The caller's side of the contract:
    no two array arguments share memory that the function writes.
    """
    disp = _Kernel(func, targetoptions=dict(KERNEL), pipeline_class=_NoAliasCompiler)
    disp.enable_caching()
    return disp


def num_threads() -> int:
    """Threads a batch solve runs its blocks on (Numba's count: respects ``NUMBA_NUM_THREADS``)."""
    return int(numba.get_num_threads())


@contextlib.contextmanager
def blas_threads(n):
    """Limit BLAS to ``n`` threads inside the block (threadpoolctl, when installed).

    Used where oscihop already runs one BLAS call per thread of its own pool, so that
    ``threads x BLAS threads`` does not oversubscribe the cores.  Without threadpoolctl
    this is a no-op (then set ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` yourself).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    # Numba's np.dot calls the BLAS that SciPy bundles (through scipy.linalg.cython_blas);
    # threadpoolctl limits only libraries already loaded, so load that one first.
    import scipy.linalg.cython_blas  # noqa: F401

    with threadpool_limits(limits=int(n), user_api="blas"):
        yield
