"""The README's quickstart runs as written, and its set-up commands are the CI's."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

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


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    setup = re.search(r"## Set-up\n(.*?)\n## ", README, re.S).group(1)
    commands = [ln for ln in re.search(r"```bash\n(.*?)```", setup, re.S).group(1).splitlines() if ln.strip()]
    assert len(commands) == 2
    test_cmd = commands[1].split("#")[0].strip()
    assert "pytest" in test_cmd and "oscihop demo" in commands[0]
    assert test_cmd in (ROOT / ".ci" / "run").read_text()


def test_cli_demo_runs_small(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "oscihop.cli", "demo", "--n", "40", "--patterns", "2", "--noise", "0.1"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "energy non-increasing along the coupled run: True" in proc.stdout
    assert re.search(r"rank [0-3] \(<= D = 3\)", proc.stdout)


def test_cli_rejects_bad_arguments(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "oscihop.cli", "demo", "--noise", "0.9"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    assert "--noise" in proc.stderr and "[0, 0.5]" in proc.stderr


def test_demo_result_values():
    from oscihop.demo import run_demo

    lines = []
    res = run_demo(n=60, patterns=2, noise=0.1, t_end=10.0, out=lines.append)
    assert res["energy_monotone"] and res["rank"] <= 3
    assert res["overlap_coupled"] > 0.9 and np.isfinite(res["seconds"])
    assert any("Hopfield-Kuramoto" in ln for ln in lines)
