"""Grades katas: runs a kata's checks against one implementation folder, each (folder, kata) pair in
its own forked child with limits, and turns what happened into exactly one verdict."""

from __future__ import annotations

import json
import os
import sys
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
    judges: int | None = None  # processes judging each job side by side; None: as many as the cores allow
    replay: bool = True  # where checks are judged many times, record the inputs their specs draw (draw.py)


def warm_up() -> None:
    """Import torch, pytest and the plugin once in this process, so forked children start warm."""
    import pytest_timeout  # noqa: F401

    import kata_runner.plugin  # noqa: F401


# Collapsing a zygote's memory into huge pages costs 0.2 to 0.5 s once and saves 50 to 100 ms of CPU per job forked
# from it (see hugepages.py): worth it from about this many jobs.
HUGE_PAGES_FROM_JOBS = 16  # more than a whole course of katas (`kata next` on a fresh clone grades all 12)
MAX_REPORT_BYTES = 64 * 2**20  # far more than any kata's specs write
# Results that say nothing about the learner's code (the harness could not grade it): never cached.
NOT_GRADED = "Not graded: "


class MalformedReport(ValueError):
    """The report holds what the judge never writes: something else wrote into it."""


def _read_events(report: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    try:
        with report.open("rb") as f:
            data = f.read(MAX_REPORT_BYTES + 1)
    except OSError:
        return events
    if len(data) > MAX_REPORT_BYTES:
        raise MalformedReport(f"the report is over {MAX_REPORT_BYTES // 2**20} MB")
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):
            continue  # a line cut short by a kill
        if not isinstance(event, dict):
            raise MalformedReport(f"a report line is not an event: {line[:80]!r}")
        events.append(event)
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


def _not_run(nodeid: str, plan: dict[str, Any] | None = None) -> SpecResult:
    name, _, device = _spec_title(nodeid).partition(" [")
    if plan:  # the spec's sentence, from the judge's "planned" event
        name, doc, device = plan["name"], plan["doc"], plan["device"] or ""
    return SpecResult(nodeid, name, doc if plan else "", device.rstrip("]") or None, SpecStatus.ERROR,
                      kind="not_run", message="not run")


def _said(spec: SpecResult) -> str:
    """A spec as the learner reads it: its sentence (the docstring's first line)."""
    return spec.doc or spec.title


def _sentence(planned: dict[str, dict[str, Any]], nodeid: str) -> str:
    plan = planned.get(nodeid)
    return plan["doc"] or plan["name"] if plan else _spec_title(nodeid)


def judge(
    kata: Kata, kata_dir: Path, events: list[dict[str, Any]], outcome: ChildOutcome, limits: Limits
) -> KataResult:
    """Exactly one verdict from the report events and how the child ended."""
    specs = [_spec(e) for e in events if e.get("event") == "result"]
    collected = next((e["nodeids"] for e in events if e.get("event") == "collected"), None)
    if collected is not None:  # judges working side by side interleave their results: the file's order
        order = {nodeid: index for index, nodeid in enumerate(collected)}
        specs.sort(key=lambda spec: order.get(spec.nodeid, len(order)))
    collect_errors = [e for e in events if e.get("event") == "collect_error"]
    finished = {s.nodeid for s in specs}
    running = [e["nodeid"] for e in events if e.get("event") == "start" and e["nodeid"] not in finished]
    planned = {p["nodeid"]: p for e in events if e.get("event") == "planned" for p in e["specs"]}
    last = f" while running '{_sentence(planned, running[-1])}'" if running else ""
    done = any(e.get("event") == "done" for e in events)
    result = KataResult(
        kata.id, kata.name, str(kata_dir), Verdict.ERROR, specs=specs, duration=outcome.duration, output=outcome.output
    )

    def verdict(v: Verdict, message: str) -> KataResult:
        return replace(result, verdict=v, message=message)

    def cut_short(v: Verdict, message: str) -> KataResult:
        """The process was stopped: the specs it never reported are kept, as not run."""
        unreported = [_not_run(nodeid, planned.get(nodeid)) for nodeid in collected or []
                      if nodeid not in finished and not planned.get(nodeid, {}).get("skipped")]
        return replace(result, verdict=v, message=message, specs=specs + unreported)

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
        return cut_short(
            Verdict.TIMEOUT,
            f"stopped after the {limits.wall_seconds:g} s limit{last}: "
            "look for a loop that never ends, or a sleep, in your code.",
        )
    if outcome.memory_exceeded:
        return cut_short(Verdict.MEMORY, f"memory limit exceeded ({(limits.memory_bytes or 0) // 2**20} MB){last}.")
    if outcome.signal is not None:
        return cut_short(Verdict.CRASHED, f"the process crashed with {outcome.signal_name}{last}.")
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
        return verdict(Verdict.TIMEOUT, f"'{_said(first)}' was stopped at its time limit: {first.message}")
    if stopped["crashed"]:
        return verdict(Verdict.CRASHED, f"in '{_said(stopped['crashed'][0])}': {stopped['crashed'][0].message}")
    if stopped["exited"]:
        return verdict(Verdict.ERROR, f"in '{_said(stopped['exited'][0])}': {stopped['exited'][0].message}")
    memory = [s for s in specs if s.kind == "memory"]
    if memory:
        return verdict(Verdict.MEMORY, f"memory limit exceeded in '{_said(memory[0])}': {memory[0].message}")
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


def verdict_of(kata: Kata, kata_dir: Path, report: Path, outcome: ChildOutcome, limits: Limits) -> KataResult:
    """One verdict whatever the report holds and however the child ended: a report the judge did not write
    (only code that reached into the grader's files can spoil it) is an error, never a crash of the run."""
    if outcome.start_error:
        return KataResult(kata.id, kata.name, str(kata_dir), Verdict.ERROR,
                          f"{NOT_GRADED}the grading process could not be started ({outcome.start_error}): the "
                          "machine is out of processes or memory; grade this kata again.")
    try:
        result = judge(kata, kata_dir, _read_events(report), outcome, limits)
    except (LookupError, TypeError, ValueError, AttributeError, RecursionError):
        return KataResult(
            kata.id, kata.name, str(kata_dir), Verdict.ERROR,
            "the grading report holds entries the checks never wrote (something wrote into it): "
            "an implementation must not touch the grader's files.",
            duration=outcome.duration, output=outcome.output,
        )
    if outcome.too_many_processes:
        return replace(result, verdict=Verdict.ERROR, message=(
            f"stopped: your code had more than {limits.max_processes} processes running at once; "
            "an implementation must not start processes."))
    return result


def _worth_retrying(outcome: ChildOutcome) -> bool:
    """Killed by a signal the grader did not send (another submission's code can reach a sibling judge), or
    never started: graded once more, alone."""
    return bool(outcome.start_error) or (outcome.signal is not None and not outcome.stopped_by_limit)


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
    forks = len(jobs) if options.isolate else 0
    return zygote.with_zygote(
        katas, options.devices, options.spec_timeout, lambda z: _grade_with(z, jobs, options, max_parallel, on_result),
        record=options.replay and forks > 2 * len(katas),  # the same checks are judged again and again
        lasting=forks >= HUGE_PAGES_FROM_JOBS,
    )


def _grade_with(
    zygote: Zygote,
    jobs: Sequence[tuple[Kata, Path]],
    options: GradeOptions,
    max_parallel: int,
    on_result: Callable[[int, KataResult], None] | None,
) -> list[KataResult]:
    with tempfile.TemporaryDirectory(prefix="kata-") as tmp:
        results: list[KataResult | None] = [None] * len(jobs)

        def report(index: int, attempt: int = 0) -> Path:
            return Path(tmp) / f"{index}.{attempt}.jsonl"

        def collect(index: int, outcome: ChildOutcome, attempt: int = 0) -> None:
            kata, kata_dir = jobs[index]
            results[index] = verdict_of(kata, kata_dir, report(index, attempt), outcome, options.limits)
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
            judges = options.judges or _judges_per_job(max_parallel, len(jobs))
            zygote.prepare(kata for kata, _ in jobs)

            def child(kata: Kata, kata_dir: Path, report: Path) -> int:
                import torch

                torch.set_num_threads(threads)
                draw: Any = sys.modules.get("kata_runner.draw")
                if draw is not None:
                    draw.replay = True
                return zygote.run(kata, kata_dir, report, judges)

            again: list[int] = []

            def first(index: int, outcome: ChildOutcome) -> None:
                if _worth_retrying(outcome):
                    again.append(index)
                else:
                    collect(index, outcome)

            targets = [partial(child, kata, kata_dir, report(i)) for i, (kata, kata_dir) in enumerate(jobs)]
            run_isolated(targets, limits, max_parallel, first)
            if again:  # alone, so that no sibling can reach it this time
                retries = [partial(child, *jobs[i], report(i, 1)) for i in again]
                run_isolated(retries, limits, 1, lambda n, outcome: collect(again[n], outcome, 1))
        else:
            # --in-process: learner code runs in this process too, for a debugger (no integrity claim).
            zygote.session.config.option.in_process = True
            try:
                for index, (kata, kata_dir) in enumerate(jobs):
                    started = time.monotonic()
                    code = zygote.run(kata, kata_dir, report(index))
                    collect(index, ChildOutcome(exit_code=code, duration=time.monotonic() - started))
            finally:
                zygote.session.config.option.in_process = False
    return [r for r in results if r is not None]


def _judges_per_job(max_parallel: int, jobs: int) -> int:
    """Each job's specs are judged by defaults.JUDGES processes side by side while the machine has a core
    for each (kata check, watch); a class run that already fills the cores keeps one per job, which is
    cheaper in all. $KATA_JUDGES fixes the number (1 or more)."""
    fixed = os.environ.get("KATA_JUDGES", "")
    if fixed.isdigit() and int(fixed) >= 1:
        return int(fixed)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    at_once = max(1, min(max_parallel, jobs))
    return defaults.JUDGES if cores >= at_once * defaults.JUDGES else 1


def _devices() -> tuple[str, ...]:
    from kata_runner.plugin import available_devices

    return available_devices()


def grade(kata: Kata, kata_dir: Path, options: GradeOptions = GradeOptions()) -> KataResult:
    return grade_many([(kata, kata_dir)], options)[0]
