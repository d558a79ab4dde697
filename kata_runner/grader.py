"""Grades katas: runs a kata's checks against one implementation folder, each (folder, kata) pair in
its own forked child with limits, and turns what happened into exactly one verdict."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kata_runner import defaults
from kata_runner.isolation import CAN_FORK, ChildOutcome, Limits, run_isolated
from kata_runner.registry import Kata
from kata_runner.results import KataResult, SpecResult, SpecStatus, Verdict

if TYPE_CHECKING:
    from kata_runner.zygote import Zygote


@dataclass(frozen=True)
class GradeOptions:
    devices: tuple[str, ...] = ()  # empty: every available device
    spec_timeout: float = defaults.SPEC_TIMEOUT
    limits: Limits = field(default_factory=lambda: Limits(defaults.KATA_WALL_SECONDS, defaults.MEMORY_MB * 2**20))
    isolate: bool = CAN_FORK


def warm_up() -> None:
    """Import torch, pytest and the plugin once in this process, so forked children start warm."""
    import pytest_timeout  # noqa: F401

    import kata_runner.plugin  # noqa: F401


def _read_events(report: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    try:
        text = report.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return events
    for line in text.splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a kill
    return events


def _spec(event: dict[str, Any]) -> SpecResult:
    return SpecResult(
        nodeid=event["nodeid"],
        name=event["name"],
        doc=event.get("doc", ""),
        device=event.get("device"),
        status=SpecStatus(event["status"]),
        kind=event.get("kind"),
        message=event.get("message", ""),
        output=event.get("output", ""),
        test_code=event.get("test_code", ""),
        duration=float(event.get("duration", 0.0)),
    )


def _spec_title(nodeid: str) -> str:
    name = nodeid.split("::")[-1].removeprefix("test_")
    base, _, device = name.partition("[")
    return base.replace("_", " ") + (f" [{device}" if device else "")


def judge(
    kata: Kata, kata_dir: Path, events: list[dict[str, Any]], outcome: ChildOutcome, limits: Limits
) -> KataResult:
    """Exactly one verdict from the report events and how the child ended."""
    specs = [_spec(e) for e in events if e.get("event") == "result"]
    collected = next((e["nodeids"] for e in events if e.get("event") == "collected"), None)
    collect_errors = [e for e in events if e.get("event") == "collect_error"]
    finished = {s.nodeid for s in specs}
    running = [e["nodeid"] for e in events if e.get("event") == "start" and e["nodeid"] not in finished]
    last = f" while running '{_spec_title(running[-1])}'" if running else ""
    done = any(e.get("event") == "done" for e in events)
    result = KataResult(
        kata.id, kata.name, str(kata_dir), Verdict.ERROR, specs=specs, duration=outcome.duration, output=outcome.output
    )

    def verdict(v: Verdict, message: str) -> KataResult:
        return replace(result, verdict=v, message=message)

    counts: dict[str, int] = {}
    for spec in specs:
        counts[spec.nodeid] = counts.get(spec.nodeid, 0) + 1
    forged = sorted(nodeid for nodeid, n in counts.items() if n > 1)
    if forged or (collected is not None and set(counts) - set(collected)):
        return verdict(
            Verdict.ERROR,
            "the grading report holds results the checks never produced (something wrote into it): "
            "an implementation must not touch the grader's files.",
        )
    if outcome.timed_out:
        return verdict(
            Verdict.TIMEOUT,
            f"stopped after the {limits.wall_seconds:g} s limit{last}: "
            "look for a loop that never ends, or a sleep, in your code.",
        )
    if outcome.memory_exceeded:
        return verdict(Verdict.MEMORY, f"memory limit exceeded ({(limits.memory_bytes or 0) // 2**20} MB){last}.")
    if outcome.signal is not None:
        return verdict(Verdict.CRASHED, f"the process crashed with {outcome.signal_name}{last}.")
    missing = [s for s in specs if s.kind == "missing"]
    if missing:
        return verdict(Verdict.NOT_STARTED, missing[0].message)
    load_errors = [s for s in specs if s.kind == "load"]
    if load_errors:
        return verdict(Verdict.ERROR, f"could not import your code: {load_errors[0].message}")
    tampered = [s for s in specs if s.kind == "tamper"]
    if tampered:
        return verdict(Verdict.ERROR, tampered[0].message)
    stopped = {kind: [s for s in specs if s.kind == kind] for kind in ("timeout", "crashed", "exited")}
    if stopped["timeout"]:
        first = stopped["timeout"][0]
        return verdict(Verdict.TIMEOUT, f"'{first.title}' was stopped at its time limit: {first.message}")
    if stopped["crashed"]:
        return verdict(Verdict.CRASHED, f"in '{stopped['crashed'][0].title}': {stopped['crashed'][0].message}")
    if stopped["exited"]:
        return verdict(Verdict.ERROR, f"in '{stopped['exited'][0].title}': {stopped['exited'][0].message}")
    memory = [s for s in specs if s.kind == "memory"]
    if memory:
        return verdict(Verdict.MEMORY, f"memory limit exceeded in '{memory[0].title}': {memory[0].message}")
    if collect_errors:
        return verdict(Verdict.ERROR, f"the checks could not be collected:\n{collect_errors[0]['message']}")
    if collected is None or not done or len(finished) < len(collected):
        ran = f"{len(finished)} of {len(collected)} specs" if collected else "no spec"
        how = f"exit code {outcome.exit_code}"
        return verdict(
            Verdict.ERROR,
            f"the process ended early ({how}) after {ran} reported{last}: "
            "an implementation must not call sys.exit or os._exit.",
        )
    graded = result.graded
    if not graded:
        return verdict(
            Verdict.ERROR,
            "no spec ran on the selected devices: " + (specs[0].message if specs else "the kata has no specs"),
        )
    failures = [s for s in graded if s.status is not SpecStatus.PASS]
    if not failures:
        if outcome.exit_code not in (0, None):
            return verdict(Verdict.ERROR, f"every spec passed but pytest exited with code {outcome.exit_code}.")
        return verdict(Verdict.PASS, "")
    if len(failures) == len(graded) and all(s.kind == "not_implemented" for s in failures):
        return verdict(Verdict.NOT_STARTED, "every spec still meets NotImplementedError: start with the first TODO.")
    return verdict(Verdict.FAIL, f"{result.passed_count} of {len(graded)} specs pass.")


def grade_many(
    jobs: Sequence[tuple[Kata, Path]],
    options: GradeOptions = GradeOptions(),
    max_parallel: int = 1,
    on_result: Callable[[int, KataResult], None] | None = None,
) -> list[KataResult]:
    """Grade each (kata, implementation folder) pair, each in its own forked child unless
    options.isolate is False. Reuses the zygote of a running `kata watch` when it has these checks."""
    from kata_runner import zygote

    katas = list(dict.fromkeys(kata for kata, _ in jobs))
    current = zygote.active()
    if current is not None and all(current.covers(k, options.devices, options.spec_timeout) for k in katas):
        return _grade_with(current, jobs, options, max_parallel, on_result)
    if not jobs:
        return []
    warm_up()
    return zygote.with_zygote(
        katas, options.devices, options.spec_timeout, lambda z: _grade_with(z, jobs, options, max_parallel, on_result)
    )


def _grade_with(
    zygote: Zygote,
    jobs: Sequence[tuple[Kata, Path]],
    options: GradeOptions,
    max_parallel: int,
    on_result: Callable[[int, KataResult], None] | None,
) -> list[KataResult]:
    with tempfile.TemporaryDirectory(prefix="kata-") as tmp:
        reports = [Path(tmp) / f"{i}.jsonl" for i in range(len(jobs))]
        results: list[KataResult | None] = [None] * len(jobs)

        def collect(index: int, outcome: ChildOutcome) -> None:
            kata, kata_dir = jobs[index]
            results[index] = judge(kata, kata_dir, _read_events(reports[index]), outcome, options.limits)
            if on_result:
                on_result(index, results[index])  # type: ignore[arg-type]

        if options.isolate:
            limits = options.limits
            if "cuda" in (options.devices or _devices()):
                limits = replace(limits, cap_address_space=False)
            # One torch thread per judge: its tensors are small, and OpenMP's barriers spin on a busy machine
            # (a 40 000-element mean took 30 ms with two threads on two loaded cores). Subjects run on one
            # thread too (see subject.py).
            threads = 1

            def child(kata: Kata, kata_dir: Path, report: Path) -> int:
                import torch

                torch.set_num_threads(threads)
                return zygote.run(kata, kata_dir, report)

            targets = [partial(child, kata, kata_dir, report) for (kata, kata_dir), report in zip(jobs, reports)]
            run_isolated(targets, limits, max_parallel, collect)
        else:
            # --in-process: learner code runs in this process too, for a debugger (no integrity claim).
            zygote.session.config.option.in_process = True
            try:
                for index, (kata, kata_dir) in enumerate(jobs):
                    started = time.monotonic()
                    code = zygote.run(kata, kata_dir, reports[index])
                    collect(index, ChildOutcome(exit_code=code, duration=time.monotonic() - started))
            finally:
                zygote.session.config.option.in_process = False
    return [r for r in results if r is not None]


def _devices() -> tuple[str, ...]:
    from kata_runner.plugin import available_devices

    return available_devices()


def grade(kata: Kata, kata_dir: Path, options: GradeOptions = GradeOptions()) -> KataResult:
    return grade_many([(kata, kata_dir)], options)[0]
