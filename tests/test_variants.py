"""Every kata's checks, proven against variants of its solution in tests/variants/NN_slug/:

- correct_*.py: alternative correct implementations; the checks must pass them.
- mistake_*.py: one classic mistake each; the checks must fail them, and at least one failing
  spec's message must contain the file's EXPECT phrase, which names the concept.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kata_runner.grader import GradeOptions, grade
from kata_runner.registry import find_kata
from kata_runner.results import SpecStatus, Verdict
from kata_runner.testing import module_constant

VARIANTS = Path(__file__).parent / "variants"
CPU = GradeOptions(devices=("cpu",))


def variant_files(prefix: str) -> list[Path]:
    return sorted(VARIANTS.glob(f"*/{prefix}_*.py"))


def grade_variant(path: Path, tmp_path: Path):
    kata = find_kata(path.parent.name)
    shutil.copy(path, tmp_path / kata.filename)
    return grade(kata, tmp_path, CPU)


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


@pytest.mark.parametrize("path", variant_files("correct"), ids=_id)
def test_correct_alternative_passes(path: Path, tmp_path: Path) -> None:
    result = grade_variant(path, tmp_path)
    failures = [f"{s.title}: {s.message}" for s in result.specs if s.status not in (SpecStatus.PASS, SpecStatus.SKIP)]
    assert result.verdict is Verdict.PASS, f"{result.verdict}: {result.message}\n" + "\n".join(failures)


@pytest.mark.parametrize("path", variant_files("mistake"), ids=_id)
def test_mistake_fails_naming_the_concept(path: Path, tmp_path: Path) -> None:
    phrase = str(module_constant(path, "EXPECT"))
    result = grade_variant(path, tmp_path)
    assert result.verdict is Verdict.FAIL, f"expected a fail verdict, got {result.verdict}: {result.message}"
    messages = [s.message for s in result.specs if s.status in (SpecStatus.FAIL, SpecStatus.ERROR)]
    assert any(phrase.lower() in m.lower() for m in messages), (
        f"no failing spec mentions {phrase!r}; the failures were:\n" + "\n---\n".join(messages)
    )


def test_every_kata_has_variants() -> None:
    from kata_runner.registry import all_katas

    for kata in all_katas():
        folder = VARIANTS / kata.name
        assert list(folder.glob("correct_*.py")), f"{folder} has no correct_*.py alternative"
        assert list(folder.glob("mistake_*.py")), f"{folder} has no mistake_*.py variant"
