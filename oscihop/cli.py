"""The ``oscihop`` command line."""

from __future__ import annotations

import argparse
import sys

from .solvers import METHODS


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text}")
    return value


def _fraction(text):
    value = float(text)
    if not 0.0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"must lie in [0, 0.5]; got {text}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(prog="oscihop", description="Hopfield, Kuramoto and Hopfield-Kuramoto simulations.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the Hopfield-Kuramoto memory demo on local defaults")
    demo.add_argument("--n", type=_positive_int, default=200, help="number of units (default 200)")
    demo.add_argument("--patterns", type=_positive_int, default=5, help="stored patterns (default 5)")
    demo.add_argument("--dim", type=_positive_int, default=3, help="oscillator dimension D >= 2 (default 3)")
    demo.add_argument("--noise", type=_fraction, default=0.25, help="fraction of flipped cue units (default 0.25)")
    demo.add_argument("--method", choices=[m for m in METHODS if METHODS[m].kind == "adaptive"], default="Tsit5")
    demo.add_argument("--seed", type=int, default=0)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

        if args.dim < 2:
            print("oscihop demo: --dim must be >= 2", file=sys.stderr)
            return 2
        res = run_demo(n=args.n, patterns=args.patterns, dim=args.dim, noise=args.noise, method=args.method,
                       seed=args.seed)
        return 0 if res["energy_monotone"] else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
