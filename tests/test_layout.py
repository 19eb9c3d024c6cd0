"""The package's import structure: the storage layer sits above the solvers, never beside them.

``solve_to_zarr`` drives both the solver and the trajectory store, so it lives in
``oscihop.io.streaming``, above ``oscihop.io.trajectory``, ``oscihop.solvers.result`` and
``oscihop.solvers.solve``; none of those three may take part in an import cycle.  The graph
is read from the source with ``ast``: the imports a module runs when it is imported (its
top level, ``if``/``try`` blocks and class bodies included), not those inside functions,
which run on a call and are how a lower layer reaches an upper one lazily
(``Solution.to_xarray`` calling the storage layer).
"""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import oscihop as oh

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "oscihop"
THREE = ("oscihop.io.trajectory", "oscihop.solvers.result", "oscihop.solvers.solve")


def _modules():
    """{dotted name: source path} of every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _runs_on_import(body):
    """The statements of ``body`` that run when the module is imported (not function bodies)."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        yield node
        for field in ("body", "orelse", "finalbody"):
            yield from _runs_on_import(getattr(node, field, None) or [])
        for handler in getattr(node, "handlers", None) or []:
            yield from _runs_on_import(handler.body)


def _imported(name, nodes):
    """The package's modules that the import statements ``nodes`` of module ``name`` import."""
    is_package = MODULES[name].name == "__init__.py"
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            # "from package import module" imports that module; "from module import name" the module
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source
                       for alias in node.names]
        else:
            continue
        out |= {t for t in targets if t in MODULES and t != name}
    return out


def _graph(module_level=True):
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        nodes = _runs_on_import(tree.body) if module_level else ast.walk(tree)
        graph[name] = _imported(name, nodes)
    return graph


def _cycle_through(graph, start):
    """An import path from ``start`` back to itself, or None."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph[node]):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None


@pytest.mark.parametrize("name", [*THREE, "oscihop.io.streaming"])
def test_module_imports_alone_in_a_fresh_interpreter(name):
    out = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]


def test_the_import_graph_is_read_from_the_source():
    graph = _graph()
    assert "oscihop.solvers.result" in graph["oscihop.solvers.solve"]  # from .result import Solution
    assert "oscihop.io.integrity" in graph["oscihop.io.trajectory"]  # from . import integrity
    assert "oscihop.config" in graph["oscihop.solvers.solve"]  # from .. import config
    assert "oscihop.io.trajectory" not in graph["oscihop.solvers.result"]  # imported inside methods only
    assert "oscihop.io.trajectory" in _graph(module_level=False)["oscihop.solvers.result"]


@pytest.mark.parametrize("name", THREE)
def test_no_import_cycle_through(name):
    cycle = _cycle_through(_graph(), name)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_streaming_sits_above_the_solver_and_the_store():
    graph, anywhere = _graph(), _graph(module_level=False)
    assert {"oscihop.io.trajectory", "oscihop.solvers.solve"} <= graph["oscihop.io.streaming"]
    # the trajectory store does not drive the solver, not even inside a function
    assert "oscihop.solvers.solve" not in anywhere["oscihop.io.trajectory"]
    # and the solvers reach the storage layer only lazily, from inside a function
    for name in MODULES:
        if name.startswith("oscihop.solvers"):
            assert not {m for m in graph[name] if m.startswith("oscihop.io")}, name
    streaming = importlib.import_module("oscihop.io.streaming")
    trajectory = importlib.import_module("oscihop.io.trajectory")
    assert oh.solve_to_zarr is streaming.solve_to_zarr
    assert oh.io.solve_to_zarr is streaming.solve_to_zarr
    assert trajectory.solve_to_zarr is streaming.solve_to_zarr  # its import path before the move
    assert "solve_to_zarr" not in trajectory.__all__


def test_kernels_sit_below_the_time_loops_and_the_gpu_layer():
    """The kernel layer (terms, activations, lanes) imports neither the time loops nor CUDA, so a
    term can take a layout's lanes without a cycle; the loops and the CUDA kernels import the
    lanes from it, and the adjoint's compiled passes sit below the gradient driver."""
    graph = _graph(module_level=False)
    for name in MODULES:
        if name.startswith("oscihop.kernels"):
            above = {m for m in graph[name] if m.startswith(("oscihop.solvers", "oscihop.cuda"))}
            assert not above, (name, above)
    assert "oscihop.kernels.lanes" in graph["oscihop.solvers.loops"]
    assert "oscihop.kernels.lanes" in graph["oscihop.cuda.kernels"]
    assert "oscihop.kernels.lanes" in graph["oscihop.kernels.activations"]
    assert "oscihop.adjoint" in graph["oscihop.gradients"]
    assert "oscihop.gradients" not in _graph()["oscihop.adjoint"]  # the old names resolve lazily
