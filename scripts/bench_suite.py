"""The benchmark suite: every case, one command, a markdown table and a plot.

Usage::

    python scripts/bench_suite.py [--repeats 3] [--quick] [--cases 1,2,3,4,5]
                                  [--docs docs/benchmarks.md] [--figure docs/figures/benchmarks.png]
                                  [--json results.json]

By default the table goes into docs/benchmarks.md and the plot into
docs/figures/benchmarks.png (pass ``--docs ''`` / ``--figure ''`` to skip).

Cases (each a module that also runs on its own):

1. ``bench_paper.py``     the paper's HK configuration against JAX + diffrax
2. ``bench_core.py``      small systems against ``scipy.integrate.solve_ivp``
3. ``bench_kuramoto.py``  classic Kuramoto against the ``kuramoto`` package and NumPy RK4
4. ``bench_akorn.py``     the AKOrN update against a PyTorch loop
5. ``bench_roofline.py``  GFLOP/s and GB/s against measured peaks, and compile times

Every line times oscihop and its peer in the same process, alternately, and reports
medians and their ratio; every line checks that the answers agree.  The table replaces the
part of ``--docs`` between the ``bench-suite`` markers; the figure plots the speed-ups.
Peers come from the ``bench`` extra (``pip install oscihop[bench]``); a missing peer
leaves a note in its row instead of stopping the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_common import Row, machine_info, markdown_table  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "<!-- bench-suite:begin -->"
END = "<!-- bench-suite:end -->"


def run_cases(cases, repeats, quick):
    import bench_akorn
    import bench_core
    import bench_kuramoto
    import bench_paper
    import bench_roofline

    runners = {
        "1": lambda: bench_paper.run(repeats, quick=quick),
        "2": lambda: bench_core.run(max(repeats, 5), quick=quick),
        "3": lambda: bench_kuramoto.run(repeats, quick=quick),
        "4": lambda: bench_akorn.run(repeats, quick=quick),
        "5": lambda: bench_roofline.run(max(repeats, 5), quick=quick),
    }
    rows = []
    for case in cases:
        t = time.perf_counter()
        try:
            got = runners[case]()
        except Exception as exc:  # a failing case is reported, the others still run
            got = [Row(case, f"case {case} failed", note=f"{type(exc).__name__}: {exc}")]
        print(f"case {case}: {time.perf_counter() - t:.0f} s", flush=True)
        print(markdown_table(got), flush=True)
        rows.extend(got)
    return rows


def write_docs(path, rows, info, command, cases=("1", "2", "3", "4", "5")):
    """Replace the table between the markers; a run of some cases keeps the other cases' rows
    from the table already there, and the header says which rows are from which run."""
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    old_block = text.split(BEGIN, 1)[1].split(END, 1)[0] if (BEGIN in text and END in text) else ""
    kept = [line for line in old_block.splitlines()
            if line.startswith("| ") and line.split("|")[1].strip() in "12345"
            and line.split("|")[1].strip() not in cases]
    # which run each kept case comes from: "Rows of case 1, 2: Measured with ..." lines, or a
    # whole run's "Measured with ..." line for every case
    source = {}
    for line in old_block.splitlines():
        if line.startswith("Measured with"):
            source.update({c: line for c in "12345"})
        elif line.startswith("Rows of case") and ": " in line:
            label, desc = line.split(": ", 1)
            source.update({c.strip(): desc for c in label[len("Rows of case"):].split(",")})
    header = (
        f"Measured with `{command}` on {info['cpu']} ({info['cores']} cores, "
        f"{info['memory_gib']} GiB), Numba {info['numba']} with {info['numba_threads']} threads, "
        f"NumPy {info['numpy']}, Python {info['python']}.  Ratio = peer time / oscihop time "
        "(above 1: oscihop is faster), medians of interleaved repeats in one process."
    )
    if kept:
        groups = {}
        for c in sorted({line.split("|")[1].strip() for line in kept}):
            groups.setdefault(source.get(c, "an earlier run."), []).append(c)
        header = f"Rows of case {', '.join(cases)}: {header}" + "".join(
            f"\n\nRows of case {', '.join(cs)}: {desc}" for desc, cs in groups.items())
    table = markdown_table(rows).splitlines()
    merged = table[:2] + sorted(table[2:] + kept, key=lambda line: line.split("|")[1].strip())
    block = f"{BEGIN}\n{header}\n\n" + "\n".join(merged) + f"\n\n![speed-ups](figures/benchmarks.png)\n{END}"
    if old_block:
        pre, rest = text.split(BEGIN, 1)
        text = pre + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Benchmark suite\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def plot(path, rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = [(f"{r.case}: {r.name[:60]}", r.ratio) for r in rows if r.ratio is not None]
    if not pairs:
        return
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(pairs) + 1.2))
    labels, ratios = zip(*pairs)
    ypos = range(len(pairs))[::-1]
    ax.barh(list(ypos), ratios, color=["tab:blue" if r >= 1 else "tab:red" for r in ratios])
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(list(ypos))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlabel("speed-up of oscihop over the peer (peer time / oscihop time, log scale)")
    for y, r in zip(ypos, ratios):
        ax.text(r, y, f" {r:.1f}x", va="center", fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per side (medians reported)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    parser.add_argument("--cases", default="1,2,3,4,5", help="comma-separated case numbers")
    parser.add_argument("--docs", default=os.path.join(ROOT, "docs", "benchmarks.md"),
                        help="markdown file whose bench-suite block is replaced ('' to skip)")
    parser.add_argument("--figure", default=os.path.join(ROOT, "docs", "figures", "benchmarks.png"),
                        help="PNG of the speed-ups ('' to skip)")
    parser.add_argument("--json", default=None, help="write every row as JSON here")
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    bad = [c for c in cases if c not in "12345" or len(c) != 1]
    if bad:
        parser.error(f"--cases must name cases 1 to 5; got {bad}")
    info = machine_info()
    print(json.dumps(info), flush=True)
    rows = run_cases(cases, args.repeats, args.quick)
    print("\n" + markdown_table(rows))
    command = ("python scripts/bench_suite.py" + (" --quick" if args.quick else "") + f" --repeats {args.repeats}"
               + ("" if len(cases) == 5 else f" --cases {','.join(cases)}"))
    if args.docs:
        write_docs(args.docs, rows, info, command, cases)
    if args.figure and len(cases) == 5:  # the figure shows a whole run only
        plot(args.figure, rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(machine=info, rows=[r.as_dict() for r in rows]), f, indent=1, default=str)


if __name__ == "__main__":
    main()
