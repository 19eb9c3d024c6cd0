"""Which paths oscihop may write a store to, and which stores it may replace.

One rule for every writer (``sol.to_zarr``, :func:`~oscihop.solve_to_zarr`, training
checkpoints, ``oscihop run --out``, and sweeps): oscihop overwrites only what oscihop
wrote.  :func:`inspect_store` says what a path holds; :func:`check_writable` applies the
rule and raises before anything is written:

- a missing path or an empty directory may always be written;
- an oscihop store of the same kind (its root attribute ``oscihop_store``, or
  ``oscihop_sweep`` for sweeps) is replaced only when the caller asked to overwrite;
- anything else is refused, even when overwriting was asked for: a file, a directory
  holding other files, a zarr store oscihop did not write (no marker), a zarr v2
  store, a single zarr array, an oscihop store of another kind, or a store whose
  ``zarr.json`` cannot be read (oscihop cannot tell who wrote it).

Writers mark their stores when they create them (before the data), so a store whose
writing was interrupted is still recognised as oscihop's and can be replaced.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

__all__ = ["StoreState", "inspect_store", "check_writable", "store_kind", "LOCK_NAME"]

#: The lock file a running sweep keeps in its store; it does not make a directory non-empty.
LOCK_NAME = ".oscihop.lock"


@dataclass(frozen=True)
class StoreState:
    """What a path holds, as :func:`inspect_store` found it.

    Attributes
    ----------
    state : str
        ``"missing"``, ``"empty"`` (an empty directory or store), ``"oscihop"`` (a zarr v3
        group with an oscihop marker), ``"foreign"`` (anything oscihop did not write),
        ``"file"`` (a file, not a directory) or ``"unreadable"`` (its ``zarr.json`` cannot
        be read).
    kind : str or None
        For ``"oscihop"``: the store's kind (``"trajectory"``, ``"sweep"``, ``"training"``,
        ``"network"``).
    attrs : dict
        The root group's attributes (empty unless ``state`` is ``"oscihop"`` or a foreign
        zarr group).
    reason : str
        What the path holds, in words for a message.
    """

    state: str
    kind: str | None = None
    attrs: dict = field(default_factory=dict)
    reason: str = ""


def store_kind(attrs):
    """The oscihop kind recorded in a zarr group's root attributes, or None."""
    if not isinstance(attrs, dict):
        return None
    if "oscihop_sweep" in attrs:
        return "sweep"
    kind = attrs.get("oscihop_store")
    return kind if isinstance(kind, str) else None


def _classify_meta(raw):
    """StoreState of a root ``zarr.json`` given as bytes."""
    try:
        meta = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        return StoreState("unreadable", reason=f"its zarr.json cannot be read ({exc})")
    if not isinstance(meta, dict) or meta.get("zarr_format") != 3:
        return StoreState("unreadable", reason="its zarr.json is not zarr v3 metadata")
    if meta.get("node_type") != "group":
        return StoreState("foreign", reason="it is a single zarr array, not an oscihop store")
    attrs = meta.get("attributes")
    attrs = attrs if isinstance(attrs, dict) else {}
    kind = store_kind(attrs)
    if kind is None:
        return StoreState("foreign", attrs=attrs,
                          reason="it is a zarr store that oscihop did not write (no 'oscihop_store' or "
                                 "'oscihop_sweep' attribute at its root)")
    return StoreState("oscihop", kind=kind, attrs=attrs, reason=f"an oscihop {kind} store")


def _inspect_dir(path, ignore):
    try:
        entries = sorted(e for e in os.listdir(path) if e not in ignore)
    except OSError as exc:
        return StoreState("unreadable", reason=f"it cannot be listed ({exc})")
    if not entries:
        return StoreState("empty", reason="an empty directory")
    zj = os.path.join(path, "zarr.json")
    if not os.path.isfile(zj):
        if os.path.exists(os.path.join(path, ".zgroup")) or os.path.exists(os.path.join(path, ".zarray")):
            return StoreState("foreign", reason="it is a zarr v2 store, which oscihop does not write")
        shown = ", ".join(repr(e) for e in entries[:3]) + (", ..." if len(entries) > 3 else "")
        return StoreState("foreign", reason=f"it is a directory holding files oscihop did not write ({shown})")
    try:
        with open(zj, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        return StoreState("unreadable", reason=f"its zarr.json cannot be read ({exc})")
    return _classify_meta(raw)


def _inspect_zarr_store(store):
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync
    from zarr.storage import LocalStore

    if isinstance(store, LocalStore):
        return inspect_store(store.root)

    async def probe():
        keys = [k async for k in store.list()]
        raw = await store.get("zarr.json", prototype=default_buffer_prototype()) if "zarr.json" in keys else None
        return keys, raw

    try:
        keys, raw = sync(probe())
    except Exception as exc:  # noqa: BLE001 - any store may fail in its own way
        return StoreState("unreadable", reason=f"its keys cannot be listed ({type(exc).__name__}: {exc})")
    if not keys:
        return StoreState("empty", reason="an empty store")
    if raw is None:
        return StoreState("foreign", reason="it is a store holding keys oscihop did not write (no zarr.json)")
    return _classify_meta(raw.to_bytes())


def inspect_store(path, *, ignore=(LOCK_NAME,)):
    """Say what ``path`` holds: nothing, an oscihop store (and its kind), or something else.

    Parameters
    ----------
    path : str, os.PathLike or zarr Store
    ignore : iterable of str, default (LOCK_NAME,)
        Directory entries that do not count (a sweep's lock file).

    Returns
    -------
    StoreState

    Examples
    --------
    >>> import tempfile, oscihop.io.stores as stores
    >>> stores.inspect_store(tempfile.mkdtemp()).state
    'empty'
    """
    from zarr.abc.store import Store

    if isinstance(path, Store):
        return _inspect_zarr_store(path)
    path = os.fspath(path)
    if not os.path.lexists(path):
        return StoreState("missing", reason="it does not exist")
    if not os.path.isdir(path):
        return StoreState("file", reason="it is a file, not a directory")
    return _inspect_dir(path, frozenset(ignore))


def _describe(path):
    from zarr.abc.store import Store

    return f"<{type(path).__name__}>" if isinstance(path, Store) else repr(os.fspath(path))


def check_writable(path, kind, *, overwrite, name="`path`", flag="mode='w'", ignore=(LOCK_NAME,)):
    """Raise unless an oscihop store of ``kind`` may be written at ``path``.

    The one rule every writer follows (see the module's docstring): a missing path or an
    empty directory is fine; an oscihop store of the same ``kind`` is replaced only with
    ``overwrite``; anything else is refused whatever ``overwrite`` says, so that no file
    oscihop did not write is ever deleted.

    Parameters
    ----------
    path : str, os.PathLike or zarr Store
    kind : str
        The kind of store about to be written (``"trajectory"``, ``"sweep"``, ``"training"``,
        ``"network"``).
    overwrite : bool
        Whether the caller asked to replace an existing store.
    name : str
        How to name ``path`` in messages (```path```, ``--out``, ```checkpoint```).
    flag : str
        How the caller asks to overwrite, for the message (``mode='w'``, ``--overwrite``).
    ignore : iterable of str
        Directory entries that do not count (a sweep's lock file).

    Returns
    -------
    StoreState
        What ``path`` holds now (``state`` ``"oscihop"`` means it will be replaced).

    Raises
    ------
    FileExistsError
        ``path`` is an oscihop store of ``kind`` and ``overwrite`` is False.
    ValueError
        ``path`` holds anything else: it is never deleted, even with ``overwrite``.

    Examples
    --------
    >>> import os, tempfile, oscihop.io.stores as stores
    >>> d = tempfile.mkdtemp()
    >>> with open(os.path.join(d, "notes.txt"), "w") as fh:
    ...     _ = fh.write("mine")
    >>> stores.check_writable(d, "trajectory", overwrite=True)
    Traceback (most recent call last):
    ...
    ValueError: `path` ... is not an oscihop trajectory store: it is a directory holding files oscihop did not write ('notes.txt'). oscihop never deletes it, even with mode='w'; choose another path, or remove it yourself.
    """
    st = inspect_store(path, ignore=ignore)
    where = _describe(path)
    if st.state in ("missing", "empty"):
        return st
    if st.state == "oscihop" and st.kind == kind:
        if not overwrite:
            raise FileExistsError(f"{name} {where} already holds an oscihop {kind} store; pass {flag} to replace "
                                  "it, or choose another path.")
        return st
    what = st.reason if st.state != "oscihop" else f"it is an oscihop {st.kind} store"
    raise ValueError(f"{name} {where} is not an oscihop {kind} store: {what}. oscihop never deletes it, even with "
                     f"{flag}; choose another path, or remove it yourself.")
