"""Hostile implementations (tests/hostile/, one case per file) graded through the real CLI: each gets
the right verdict, a JSON document that parses, and returns within the limits plus a little."""

from __future__ import annotations

import csv
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kata_runner.cli import cli
from kata_runner.registry import find_kata
from kata_runner.testing import module_constant, stage

CASES = sorted((Path(__file__).parent / "hostile").glob("*.py"))
TIME_LIMIT = 6.0
LIMITS = ["--time-limit", str(TIME_LIMIT), "--spec-timeout", "3", "--memory-mb", "768", "--device", "cpu"]
SLACK = 4.0  # fork, reporting and a loaded CI machine


def sandbox_off(path: Path) -> bool:
    """Whether a hostile file asks to be graded without the subject sandbox (see tests/hostile/README.md)."""
    try:
        return module_constant(path, "SANDBOX") == "off"
    except AssertionError:
        return False


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_hostile_implementation_gets_a_clear_verdict(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    verdict = module_constant(path, "EXPECT_VERDICT")
    phrase = module_constant(path, "EXPECT_MESSAGE")
    stage(path, tmp_path, find_kata("01"))
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("KATA_HOSTILE_PIDS", str(pids))
    if sandbox_off(path):
        monkeypatch.setenv("KATA_SANDBOX", "off")

    started = time.monotonic()
    result = CliRunner().invoke(cli, ["check", "01", "--kata-dir", str(tmp_path), "--json", *LIMITS])
    elapsed = time.monotonic() - started

    doc = json.loads(result.stdout)
    assert doc["version"] == 3
    assert doc["verdict"] == verdict, doc.get("message")
    judged = any(t["status"] in ("pass", "fail") for t in doc["tests"])  # exercism: error only when none ran
    assert doc["status"] == ("pass" if verdict == "pass" else "fail" if judged else "error")
    assert str(phrase) in doc["summary"], doc["summary"]
    assert result.exit_code == (0 if verdict == "pass" else 1)
    assert elapsed < TIME_LIMIT + SLACK, f"took {elapsed:.1f} s"
    assert not [pid for pid in recorded(pids) if alive(pid)], "processes of the implementation outlived the run"


def test_huge_output_is_truncated_in_the_report(tmp_path: Path) -> None:
    stage(Path(__file__).parent / "hostile" / "huge_stdout.py", tmp_path, find_kata("01"))
    result = CliRunner().invoke(cli, ["check", "01", "--kata-dir", str(tmp_path), "--json", *LIMITS])
    doc = json.loads(result.stdout)
    assert all(len(test["output"] or "") < 1000 for test in doc["tests"])
    assert any("Output was truncated" in (test["output"] or "") for test in doc["tests"])  # exercism's wording


def test_one_katas_patching_does_not_reach_another(tmp_path: Path, solution_dir: Path) -> None:
    """Kata 01 patches torch; kata 02, graded in its own process, still passes."""
    stage(Path(__file__).parent / "hostile" / "patches_torch_allclose.py", solution_dir, find_kata("01"))
    for path in solution_dir.iterdir():
        if path.name[:2] not in ("01", "02"):
            path.unlink()
    result = CliRunner().invoke(cli, ["check", "--kata-dir", str(solution_dir), "--json", "--device", "cpu"])
    doc = json.loads(result.stdout)
    verdicts = {k["kata"]: k["verdict"] for k in doc["katas"]}
    assert verdicts["01_custom_linear"] == "error"
    assert verdicts["02_learned_norm"] == "pass"


VACUOUS = {"list": "[]", "dict": "{}", "none": "None"}


@pytest.mark.timeout(900)
def test_a_subject_that_returns_empty_observations_passes_no_spec(tmp_path: Path) -> None:
    """The class of attack where learner code replaces every probe (it shares their process) and returns
    nothing to compare: every spec of every kata must fail, none may pass by looping over nothing."""
    from kata_runner.grader import GradeOptions, grade_many
    from kata_runner.registry import all_katas
    from kata_runner.results import SpecStatus

    jobs = []
    for label, value in VACUOUS.items():
        for kata in all_katas():
            folder = tmp_path / f"{label}_{kata.id}"
            folder.mkdir()
            (folder / kata.filename).write_text(
                "from kata_runner.subject import PROBES\n"
                f"for _name in list(PROBES):\n    PROBES[_name] = lambda *args, **kwargs: {value}\n"
            )
            jobs.append((kata, folder))
    results = grade_many(jobs, GradeOptions(devices=("cpu",)), max_parallel=2)
    vacuous = [f"{folder.name}: {spec.title}" for (_, folder), result in zip(jobs, results)
               for spec in result.specs if spec.status is SpecStatus.PASS]
    assert len(results) == len(jobs)
    assert not vacuous, "specs that passed on empty observations:\n" + "\n".join(vacuous)


# ------------------------------------------------------------------------------ a class run nothing can break

HOSTILE = Path(__file__).parent / "hostile"
VARIANTS = Path(__file__).parent / "variants" / "01_custom_linear"


def alive(pid: int) -> bool:
    """Running, not merely a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return False
    return data[data.rindex(b")") + 2 :].split()[0] not in (b"Z", b"X")


def recorded(folder: Path) -> list[int]:
    """The process ids hostile files wrote into $KATA_HOSTILE_PIDS (names like daemon.1234)."""
    return [int(path.suffix[1:]) for path in folder.iterdir() if path.suffix[1:].isdigit()]


@pytest.fixture
def pids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where hostile files record their processes; the subject sandbox off: the grader's defences are tested."""
    folder = tmp_path / "pids"
    folder.mkdir()
    monkeypatch.setenv("KATA_HOSTILE_PIDS", str(folder))
    monkeypatch.setenv("KATA_SANDBOX", "off")
    return folder


def make_class(root: Path, **students: Path) -> Path:
    """One folder per student, each holding kata 01 from the given file."""
    for name, source in students.items():
        (root / name).mkdir(parents=True)
        stage(source, root / name, find_kata("01"))
    return root


def grade_class(classroom: Path, out: Path, *extra: str) -> dict[str, dict]:
    """`kata grade` through the CLI; each student's kata 01 entry of their exercism report."""
    args = ["grade", str(classroom), "--out", str(out), "--format", "exercism", "--format", "csv", *LIMITS, *extra]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return {folder.name: json.loads((folder / "results.json").read_text())["katas"][0]
            for folder in out.iterdir() if (folder / "results.json").exists()}


def test_a_class_of_process_attacks_gets_a_complete_gradebook_and_leaves_no_process(
    tmp_path: Path, pids: Path
) -> None:
    classroom = make_class(
        tmp_path / "class",
        ada=find_kata("01").solution_path,
        daemon=HOSTILE / "daemon_setsid.py",  # a setsid daemon that holds the output pipe
        bomb=HOSTILE / "fork_bomb_setsid.py",
        hoard=HOSTILE / "memory_in_grandchildren.py",
    )
    started = time.monotonic()
    katas = grade_class(classroom, tmp_path / "out", "-j", "2")
    elapsed = time.monotonic() - started
    assert {name: k["verdict"] for name, k in katas.items()} == {
        "ada": "pass", "daemon": "pass", "bomb": "error", "hoard": "memory"}
    assert "processes running at once" in katas["bomb"]["summary"]
    assert "memory limit exceeded" in katas["hoard"]["summary"]
    rows = {row["submission"] for row in csv.DictReader((tmp_path / "out" / "gradebook.csv").open())}
    assert rows == {"ada", "daemon", "bomb", "hoard"}
    assert elapsed < 4 * (TIME_LIMIT + SLACK), f"took {elapsed:.1f} s"
    names = {path.name.split(".")[0] for path in pids.iterdir()}
    assert names == {"daemon", "bomb", "hoard"}, "every attack ran"
    assert not [pid for pid in recorded(pids) if alive(pid)]


@pytest.mark.slow
def test_killing_other_students_judges_changes_no_other_grade(tmp_path: Path, pids: Path) -> None:
    students = {"ada": find_kata("01").solution_path, "bob": VARIANTS / "mistake_zero_init.py"}
    baseline = grade_class(make_class(tmp_path / "calm", **students), tmp_path / "calm-out", "-j", "3")
    attacked = grade_class(make_class(tmp_path / "class", **students, killer=HOSTILE / "kills_sibling_jobs.py"),
                           tmp_path / "out", "-j", "3")
    assert list(pids.glob("killed.*")), "the attack reached no judge: this test proves nothing"
    for name in students:
        for field in ("verdict", "passed", "total", "summary"):
            assert attacked[name][field] == baseline[name][field], (name, field)
    assert baseline["ada"]["verdict"] == "pass" and baseline["bob"]["verdict"] == "fail"


def test_a_failed_fork_is_an_error_for_that_job_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    classroom = make_class(tmp_path / "class", ada=find_kata("01").solution_path, bob=find_kata("01").solution_path)
    parent, real_fork, calls = os.getpid(), os.fork, []

    def fork() -> int:
        if os.getpid() == parent:
            calls.append(1)
            if len(calls) >= 2:  # bob's judge, and bob's judge once more
                raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        return real_fork()

    monkeypatch.setattr(os, "fork", fork)
    katas = grade_class(classroom, tmp_path / "out", "-j", "1")
    assert katas["ada"]["verdict"] == "pass"
    assert katas["bob"]["verdict"] == "error"
    assert "could not be started (Resource temporarily unavailable)" in katas["bob"]["summary"]
    assert len(calls) == 3, "bob's judge is tried twice"


MALFORMED = {
    "not an object": "[1, 2]",
    "missing keys": '{"event": "result"}',
    "a list for a node id": '{"event": "result", "nodeid": ["x"], "name": "x", "status": "pass"}',
    "an unknown status": '{"event": "result", "nodeid": "x", "name": "x", "status": "bogus"}',
    "collected is not a list": '{"event": "collected", "nodeids": 5}\n{"event": "done", "exitstatus": 0}',
    "an endless number": "1" * 100_000,
    "deep nesting": "[" * 100_000,
    "not text": "\udcff\x00\x01",
}


@pytest.mark.parametrize("line", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_report_is_an_error_verdict_not_a_crash(line: str, tmp_path: Path) -> None:
    from kata_runner.grader import verdict_of
    from kata_runner.isolation import ChildOutcome, Limits
    from kata_runner.results import Verdict

    report = tmp_path / "report.jsonl"
    report.write_text(line + "\n", encoding="utf-8", errors="surrogateescape")
    result = verdict_of(find_kata("01"), tmp_path, report, ChildOutcome(exit_code=0), Limits())
    assert result.verdict is Verdict.ERROR and result.message


def test_an_oversized_report_is_an_error_verdict(tmp_path: Path) -> None:
    from kata_runner.grader import MAX_REPORT_BYTES, verdict_of
    from kata_runner.isolation import ChildOutcome, Limits
    from kata_runner.results import Verdict

    report = tmp_path / "report.jsonl"
    with report.open("wb") as f:
        f.truncate(MAX_REPORT_BYTES + 1)
    result = verdict_of(find_kata("01"), tmp_path, report, ChildOutcome(exit_code=0), Limits())
    assert result.verdict is Verdict.ERROR and "grading report" in result.message


def process_tree(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        children.setdefault(int(data[data.rindex(b")") + 2 :].split()[1]), []).append(int(name))
    found, todo = set(), [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            found.add(pid)
            todo.append(pid)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_a_killed_grade_run_leaves_no_process(how: signal.Signals, tmp_path: Path, pids: Path) -> None:
    """Each student's code starts a daemon and then takes its time: the run is stopped while both are at it."""
    slow = tmp_path / "slow.py"
    slow.write_text((HOSTILE / "daemon_setsid.py").read_text() + "\nimport time\ntime.sleep(60)\n")
    classroom = make_class(tmp_path / "class", ada=slow, bob=slow)
    out = tmp_path / "out"
    env = {**os.environ, "KATA_NO_BOOTSTRAP": "1"}
    run = subprocess.Popen([sys.executable, "-m", "kata_runner", "grade", str(classroom), "--out", str(out), "-j", "2",
                            "--time-limit", "60", "--device", "cpu"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, cwd=Path(__file__).parent.parent)
    try:
        deadline = time.monotonic() + 60
        while len(recorded(pids)) < 2 and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.05)
        assert len(recorded(pids)) == 2, "the daemons never started"
        tree = process_tree(run.pid)
        assert len(tree) >= 6, "two judges, their subjects and daemons"
        run.send_signal(how)
        code = run.wait(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    expected = {signal.SIGTERM: 143, signal.SIGINT: 1, signal.SIGKILL: -9}[how]  # SIGINT: click's "Aborted!"
    assert code == expected, run.stderr.read() if run.stderr else ""
    deadline = time.monotonic() + 5  # after SIGKILL, each judge cleans up once it learns its parent died
    while [pid for pid in tree if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in tree if alive(pid)]
    assert not (out / "gradebook.csv").exists(), "nothing is written for a run that was stopped"
