"""A progress bar that stays quiet when nobody is watching.

Wraps :mod:`tqdm`: ``enabled=None`` shows the bar only when standard error is a
terminal (tqdm's ``disable=None``), ``True`` always shows it, ``False`` never does.
"""

from __future__ import annotations

__all__ = ["progress_bar", "spinner"]


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


class spinner:
    """An elapsed-seconds line on standard error while a long call runs (compilation).

    A background thread redraws ``desc: 12 s`` every ``interval`` seconds until the
    ``with`` block ends; the line is then cleared.  Nothing is printed when disabled.

    Parameters
    ----------
    desc : str
        What is running.
    enabled : bool or None, default None
        ``None``: only when standard error is a terminal; ``True``: always; ``False``: never.
    interval : float, default 0.5
        Seconds between redraws.

    Examples
    --------
    >>> from oscihop._progress import spinner
    >>> with spinner("compiling", enabled=False):
    ...     pass
    """

    def __init__(self, desc, enabled=None, interval=0.5):
        if enabled not in (None, True, False):
            raise ValueError(f"`progress` must be None (show on a terminal only), True or False; got {enabled!r}.")
        self.desc, self.enabled, self.interval = desc, enabled, float(interval)
        self._bar = self._thread = None

    def __enter__(self):
        if self.enabled is False:
            return self
        import threading

        from tqdm import tqdm

        self._bar = tqdm(total=None, desc=self.desc, bar_format="{desc}: {elapsed}", leave=False,
                         disable=None if self.enabled is None else False)
        self._stop = threading.Event()

        def tick():
            while not self._stop.wait(self.interval):
                self._bar.refresh()

        self._thread = threading.Thread(target=tick, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._bar.close()
        return False
