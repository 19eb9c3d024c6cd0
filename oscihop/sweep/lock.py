"""The lock that keeps two sweeps from writing one store at once (``store/.oscihop.lock``)."""

from __future__ import annotations

import datetime
import json
import os
import socket
import sys
import time

__all__ = ["LOCK_NAME"]

#: Name of the lock file inside a store while a sweep writes it.
LOCK_NAME = ".oscihop.lock"


def _pid_alive(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError, TypeError):
        return False
    try:  # a zombie (killed but not reaped) holds nothing
        with open(f"/proc/{int(pid)}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class _StoreLock:
    """Exclusive lock of a store: ``store/.oscihop.lock`` with pid, host and start time.

    The file is created with ``O_CREAT | O_EXCL`` and held with ``flock`` while the sweep runs,
    so the kernel releases it if the process dies.  A lock left behind by a dead process on this
    host (its pid no longer alive and its ``flock`` free) is taken over; any other lock makes
    :meth:`acquire` raise a ``RuntimeError`` that names the file and says how to clear it.
    """

    def __init__(self, store):
        self.store = store
        self.path = os.path.join(store, LOCK_NAME)
        self.fd = None

    def _busy(self, info, reason=""):
        who = "an unknown process"
        if info:
            who = f"pid {info.get('pid')} on host {info.get('host')!r} (since {info.get('started', '?')})"
        return RuntimeError(
            f"Sweep store {self.store!r} is in use: lock file {self.path!r} is held by {who}{reason}. "
            "Two sweeps must not write one store at once: wait for that sweep to finish. If that process "
            f"no longer exists (killed, or it ran on another machine), delete {self.path!r} and run again."
        )

    @staticmethod
    def _read(fd):
        try:
            raw = os.pread(fd, 4096, 0)
            info = json.loads(raw.decode())
            return info if isinstance(info, dict) and "pid" in info else None
        except (OSError, ValueError):
            return None

    def acquire(self):
        try:
            import fcntl
        except ImportError:  # no flock: decide on the pid alone
            fcntl = None
        host = socket.gethostname()
        for attempt in range(40):
            created = True
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
            except FileExistsError:
                created = False
                try:
                    fd = os.open(self.path, os.O_RDWR)
                except FileNotFoundError:
                    continue  # released in between
            flocked = False
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | (0 if created else fcntl.LOCK_NB))
                    flocked = True
                except BlockingIOError:
                    info = self._read(fd)
                    os.close(fd)
                    raise self._busy(info) from None
                except OSError:  # file system without flock
                    pass
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the holder removed it while we opened it: start again
                os.close(fd)
                continue
            if not created:
                info = self._read(fd)
                if info is None and attempt < 10:  # being written by its creator
                    os.close(fd)
                    time.sleep(0.05)
                    continue
                if info is not None:
                    if info.get("host") != host:
                        os.close(fd)
                        raise self._busy(info, " (another machine: oscihop cannot tell whether it still runs)")
                    pid = info.get("pid")
                    if pid != os.getpid() and _pid_alive(pid):
                        os.close(fd)
                        raise self._busy(info, "" if not flocked else " (that process is alive)")
                # stale: its process is gone; take it over below
            info = {"pid": os.getpid(), "host": host,
                    "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    "argv": " ".join(sys.argv)[:500]}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
            self.fd = fd
            return self
        raise RuntimeError(f"Could not acquire the lock {self.path!r} after repeated attempts; is another "
                           "process creating and removing it in a loop?")

    def release(self):
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False
