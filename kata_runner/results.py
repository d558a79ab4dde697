"""The typed result model: what grading a kata returns, and its exercism v3 JSON form."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Verdict(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    NOT_STARTED = "not_started"
    ERROR = "error"
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    MEMORY = "memory"

    @property
    def exercism_status(self) -> str:
        if self is Verdict.PASS:
            return "pass"
        if self in (Verdict.FAIL, Verdict.NOT_STARTED):
            return "fail"
        return "error"

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

    def to_exercism(self) -> dict[str, Any]:
        """exercism's test-runner interface, version 3, plus a few extra keys."""
        doc: dict[str, Any] = {"version": 3, "status": self.verdict.exercism_status}
        if self.verdict.exercism_status == "error":  # the interface has a top-level message for errors only
            doc["message"] = self.message or self.verdict.label
        doc["tests"] = [
            {
                "name": spec.title,
                "status": "error" if spec.status is SpecStatus.ERROR else spec.status.value,
                "message": spec.message or None,
                "output": spec.output or None,
                "test_code": spec.test_code,
                "task_id": int(self.kata_id) if self.kata_id.isdigit() else None,
                "description": spec.doc,
                "duration": round(spec.duration, 4),
            }
            for spec in self.graded
        ]
        doc["kata"] = self.kata_name
        doc["verdict"] = self.verdict.value
        doc["summary"] = self.message or f"{self.passed_count} of {self.total_count} specs pass."
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
