"""The learner's journey end to end: the IDE's view of the project (a plain `pytest checks/...`), the harness's
own test command, and one kata taken from "not started" to "passed" through the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kata_runner.cli import cli
from kata_runner.registry import PROJECT_ROOT, find_kata
from kata_runner.testing import stage

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MISTAKE = Path(__file__).parent / "variants" / "01_custom_linear" / "mistake_weight_transposed.py"
CONCEPT = "nn.Linear stores its weight as (out_features, in_features)"


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False, env={"COLUMNS": "200"})


# ------------------------------------------------------------------ the IDE path


def test_an_ide_opened_at_the_root_sees_the_checks_not_the_harness_tests() -> None:
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    assert config["tool"]["pytest"]["ini_options"]["testpaths"] == ["checks"]


def test_selftest_names_the_harness_tests_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "call", lambda args, **kwargs: calls.append(list(args)) or 0)
    for extra in ([], ["-k", "watch"]):
        calls.clear()
        assert CliRunner().invoke(cli, ["selftest", *extra]).exit_code == 0
        pytest_step = next(args for args in calls if "pytest" in args)
        assert pytest_step[pytest_step.index("pytest") + 1] == "tests", "not the checks that testpaths names"
        if extra:
            assert pytest_step[-len(extra):] == extra, "the learner's arguments go to pytest"
        else:
            assert "-n" in pytest_step, "in parallel by default"


@pytest.mark.slow
def test_a_plain_pytest_failure_reads_like_kata_check(tmp_path: Path) -> None:
    """What an IDE's test explorer or `pytest checks/test_01_custom_linear.py` shows: per failure the spec's
    sentence and the concept message, in a handful of lines, without harness frames or tensor dumps."""
    stage(MISTAKE, tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "checks/test_01_custom_linear.py", f"--kata-dir={tmp_path}",
         "--device=cpu", "-p", "no:cacheprovider"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    section = out.split("= FAILURES =")[1].split("short test summary")[0]
    failures = re.split(r"^_{3,} .* _{3,}$", section, flags=re.MULTILINE)[1:]
    assert len(failures) >= 5
    for failure in failures:
        assert len(failure.strip().splitlines()) < 40, failure
    first = failures[0]
    assert first.strip().splitlines()[0] == (
        "weight (out_features, in_features) and bias (out_features,) are the layer's whole state."
    ), "the spec's sentence first"
    assert CONCEPT in first
    assert "kata_runner/" not in out and "site-packages" not in out, "no harness frames"
    assert "tensor(" not in out, "no tensor dumps"


@pytest.mark.slow
def test_an_explicit_tb_option_still_gets_pytests_own_report(tmp_path: Path) -> None:
    stage(MISTAKE, tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "checks/test_01_custom_linear.py", f"--kata-dir={tmp_path}",
         "--device=cpu", "-p", "no:cacheprovider", "--tb=short", "-x"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert "kata_runner/draw.py" in done.stdout, "a harness developer asked for the traceback"


# ------------------------------------------------------------------ one kata, start to finish


@pytest.mark.slow
def test_one_kata_from_not_started_to_passed(stub_dir: Path) -> None:
    kata = find_kata("01")
    where = ["--kata-dir", str(stub_dir), "--device", "cpu"]

    first = run("next", *where)
    assert "Kata 01: A linear layer from scratch" in first.stdout and "not started" in first.stdout

    assert f"Hint 1/{len(kata.hints)}: {kata.hints[0]}" in run("hint", "01", "--kata-dir", str(stub_dir)).stdout

    stage(MISTAKE, stub_dir)
    failing = run("check", "01", *where)
    assert failing.exit_code == 1 and CONCEPT in failing.stdout
    assert re.search(r"^Kata 01 failing: \d+/19 specs pass$", failing.stdout, re.MULTILINE)
    explained = run("check", "01", "-v", *where)
    assert explained.stdout.count("Failure ") > failing.stdout.count("First failure")

    (stub_dir / "01_custom_linear.py").write_text(kata.solution_path.read_text())
    passing = run("check", "01", *where)
    assert passing.exit_code == 0 and "Kata 01 passed: 19/19 specs pass" in passing.stdout
    assert "Next: kata 02" in passing.stdout
    assert "Kata 01 already passes" in run("hint", "01", "--kata-dir", str(stub_dir)).stdout

    listing = run("list", *where)
    assert re.search(r"^\[#+-+\] 1/12 katas passed$", listing.stdout, re.MULTILINE)
    assert "Kata 02: A learned normalisation" in run("next", *where).stdout
