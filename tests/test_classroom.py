"""`kata grade` and `kata export gradescope`: batch grading, the four export formats, the cache."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from kata_runner.cli import cli
from kata_runner.registry import all_katas, find_kata

VARIANTS = Path(__file__).parent / "variants"


@pytest.fixture
def classroom(tmp_path: Path) -> Path:
    """Three submissions: one finished kata 01, one with a mistake in it, one that submitted nothing useful."""
    root = tmp_path / "submissions"
    (root / "ada").mkdir(parents=True)
    shutil.copy(find_kata("01").solution_path, root / "ada" / "01_custom_linear.py")
    shutil.copy(find_kata("02").solution_path, root / "ada" / "02_learned_norm.py")
    nested = root / "bob" / "my-katas"
    nested.mkdir(parents=True)
    shutil.copy(VARIANTS / "01_custom_linear" / "mistake_zero_init.py", nested / "01_custom_linear.py")
    (root / "cy").mkdir()
    (root / "cy" / "notes.txt").write_text("nothing here")
    (root / ".hidden").mkdir()
    return root


def grade(*args: str):
    return CliRunner().invoke(cli, ["grade", *args, "--device", "cpu"], catch_exceptions=False)


def test_grade_writes_all_four_formats(classroom: Path, tmp_path: Path) -> None:
    out = tmp_path / "grades"
    formats = [f"--format={f}" for f in ("csv", "exercism", "gradescope", "junit")]
    result = grade(str(classroom), "--out", str(out), *formats)
    assert result.exit_code == 0, result.output

    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [r["submission"] for r in rows] == ["ada", "bob", "cy"]
    assert rows[0]["01_custom_linear"] == "1.0" and rows[0]["02_learned_norm"] == "1.0" and rows[0]["total"] == "2.0"
    assert 0 < float(rows[1]["01_custom_linear"]) < 1, "a mistake earns partial credit, not full"
    assert rows[2]["total"] == "0.0" and rows[0]["max"] == str(float(len(all_katas())))

    ada = json.loads((out / "ada" / "results.json").read_text())
    assert ada["version"] == 3 and ada["status"] == "fail"
    assert [k["verdict"] for k in ada["katas"][:3]] == ["pass", "pass", "not_started"]

    scope = json.loads((out / "bob" / "gradescope.json").read_text())
    assert {"score", "max_score", "tests"} <= set(scope)
    first = scope["tests"][0]
    assert {"score", "max_score", "name", "number", "output", "visibility"} <= set(first)
    assert first["name"] == "Kata 01: A linear layer from scratch" and "nn.Linear" in first["output"]

    suites = ET.parse(out / "junit.xml").getroot()
    assert [s.get("name") for s in suites] == ["ada", "bob", "cy"]
    assert suites[0].get("tests") == str(len(all_katas()))


def test_regrading_skips_unchanged_submissions(classroom: Path, tmp_path: Path) -> None:
    out = tmp_path / "grades"
    grade(str(classroom), "--out", str(out))
    again = grade(str(classroom), "--out", str(out))
    assert "(3 unchanged, from the cache)" in again.output
    shutil.copy(find_kata("01").solution_path, classroom / "bob" / "my-katas" / "01_custom_linear.py")
    third = grade(str(classroom), "--out", str(out))
    assert "(2 unchanged, from the cache)" in third.output
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert rows[1]["01_custom_linear"] == "1.0"


def test_grade_of_a_folder_without_submissions_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["grade", str(tmp_path)])
    assert result.exit_code == 1 and "--single" in result.output


def test_gradescope_zip_grades_a_submission_laid_out_as_gradescope_does(tmp_path: Path) -> None:
    zip_path = tmp_path / "autograder.zip"
    assert CliRunner().invoke(cli, ["export", "gradescope", "--out", str(zip_path)]).exit_code == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        archive.extractall(root / "source")
    expected = {"setup.sh", "run_autograder", "pyproject.toml", "kata_runner/cli.py", "checks/test_01_custom_linear.py"}
    assert expected <= set(names)
    assert not any(name.startswith("solutions/") for name in names), "the solutions stay private"
    (root / "submission").mkdir()
    shutil.copy(find_kata("01").solution_path, root / "submission" / "01_custom_linear.py")
    script = root / "source" / "run_autograder"
    script.chmod(0o755)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "KATA_PYTHON": sys.executable}
    done = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 1.0 and results["max_score"] == float(len(all_katas()))
    assert results["tests"][0]["status"] == "passed" and results["tests"][1]["status"] == "failed"
