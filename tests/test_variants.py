"""Every kata's checks, proven against variants of its solution in tests/variants/NN_slug/:

- correct_*.py: alternative correct implementations; the checks must pass them.
- mistake_*.py: one plausible mistake each; the checks must fail them, and at least one failing
  spec's message must contain the file's EXPECT phrase, which names the concept.
- Every spec has teeth: each one fails on at least one mistake variant.

Each kata's variants are graded in one batch, forked from one warm pytest session.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kata_runner.grader import GradeOptions, grade_many
from kata_runner.registry import all_katas, find_kata
from kata_runner.results import KataResult, SpecStatus, Verdict
from kata_runner.testing import module_constant, stage_each

VARIANTS = Path(__file__).parent / "variants"
CPU = GradeOptions(devices=("cpu",))
KATAS = [kata.name for kata in all_katas()]
MIN_CORRECT = 4


def grade_files(paths: list[Path], tmp_path: Path) -> list[KataResult]:
    return grade_many(stage_each(paths, tmp_path), CPU)


def failures_of(result: KataResult) -> list[str]:
    return [f"{s.title}: {s.message}" for s in result.specs if s.status not in (SpecStatus.PASS, SpecStatus.SKIP)]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("kata_name", KATAS)
def test_correct_alternatives_pass(kata_name: str, tmp_path: Path) -> None:
    paths = sorted((VARIANTS / kata_name).glob("correct_*.py"))
    assert len(paths) >= MIN_CORRECT, f"{kata_name} needs at least {MIN_CORRECT} correct alternatives"
    wrong = []
    for path, result in zip(paths, grade_files(paths, tmp_path)):
        if result.verdict is not Verdict.PASS:
            details = "\n  ".join(failures_of(result))
            wrong.append(f"{path.name}: {result.verdict.value}: {result.message}\n  {details}")
    assert not wrong, "correct alternatives were not accepted:\n" + "\n".join(wrong)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("kata_name", KATAS)
def test_mistakes_fail_naming_the_concept_and_every_spec_has_teeth(kata_name: str, tmp_path: Path) -> None:
    paths = sorted((VARIANTS / kata_name).glob("mistake_*.py"))
    assert paths, f"{kata_name} has no mistake_*.py variant"
    (solution,) = grade_many([(find_kata(kata_name), find_kata(kata_name).solution_path.parent)], CPU)
    specs = {s.name for s in solution.specs if s.status is SpecStatus.PASS}
    assert specs, f"the solution of {kata_name} passed no spec: {solution.message}"
    problems, caught = [], set()
    for path, result in zip(paths, grade_files(paths, tmp_path)):
        phrase = str(module_constant(path, "EXPECT"))
        failing = [s for s in result.specs if s.status in (SpecStatus.FAIL, SpecStatus.ERROR)]
        caught.update(s.name for s in failing)
        if result.verdict is not Verdict.FAIL:
            problems.append(f"{path.name}: expected a fail verdict, got {result.verdict.value}: {result.message}")
        elif not any(phrase.lower() in s.message.lower() for s in failing):
            problems.append(f"{path.name}: no failing spec mentions {phrase!r}; the failures were:\n  "
                            + "\n  ".join(s.message.splitlines()[0] for s in failing))
    toothless = sorted(specs - caught)
    if toothless:
        problems.append("specs that no mistake variant fails (add a variant, or sharpen the spec):\n  "
                        + "\n  ".join(toothless))
    assert not problems, "\n".join(problems)
