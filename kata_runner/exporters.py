"""Grade exports in the formats instructors' platforms read: a CSV gradebook, exercism v3 results.json,
Gradescope results.json and JUnit XML. Each follows its platform's published format (tests/schemas/)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kata_runner.classroom import Submission, max_score
from kata_runner.registry import all_katas
from kata_runner.results import KataResult, SpecResult, SpecStatus, Verdict
from kata_runner.storage import atomic_write_text

if TYPE_CHECKING:
    from junitparser import TestCase

FORMATS = ("csv", "exercism", "gradescope", "junit")


def combined_exercism(results: list[KataResult]) -> dict[str, Any]:
    """One exercism v3 document for several katas: tests prefixed by kata, plus each kata's own document."""
    docs = [r.to_exercism() for r in results]
    if all(d["status"] == "pass" for d in docs):
        status = "pass"
    else:
        status = "fail" if any(r.any_judged for r in results) else "error"
    doc: dict[str, Any] = {"version": 3, "status": status}
    if status == "error":
        doc["message"] = "; ".join(f"{d['kata']}: {d['message']}" for d in docs if d["status"] == "error")
    doc["tests"] = [
        {**test, "name": f"{d['kata']}: {test['name']}"}
        for result, d in zip(results, docs)
        for test in d["tests"] or [_kata_test(result, d)]
    ]
    doc["katas"] = docs
    return doc


def _kata_test(result: KataResult, doc: dict[str, Any]) -> dict[str, Any]:
    """A kata with no spec result (not submitted, or stopped before its checks started) is one errored test, so
    that the document's tests show why it failed."""
    test = {"name": "not run", "status": "error", "message": doc.get("message") or doc["summary"], "test_code": ""}
    return {**test, "task_id": int(result.kata_id)} if result.kata_id.isdigit() else test


def _kata_output(result: KataResult) -> str:
    lines = [f"{result.verdict.label}: {result.passed_count}/{result.total_count} specs pass"]
    if result.message and result.verdict not in (Verdict.PASS, Verdict.FAIL):
        lines.append(result.message)
    first = result.first_failure
    if first is not None and result.verdict is Verdict.FAIL:
        lines.append(f"First failure: {first.doc or first.name}\n{first.message}")
    return "\n".join(lines)


def gradescope(results: list[KataResult]) -> dict[str, Any]:
    """Gradescope's results.json: one test per kata, weighted by the registry, partial credit per spec. Every
    text is shown as plain text: learner output must never be rendered as HTML."""
    weights = {k.id: k for k in all_katas()}
    tests: list[dict[str, Any]] = []
    for number, result in enumerate(results, start=1):
        kata = weights[result.kata_id]
        tests.append({
            "score": round(kata.weight * result.score, 4),
            "max_score": kata.weight,
            "status": "passed" if result.verdict is Verdict.PASS else "failed",
            "name": f"Kata {kata.id}: {kata.title}",
            "number": str(number),
            "output": _kata_output(result),
            "visibility": "visible",
        })
    return {
        "score": round(sum(t["score"] for t in tests), 4),
        "execution_time": round(sum(r.duration for r in results)),
        "output": f"{sum(r.verdict is Verdict.PASS for r in results)} of {len(results)} katas pass.",
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"max_score": max_score()},  # not a results.json key: Gradescope takes it from the assignment
        "tests": tests,
    }


# OWASP's advice against CSV injection: a spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> object:
    """Text (a submission's folder name) defused with a leading quote; numbers written as they are."""
    if not isinstance(value, str):
        return value
    text = _valid_unicode(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def gradebook_csv(submissions: list[Submission]) -> str:
    katas = list(all_katas())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_csv_cell(h) for h in ["submission", *[k.name for k in katas], "total", "max"]])
    for submission in submissions:
        by_id = {r.kata_id: r for r in submission.results}
        cells = [round(k.weight * by_id[k.id].score, 4) if k.id in by_id else 0 for k in katas]
        writer.writerow([_csv_cell(submission.name), *cells, round(submission.score, 4), max_score()])
    return out.getvalue()


# XML 1.0 forbids these code points outright (escaped or not).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _valid_unicode(text: str) -> str:
    """Lone surrogates (how Python holds undecodable bytes, as in a folder name) become U+FFFD."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _xml_text(text: str) -> str:
    """Any learner text, made storable in XML: control characters are written out as \\xNN escapes."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", _valid_unicode(text))


def _spec_case(result: KataResult, spec: SpecResult, classname: str) -> TestCase:
    from junitparser import Error, Failure, Skipped, TestCase

    case = TestCase(_xml_text(spec.title), _xml_text(classname), round(spec.duration, 3))
    message = _xml_text(result.spec_message(spec))
    first_line = message.splitlines()[0] if message else ""
    if spec.status is SpecStatus.SKIP:
        case.result = [Skipped(first_line)]
    elif not spec.judged:
        error = Error(first_line, spec.kind or "error")
        error.text = message
        case.result = [error]
    elif spec.status is SpecStatus.FAIL:
        failure = Failure(first_line, spec.kind or "failure")
        failure.text = message
        case.result = [failure]
    if spec.output:
        case.system_out = _xml_text(spec.output)
    return case


def _kata_case(result: KataResult, classname: str) -> TestCase:
    """A kata without any spec result (not submitted, or stopped before its checks started) is one test."""
    from junitparser import Error, Failure, TestCase

    case = TestCase(_xml_text(result.kata_name), _xml_text(classname), round(result.duration, 3))
    message = _xml_text(result.message or result.verdict.label)
    node = Failure if result.verdict is Verdict.NOT_STARTED else Error
    outcome = node(message.splitlines()[0] if message else "", result.verdict.value)
    outcome.text = message
    case.result = [outcome]
    return case


def junit_xml(submissions: list[Submission]) -> str:
    """JUnit XML (Jenkins' junit-10.xsd): a testsuite per (submission, kata), a testcase per spec."""
    from junitparser import JUnitXml, TestSuite  # imported here: most commands never write JUnit

    weights = {k.id: k.weight for k in all_katas()}
    document = JUnitXml("torch-katas")
    suites: list[TestSuite] = []
    for submission in submissions:
        for result in submission.results:
            classname = f"{submission.name}.{result.kata_name}"
            suite = TestSuite(_xml_text(classname))
            suite.add_property("submission", _xml_text(submission.name))
            suite.add_property("kata", result.kata_name)
            suite.add_property("verdict", result.verdict.value)
            suite.add_property("score", str(round(weights.get(result.kata_id, 1.0) * result.score, 4)))
            suite.add_property("max_score", str(weights.get(result.kata_id, 1.0)))
            cases = [_spec_case(result, spec, classname) for spec in result.specs] or [_kata_case(result, classname)]
            for case in cases:
                suite.add_testcase(case)  # which also counts tests, failures, errors, skipped and time
            suites.append(suite)
    for suite in suites:
        document.add_testsuite(suite)
    # Totals set here rather than by update_statistics(), which also writes `skipped`, an attribute junit-10.xsd
    # does not allow on <testsuites>.
    document.tests = sum(s.tests or 0 for s in suites)
    document.failures = sum(s.failures or 0 for s in suites)
    document.errors = sum(s.errors or 0 for s in suites)
    document.time = round(sum(s.time or 0.0 for s in suites), 3)
    buffer = io.BytesIO()
    document.write(buffer, pretty=True)
    return buffer.getvalue().decode("utf-8")


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
