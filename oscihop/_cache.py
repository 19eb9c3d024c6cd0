"""Keep Numba's on-disk cache of oscihop's kernels consistent with their sources.

Numba keys a cached function on the modification stamp of *its own* source file only. A
kernel that inlines functions from another module (``loops.erk_member`` calls
``system.system_rhs``) therefore keeps running the old callee after that other module is
edited (a ``git pull`` into an editable install, for example). This module fingerprints every
source file of the package and, when the fingerprint changed since the cache was written,
removes oscihop's cached objects (``__pycache__/*.nbi``, ``*.nbc``) so the kernels are compiled
again from the current sources. It touches only oscihop's own ``__pycache__`` folders and never
changes Numba's configuration.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
STAMP_NAME = "numba-sources.sha256"


def sources_fingerprint(root: Path = PACKAGE_ROOT) -> str:
    """SHA-256 over the relative path and bytes of every ``*.py`` file under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def invalidate_stale_cache(root: Path = PACKAGE_ROOT) -> bool:
    """Remove cached kernels under ``root`` if any source changed since they were cached.

    Returns True when cached files were removed (or there was no fingerprint yet). Failures
    to read or write (a read-only installation) are ignored: Numba then caches elsewhere or
    not at all, and correctness does not depend on this function.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "kernel.py").write_text("x = 1\\n")
    >>> invalidate_stale_cache(root), invalidate_stale_cache(root)
    (True, False)
    """
    root = Path(root)
    try:
        fingerprint = sources_fingerprint(root)
        stamp = root / "__pycache__" / STAMP_NAME
        if stamp.is_file() and stamp.read_text().strip() == fingerprint:
            return False
        for pattern in ("*.nbi", "*.nbc"):
            for cached in root.rglob(f"__pycache__/{pattern}"):
                try:
                    cached.unlink()
                except FileNotFoundError:
                    pass
        stamp.parent.mkdir(exist_ok=True)
        tmp = stamp.with_name(f"{STAMP_NAME}.{os.getpid()}.tmp")
        tmp.write_text(fingerprint + "\n")
        os.replace(tmp, stamp)  # atomic: concurrent importers see the old or the new stamp
        return True
    except OSError:
        return False
