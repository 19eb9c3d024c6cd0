"""Shared plumbing of the gallery scripts (``scripts/gallery_*.py``).

Each gallery script regenerates one figure of ``docs/validation.md`` as a PNG in
``docs/figures/``, with matplotlib's Agg backend (no display needed)::

    python scripts/gallery_kuramoto_transition.py        # -> docs/figures/kuramoto_transition.png
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FIGURES = Path(__file__).resolve().parent.parent / "docs" / "figures"


def parse_args(doc):
    """``--out DIR`` (default ``docs/figures``)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FIGURES,
                        help="output folder (default docs/figures)")
    return parser.parse_args()


def figure(ncols, width=4.4, height=3.4):
    plt.rcParams.update({"font.size": 9, "axes.grid": True, "grid.alpha": 0.3})
    return plt.subplots(1, ncols, figsize=(width * ncols, height), constrained_layout=True)


def save(fig, out, name, started):
    """Write ``out/name`` as a small PNG and report its size and the script's run time."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.savefig(path, dpi=100)
    plt.close(fig)
    kb = path.stat().st_size / 1024
    print(f"wrote {path} ({kb:.0f} KB) in {time.perf_counter() - started:.1f} s")
    return path
