"""Numba's disk cache is dropped when any oscihop source changes (Numba alone would keep a kernel
that inlined an edited function from another module)."""

from pathlib import Path

import oscihop
from oscihop._cache import STAMP_NAME, invalidate_stale_cache, sources_fingerprint


def _package(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.py").write_text("def f():\n    return 1\n")
    (tmp_path / "sub" / "b.py").write_text("def g():\n    return 2\n")
    return tmp_path


def _fake_cache(root):
    files = []
    for folder in (root / "__pycache__", root / "sub" / "__pycache__"):
        folder.mkdir(exist_ok=True)
        for name in ("a.f-1.py311.nbi", "a.f-1.py311.1.nbc"):
            files.append(folder / name)
            files[-1].write_bytes(b"cached")
    keep = root / "__pycache__" / "a.cpython-311.pyc"
    keep.write_bytes(b"bytecode")
    return files, keep


def test_cache_kept_while_sources_unchanged_and_dropped_after_any_edit(tmp_path):
    root = _package(tmp_path)
    assert invalidate_stale_cache(root)  # no fingerprint yet: start clean
    files, keep = _fake_cache(root)
    assert not invalidate_stale_cache(root)
    assert all(f.exists() for f in files)
    # edit a module that is not the one holding the cached function
    (root / "sub" / "b.py").write_text("def g():\n    return 3\n")
    assert invalidate_stale_cache(root)
    assert not any(f.exists() for f in files)
    assert keep.exists()  # only Numba's files are removed
    stamp = (root / "__pycache__" / STAMP_NAME).read_text().strip()
    assert stamp == sources_fingerprint(root)


def test_fingerprint_sees_renames_and_new_files(tmp_path):
    root = _package(tmp_path)
    before = sources_fingerprint(root)
    (root / "sub" / "b.py").rename(root / "sub" / "c.py")
    renamed = sources_fingerprint(root)
    (root / "d.py").write_text("")
    assert len({before, renamed, sources_fingerprint(root)}) == 3


def test_installed_package_has_a_current_fingerprint():
    root = Path(oscihop.__file__).resolve().parent
    stamp = root / "__pycache__" / STAMP_NAME
    if stamp.exists():  # absent only where the package folder is read-only
        assert stamp.read_text().strip() == sources_fingerprint(root)
