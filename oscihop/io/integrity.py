"""Integrity of the zarr stores oscihop writes: a checksum on every chunk, every chunk present.

Two of zarr 3's own mechanisms, used on every array oscihop writes (trajectories, models,
sweeps, training checkpoints):

- the ``crc32c`` codec (:class:`zarr.codecs.Crc32cCodec`), last in the chain after the
  compressor, so a flipped or truncated byte fails the checksum when the chunk is read;
- ``write_empty_chunks=True``, so every chunk of the grid is written even when it holds only
  the fill value (a zero ``bias``). A chunk key that is absent is therefore damage, never an
  "empty" chunk, and the store's own key listing is the record of which chunks were written.

An array may be sharded (zarr's ``sharding_indexed`` codec: one file, a *shard*, holds a block
of chunks and an index of them). Its checksum codec then sits in the inner chunks' chain and
the shard index carries a CRC32C of its own; a shard file is the unit that is present or
missing, so the functions below count and name shards for such arrays (``Damage.unit``).

:func:`verify_array` and :func:`verify_group` check both (presence from the key listing,
checksums by decoding every chunk); :func:`check_group` raises :class:`StoreDamagedError`
naming each damaged array and chunk. Stores written before checksums were added (no
``crc32c`` codec) are reported as unverifiable by :func:`verify_array` rather than trusted;
:func:`check_group` either counts that as damage or (``unverifiable="warn"``) skips those
arrays with a ``UserWarning`` naming them.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = [
    "StoreDamagedError",
    "Damage",
    "array_options",
    "xarray_encoding",
    "WRITE_EMPTY_CHUNKS",
    "has_checksums",
    "arrays_without_checksums",
    "array_summary",
    "storage_shape",
    "storage_grid",
    "missing_chunks",
    "verify_array",
    "verify_group",
    "check_group",
]

#: every chunk is written, so a missing chunk key means damage (zarr's array config / to_zarr option)
WRITE_EMPTY_CHUNKS = True
_CHECKSUM = "crc32c"
_UNVERIFIABLE = "written without checksums (an older oscihop); it cannot be verified"


class StoreDamagedError(ValueError):
    """A store's chunk is missing, truncated or fails its checksum.

    ``damage`` is the list of :class:`Damage` records found.
    """

    def __init__(self, message, damage=()):
        super().__init__(message)
        self.damage = list(damage)


@dataclass(frozen=True)
class Damage:
    """One damaged chunk: the array's path in the store, the chunk's grid index, and why."""

    array: str
    chunk: tuple
    reason: str
    #: "chunk", or "shard" for a sharded array (``chunk`` is then the shard's grid index)
    unit: str = "chunk"

    def __str__(self):
        return f"{self.array} {self.unit} {self.chunk}: {self.reason}"


def _compressors():
    from zarr.codecs import Crc32cCodec, ZstdCodec

    # zarr's default compressor for format 3, then the checksum over the compressed bytes
    return [ZstdCodec(level=0, checksum=False), Crc32cCodec()]


def array_options():
    """Keyword arguments for ``zarr.Group.create_array`` / ``zarr.create_array``.

    Compression with a CRC32C checksum, and every chunk written (see the module's docstring).
    """
    return {"compressors": _compressors(), "config": {"write_empty_chunks": WRITE_EMPTY_CHUNKS}}


def xarray_encoding(ds, encoding=None):
    """Per-variable encoding for ``Dataset.to_zarr``: checksums on every variable and coordinate.

    ``encoding`` (variable -> dict, such as chunk sizes) is kept; the compressors are added.
    Pass ``write_empty_chunks=True`` to ``to_zarr`` as well.
    """
    enc = {name: dict(v) for name, v in (encoding or {}).items()}
    for name in ds.variables:
        enc.setdefault(name, {})["compressors"] = _compressors()
    return enc


def _codec_name(codec):
    return codec.get("name") if isinstance(codec, dict) else getattr(codec, "name", None)


def has_checksums(array):
    """True when the array's codec chain ends with the CRC32C checksum (for a sharded array: the
    inner chunks' chain and the shard index's chain both do)."""
    codecs = array.metadata.to_dict().get("codecs", ())
    for codec in codecs:
        if _codec_name(codec) == "sharding_indexed":
            conf = codec.get("configuration", {}) if isinstance(codec, dict) else {}
            return (any(_codec_name(c) == _CHECKSUM for c in conf.get("codecs", ()))
                    and any(_codec_name(c) == _CHECKSUM for c in conf.get("index_codecs", ())))
    return any(_codec_name(c) == _CHECKSUM for c in codecs)


def storage_shape(array):
    """Shape of the blocks stored as one key (file): the shard shape of a sharded array, else the
    chunk shape."""
    return tuple(array.shards or array.chunks)


def storage_grid(array):
    """Number of stored blocks (shards, or chunks) along each dimension."""
    return tuple(-(-s // c) for s, c in zip(array.shape, storage_shape(array)))


def _unit(array):
    return "shard" if array.shards else "chunk"


def _arrays(group):
    """(path in the store, array) of every array in ``group`` and its subgroups, sorted."""
    import zarr

    out = [(_join(group.path, name), array) for name, array in sorted(group.arrays(), key=lambda kv: kv[0])]
    for _name, sub in sorted(group.groups(), key=lambda kv: kv[0]):
        if isinstance(sub, zarr.Group):
            out += _arrays(sub)
    return out


def arrays_without_checksums(group):
    """Paths of the arrays of ``group`` (and its subgroups) written without the CRC32C codec.

    A store written by an oscihop from before checksums has only such arrays; their
    chunks cannot be verified, and a missing chunk cannot be told from an empty one.
    """
    return [path for path, array in _arrays(group) if not has_checksums(array)]


def array_summary(group):
    """``(path, number of stored blocks, has checksums)`` of every array of ``group`` and its
    subgroups; a stored block is a chunk, or a shard of a sharded array (one key, one file)."""
    return [(path, int(np.prod(storage_grid(array))) if array.size else 0, has_checksums(array))
            for path, array in _arrays(group)]


def _written_keys(array):
    from zarr.core.sync import sync

    async def collect():
        prefix = f"{array.path}/" if array.path else ""
        return {k[len(prefix):] async for k in array.store.list_prefix(prefix)}

    return sync(collect())


def _grid(array):
    return itertools.product(*(range(n) for n in storage_grid(array)))


def missing_chunks(array):
    """Grid indices of the stored blocks (chunks, or shards) whose keys are absent from the store."""
    if array.size == 0:
        return []
    keys = _written_keys(array)
    return [c for c in _grid(array) if array.metadata.encode_chunk_key(c) not in keys]


def _chunk_slices(array, coords):
    return tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(coords, storage_shape(array), array.shape))


def _reason(exc):
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "checksum" in text.lower():
        return "fails its CRC32C checksum (its bytes were changed or cut short)"
    return f"unreadable ({text[:120]})"


def verify_array(array, name=None, *, read=True, chunks=None):
    """Damage found in one zarr array: missing chunks, and (``read``) chunks that fail to decode.

    For a sharded array the unit is the shard: a missing shard file, or a shard whose index or
    any of whose chunks fails to decode.

    Parameters
    ----------
    array : zarr.Array
    name : str, optional
        How to name the array in the records (default: its path in the store).
    read : bool, default True
        Decode every present chunk, which checks its CRC32C checksum and that it is whole.
    chunks : iterable of tuple, optional
        Check only these grid indices (of chunks, or of shards for a sharded array: a sweep's
        finished points, say).

    Returns
    -------
    list of Damage
        Empty when the array is whole. An array without the checksum codec gives one record
        saying so (it was written by an older oscihop and cannot be verified).
    """
    name = name or array.path or "<array>"
    if not has_checksums(array):
        return [Damage(name, (), _UNVERIFIABLE)]
    if array.size == 0:
        return []
    keys = _written_keys(array)
    wanted = list(_grid(array)) if chunks is None else [tuple(c) for c in chunks]
    damage, unit = [], _unit(array)
    for coords in wanted:
        if array.metadata.encode_chunk_key(coords) not in keys:
            damage.append(Damage(name, coords, f"missing (its {unit} file was removed or never written)", unit))
        elif read:
            try:
                np.asarray(array[_chunk_slices(array, coords)])
            except Exception as exc:  # zarr/numcodecs raise ValueError, RuntimeError, ... on bad bytes
                damage.append(Damage(name, coords, _reason(exc), unit))
    return damage


def verify_group(group, *, read=True, names=None, unverifiable="damage"):
    """Damage found in every array of a zarr group and its subgroups (or only ``names``).

    ``unverifiable="skip"`` leaves out arrays written without checksums (see
    :func:`arrays_without_checksums`); by default each gives one :class:`Damage` record.
    """
    pairs = _arrays(group) if names is None else [(_join(group.path, n), group[n]) for n in names]
    damage = []
    for path, array in pairs:
        if unverifiable == "skip" and not has_checksums(array):
            continue
        damage += verify_array(array, path, read=read)
    return damage


def _join(prefix, name):
    return f"{prefix}/{name}" if prefix else name


def check_group(group, where, *, read=True, names=None, fix="Write it again, or restore it from a copy.",
                unverifiable="damage", stacklevel=1):
    """Raise :class:`StoreDamagedError` when :func:`verify_group` finds damage.

    The message names the store (``where``), every damaged array and chunk, and ``fix``.

    Parameters
    ----------
    unverifiable : {"damage", "warn"}, default "damage"
        What an array written without checksums (an older oscihop) counts as: damage, or
        (``"warn"``) one ``UserWarning`` naming the store and those arrays, which are then
        read without verification.
    stacklevel : int, default 1
        Of the warning, counted from the caller of ``check_group`` (1: that caller).
    """
    if unverifiable not in ("damage", "warn"):
        raise ValueError(f"`unverifiable` must be 'damage' or 'warn'; got {unverifiable!r}.")
    if unverifiable == "warn":
        legacy = (arrays_without_checksums(group) if names is None
                  else [_join(group.path, n) for n in names if not has_checksums(group[n])])
        if legacy:
            shown = ", ".join(legacy[:8]) + (f" (and {len(legacy) - 8} more)" if len(legacy) > 8 else "")
            warnings.warn(f"store {where} was written without checksums (by an older oscihop): {shown} cannot be "
                          "verified, and a missing chunk reads as its fill value. Write it again with this "
                          "oscihop to protect it.", UserWarning, stacklevel=stacklevel + 1)
    damage = verify_group(group, read=read, names=names, unverifiable="skip" if unverifiable == "warn" else "damage")
    if damage:
        shown = "; ".join(str(d) for d in damage[:5])
        more = f" (and {len(damage) - 5} more)" if len(damage) > 5 else ""
        raise StoreDamagedError(f"store {where} is damaged: {shown}{more}. {fix}", damage)
    return group
