"""The typed result model: what grading a kata returns, and its exercism v3 JSON form."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

# exercism's interface: a test's `output` is at most 500 characters, the truncation note included.
MAX_EXERCISM_OUTPUT = 500
TRUNCATION_NOTE = "\n... Output was truncated. Please limit to 500 chars."
# Kinds of spec that ended without a verdict on the learner's code: the file was missing or could not be loaded,
# the subject was stopped (a timeout, a crash, an exit, the memory cap) or patched torch, or an earlier spec had
# already stopped the kata. exercism and JUnit report these as errors, not failures.
UNJUDGED_KINDS = frozenset({"load", "missing", "not_run", "timeout", "crashed", "exited", "memory", "tamper"})


class Verdict(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    NOT_STARTED = "not_started"
    ERROR = "error"
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    MEMORY = "memory"

    @property
    def cacheable(self) -> bool:
        """Timeouts, crashes and memory verdicts may depend on the machine's load: grade those again."""
        return self not in (Verdict.TIMEOUT, Verdict.CRASHED, Verdict.MEMORY)

    @property
    def label(self) -> str:
        return {
            Verdict.PASS: "passed",
            Verdict.FAIL: "failing",
            Verdict.NOT_STARTED: "not started",
            Verdict.ERROR: "error",
            Verdict.TIMEOUT: "timed out",
            Verdict.CRASHED: "crashed",
            Verdict.MEMORY: "memory limit exceeded",
        }[self]


class SpecStatus(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


@dataclass
class SpecResult:
    nodeid: str
    name: str
    doc: str
    device: str | None
    status: SpecStatus
    kind: str | None = None
    message: str = ""
    output: str = ""
    test_code: str = ""
    duration: float = 0.0

    @property
    def title(self) -> str:
        return f"{self.name} [{self.device}]" if self.device else self.name

    @property
    def judged(self) -> bool:
        """Whether this spec reached a verdict, pass or fail, on the learner's code."""
        return self.status in (SpecStatus.PASS, SpecStatus.FAIL) and self.kind not in UNJUDGED_KINDS


@dataclass
class KataResult:
    kata_id: str
    kata_name: str
    kata_dir: str
    verdict: Verdict
    message: str = ""
    specs: list[SpecResult] = field(default_factory=list)
    duration: float = 0.0
    output: str = ""

    @property
    def graded(self) -> list[SpecResult]:
        return [s for s in self.specs if s.status is not SpecStatus.SKIP]

    @property
    def passed_count(self) -> int:
        return sum(s.status is SpecStatus.PASS for s in self.specs)

    @property
    def total_count(self) -> int:
        return len(self.graded)

    @property
    def score(self) -> float:
        """Fraction of graded specs that pass; 1.0 only for a pass verdict."""
        if self.verdict is Verdict.PASS:
            return 1.0
        if self.verdict not in (Verdict.FAIL, Verdict.NOT_STARTED) or not self.total_count:
            return 0.0
        return self.passed_count / self.total_count

    @property
    def first_failure(self) -> SpecResult | None:
        return next((s for s in self.specs if s.status in (SpecStatus.FAIL, SpecStatus.ERROR)), None)

    @property
    def any_judged(self) -> bool:
        return any(s.judged for s in self.specs)

    @property
    def exercism_status(self) -> str:
        """pass; error only when no spec ran to a verdict (nothing to show but the message); fail otherwise."""
        if self.verdict is Verdict.PASS:
            return "pass"
        return "fail" if self.any_judged else "error"

    def spec_message(self, spec: SpecResult) -> str:
        """A spec's message; one that never ran because the kata was stopped says why."""
        if spec.kind == "not_run" and self.message and self.verdict not in (Verdict.PASS, Verdict.FAIL):
            return f"Not run: {self.message}"
        return spec.message

    def to_exercism(self) -> dict[str, Any]:
        """exercism's test-runner interface, version 3, plus a few extra keys. Every graded spec is a test, in
        order (one that reached no verdict is an error); paths are relative to the solution folder."""
        relative = _relative_paths(self.kata_dir)
        status = self.exercism_status
        doc: dict[str, Any] = {"version": 3, "status": status}
        if status == "error":  # the interface has a top-level message for errors only
            doc["message"] = relative(self.message or self.verdict.label)
        doc["tests"] = []
        for spec in self.graded:
            test: dict[str, Any] = {
                "name": spec.title,
                "status": spec.status.value if spec.judged else "error",
                "message": relative(self.spec_message(spec)) or None,
                "output": _limit_output(spec.output) or None,
                "test_code": spec.test_code,
            }
            if self.kata_id.isdigit():
                test["task_id"] = int(self.kata_id)
            test["description"] = spec.doc
            test["duration"] = round(spec.duration, 4)
            doc["tests"].append(test)
        doc["kata"] = self.kata_name
        doc["verdict"] = self.verdict.value
        doc["summary"] = relative(self.message) or f"{self.passed_count} of {self.total_count} specs pass."
        doc["passed"] = self.passed_count
        doc["total"] = self.total_count
        doc["skipped"] = [{"name": s.title, "reason": s.message} for s in self.specs if s.status is SpecStatus.SKIP]
        doc["duration"] = round(self.duration, 4)
        return doc

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict.value
        for spec in data["specs"]:
            spec["status"] = SpecStatus(spec["status"]).value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KataResult:
        specs = [SpecResult(**{**s, "status": SpecStatus(s["status"])}) for s in data.get("specs", [])]
        return cls(**{**data, "verdict": Verdict(data["verdict"]), "specs": specs})


def _limit_output(output: str) -> str:
    if len(output) <= MAX_EXERCISM_OUTPUT:
        return output
    return output[: MAX_EXERCISM_OUTPUT - len(TRUNCATION_NOTE)] + TRUNCATION_NOTE


def _relative_paths(folder: str) -> Callable[[str], str]:
    """A function that writes paths under `folder` relative to it, whichever working directory the grader wrote
    them from (absolute, as given, or relative: any `../` chain followed by a tail of the folder's path)."""
    parts = [part for part in Path(folder or ".").resolve().parts if part != os.sep]
    if not parts:
        return lambda text: text
    tails = [os.sep.join(parts[i:]) for i in range(len(parts))]
    alternatives = "|".join(re.escape(tail) for tail in [os.sep + tails[0], *tails])
    sep = re.escape(os.sep)
    pattern = re.compile(rf"(?<![\w.\-/])(?:\.\.{sep})*(?:{alternatives}){sep}")
    return lambda text: pattern.sub("", text)
