"""Replayed inputs (kata_runner/draw.py): a zygote that judges the same checks many times records the
inputs each spec draws, and its judges call the specs on them without Hypothesis's engine. That is only
sound if the recorded inputs are exactly those Hypothesis feeds the spec in a judged run, and if the
results are the same either way."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kata_runner import draw
from kata_runner.grader import GradeOptions, grade_many, warm_up
from kata_runner.registry import all_katas, find_kata
from kata_runner.testing import judged_differently, stage_each
from kata_runner.zygote import Zygote, with_zygote

VARIANTS = Path(__file__).parent / "variants"
CPU = GradeOptions(devices=("cpu",))


def same(a: Any, b: Any) -> bool:
    return a == b or repr(a) == repr(b)


@pytest.mark.timeout(600)
def test_recorded_inputs_are_the_ones_hypothesis_draws(tmp_path: Path) -> None:
    katas = list(all_katas())
    warm_up()

    def body(zygote: Zygote) -> tuple[dict[Any, Any], dict[Any, Any]]:
        zygote.prepare(katas)
        recorded = dict(draw._recorded)
        draw._observed = {}
        zygote.session.config.option.in_process = True  # every spec through Hypothesis, in this process
        try:
            for kata in katas:
                zygote.run(kata, kata.solution_path.parent, tmp_path / f"{kata.id}.jsonl")
            return recorded, draw._observed
        finally:
            zygote.session.config.option.in_process = False
            draw._observed = None

    recorded, observed = with_zygote(katas, ("cpu",), CPU.spec_timeout, body, record=True)
    draw.forget_examples()
    assert len(recorded) > 100, "the checks should have recorded most of their specs"
    assert set(recorded) == set(observed), "specs recorded and specs run through Hypothesis differ"
    wrong = [
        key
        for key in recorded
        if len(recorded[key]) != len(observed[key]) or not all(same(a, b) for a, b in zip(recorded[key], observed[key]))
    ]
    assert not wrong, f"{len(wrong)} specs were given other inputs than those recorded"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("kata_name", ["01_custom_linear", "03_module_inventory"])
def test_replayed_and_searched_inputs_give_the_same_results(kata_name: str, tmp_path: Path) -> None:
    kata = find_kata(kata_name)
    paths = sorted((VARIANTS / kata_name).glob("*.py"))
    jobs = stage_each(paths, tmp_path, kata)
    assert len(jobs) > 2, "recording starts at three jobs of one kata"
    searched = grade_many(jobs, replace(CPU, replay=False))
    assert not draw._recorded
    replayed = grade_many(jobs, CPU)
    assert draw._recorded, "the second run should have replayed recorded inputs"
    differ = judged_differently(paths, searched, replayed)
    assert not differ, f"replayed inputs changed the results of {differ}"
    assert len({r.verdict for r in searched}) > 1, "the variants should not all get one verdict"
