"""The README's quickstart runs as written, and its set-up commands are the CI's."""

import re
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_quickstart_runs_and_recalls(capsys):
    block = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    assert len(block.strip().splitlines()) <= 10
    namespace = {}
    exec(compile(block, "README-quickstart", "exec"), namespace)
    out = capsys.readouterr().out
    assert "True True" in out  # the model is Lyapunov and the energy never increased
    overlap = float(out.strip().splitlines()[-1].split()[-1])
    assert overlap > 0.9
    assert namespace["sol"].success


def _setup_commands(readme=README):
    setup = re.search(r"^## Set-up\n(.*?)(?=^## )", readme, re.S | re.M).group(1)
    return [ln for ln in re.search(r"```bash\n(.*?)```", setup, re.S).group(1).splitlines() if ln.strip()]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_them_as_written():
    commands = _setup_commands()
    assert len(commands) == 2
    assert commands[0].startswith("pip install -e . && oscihop demo")
    assert "pytest" in commands[1] and commands[1].startswith('pip install -e ".[test,docs]"')
    # .ci/run reads the same two lines from README.md (it runs the first in a fresh venv)
    proc = subprocess.run(["bash", str(ROOT / ".ci" / "run"), "--dry-run"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python -m venv" in ci and "-eq 5" in ci and "NUMBA_ENABLE_CUDASIM" in ci


def test_ci_refuses_a_readme_without_exactly_two_setup_commands(tmp_path):
    (tmp_path / ".ci").mkdir()
    (tmp_path / ".ci" / "run").write_text((ROOT / ".ci" / "run").read_text())
    block = "```bash\n" + "\n".join(_setup_commands()) + "\n"
    for extra in ("echo a third command\n", ""):
        readme = README.replace(block, block + extra) if extra else README.replace(block, "```bash\n")
        assert readme != README
        (tmp_path / "README.md").write_text(readme)
        proc = subprocess.run(["bash", str(tmp_path / ".ci" / "run"), "--dry-run"], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 1 and "exactly two commands" in proc.stderr, proc.stderr


def test_readme_demo_command_runs_as_written(tmp_path):
    """``oscihop demo``, no arguments, in an empty directory: the story and the default output directory."""
    proc = subprocess.run([sys.executable, "-m", "oscihop.cli", "demo"], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "recalls A" in proc.stdout and "recalls B" in proc.stdout
    assert "energy non-increasing along the coupled run: True" in proc.stdout
    assert re.search(r"3 at t=0 -> 1 at t=20 \(<= D = 3\)", proc.stdout)
    out = tmp_path / "oscihop-demo"
    assert (out / "demo.zarr").is_dir() and (out / "memory_edit.png").is_file()


def test_cli_rejects_bad_arguments(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "oscihop.cli", "demo", "--noise", "0.9"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    assert "--noise" in proc.stderr and "[0, 0.5]" in proc.stderr
