"""Grade exports in the formats instructors' platforms read: a CSV gradebook, exercism v3
results.json, Gradescope results.json and JUnit XML."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from kata_runner.classroom import Submission, max_score
from kata_runner.registry import all_katas
from kata_runner.results import KataResult, SpecStatus, Verdict
from kata_runner.storage import atomic_write_text

FORMATS = ("csv", "exercism", "gradescope", "junit")


def combined_exercism(results: list[KataResult]) -> dict[str, Any]:
    """One exercism v3 document for several katas: tests prefixed by kata, plus each kata's own document."""
    docs = [r.to_exercism() for r in results]
    statuses = {d["status"] for d in docs}
    status = "pass" if statuses == {"pass"} else ("error" if "error" in statuses else "fail")
    doc: dict[str, Any] = {"version": 3, "status": status}
    if status == "error":
        doc["message"] = "; ".join(f"{d['kata']}: {d['message']}" for d in docs if d["status"] == "error")
    doc["tests"] = [{**t, "name": f"{d['kata']}: {t['name']}"} for d in docs for t in d["tests"]]
    doc["katas"] = docs
    return doc


def _kata_output(result: KataResult) -> str:
    lines = [f"{result.verdict.label}: {result.passed_count}/{result.total_count} specs pass"]
    if result.message and result.verdict not in (Verdict.PASS, Verdict.FAIL):
        lines.append(result.message)
    first = result.first_failure
    if first is not None and result.verdict is Verdict.FAIL:
        lines.append(f"First failure: {first.doc or first.name}\n{first.message}")
    return "\n".join(lines)


def gradescope(results: list[KataResult]) -> dict[str, Any]:
    """Gradescope's results.json: one test per kata, weighted by the registry, partial credit per spec."""
    weights = {k.id: k for k in all_katas()}
    tests: list[dict[str, Any]] = []
    for number, result in enumerate(results, start=1):
        kata = weights[result.kata_id]
        tests.append({
            "score": round(kata.weight * result.score, 4),
            "max_score": kata.weight,
            "name": f"Kata {kata.id}: {kata.title}",
            "number": str(number),
            "output": _kata_output(result),
            "visibility": "visible",
            "status": "passed" if result.verdict is Verdict.PASS else "failed",
        })
    return {
        "score": round(sum(t["score"] for t in tests), 4),
        "max_score": max_score(),
        "output": f"{sum(r.verdict is Verdict.PASS for r in results)} of {len(results)} katas pass.",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def gradebook_csv(submissions: list[Submission]) -> str:
    katas = list(all_katas())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["submission", *[k.name for k in katas], "total", "max"])
    for submission in submissions:
        by_id = {r.kata_id: r for r in submission.results}
        cells = [round(k.weight * by_id[k.id].score, 4) if k.id in by_id else 0 for k in katas]
        writer.writerow([submission.name, *cells, round(submission.score, 4), max_score()])
    return out.getvalue()


def junit_xml(submissions: list[Submission]) -> str:
    suites = ET.Element("testsuites", name="torch-katas")
    for submission in submissions:
        failures = sum(r.verdict in (Verdict.FAIL, Verdict.NOT_STARTED) for r in submission.results)
        errors = sum(r.verdict.exercism_status == "error" for r in submission.results)
        suite = ET.SubElement(suites, "testsuite", name=submission.name, tests=str(len(submission.results)),
                              failures=str(failures), errors=str(errors),
                              time=f"{sum(r.duration for r in submission.results):.3f}")
        for result in submission.results:
            case = ET.SubElement(suite, "testcase", classname=submission.name, name=result.kata_name,
                                 time=f"{result.duration:.3f}")
            if result.verdict is Verdict.PASS:
                continue
            tag = "error" if result.verdict.exercism_status == "error" else "failure"
            node = ET.SubElement(case, tag, type=result.verdict.value, message=result.message or result.verdict.label)
            node.text = _kata_output(result)
            failed = [s for s in result.specs if s.status in (SpecStatus.FAIL, SpecStatus.ERROR)]
            if failed:
                ET.SubElement(case, "system-out").text = "\n".join(f"{s.title}: {s.message}" for s in failed)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_exports(submissions: list[Submission], out: Path, formats: list[str], single: bool = False) -> list[Path]:
    """Write each requested format under `out`; return the files written. For a `single` submission the
    Gradescope report is `out/results.json`, where Gradescope's run_autograder must leave it."""
    written: list[Path] = []

    def write(path: Path, text: str) -> None:
        atomic_write_text(path, text)
        written.append(path)

    if "csv" in formats:
        write(out / "gradebook.csv", gradebook_csv(submissions))
    if "junit" in formats:
        write(out / "junit.xml", junit_xml(submissions))
    for submission in submissions:
        if "exercism" in formats:
            write(out / submission.name / "results.json", json.dumps(combined_exercism(submission.results), indent=2))
        if "gradescope" in formats:
            target = out / "results.json" if single else out / submission.name / "gradescope.json"
            write(target, json.dumps(gradescope(submission.results), indent=2))
    return written
