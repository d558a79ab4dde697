"""The exports each platform reads, checked against the platforms' published formats (tests/schemas/):
exercism v3 and its runner entry point bin/run.sh, JUnit XML (Jenkins' junit-10.xsd), Gradescope's results.json
and setup.sh, the GitHub Classroom workflow (decoded as the grading reporter decodes it) and the CSV gradebook."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema
import yaml
from click.testing import CliRunner

from kata_runner import github_classroom
from kata_runner.classroom import Submission, max_score
from kata_runner.cli import cli
from kata_runner.exporters import combined_exercism, gradebook_csv, gradescope, junit_xml
from kata_runner.grader import judge
from kata_runner.isolation import ChildOutcome, Limits
from kata_runner.registry import PACKAGE_DIR, PROJECT_ROOT, all_katas, find_kata
from kata_runner.results import TRUNCATION_NOTE, KataResult, SpecResult, SpecStatus, Verdict

SCHEMAS = Path(__file__).parent / "schemas"
RUN_SH = PROJECT_ROOT / "bin" / "run.sh"


def schema(name: str) -> jsonschema.Draft202012Validator:
    document = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


EXERCISM = schema("exercism-results-v3.schema.json")
GRADESCOPE = schema("gradescope-results.schema.json")
CLASSROOM_RESULT = schema("classroom-runner-result.schema.json")
JUNIT = xmlschema.XMLSchema(SCHEMAS / "junit-10.xsd")


def spec(name: str, status: SpecStatus, kind: str | None = None, message: str = "", output: str = "") -> SpecResult:
    return SpecResult(f"checks/test_01_custom_linear.py::test_{name}[cpu]", name.replace("_", " "), f"{name}.",
                      "cpu", status, kind=kind, message=message, output=output, duration=0.01)


def kata(verdict: Verdict, *specs: SpecResult, message: str = "", kata_id: str = "01", folder: str = "/s/ada",
         ) -> KataResult:
    name = find_kata(kata_id).name
    return KataResult(kata_id, name, folder, verdict, message, list(specs), duration=0.5)


PASSED = kata(Verdict.PASS, spec("weight_is_registered", SpecStatus.PASS), spec("forward", SpecStatus.PASS))
FAILING = kata(Verdict.FAIL, spec("weight_is_registered", SpecStatus.PASS),
               spec("forward", SpecStatus.FAIL, "assertion", "forward(x) differs", output="debug print"),
               message="1 of 2 specs pass.")
NOT_STARTED = kata(Verdict.NOT_STARTED, spec("forward", SpecStatus.FAIL, "not_implemented", "Not implemented yet"),
                   message="every spec still meets NotImplementedError: start with the first TODO.")
LOAD_ERROR = "/s/ada/01_custom_linear.py:4: SyntaxError: expected ':'"
SYNTAX_ERROR = kata(Verdict.ERROR, spec("forward", SpecStatus.ERROR, "load", LOAD_ERROR),
                    message=f"could not import your code: {LOAD_ERROR}")
TIMED_OUT = kata(
    Verdict.TIMEOUT,
    spec("weight_is_registered", SpecStatus.PASS),
    spec("forward", SpecStatus.FAIL, "timeout", "stopped at 01_custom_linear.py:9 in forward"),
    spec("gradients", SpecStatus.FAIL, "not_run", "not run: an earlier spec already ended with: stopped"),
    spec("dtypes", SpecStatus.ERROR, "not_run", "not run"),
    message="'forward [cpu]' was stopped at its time limit: stopped at 01_custom_linear.py:9 in forward",
)
MISSING = KataResult("02", "02_learned_norm", "/s/ada", Verdict.NOT_STARTED, "02_learned_norm.py was not submitted.")


def exercism_valid(doc: dict[str, Any]) -> dict[str, Any]:
    errors = [e.message for e in EXERCISM.iter_errors(doc)]
    assert not errors, errors
    return doc


# ----------------------------------------------------------------------------------------------- exercism v3


@pytest.mark.parametrize(
    ("result", "status"),
    [(PASSED, "pass"), (FAILING, "fail"), (NOT_STARTED, "fail"), (TIMED_OUT, "fail"), (SYNTAX_ERROR, "error"),
     (MISSING, "error")],
    ids=["pass", "fail", "not-started", "timeout-after-a-pass", "syntax-error", "not-submitted"],
)
def test_exercism_status_is_error_only_when_no_spec_ran(result: KataResult, status: str) -> None:
    doc = exercism_valid(result.to_exercism())
    assert doc["status"] == status
    assert ("message" in doc) == (status == "error"), "a top-level message belongs to errors only"
    if status == "error":
        assert doc["message"] == result.message.replace("/s/ada/", "")


def test_a_timed_out_kata_keeps_every_spec_and_says_why_the_rest_never_ran() -> None:
    doc = exercism_valid(TIMED_OUT.to_exercism())
    assert [t["name"] for t in doc["tests"]] == [s.title for s in TIMED_OUT.specs]
    assert [t["status"] for t in doc["tests"]] == ["pass", "error", "error", "error"], "a timeout is no verdict"
    assert doc["tests"][1]["message"] == TIMED_OUT.specs[1].message
    for test in doc["tests"][2:]:
        assert test["message"] == f"Not run: {TIMED_OUT.message}"


def test_the_grader_keeps_the_specs_a_stopped_kata_never_reported() -> None:
    nodeids = [f"checks/test_01_custom_linear.py::test_{n}[cpu]" for n in ("weight_is_registered", "forward", "dtypes")]
    events = [
        {"event": "collected", "nodeids": nodeids},
        {"event": "start", "nodeid": nodeids[0]},
        {"event": "result", "nodeid": nodeids[0], "name": "weight is registered", "device": "cpu", "status": "pass"},
        {"event": "start", "nodeid": nodeids[1]},
    ]
    result = judge(find_kata("01"), Path("/s/ada"), events, ChildOutcome(timed_out=True), Limits(40.0))
    assert result.verdict is Verdict.TIMEOUT and "while running 'forward [cpu]'" in result.message
    doc = exercism_valid(result.to_exercism())
    assert [(t["name"], t["status"]) for t in doc["tests"]] == [
        ("weight is registered [cpu]", "pass"), ("forward [cpu]", "error"), ("dtypes [cpu]", "error")]
    assert doc["tests"][2]["message"] == f"Not run: {result.message}" and doc["status"] == "fail"


def test_paths_in_messages_are_relative_to_the_solution_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "submissions" / "ada"
    monkeypatch.chdir(tmp_path)
    written = [str(folder), os.path.relpath(folder), os.path.relpath(folder, tmp_path / "elsewhere" / "deeper")]
    message = "; ".join(f"{form}/01_custom_linear.py:4" for form in written) + "; /usr/lib/python3/ada/x.py:1"
    result = kata(Verdict.ERROR, spec("forward", SpecStatus.ERROR, "load", message), message=message,
                  folder=str(folder))
    doc = exercism_valid(result.to_exercism())
    expected = "01_custom_linear.py:4; 01_custom_linear.py:4; 01_custom_linear.py:4; /usr/lib/python3/ada/x.py:1"
    assert doc["message"] == doc["tests"][0]["message"] == doc["summary"] == expected


def test_test_output_is_at_most_500_characters_truncation_note_included() -> None:
    long = kata(Verdict.FAIL, spec("forward", SpecStatus.FAIL, "assertion", "differs", output="x" * 10_000),
                spec("repr", SpecStatus.FAIL, "assertion", "differs", output="y" * 500))
    tests = exercism_valid(long.to_exercism())["tests"]
    assert len(tests[0]["output"]) == 500 and tests[0]["output"].endswith(TRUNCATION_NOTE)
    assert tests[1]["output"] == "y" * 500, "output of exactly 500 characters is kept whole"


def test_combined_document_fails_when_some_kata_ran_and_errors_when_none_did() -> None:
    assert exercism_valid(combined_exercism([PASSED, MISSING]))["status"] == "fail"
    assert exercism_valid(combined_exercism([PASSED, PASSED]))["status"] == "pass"
    doc = exercism_valid(combined_exercism([SYNTAX_ERROR, MISSING]))
    assert doc["status"] == "error" and "02_learned_norm: 02_learned_norm.py was not submitted." in doc["message"]
    assert [(t["name"], t["task_id"]) for t in doc["tests"]] == [
        ("01_custom_linear: forward [cpu]", 1), ("02_learned_norm: not run", 2)]


# ----------------------------------------------------------------------------------------------- bin/run.sh


def run_sh(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RUN_SH), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize(
    ("slug", "source", "file_name", "status"),
    [
        ("custom-linear", "solution", "01_custom_linear.py", "pass"),
        ("custom_linear", "stub", "custom_linear.py", "fail"),
    ],
)
def test_run_sh_grades_a_solution_folder_as_exercism_runs_it(
    tmp_path: Path, slug: str, source: str, file_name: str, status: str
) -> None:
    kata_01 = find_kata("01")
    solution = tmp_path / "input"
    solution.mkdir()
    original = (kata_01.solution_path if source == "solution" else kata_01.stub_path).read_bytes()
    (solution / file_name).write_bytes(original)
    done = run_sh(slug, f"{solution}/", f"{tmp_path / 'output'}/")
    assert done.returncode == 0, done.stderr
    doc = exercism_valid(json.loads((tmp_path / "output" / "results.json").read_text()))
    assert doc["status"] == status and len(doc["tests"]) > 10
    assert sorted(p.name for p in solution.iterdir()) == [file_name], "the input folder is only read"
    assert (solution / file_name).read_bytes() == original
    if status == "fail":
        assert f"at {file_name}:" in doc["tests"][0]["message"], "the learner's own file, relative to the folder"
        assert str(tmp_path) not in json.dumps(doc) and "/tmp" not in json.dumps(doc)


def test_run_sh_reports_a_bad_slug_or_a_missing_file_in_results_json(tmp_path: Path) -> None:
    (tmp_path / "input").mkdir()
    assert run_sh("two-fer", str(tmp_path / "input"), str(tmp_path / "a")).returncode == 0
    doc = exercism_valid(json.loads((tmp_path / "a" / "results.json").read_text()))
    assert doc["status"] == "error" and "Unknown exercise 'two-fer': there is no kata 'two_fer'" in doc["message"]
    assert run_sh("learned-norm", str(tmp_path / "input"), str(tmp_path / "b")).returncode == 0
    doc = exercism_valid(json.loads((tmp_path / "b" / "results.json").read_text()))
    assert doc["status"] == "error" and "02_learned_norm.py (or learned_norm.py)" in doc["message"]


def test_run_sh_writes_results_json_even_when_python_cannot_run(tmp_path: Path) -> None:
    done = run_sh("custom-linear", str(tmp_path), str(tmp_path / "out"), env={"KATA_PYTHON": "/bin/false"})
    assert done.returncode == 0
    doc = exercism_valid(json.loads((tmp_path / "out" / "results.json").read_text()))
    assert doc["status"] == "error" and "exit 1" in doc["message"]


def test_run_sh_without_its_three_arguments_prints_its_usage() -> None:
    done = run_sh("custom-linear")
    assert done.returncode == 2 and "usage: bin/run.sh SLUG INPUT_DIR OUTPUT_DIR" in done.stderr


# ----------------------------------------------------------------------------------------------- JUnit XML


def submission(name: str, *results: KataResult) -> Submission:
    return Submission(name, Path("/s") / name, results=list(results))


def test_junit_has_a_testsuite_per_kata_and_submission_and_a_testcase_per_spec() -> None:
    syntax_error_02 = replace(SYNTAX_ERROR, kata_id="02", kata_name="02_learned_norm")
    text = junit_xml([submission("ada", PASSED, MISSING), submission("bob", TIMED_OUT, syntax_error_02)])
    JUNIT.validate(text)
    suites = ET.fromstring(text).findall("testsuite")
    assert [s.get("name") for s in suites] == [
        "ada.01_custom_linear", "ada.02_learned_norm", "bob.01_custom_linear", "bob.02_learned_norm"]
    assert [len(s.findall("testcase")) for s in suites] == [2, 1, 4, 1]
    timed_out = suites[2]
    assert (timed_out.get("tests"), timed_out.get("failures"), timed_out.get("errors")) == ("4", "0", "3")
    not_run = timed_out.findall("testcase")[3].find("error")
    assert not_run is not None and not_run.text == f"Not run: {TIMED_OUT.message}"
    missing = suites[1].find("testcase/failure")
    assert missing is not None and missing.get("type") == "not_started"
    properties = {p.get("name"): p.get("value") for p in suites[0].iter("property")}
    assert properties["verdict"] == "pass" and properties["score"] == "1.0"


UNDECODABLE = b"caf\xe9 \xff\xfe \xed\xa0\x80".decode("utf-8", "surrogateescape")  # invalid UTF-8, as Python holds it
CONTROL = "\x1b[31mred\x1b[0m \x00 \x07 \x0b \x0c \ufffe done"


def test_junit_stays_well_formed_whatever_the_learner_printed() -> None:
    noisy = kata(Verdict.FAIL, spec("forward", SpecStatus.FAIL, "assertion", f"{CONTROL} {UNDECODABLE}",
                                    output=f"{UNDECODABLE}\n{CONTROL}"))
    text = junit_xml([submission(f"eve{UNDECODABLE}\x01", noisy)])
    JUNIT.validate(text)
    case = ET.fromstring(text).find("testsuite/testcase")
    assert case is not None
    failure, out = case.find("failure"), case.find("system-out")
    assert failure is not None and out is not None
    assert "\\x1b[31mred\\x1b[0m \\x00 \\x07 \\x0b \\x0c \\xfffe done" in (failure.text or "")
    assert "caf\ufffd \ufffd\ufffd" in (out.text or ""), "undecodable bytes become U+FFFD, the rest is kept"


# ----------------------------------------------------------------------------------------------- Gradescope


def test_gradescope_results_follow_the_specification() -> None:
    doc = gradescope([PASSED, FAILING, TIMED_OUT, MISSING])
    errors = [e.message for e in GRADESCOPE.iter_errors(doc)]
    assert not errors, errors
    assert [t["status"] for t in doc["tests"]] == ["passed", "failed", "failed", "failed"]
    assert [t["score"] for t in doc["tests"]] == [1.0, 0.5, 0.0, 0.0]
    assert doc["score"] == 1.5 and all(t["max_score"] == 1.0 for t in doc["tests"])
    assert doc["test_output_format"] == "text", "learner text is never rendered as HTML"
    misspelt = {**doc, "tests": [{**doc["tests"][0], "stauts": "passed"}]}
    assert list(GRADESCOPE.iter_errors(misspelt)), "the schema rejects a key the specification does not have"


def fake_tools(tmp_path: Path) -> dict[str, str]:
    """apt-get and python3 stand-ins: `python3 -m venv DIR` makes a pip that logs its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "python3").write_text(
        '#!/bin/sh\nmkdir -p "$3/bin"\n'
        f'printf \'#!/bin/sh\\necho "$@" >> {tmp_path}/pip.log\\n\' > "$3/bin/pip"\nchmod +x "$3/bin/pip"\n'
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("TORCH_VARIANT", "TORCH_INDEX_URL")}
    return {**env, "PATH": f"{bin_dir}:{env['PATH']}", "AUTOGRADER_ROOT": str(tmp_path / "autograder")}


@pytest.mark.parametrize(
    ("variant", "index"),
    [(None, "--index-url https://download.pytorch.org/whl/cpu torch>=2.3"), ("cuda", "torch>=2.3"),
     ("cpu", "--index-url https://download.pytorch.org/whl/cpu torch>=2.3")],
)
def test_gradescope_setup_installs_cpu_torch_unless_cuda_is_asked_for(
    tmp_path: Path, variant: str | None, index: str
) -> None:
    env = fake_tools(tmp_path)
    if variant:
        env["TORCH_VARIANT"] = variant
    done = subprocess.run(["bash", str(PACKAGE_DIR / "gradescope" / "setup.sh")], env=env, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    installs = (tmp_path / "pip.log").read_text().splitlines()
    assert installs == ["install --upgrade pip", f"install {index}", f"install -e {tmp_path}/autograder/source"]


def test_gradescope_setup_refuses_an_unknown_torch_variant(tmp_path: Path) -> None:
    env = {**fake_tools(tmp_path), "TORCH_VARIANT": "rocm"}
    done = subprocess.run(["bash", str(PACKAGE_DIR / "gradescope" / "setup.sh")], env=env, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 2 and "set it to cpu (the default) or cuda" in done.stderr
    assert not (tmp_path / "pip.log").exists()


# ----------------------------------------------------------------------------------------------- GitHub Classroom


def js_parse_int(value: object) -> float:
    """JavaScript's parseInt(String(value)), as the command grader reads max-score (NaN as nan)."""
    match = re.match(r"\s*([+-]?\d+)", str(value))
    return int(match.group(1)) if match else float("nan")


def command_grader_result(step: dict[str, Any], exit_code: int) -> str:
    """The `result` output of classroom-resources/autograding-command-grader@v1 (src/main.js: generateResult)."""
    inputs = step["with"]
    max_score_ = js_parse_int(inputs.get("max-score") or 0)
    max_score_ = 0 if max_score_ != max_score_ else max_score_  # parseInt(...) || 0
    status = "pass" if exit_code == 0 else "fail"
    result = {
        "version": 1, "status": status, "max_score": max_score_,
        "tests": [{"name": inputs["test-name"], "status": status, "score": max_score_ if status == "pass" else 0,
                   "message": "" if status == "pass" else "failed with exit code 1", "test_code": inputs["command"],
                   "filename": "", "line_no": 0, "duration": 1}],
    }
    return base64.b64encode(json.dumps(result).encode()).decode()


def reporter_points(workflow: dict[str, Any], exit_codes: dict[str, int]) -> tuple[float, float]:
    """What classroom-resources/autograding-grading-reporter@v1 records: src/main.js reads each runner's
    <RUNNER upper-cased>_RESULTS variable and base64-decodes it; src/notify-classroom.js skips a runner without
    max_score and sums max_score and its tests' score."""
    steps = workflow["jobs"][github_classroom.JOB_ID]["steps"]
    outputs = {s["id"]: command_grader_result(s, exit_codes[s["id"]]) for s in steps
               if s.get("uses") == github_classroom.GRADER}
    (reporter,) = [s for s in steps if s.get("uses") == github_classroom.REPORTER]
    expression = re.compile(r"\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.result\s*\}\}")
    env = {}
    for name, value in reporter["env"].items():
        match = expression.fullmatch(value)
        assert match, f"{name} is not a step's result output: {value}"
        env[name] = outputs[match.group(1)]
    total = maximum = 0.0
    for runner in reporter["with"]["runners"].split(","):
        results = json.loads(base64.b64decode(env[f"{runner.strip().upper()}_RESULTS"]).decode("utf-8"))
        assert not list(CLASSROOM_RESULT.iter_errors(results))
        if not results["max_score"]:
            continue
        maximum += results["max_score"]
        total += sum(test["score"] for test in results["tests"])
    return total, maximum


def test_committed_workflow_is_the_one_the_registry_generates() -> None:
    committed = PROJECT_ROOT / github_classroom.WORKFLOW_PATH
    assert committed.read_text() == github_classroom.workflow_yaml(), "run `kata export classroom` to update it"


def test_classroom_records_each_katas_weight_as_the_reporter_adds_it_up() -> None:
    workflow = yaml.safe_load((PROJECT_ROOT / github_classroom.WORKFLOW_PATH).read_text())
    ids = [github_classroom.step_id(k) for k in all_katas()]
    assert reporter_points(workflow, dict.fromkeys(ids, 0)) == (max_score(), max_score())
    assert reporter_points(workflow, dict.fromkeys(ids, 1)) == (0, max_score())
    only_first = {i: 0 if i == ids[0] else 1 for i in ids}
    assert reporter_points(workflow, only_first) == (all_katas()[0].weight, max_score())


def test_classroom_points_follow_the_registry_weights() -> None:
    weighted = [replace(k, weight=float(n)) for n, k in enumerate(all_katas(), start=1)]
    workflow = yaml.safe_load(github_classroom.workflow_yaml(weighted))
    ids = [github_classroom.step_id(k) for k in weighted]
    third_fails = {i: 1 if n == 2 else 0 for n, i in enumerate(ids)}
    assert reporter_points(workflow, third_fails) == (sum(range(1, 13)) - 3, sum(range(1, 13)))


def test_classroom_workflow_is_what_the_reporter_and_classroom_look_for() -> None:
    workflow = yaml.safe_load((PROJECT_ROOT / github_classroom.WORKFLOW_PATH).read_text())
    assert workflow["on"] == ["push", "repository_dispatch"], "quoted: YAML 1.1 would read a bare on as true"
    assert workflow["permissions"]["checks"] == "write", "the reporter writes the points on the check run"
    job = workflow["jobs"]["run-autograding-tests"]  # the check run name src/notify-classroom.js looks up
    runners = job["steps"][-1]["with"]["runners"].split(",")
    assert all(re.fullmatch(r"[a-zA-Z0-9]+", r) for r in runners), "the reporter's pattern for runner ids"
    assert [s.get("id") for s in job["steps"] if s.get("uses") == github_classroom.GRADER] == runners
    scripts = "\n".join(s.get("run", "") for s in job["steps"])
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in scripts
    (cache,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert cache["with"]["path"] == ".venv" and "hashFiles('pyproject.toml')" in cache["with"]["key"]
    (install,) = [s for s in job["steps"] if "pip install" in s.get("run", "")]
    assert install["if"] == f"steps.{cache['id']}.outputs.cache-hit != 'true'"


def test_kata_export_classroom_writes_the_workflow(tmp_path: Path) -> None:
    out = tmp_path / "classroom.yml"
    result = CliRunner().invoke(cli, ["export", "classroom", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == github_classroom.workflow_yaml()


def test_a_weight_classroom_cannot_award_is_refused_with_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    halves = tuple(replace(k, weight=k.weight / 2) for k in all_katas())
    monkeypatch.setattr(github_classroom, "all_katas", lambda: halves)
    out = tmp_path / "classroom.yml"
    result = CliRunner().invoke(cli, ["export", "classroom", "--out", str(out)])
    assert result.exit_code == 1 and not out.exists()
    assert "kata 01 has weight 0.5" in result.output and "whole-number weight" in result.output


def test_a_grader_step_runs_its_command_with_only_what_the_command_grader_passes() -> None:
    workflow = yaml.safe_load((PROJECT_ROOT / github_classroom.WORKFLOW_PATH).read_text())
    (step,) = [s for s in workflow["jobs"][github_classroom.JOB_ID]["steps"] if s.get("id") == "kata01"]
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "FORCE_COLOR": "true",
           "DOTNET_CLI_HOME": "/tmp", "DOTNET_NOLOGO": "true"}  # src/main.js: the whole environment it passes
    if not (PROJECT_ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("the project environment .venv is not set up")
    done = subprocess.run(step["with"]["command"], shell=True, cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr  # the stub in katas/ is not started: no points
    assert "specs pass" in done.stdout


# ----------------------------------------------------------------------------------------------- CSV gradebook


def test_gradebook_cells_never_start_a_formula() -> None:
    names = ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2", "@SUM(A1)", "\tTAB", "\rCR", "plain", f"x{UNDECODABLE}"]
    text = gradebook_csv([submission(n, PASSED) for n in names])
    rows = list(csv.reader(io.StringIO(text)))
    defused = ["'" + n for n in names[:6]]
    assert [r[0] for r in rows[1:]] == [*defused, "plain", "xcaf\ufffd \ufffd\ufffd \ufffd\ufffd\ufffd"]
    for row in rows[1:]:
        assert [float(c) for c in row[1:]] == [1.0] + [0.0] * (len(all_katas()) - 1) + [1.0, max_score()]
    assert not any(cell.startswith("'") for row in rows for cell in row[1:]), "numbers stay numbers"
