"""The documentation site: its pages exist, and the how-to examples run as written.

``docs/howto.md``'s ```python blocks run in order in one namespace, in an empty working
directory.  A block whose first line is ``# file: NAME.py`` is a script: it is written to
``NAME.py`` and run with ``python NAME.py`` in a subprocess, the way the page tells the reader to
run it (the sweep example needs this: its worker processes import the script as a module, which
is why it calls ``oh.sweep`` under ``if __name__ == "__main__":``).  The ```bash blocks' ``oscihop``
commands are checked against the CLI's parser and the example configs (not run: ``oscihop demo``
and the example sweep are run by tests/test_readme.py and tests/test_cli.py).
"""

import os
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HOWTO = (DOCS / "howto.md").read_text()
FILE_MARK = re.compile(r"\A# file: (\w+\.py)\n")


def _nav_pages(nav):
    """Every page path named in mkdocs.yml's ``nav`` (nested sections included)."""
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from _nav_pages(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _nav_pages(value)


def _mkdocs_nav():
    yaml = pytest.importorskip("yaml")  # PyYAML: a dependency of dask and of mkdocs

    class Loader(yaml.SafeLoader):
        pass

    # mkdocs.yml may use mkdocs' !ENV / !relative tags; their values do not matter here.
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)
    return config["nav"], config.get("docs_dir", "docs")


def test_every_nav_page_exists_and_every_page_is_in_nav():
    nav, docs_dir = _mkdocs_nav()
    pages = list(_nav_pages(nav))
    assert pages and docs_dir == "docs"
    missing = [p for p in pages if not (ROOT / docs_dir / p).is_file()]
    assert not missing, f"pages in mkdocs.yml nav that do not exist under docs/: {missing}"
    assert len(pages) == len(set(pages)), f"a page is listed twice in nav: {pages}"
    orphans = sorted(p.name for p in DOCS.glob("*.md") if p.name not in pages)
    assert not orphans, f"pages under docs/ that mkdocs.yml nav does not list: {orphans}"
    expected = ("index.md", "theory.md", "guide.md", "howto.md", "validation.md",
                "benchmarks.md", "api.md")
    assert set(expected) <= set(pages)


def test_api_page_names_objects_that_exist():
    """Every ``::: dotted.path`` of docs/api.md imports (mkdocstrings would fail the build)."""
    import importlib

    targets = re.findall(r"^::: ([\w.]+)\s*$", (DOCS / "api.md").read_text(), re.M)
    assert len(targets) >= 20
    for target in targets:
        parts = target.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
            break
        else:
            pytest.fail(f"docs/api.md: cannot import {target}")
        if not isinstance(obj, types.ModuleType):  # a module documented with its members (oh.plots)
            defined_in = obj.__module__
            assert defined_in == ".".join(parts[:-1]), f"{target} is defined in {defined_in}"


def test_howto_python_blocks_run_in_order(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", HOWTO, re.S)
    assert len(blocks) >= 6
    assert any(FILE_MARK.match(b) for b in blocks)
    monkeypatch.chdir(tmp_path)
    pytest.importorskip("matplotlib")
    # the scripts import this checkout's oscihop, whatever the working directory
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=pythonpath)
    ns = {"__name__": "howto"}
    scripts = {}
    for k, block in enumerate(blocks):
        mark = FILE_MARK.match(block)
        if mark:
            name = mark.group(1)
            (tmp_path / name).write_text(block)
            proc = subprocess.run([sys.executable, name], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, f"docs/howto.md block {k} ({name}) failed:\n{proc.stderr}"
            scripts[name] = proc.stdout
        else:
            exec(compile(block, f"docs/howto.md block {k}", "exec"), ns)
    out = capsys.readouterr().out

    np, oh = ns["np"], ns["oh"]
    # storage: what the comments on the page claim
    assert dict(ns["ds"].x.sizes) == {"time": 11, "neuron": 32, "component": 3}
    assert np.allclose(ns["ds"].order_parameter.values, ns["kur"].order_parameter(ns["sol"].y.T))
    assert ns["model"].energy(ns["y0"]) == ns["kur"].energy(ns["y0"])
    assert dict(ns["long"].sizes) == {"time": 1001, "neuron": 32, "component": 3}
    assert ns["long"].attrs["status"] == 0
    assert round(float(ns["long"].order_parameter[-1]), 3) == 1.0
    assert (tmp_path / "order_parameter.png").stat().st_size > 1000
    # sweep: the script computed every point, and the store reads back complete
    assert "6 points computed" in scripts["ring_sweep.py"]
    sw = ns["sw"]
    assert dict(sw["y_final"].sizes) == {"coupling": 2, "seed": 3, "state": 32}
    assert sw.attrs["complete"] and int(sw["done"].sum()) == 6 and np.all(sw["status"].values == 0)
    # a second run of the script resumes a finished store: nothing to compute
    again = subprocess.run([sys.executable, "ring_sweep.py"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "0 points computed" in again.stdout, again.stderr
    # GPU: under the simulator (conftest) the page's backend="cuda" block runs the CUDA kernels
    assert "ran on cuda with layout thread" in out
    assert ns["gpu"].y.shape == (8, 4, 2)


def test_from_references_python_blocks_run_in_order(capsys):
    """docs/from_references.md: each mapping's example runs and checks oscihop against a NumPy
    copy of the reference code's formula (the asserts are in the blocks), ``oh.ConvCoupling``
    with a general AKOrN weight included."""
    page = (DOCS / "from_references.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    assert len(blocks) >= 5
    ns = {"__name__": "from_references"}
    for k, block in enumerate(blocks):
        exec(compile(block, f"docs/from_references.md block {k}", "exec"), ns)
    out = capsys.readouterr().out
    for line in ("AKOrN iterates and logged energies reproduced", "use_omega=False is oscihop's map",
                 "ConvCoupling reproduces KLayer; False - the convolution kernel is not symmetric",
                 "HK force and energy equal the reference code's", "Omega carried over"):
        assert line in out


def test_howto_cli_commands_parse_and_their_configs_load():
    from oscihop.cli import build_parser
    from oscihop.spec import apply_overrides, build_from_spec, load_config

    commands = []
    for block in re.findall(r"```bash\n(.*?)```", HOWTO, re.S):
        for line in block.splitlines():
            argv = shlex.split(line, comments=True)
            if argv and argv[0] == "oscihop":
                commands.append(argv)
    assert {argv[1] for argv in commands} == {"demo", "run", "sweep", "info", "plot", "verify"}
    parser = build_parser()
    for argv in commands:
        args = parser.parse_args(argv[1:])  # SystemExit (a failure) on a bad command line
        configs = [a for a in argv if a.endswith(".toml")]
        for config in configs:
            path = ROOT / config
            assert path.is_file(), f"docs/howto.md names {config}, which does not exist"
            spec = load_config(path)
            overrides = dict(getattr(args, "overrides", None) or [])
            if overrides:
                spec = apply_overrides(spec, overrides)
            model, y0 = build_from_spec(spec)
            assert y0.shape == (model.size,)


def test_site_builds_without_warnings(tmp_path):
    """``mkdocs build --strict``, as scripts/build_docs.sh runs it (needs the docs extra)."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    pytest.importorskip("material")
    site = tmp_path / "site"
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    assert proc.returncode == 0, proc.stderr[-4000:]
    for page in ("index.html", "howto/index.html", "benchmarks/index.html", "api/index.html"):
        assert (tmp_path / "site" / page).is_file()
    assert 'id="oscihop.sweep.api.sweep"' in (tmp_path / "site" / "api" / "index.html").read_text()


# --------------------------------------------------------------------------------------
# docs/theory.md is the project's reference: nothing cites a file outside the repository,
# and every section citation names a section that exists
# --------------------------------------------------------------------------------------

THEORY = DOCS / "theory.md"
#: Everything the project explains itself in: these folders and README.md.
CITING_DIRS = ("oscihop", "docs", "scripts", "tests")
TEXT_SUFFIXES = {".py", ".md", ".toml", ".cfg", ".sh", ".txt", ".yml", ".yaml"}
#: A citation of a model file the repository does not contain: the file's name, or the bare word
#: followed by a section ("<word> 4", "<word> section 2", "<word> §2", "<word>'s table",
#: "<word>: ..."). Case-sensitive for the word, so that identifiers and prose that merely contain
#: it (SPEC_FIELDS, _SPEC_PREFIX, cls.SPEC, getattr(cls, "SPEC"), OSCIHOP_SPECIALIZE,
#: oscihop/spec.py, "the config spec") do not match.
WORD = "SPEC"
OUTSIDE_REFERENCE = re.compile(r"(?i:\bspec\.md\b)|\bSPEC(?:'s\b|\s*§|\s+(?:sections?\b|\d)|:)")
#: A section citation: ``docs/theory.md §n`` in code, scripts and tests (the path from the
#: repository root); ``theory.md §n``, or the same as a Markdown link to the heading's anchor, on
#: the site's pages. ``§n`` is a section number such as 4.2, or a range such as 2-4.
CITATION = re.compile(r"((?:docs/)?)theory\.md(?:\]\([^)\s]*\)|\))?\s*"
                      r"(§\s*\d+(?:\.\d+)*(?:\s*[-–]\s*§?\s*\d+(?:\.\d+)*)?)")
ANCHOR = re.compile(r"\]\((?:\.\./)*theory\.md#([^)\s]+)\)")
HEADING = re.compile(r"^#{2,6} +(\d+(?:\.\d+)*)\.? +(.+?) *$", re.M)


def _citing_files():
    files = [ROOT / "README.md"]
    for folder in CITING_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            parts = path.relative_to(ROOT).parts
            if (path.is_file() and path.suffix in TEXT_SUFFIXES
                    and not any(p.startswith(".") or p == "__pycache__" for p in parts)):
                files.append(path)
    return files


def _slug(title):
    """The anchor mkdocs' ``toc`` extension gives a heading (Python-Markdown's slugify)."""
    import unicodedata

    text = unicodedata.normalize("NFKD", title.replace("`", "")).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _theory_sections():
    """{section number: heading title} of docs/theory.md."""
    return dict(HEADING.findall(THEORY.read_text()))


@pytest.mark.parametrize("text, is_reference", [
    (f"Equations ({WORD} sections 2-4)", True), (f"({WORD} 4: rank <= D)", True),
    (f"{WORD} §2 states", True), (f"as in {WORD}'s table", True), (f"# {WORD}: dE/dh", True),
    (f"``{WORD}.md``", True), (f"(see {WORD.lower()}.md)", True), (f"({WORD} section 3)", True),
    ("SPEC_FIELDS = (...)", False), ('_SPEC_PREFIX = "SystemParams_"', False),
    ("cls.SPEC = spec", False), ('getattr(cls, "SPEC", None)', False),
    ("OSCIHOP_SPECIALIZE=0", False), ("oscihop/spec.py", False), ("model_specs", False),
    ("SPEC_CASES = [...]", False), ("the spec's keys; spec: dict", False),
])
def test_outside_reference_pattern(text, is_reference):
    """The pattern flags every form the old citations took, and none of the identifiers."""
    assert bool(OUTSIDE_REFERENCE.search(text)) == is_reference, text


def test_no_reference_to_a_file_outside_the_repository():
    """Comments, docstrings, scripts and pages cite docs/theory.md, not a model file that a
    checkout does not contain."""
    found = []
    for path in _citing_files():
        for k, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE_REFERENCE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{k}: {line.strip()}")
    assert not found, "cite docs/theory.md §n instead:\n" + "\n".join(found)


def test_theory_citations_name_existing_sections():
    """Every ``theory.md §n`` citation (and every ``§n`` inside theory.md, and every link to a
    theory.md anchor) names a heading of docs/theory.md; outside docs/ the citation is written
    ``docs/theory.md §n``, the path from the repository root."""
    sections = _theory_sections()
    assert {"1", "2", "2.2", "3.1", "4.3", "7", "8"} <= set(sections), sorted(sections)
    anchors = {_slug(f"{number} {title}") for number, title in HEADING.findall(THEORY.read_text())}
    # headings are written "## 1. Title" or "### 2.1 Title"; the slug drops the dot either way
    bad, cited = [], 0
    for path in _citing_files():
        rel = path.relative_to(ROOT)
        text = path.read_text(errors="replace")
        cites = [(m.group(1), m.group(2)) for m in CITATION.finditer(text)]
        if path == THEORY:
            cites += [("", m) for m in re.findall(r"§\s*\d+(?:\.\d+)*", text)]
        for prefix, cite in cites:
            cited += 1
            missing = [n for n in re.findall(r"\d+(?:\.\d+)*", cite) if n not in sections]
            if missing:
                bad.append(f"{rel}: {cite} (no section {', '.join(missing)})")
            if rel.parts[0] != "docs" and rel.name != "README.md" and prefix != "docs/":
                bad.append(f"{rel}: write 'docs/theory.md {cite}'")
        links = ANCHOR.findall(text)
        if path == THEORY:
            links += re.findall(r"\]\(#([^)\s]+)\)", text)
        for anchor in links:
            if anchor not in anchors:
                bad.append(f"{rel}: theory.md#{anchor} is not a heading's anchor")
    assert not bad, "\n".join(bad)
    assert cited >= 40, f"only {cited} citations found: is CITATION still matching?"
