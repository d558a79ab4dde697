"""Hostile implementations (tests/hostile/, one case per file) graded through the real CLI: each gets
the right verdict, a JSON document that parses, and returns within the limits plus a little."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kata_runner.cli import cli
from kata_runner.testing import module_constant

CASES = sorted((Path(__file__).parent / "hostile").glob("*.py"))
TIME_LIMIT = 6.0
LIMITS = ["--time-limit", str(TIME_LIMIT), "--spec-timeout", "3", "--memory-mb", "768", "--device", "cpu"]
SLACK = 4.0  # fork, reporting and a loaded CI machine


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_hostile_implementation_gets_a_clear_verdict(path: Path, tmp_path: Path) -> None:
    verdict = module_constant(path, "EXPECT_VERDICT")
    phrase = module_constant(path, "EXPECT_MESSAGE")
    shutil.copy(path, tmp_path / "01_custom_linear.py")

    started = time.monotonic()
    result = CliRunner().invoke(cli, ["check", "01", "--kata-dir", str(tmp_path), "--json", *LIMITS])
    elapsed = time.monotonic() - started

    doc = json.loads(result.stdout)
    assert doc["version"] == 3
    assert doc["verdict"] == verdict, doc.get("message")
    assert doc["status"] == {"pass": "pass", "fail": "fail"}.get(str(verdict), "error")
    assert str(phrase) in doc.get("message", ""), doc.get("message")
    assert result.exit_code == (0 if verdict == "pass" else 1)
    assert elapsed < TIME_LIMIT + SLACK, f"took {elapsed:.1f} s"


def test_huge_output_is_truncated_in_the_report(tmp_path: Path) -> None:
    shutil.copy(Path(__file__).parent / "hostile" / "huge_stdout.py", tmp_path / "01_custom_linear.py")
    result = CliRunner().invoke(cli, ["check", "01", "--kata-dir", str(tmp_path), "--json", *LIMITS])
    doc = json.loads(result.stdout)
    assert all(len(test["output"] or "") < 1000 for test in doc["tests"])
    assert any("output truncated" in (test["output"] or "") for test in doc["tests"])


def test_one_katas_patching_does_not_reach_another(tmp_path: Path, solution_dir: Path) -> None:
    """Kata 01 patches torch; kata 02, graded in its own process, still passes."""
    shutil.copy(Path(__file__).parent / "hostile" / "patches_torch_allclose.py", solution_dir / "01_custom_linear.py")
    for path in solution_dir.iterdir():
        if path.name[:2] not in ("01", "02"):
            path.unlink()
    result = CliRunner().invoke(cli, ["check", "--kata-dir", str(solution_dir), "--json", "--device", "cpu"])
    doc = json.loads(result.stdout)
    verdicts = {k["kata"]: k["verdict"] for k in doc["katas"]}
    assert verdicts["01_custom_linear"] == "error"
    assert verdicts["02_learned_norm"] == "pass"


VACUOUS = {"list": "[]", "dict": "{}", "none": "None"}


@pytest.mark.timeout(900)
def test_a_subject_that_returns_empty_observations_passes_no_spec(tmp_path: Path) -> None:
    """The class of attack where learner code replaces every probe (it shares their process) and returns
    nothing to compare: every spec of every kata must fail, none may pass by looping over nothing."""
    from kata_runner.grader import GradeOptions, grade_many
    from kata_runner.registry import all_katas
    from kata_runner.results import SpecStatus

    jobs = []
    for label, value in VACUOUS.items():
        for kata in all_katas():
            folder = tmp_path / f"{label}_{kata.id}"
            folder.mkdir()
            (folder / kata.filename).write_text(
                "from kata_runner.subject import PROBES\n"
                f"for _name in list(PROBES):\n    PROBES[_name] = lambda *args, **kwargs: {value}\n"
            )
            jobs.append((kata, folder))
    results = grade_many(jobs, GradeOptions(devices=("cpu",)), max_parallel=2)
    vacuous = [f"{folder.name}: {spec.title}" for (_, folder), result in zip(jobs, results)
               for spec in result.specs if spec.status is SpecStatus.PASS]
    assert len(results) == len(jobs)
    assert not vacuous, "specs that passed on empty observations:\n" + "\n".join(vacuous)
