"""The engine as a user gets it: a wheel built from this repo, installed (not editable) into a fresh
virtual environment, used from outside this repo. `kata new` makes a course there; inside it `kata list`,
`kata check`, `kata verify` and a plain `pytest checks/` (the plugin through its pytest11 entry point)
work; outside any course the commands say how to get one.

Offline and quick: the wheel is built without build isolation from a copy of the sources, and the fresh
environment sees this project's .venv site-packages (torch and the other dependencies) through a .pth
file, so nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from kata_runner.registry import PROJECT_ROOT

NO_COURSE = "no course.toml found from here up to /: run `kata new DIR` or cd into a course"


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def build_wheel(tmp_path: Path) -> Path:
    """From a copy of the sources, so that the build writes nothing (build/, *.egg-info) into the repo."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, source / name)
    shutil.copytree(PROJECT_ROOT / "kata_runner", source / "kata_runner",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path / "dist"
    done = run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "--no-index",
                "-w", str(out)], source, dict(os.environ))
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("torch_katas-*.whl")
    return wheel


def fresh_environment(tmp_path: Path, wheel: Path) -> Path:
    venv = tmp_path / "venv"
    done = run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, dict(os.environ))
    assert done.returncode == 0, done.stderr
    python = venv / "bin" / "python"
    purelib = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path,
                       dict(os.environ)).stdout.strip())
    (purelib / "project-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                str(wheel)], tmp_path, dict(os.environ))
    assert done.returncode == 0, done.stdout + done.stderr
    return venv


@pytest.mark.timeout(600)
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX virtual environment layout")
def test_the_installed_engine_scaffolds_and_runs_a_course_anywhere(tmp_path: Path) -> None:
    venv = fresh_environment(tmp_path, build_wheel(tmp_path))
    kata, python = str(venv / "bin" / "kata"), str(venv / "bin" / "python")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("KATA_COURSE", "KATA_DIR", "KATA_STATE_DIR", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    where = run([python, "-c", "import kata_runner; print(kata_runner.__file__)"], outside, env)
    assert Path(where.stdout.strip()).is_relative_to(venv), f"not the installed wheel: {where.stdout}{where.stderr}"

    lost = run([kata, "list"], outside, env)
    assert lost.returncode == 1 and NO_COURSE in lost.stderr, lost.stdout + lost.stderr

    made = run([kata, "new", "course"], outside, env)
    assert made.returncode == 0, made.stdout + made.stderr
    course = outside / "course"
    assert (course / "course.toml").is_file() and not (course / "pyproject.toml").exists()

    listed = run([kata, "list"], course / "katas", env)  # from a sub-folder
    assert listed.returncode == 0 and "01_scale" in listed.stdout and "not started" in listed.stdout, listed.stderr

    checked = run([kata, "check", "01"], course, env)
    assert checked.returncode == 1 and "Kata 01 not started: 0/2 specs pass" in checked.stdout, checked.stderr

    verified = run([kata, "verify"], course, env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "All 1 katas verified" in verified.stdout and "and 3 variants" in " ".join(verified.stdout.split())

    tested = run([python, "-m", "pytest", "checks/", "--kata-dir", "solutions", "--device", "cpu", "-q"], course, env)
    assert tested.returncode == 0 and "2 passed" in tested.stdout, tested.stdout + tested.stderr

    elsewhere = run([kata, "--course", "course", "list"], outside, env)
    assert elsewhere.returncode == 0 and "01_scale" in elsewhere.stdout, elsewhere.stderr

    repo_env = {**env, "KATA_STATE_DIR": str(tmp_path / "state")}
    ours = run([kata, "check", "01", "--solutions", "--device", "cpu"], PROJECT_ROOT / "katas", repo_env)
    assert ours.returncode == 0 and "Kata 01 passed" in ours.stdout, ours.stdout + ours.stderr  # this course too
