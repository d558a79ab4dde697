"""A job's specs may be judged by one process or by several side by side (defaults.JUDGES, when the
machine has the cores), each taking the next spec as it finishes one: the result must not depend on it,
messages included (only the module's first failing spec shrinks its input, however many judge it), or a
learner would see a different explanation on another machine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kata_runner import defaults
from kata_runner.grader import GradeOptions, grade_many
from kata_runner.registry import find_kata
from kata_runner.results import Verdict
from kata_runner.testing import judged_differently, stage, stage_each

VARIANTS = Path(__file__).parent / "variants"
CPU = GradeOptions(devices=("cpu",))
@pytest.mark.timeout(600)
@pytest.mark.parametrize("kata_name", ["01_custom_linear", "03_module_inventory"])
def test_one_judge_and_several_give_the_same_results(kata_name: str, tmp_path: Path) -> None:
    assert defaults.JUDGES > 1
    kata = find_kata(kata_name)
    paths = sorted((VARIANTS / kata_name).glob("*.py"))
    assert paths
    jobs = stage_each(paths, tmp_path, kata)
    alone = grade_many(jobs, replace(CPU, judges=1))
    shared = grade_many(jobs, replace(CPU, judges=defaults.JUDGES))
    differ = judged_differently(paths, alone, shared)
    assert not differ, f"judged differently by one process and by {defaults.JUDGES}: {differ}"
    assert len({r.verdict for r in alone}) > 1, "the variants should not all get one verdict"


BOARD_PROBE = """
with open("/proc/self/maps") as maps:
    shared = [line for line in maps if line.split()[1:2] == ["rw-s"] and "/dev/zero" in line]
if shared:
    raise RuntimeError("the judges' shared board is mapped here: " + shared[0])
"""


@pytest.mark.timeout(300)
def test_learner_code_does_not_get_the_judges_shared_board(tmp_path: Path) -> None:
    kata = find_kata("01")
    source = tmp_path / "source" / kata.filename
    source.parent.mkdir()
    source.write_text(
        'from kata_runner.testing import solution\n\nCustomLinear = solution("01").CustomLinear\n' + BOARD_PROBE
    )
    folder = tmp_path / "graded"
    folder.mkdir()
    stage(source, folder, kata)
    (result,) = grade_many([(kata, folder)], replace(CPU, judges=defaults.JUDGES))
    assert result.verdict is Verdict.PASS, result.message
