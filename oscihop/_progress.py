"""A progress bar that stays quiet when nobody is watching.

Wraps :mod:`tqdm`: ``enabled=None`` shows the bar only when standard error is a
terminal (tqdm's ``disable=None``), ``True`` always shows it, ``False`` never does.
"""

from __future__ import annotations

__all__ = ["progress_bar"]


class _NullBar:
    """Stand-in with the part of tqdm's interface that oscihop uses."""

    n = 0

    def update(self, n=1):
        self.n += n

    def set_postfix_str(self, s="", refresh=True):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def progress_bar(total, initial=0, enabled=None, desc=None, unit="it"):
    """A tqdm bar counting ``initial .. total`` (points done, rate, time left).

    Parameters
    ----------
    total : int
        Number of items in all.
    initial : int, default 0
        Items already done before this run (counted, but not in the rate).
    enabled : bool or None, default None
        ``None``: show the bar only on a terminal; ``True``: always; ``False``: never.
    desc : str, optional
        Label in front of the bar.
    unit : str, default "it"

    Returns
    -------
    tqdm.tqdm or a no-op object with ``update`` and ``close``.

    Examples
    --------
    >>> from oscihop._progress import progress_bar
    >>> with progress_bar(10, enabled=False) as bar:
    ...     bar.update(10)
    """
    if enabled is False:
        return _NullBar()
    if enabled not in (None, True):
        raise ValueError(f"`progress` must be None (show on a terminal only), True or False; got {enabled!r}.")
    from tqdm import tqdm

    return tqdm(total=int(total), initial=int(initial), desc=desc, unit=unit,
                disable=None if enabled is None else False, dynamic_ncols=True, smoothing=0.05)
