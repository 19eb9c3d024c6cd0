"""The installed distribution's version, looked up on first use.

``oscihop.__version__`` reads it through the package's ``__getattr__``, so that ``import
oscihop`` neither imports this module nor queries the package metadata.
"""

import functools


@functools.cache
def version():
    """The version of the installed distribution (pyproject.toml), or the source tree's fallback."""
    from importlib import metadata

    try:
        return metadata.version("oscihop")
    except metadata.PackageNotFoundError:  # a source tree on sys.path that pip never installed
        return "0+unknown"
