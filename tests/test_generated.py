"""The generated kernel modules match their generator, ``scripts/gen_fixed_dim_kernels.py``.

``oscihop/kernels/fixed_dim.py`` and ``oscihop/kernels/batched_fixed.py`` are written by the
script, never by hand: ``--check`` renders both in memory and compares them with the files,
so an edit to either side without regenerating fails here.
"""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gen_fixed_dim_kernels.py"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_fixed_dim_kernels", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _copy_outputs(gen, root):
    """The generated modules, copied under ``root`` at their paths in the repository."""
    for rel, _ in gen.OUTPUTS:
        dst = root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, dst)


def test_generated_modules_are_up_to_date():
    out = subprocess.run([sys.executable, str(SCRIPT), "--check"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "stale" not in out.stdout + out.stderr


def test_check_names_a_stale_module(tmp_path, capsys):
    gen = _generator()
    _copy_outputs(gen, tmp_path)
    assert gen.stale(tmp_path) == []
    assert gen.check(tmp_path) == 0

    rel = "oscihop/kernels/fixed_dim.py"
    path = tmp_path / rel
    lines = path.read_text().split("\n")
    k = next(i for i, line in enumerate(lines) if line.startswith("def kuramoto_csr_d2("))
    lines[k + 1] += "  # edited by hand"
    path.write_text("\n".join(lines))
    capsys.readouterr()

    assert gen.stale(tmp_path) == [rel]
    assert gen.check(tmp_path) == 1
    err = capsys.readouterr().err
    assert f"stale: {rel}" in err
    assert "batched_fixed.py" not in err
    assert "python scripts/gen_fixed_dim_kernels.py" in err


def test_check_names_a_missing_module(tmp_path, capsys):
    gen = _generator()
    _copy_outputs(gen, tmp_path)
    (tmp_path / "oscihop/kernels/batched_fixed.py").unlink()
    assert gen.check(tmp_path) == 1
    assert "stale: oscihop/kernels/batched_fixed.py" in capsys.readouterr().err
