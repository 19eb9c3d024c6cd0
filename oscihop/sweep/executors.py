"""Where the tasks of a sweep run: a local process pool, or a dask cluster.

The local pool starts its workers through multiprocessing's fork server (oscihop preloaded);
each worker ends itself once the driver process is gone.
"""

from __future__ import annotations

import os
import sys
import time

from .lock import _pid_alive
from .runner import _exc_text, _run_task

__all__ = []


def _watch_driver(driver_pid, interval=0.1):
    while True:
        time.sleep(interval)
        if not _pid_alive(driver_pid):
            os._exit(1)


def _worker_init(driver_pid):
    """Pool worker set-up: a watchdog thread ends the worker once the driver process is gone.

    So a killed sweep leaves no orphan worker writing to the store (and the fork server, which
    lives as long as its workers, goes too).
    """
    import threading

    threading.Thread(target=_watch_driver, args=(driver_pid,), name="oscihop-sweep-watchdog", daemon=True).start()


def _local_workers():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


#: numba modules its first compilation or cache load imports (~0.3 s): preloaded in the fork
#: server so each worker starts warmer.  A name missing in another numba version is skipped.
_NUMBA_PRELOAD = ("numba.np.arraymath", "numba.np.linalg", "numba.np.arrayobj", "numba.np.npyimpl",
                  "numba.cpython.unicode", "numba.cpython.mathimpl", "numba.typed.typeddict",
                  "numba.typed.typedlist", "numba.np.npdatetime", "numba.core.typing.npydecl")


def _mp_context(build):
    """Start method of the local pool.

    ``forkserver`` (with oscihop, numpy and zarr preloaded in the server, so workers start in
    milliseconds instead of re-importing everything), else ``spawn``.  A ``build`` defined
    interactively in ``__main__`` (a notebook, a REPL), or a main script that cannot be re-imported
    (read from standard input), can only reach workers by ``fork``.
    """
    import multiprocessing

    target = getattr(build, "func", build)
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if (getattr(target, "__module__", None) == "__main__" and not main_file) or (
            main_file and not os.path.isfile(main_file)):  # e.g. "<stdin>": workers cannot re-import it
        return multiprocessing.get_context("fork")
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["numpy", "zarr", "oscihop.sweep", *_NUMBA_PRELOAD])
        return ctx
    return multiprocessing.get_context("spawn")


def _check_picklable(build):
    """Raise unless ``build`` can reach the local worker processes (fork needs no pickling)."""
    if _mp_context(build).get_start_method() == "fork":
        return
    import pickle

    try:
        pickle.dumps(build)
    except Exception as exc:  # noqa: BLE001 - pickle raises PicklingError, AttributeError, TypeError...
        raise ValueError(f"`build` must be picklable to reach the sweep's worker processes (a function defined at "
                         f"the top level of a module, not a lambda or a nested function); pickling {build!r} failed: "
                         f"{_exc_text(exc)}. Define it in a module, or pass workers=1 to run the points in this "
                         "process.") from None


def _run_local(tasks, build, workers, on_result):
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    n = max(1, min(workers, len(tasks)))
    pool = ProcessPoolExecutor(max_workers=n, mp_context=_mp_context(build), initializer=_worker_init,
                               initargs=(os.getpid(),))
    try:
        futures = [pool.submit(_run_task, t) for t in tasks]
        for fut in as_completed(futures):
            on_result(fut.result())
    except BrokenProcessPool as exc:
        pool.shutdown(wait=True, cancel_futures=True)
        raise RuntimeError(
            "A sweep worker process died abruptly (killed, out of memory, or it failed to start). A script "
            "that calls oh.sweep must guard the call with `if __name__ == \"__main__\":` because workers "
            "import the main module; points finished so far are kept: run the sweep again to resume."
        ) from exc
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return n


def _run_dask(tasks, client, on_result, tag, submitted=None):
    """Run ``tasks`` on the cluster of ``client``; ``submitted()``, if given, is called once every
    task is submitted (the driver creates the store while the workers compute)."""
    from distributed import as_completed

    futures = [client.submit(_run_task, t, pure=False, key=f"oscihop-sweep-{tag}-{i}") for i, t in enumerate(tasks)]
    try:
        if submitted is not None:
            submitted()
        for fut in as_completed(futures):
            on_result(fut.result())
    except BaseException:
        client.cancel(futures)
        raise


def _announce_store(client, name, create, *args):
    """``create(*args)`` (the store), then tell the workers waiting in ``runner._await_store`` under
    ``name`` whether it succeeded; the driver's error is raised here."""
    from distributed import Variable

    ready = Variable(name, client=client)
    try:
        create(*args)
    except BaseException:
        ready.set("failed")
        raise
    ready.set("ok")


def _forget_store_flag(client, name):
    """Delete the flag of :func:`_announce_store` from the scheduler once the sweep's tasks are over."""
    import contextlib

    from distributed import Variable

    with contextlib.suppress(Exception):
        Variable(name, client=client).delete()


def _client_threads(client):
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:  # noqa: BLE001
        return 1
