"""The pure core behind the CLI: course progress, the current kata, hints and resets.

Nothing here prints; every function returns data for the CLI to show.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kata_runner.cache import ResultCache
from kata_runner.grader import GradeOptions, grade_many
from kata_runner.registry import KATAS_DIR, STUBS_PATH, CourseError, Kata, all_katas
from kata_runner.results import KataResult, Verdict
from kata_runner.storage import State, atomic_write_bytes, atomic_write_text, backup

# The stubs as the author wrote them, recorded in the course (`kata verify --refresh-stubs`): `kata reset`
# restores them whatever the learner did to katas/.
PRISTINE_FILE = STUBS_PATH


@dataclass
class Course:
    """Grades katas of one implementation folder, answering from the result cache where it can."""

    kata_dir: Path = KATAS_DIR
    jobs: int = 1
    grade_options: GradeOptions = field(default_factory=GradeOptions)
    cache: ResultCache = field(default_factory=ResultCache)

    def cached(self, kata: Kata) -> KataResult | None:
        return self.cache.get(kata, self.kata_dir, self.grade_options.devices)

    def grade(
        self, katas: Sequence[Kata], on_result: Callable[[Kata, KataResult], None] | None = None
    ) -> list[KataResult]:
        """Grade afresh (in isolation), store what is worth caching, return results in order."""
        results = grade_many(
            [(k, self.kata_dir) for k in katas],
            self.grade_options,
            max_parallel=self.jobs,
            on_result=(lambda i, r: on_result(katas[i], r)) if on_result else None,
        )
        cacheable = {k: r for k, r in zip(katas, results) if r.verdict.cacheable}
        self.cache.put_many(self.kata_dir, self.grade_options.devices, cacheable)
        return results

    def results(
        self, katas: Sequence[Kata] | None = None, on_result: Callable[[Kata, KataResult], None] | None = None
    ) -> list[KataResult]:
        """Every kata's result: from the cache when nothing changed, graded otherwise."""
        katas = list(katas or all_katas())
        known = {k.id: self.cached(k) for k in katas}
        stale = [k for k in katas if known[k.id] is None]
        if stale:
            for kata, result in zip(stale, self.grade(stale, on_result)):
                known[kata.id] = result
        return [known[k.id] for k in katas]  # type: ignore[misc]

    def current(self) -> tuple[Kata, KataResult] | None:
        """The first kata in course order that does not pass (None when all pass)."""
        for kata in all_katas():
            result = self.cached(kata) or self.grade([kata])[0]
            if result.verdict is not Verdict.PASS:
                return kata, result
        return None


@dataclass(frozen=True)
class Hint:
    kata: Kata
    number: int  # 1-based
    shown: tuple[str, ...]  # every hint revealed so far, this one last

    @property
    def is_last(self) -> bool:
        return self.number == len(self.kata.hints)


def next_hint(kata: Kata, state: State | None = None) -> Hint:
    """Reveal one more hint of `kata` (the last one again once all are shown)."""
    state = state or State()
    number = min(state.hints_shown(kata.id) + 1, len(kata.hints))
    state.set_hints_shown(kata.id, number)
    return Hint(kata, number, kata.hints[:number])


class NoPristineStub(CourseError):
    """The course records no pristine copy of this stub: the message says how to record one."""


def pristine_stub(kata: Kata) -> str:
    try:
        stubs = json.loads(PRISTINE_FILE.read_text(encoding="utf-8"))
        return str(stubs[kata.filename])
    except (OSError, ValueError, KeyError, TypeError):
        raise NoPristineStub(f"{PRISTINE_FILE} holds no pristine copy of {kata.filename}: the course's author records "
                             "them with `kata verify --refresh-stubs`.") from None


def snapshot_pristine_stubs() -> Path:
    """Author tool: record the current katas/ stubs as the pristine copies `kata reset` restores."""
    stubs = {k.filename: k.stub_path.read_text(encoding="utf-8") for k in all_katas()}
    atomic_write_text(PRISTINE_FILE, json.dumps(stubs, indent=1, sort_keys=True) + "\n")
    return PRISTINE_FILE


@dataclass(frozen=True)
class ResetOutcome:
    path: Path
    backup: Path | None  # None when the file was missing or already pristine
    changed: bool


def reset(kata: Kata, kata_dir: Path = KATAS_DIR, state: State | None = None) -> ResetOutcome:
    """Restore the pristine stub and start its hints over; whatever was there is first copied, byte for byte,
    to .kata/backups/ (whatever its encoding)."""
    path = kata.impl_path(kata_dir)
    pristine = pristine_stub(kata).encode("utf-8")
    (state or State()).forget_hints(kata.id)
    if path.exists():
        if path.read_bytes() == pristine:
            return ResetOutcome(path, None, changed=False)
        saved = backup(path)
    else:
        saved = None
    atomic_write_bytes(path, pristine)
    return ResetOutcome(path, saved, changed=True)
