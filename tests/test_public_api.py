"""The public surface: docs/api.md, ``oscihop.__all__`` and ``dir(oscihop)`` name the same things.

docs/api.md's "Top-level names" table is the list of record; every ``::: oscihop....``
entry of the page documents one of those names (or a member of a documented module such as
``oscihop.plots``), and every name resolves on the package.
"""

import importlib
import json
import re
import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

import oscihop as oh

ROOT = Path(__file__).resolve().parents[1]
API = (ROOT / "docs" / "api.md").read_text()


def _table_names():
    section = API.split("## Top-level names", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", section, re.M)


def _directive_targets():
    return re.findall(r"^::: ([\w.]+)\s*$", API, re.M)


def _public_dir():
    """Names of dir(oscihop) a user meets: not private, not an implementation subpackage."""
    out = set()
    for name in dir(oh):
        if name.startswith("_"):
            continue
        if name not in oh.__all__ and isinstance(getattr(oh, name), types.ModuleType):
            continue  # subpackages imported as a side effect (oscihop.graph, oscihop.models, ...)
        out.add(name)
    return out


def test_table_lists_each_name_once_and_exactly_all():
    names = _table_names()
    assert len(names) >= 30
    assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]
    assert set(names) == set(oh.__all__), (
        f"in docs/api.md only: {sorted(set(names) - set(oh.__all__))}; "
        f"in oscihop.__all__ only: {sorted(set(oh.__all__) - set(names))}"
    )
    assert len(oh.__all__) == len(set(oh.__all__))


def test_dir_shows_every_public_name_and_nothing_else():
    listed = set(dir(oh))
    assert set(oh.__all__) <= listed, sorted(set(oh.__all__) - listed)
    # the lazily imported names appear before their first use
    assert {"open_trajectory", "train", "plots", "load_digits", "__version__"} <= listed
    public = _public_dir()
    assert public == set(oh.__all__) - {"__version__"}, (
        f"public in dir only: {sorted(public - set(oh.__all__))}; "
        f"in __all__ only: {sorted(set(oh.__all__) - {'__version__'} - public)}"
    )


def test_dir_lists_lazy_names_in_a_fresh_interpreter():
    """Before anything touched them (no test imported them yet), dir() already shows them."""
    code = ("import oscihop, sys; d = dir(oscihop); "
            "assert 'oscihop.io.trajectory' not in sys.modules; "
            "print(all(n in d for n in oscihop.__all__))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_every_name_in_all_resolves():
    for name in oh.__all__:
        obj = getattr(oh, name)
        assert obj is not None, name
    from oscihop import __version__, open_trajectory, rcm_permutation  # noqa: F401  (from-import works too)
    assert re.match(r"^\d+(\.\d+)*", oh.__version__) or oh.__version__ == "0+unknown"


def test_version_is_looked_up_on_first_use_only():
    """``import oscihop`` does not compute ``__version__``: the first ``oscihop.__version__`` does,
    from the installed distribution's metadata (oscihop/_version.py), and keeps it."""
    code = ("import importlib.metadata as md, sys, oscihop\n"
            "before = ('oscihop._version' in sys.modules, '__version__' in vars(oscihop))\n"
            "try:\n"
            "    expected = md.version('oscihop')\n"
            "except md.PackageNotFoundError:\n"
            "    expected = '0+unknown'\n"
            "from oscihop import __version__\n"
            "print(before, __version__ == oscihop.__version__ == vars(oscihop)['__version__'] == expected)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(False, False) True"


def test_every_documented_object_is_the_top_level_one():
    targets = _directive_targets()
    assert len(targets) >= 20
    modules = {n for n in oh.__all__ if isinstance(getattr(oh, n), types.ModuleType)}
    for target in targets:
        name = target.rsplit(".", 1)[-1]
        if name in modules:
            assert getattr(oh, name) is importlib.import_module(target), target
            continue
        assert name in oh.__all__, f"docs/api.md documents {target}, but oscihop has no top-level {name!r}"
        module = importlib.import_module(target.rsplit(".", 1)[0])
        assert getattr(oh, name) is getattr(module, name), target


def test_every_public_module_declares_its_public_names():
    """Every module of the package whose name has no leading underscore (found with pkgutil) has
    an ``__all__``: a list of unique, public names, each defined by the module.  Imported in a
    fresh interpreter, so that loading every module (CUDA, plots...) leaves this one untouched."""
    code = textwrap.dedent("""
        import importlib, json, pkgutil, oscihop
        report = {"count": 0, "missing": [], "bad": []}
        names = ["oscihop"] + [m.name for m in pkgutil.walk_packages(oscihop.__path__, "oscihop.")]
        for name in names:
            if any(part.startswith("_") for part in name.split(".")[1:]):
                continue  # private: oscihop._json, oscihop.training._checks...
            module = importlib.import_module(name)
            report["count"] += 1
            if not isinstance(getattr(module, "__all__", None), (list, tuple)):
                report["missing"].append(name)
                continue
            listed = list(module.__all__)
            for item in listed:
                private = item.startswith("_") and not (item.startswith("__") and item.endswith("__"))
                if not isinstance(item, str) or private or not hasattr(module, item) or listed.count(item) > 1:
                    report["bad"].append(f"{name}.{item}")
        print(json.dumps(report))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["count"] >= 50, report
    assert not report["missing"], f"modules without __all__: {report['missing']}"
    assert not report["bad"], f"__all__ entries that are private, repeated or not defined: {report['bad']}"


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'rcm'"):
        oh.rcm  # noqa: B018


def test_hk_weights_have_one_name_and_deprecated_aliases():
    """One concept, one name: ``weights`` (constructor, attribute, parameters, gradients)."""
    hop = oh.Hopfield(np.array([[0.0, 0.5], [0.5, 0.0]]))
    kur = oh.Kuramoto(2, edges=[[0, 1]], coupling=0.3)
    hk = oh.HopfieldKuramoto(hop, kur, [[0, 1]], weights=[0.2])
    np.testing.assert_array_equal(hk.weights, [0.2])
    assert "weights" in hk.parameters() and "hk_weights" not in hk.parameters()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = hk.replace(weights=[0.4])
    np.testing.assert_array_equal(new.weights, [0.4])
    with pytest.warns(DeprecationWarning, match="edge_weights"):
        np.testing.assert_array_equal(hk.edge_weights, hk.weights)
    with pytest.warns(DeprecationWarning, match="'hk_weights' is deprecated; use 'weights'"):
        old = hk.replace(hk_weights=[0.7])
    np.testing.assert_array_equal(old.weights, [0.7])
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="name the same parameter"):
        hk.replace(hk_weights=[0.7], weights=[0.1])


def test_old_model_dicts_with_hk_weights_still_load():
    from oscihop.io.serialize import model_from_dict, model_to_dict

    hop = oh.Hopfield(np.array([[0.0, 0.5], [0.5, 0.0]]))
    kur = oh.Kuramoto(2, edges=[[0, 1]], coupling=0.3)
    hk = oh.HopfieldKuramoto(hop, kur, [[0, 1]], weights=[0.25])
    d = model_to_dict(hk)
    assert "weights" in d["arrays"] and "hk_weights" not in d["arrays"]
    np.testing.assert_array_equal(model_from_dict(d).weights, [0.25])
    old = dict(d, arrays=dict(d["arrays"]))
    old["arrays"]["hk_weights"] = old["arrays"].pop("weights")  # a store written before the rename
    np.testing.assert_array_equal(model_from_dict(old).weights, [0.25])
