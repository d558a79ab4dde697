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
from kata_runner.results import KataResult
from kata_runner.testing import stage
from kata_runner.zygote import Zygote, with_zygote

VARIANTS = Path(__file__).parent / "variants"
CPU = GradeOptions(devices=("cpu",))
# Learner code whose own state carries from one call to the next: a spec that fails after replayed
# inputs is judged again by Hypothesis on a subject that has already run them, so the numbers in its
# message may differ (never its verdict).
HIDDEN_STATE = {"mistake_private_generator.py": "a private generator, seeded once, drawn from by every spec"}


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


def seen(result: KataResult, messages: bool) -> tuple[object, ...]:
    return (
        result.verdict,
        result.message,
        [(s.nodeid, s.status, s.kind, s.message if messages else None) for s in result.specs],
    )


@pytest.mark.timeout(600)
@pytest.mark.parametrize("kata_name", ["01_custom_linear", "03_module_inventory"])
def test_replayed_and_searched_inputs_give_the_same_results(kata_name: str, tmp_path: Path) -> None:
    kata = find_kata(kata_name)
    paths = sorted((VARIANTS / kata_name).glob("*.py"))
    jobs = []
    for index, path in enumerate(paths):
        folder = tmp_path / f"{index}_{path.stem}"
        folder.mkdir()
        stage(path, folder, kata)
        jobs.append((kata, folder))
    assert len(jobs) > 2, "recording starts at three jobs of one kata"
    searched = grade_many(jobs, replace(CPU, replay=False))
    assert not draw._recorded
    replayed = grade_many(jobs, CPU)
    assert draw._recorded, "the second run should have replayed recorded inputs"
    differ = [
        path.name
        for path, a, b in zip(paths, searched, replayed)
        if seen(a, path.name not in HIDDEN_STATE) != seen(b, path.name not in HIDDEN_STATE)
    ]
    assert not differ, f"replayed inputs changed the results of {differ}"
    assert len({r.verdict for r in searched}) > 1, "the variants should not all get one verdict"
