"""`kata grade` and `kata export gradescope`: batch grading, the four export formats, the cache."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from kata_runner.cli import cli
from kata_runner.registry import all_katas, find_kata
from kata_runner.testing import stage

VARIANTS = Path(__file__).parent / "variants"


@pytest.fixture
def classroom(tmp_path: Path) -> Path:
    """Three submissions: one finished kata 01, one with a mistake in it, one that submitted nothing useful."""
    root = tmp_path / "submissions"
    (root / "ada").mkdir(parents=True)
    shutil.copy(find_kata("01").solution_path, root / "ada" / "01_custom_linear.py")
    shutil.copy(find_kata("02").solution_path, root / "ada" / "02_learned_norm.py")
    nested = root / "bob" / "my-katas"
    nested.mkdir(parents=True)
    stage(VARIANTS / "01_custom_linear" / "mistake_zero_init.py", nested)
    (root / "cy").mkdir()
    (root / "cy" / "notes.txt").write_text("nothing here")
    (root / ".hidden").mkdir()
    return root


def grade(*args: str):
    return CliRunner().invoke(cli, ["grade", *args, "--device", "cpu"], catch_exceptions=False)


def test_grade_writes_all_four_formats(classroom: Path, tmp_path: Path) -> None:
    out = tmp_path / "grades"
    formats = [f"--format={f}" for f in ("csv", "exercism", "gradescope", "junit")]
    result = grade(str(classroom), "--out", str(out), *formats)
    assert result.exit_code == 0, result.output

    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [r["submission"] for r in rows] == ["ada", "bob", "cy"]
    assert rows[0]["01_custom_linear"] == "1.0" and rows[0]["02_learned_norm"] == "1.0" and rows[0]["total"] == "2.0"
    assert 0 < float(rows[1]["01_custom_linear"]) < 1, "a mistake earns partial credit, not full"
    assert rows[2]["total"] == "0.0" and rows[0]["max"] == str(float(len(all_katas())))

    ada = json.loads((out / "ada" / "results.json").read_text())
    assert ada["version"] == 3 and ada["status"] == "fail"
    assert [k["verdict"] for k in ada["katas"][:3]] == ["pass", "pass", "not_started"]

    scope = json.loads((out / "bob" / "gradescope.json").read_text())
    assert {"score", "tests"} <= set(scope) and scope["extra_data"]["max_score"] == float(len(all_katas()))
    first = scope["tests"][0]
    assert {"score", "max_score", "name", "number", "output", "visibility"} <= set(first)
    assert first["name"] == "Kata 01: A linear layer from scratch" and "nn.Linear" in first["output"]

    suites = ET.parse(out / "junit.xml").getroot()
    assert [s.get("name") for s in suites] == [f"{s}.{k.name}" for s in ("ada", "bob", "cy") for k in all_katas()]
    assert int(suites[0].get("tests") or 0) == len(suites[0].findall("testcase")) > 1, "a testcase per spec"


def test_regrading_skips_unchanged_submissions(classroom: Path, tmp_path: Path) -> None:
    out = tmp_path / "grades"
    grade(str(classroom), "--out", str(out))
    again = grade(str(classroom), "--out", str(out))
    assert "(3 unchanged, from the cache)" in again.output
    shutil.copy(find_kata("01").solution_path, classroom / "bob" / "my-katas" / "01_custom_linear.py")
    third = grade(str(classroom), "--out", str(out))
    assert "(2 unchanged, from the cache)" in third.output
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert rows[1]["01_custom_linear"] == "1.0"


def test_grade_of_a_folder_without_submissions_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["grade", str(tmp_path)])
    assert result.exit_code == 1 and "--single" in result.output


def nobody_can_run(python: str) -> bool:
    """Whether run_autograder, as root, can grade as `nobody` with this interpreter (not when it lives in a
    private home folder, as a pyenv build under /root does)."""
    if os.geteuid() != 0 or not shutil.which("runuser"):
        return False
    return subprocess.run(["runuser", "-u", "nobody", "--", python, "-c", "import torch"], cwd="/",
                          capture_output=True).returncode == 0


@pytest.fixture
def autograder_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where the autograder is unpacked. As root, run_autograder grades as `nobody`, who must be able to read
    the project: the folder is then made outside pytest's private temporary folder. Where `nobody` cannot
    run this interpreter, the grade runs as the current user (KATA_GRADE_USER="")."""
    if not nobody_can_run(sys.executable):
        monkeypatch.setenv("KATA_GRADE_USER", "")
        yield tmp_path / "autograder"
        return
    root = Path(tempfile.mkdtemp(prefix="autograder-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_autograder(root: Path, tmp_path: Path, submission: str) -> dict:
    """Export the autograder zip, lay it out as Gradescope does, grade `submission` as kata 01."""
    zip_path = tmp_path / "autograder.zip"
    assert CliRunner().invoke(cli, ["export", "gradescope", "--out", str(zip_path)]).exit_code == 0
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        archive.extractall(root / "source")
    expected = {"setup.sh", "run_autograder", "pyproject.toml", "kata_runner/cli.py", "checks/test_01_custom_linear.py"}
    assert expected <= set(names)
    assert not any(name.startswith("solutions/") for name in names), "the solutions stay private"
    (root / "submission").mkdir()
    (root / "submission" / "01_custom_linear.py").write_text(submission)
    script = root / "source" / "run_autograder"
    script.chmod(0o755)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "KATA_PYTHON": sys.executable}
    done = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_gradescope_zip_grades_a_submission_laid_out_as_gradescope_does(autograder_root: Path, tmp_path: Path) -> None:
    results = run_autograder(autograder_root, tmp_path, find_kata("01").solution_path.read_text())
    assert results["score"] == 1.0 and results["extra_data"]["max_score"] == float(len(all_katas()))
    assert results["tests"][0]["status"] == "passed" and results["tests"][1]["status"] == "failed"


FORGER = """
import json, os, threading, time
from pathlib import Path

FORGED = json.dumps({"score": 999, "output": "forged", "tests": []})


def targets():
    found = [Path(os.environ["AUTOGRADER_ROOT"]) / "results" / "results.json"]
    pid = os.getpid()
    while pid > 1:  # the grade's own output folder, from its command line
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\\0")
            pid = int(Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError):
            break
        if b"--out" in args:
            found.append(Path(args[args.index(b"--out") + 1].decode()) / "results.json")
    return found


def forge():
    while True:
        for target in targets():
            try:
                target.write_text(FORGED)
                Path(os.environ["KATA_HOSTILE_PIDS"], f"forged.{os.getpid()}").touch()
            except OSError:
                pass
        time.sleep(0.02)


if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        forge()
    os._exit(0)
threading.Thread(target=forge, daemon=True).start()
time.sleep(0.5)
"""


@pytest.mark.slow
def test_gradescope_results_come_only_from_the_grader(
    autograder_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The submission's code, and a daemon it leaves behind, keep writing a forged results.json wherever they
    can: into Gradescope's results folder and into the grade's own output folder. (Without the subject
    sandbox, which would stop them writing at all: what is under test is run_autograder and the grader.)"""
    evidence = tmp_path / "evidence"
    evidence.mkdir(mode=0o777)
    evidence.chmod(0o777)
    monkeypatch.setenv("KATA_HOSTILE_PIDS", str(evidence))
    monkeypatch.setenv("KATA_SANDBOX", "off")
    results = run_autograder(autograder_root, tmp_path, find_kata("01").solution_path.read_text() + FORGER)
    assert list(evidence.iterdir()), "the forger wrote nothing: this test proves nothing"
    assert results["score"] == 1.0, results.get("output")
    assert results["tests"][0]["status"] == "passed"


@pytest.mark.skipif(os.geteuid() != 0 or nobody_can_run(sys.executable), reason="needs root, and an interpreter "
                    "that nobody cannot run")
def test_gradescope_grading_user_that_cannot_run_the_grade_fails_closed(tmp_path: Path) -> None:
    """As root, run_autograder never falls back to grading as root: it reports why it could not grade."""
    root = tmp_path / "autograder"
    results = run_autograder(root, tmp_path, find_kata("01").solution_path.read_text())
    assert results["score"] == 0 and results["tests"] == []
    assert "the grading user nobody cannot read" in results["output"]


# ------------------------------------------------------------------------------ collecting a class: every entry


@pytest.fixture
def odd_class(tmp_path: Path) -> Path:
    """Every odd thing a class folder can hold, around two students whose work is graded."""
    root = tmp_path / "class"
    solution = find_kata("01").solution_path
    ada = root / "=ada"  # names a spreadsheet would take for formulas
    (ada / "katas").mkdir(parents=True)
    shutil.copy(solution, ada / "katas" / "01_custom_linear.py")
    stage(VARIANTS / "01_custom_linear" / "mistake_zero_init.py", ada)  # shallower, but katas/ is preferred
    (ada / "solutions").mkdir()
    shutil.copy(find_kata("02").solution_path, ada / "solutions" / "02_learned_norm.py")  # never ada's work
    (ada / ".git").mkdir()
    shutil.copy(find_kata("03").solution_path, ada / ".git" / "03_module_inventory.py")
    bob = root / "+bob"
    (bob / "01_custom_linear.py").mkdir(parents=True)  # a folder named like a kata file
    (bob / "01_custom_linear.py" / "notes.txt").write_text("a folder, not a file")
    (bob / "02_learned_norm.py").symlink_to(bob / "nowhere.py")  # broken
    os.mkfifo(bob / "03_module_inventory.py")  # would hang a reader
    (bob / "04_freeze_and_groups.py").symlink_to("/dev/zero")  # would never end
    (bob / "05_module_containers.py").symlink_to(ada / "katas" / "01_custom_linear.py")  # another student's file
    (bob / "06_batchnorm_like.py").write_text("#" * (2**20 + 1))  # over the size cap
    (root / "-cy").mkdir()
    stage(VARIANTS / "01_custom_linear" / "mistake_zero_init.py", root / "-cy")
    (root / "@dee").mkdir()
    (root / "-cy" / "__pycache__").mkdir()
    (root / "notes.txt").write_text("not a submission")
    (root / "_template").mkdir()
    (root / "link-to-ada").symlink_to(ada)
    os.mkfifo(root / "a-pipe")
    return root


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_class_with_every_odd_entry_gets_a_complete_gradebook(odd_class: Path, tmp_path: Path) -> None:
    out = tmp_path / "grades"
    result = grade(str(odd_class), "--out", str(out), "--format=csv", "--format=exercism")
    assert result.exit_code == 0, result.output

    rows = {row["submission"].lstrip("'"): row for row in csv.DictReader((out / "gradebook.csv").open())}
    assert sorted(rows) == ["+bob", "-cy", "=ada", "@dee"]
    assert rows["=ada"]["01_custom_linear"] == "1.0", "katas/ is preferred to a shallower copy"
    assert rows["=ada"]["02_learned_norm"] == "0.0", "solutions/ is never the student's work"
    assert 0 < float(rows["-cy"]["01_custom_linear"]) < 1 and rows["@dee"]["total"] == "0.0"

    def kata(student: str, number: int) -> dict:
        return json.loads((out / student / "results.json").read_text())["katas"][number - 1]

    assert kata("=ada", 2)["verdict"] == "not_started" and kata("=ada", 3)["verdict"] == "not_started"
    expected = {
        1: "01_custom_linear.py is a folder, not a file",
        2: "02_learned_norm.py is a symbolic link",
        3: "03_module_inventory.py is not a regular file",
        4: "04_freeze_and_groups.py is a symbolic link",
        5: "05_module_containers.py is a symbolic link",
        6: "06_batchnorm_like.py is 1048577 bytes, over the 1024 KiB limit",
    }
    for number, phrase in expected.items():
        assert kata("+bob", number)["verdict"] == "error"
        assert phrase in kata("+bob", number)["summary"]
    assert kata("+bob", 7)["verdict"] == "not_started"

    skipped = (out / "skipped.txt").read_text()
    for entry in ("=ada/solutions/", "=ada/.git/", "-cy/__pycache__/", "notes.txt", "_template", "link-to-ada",
                  "a-pipe"):
        assert entry in skipped and f"Skipped {entry}" in result.output.replace("\n", " "), entry


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_an_error_for_that_kata(tmp_path: Path) -> None:
    (tmp_path / "class" / "ada").mkdir(parents=True)
    secret = tmp_path / "class" / "ada" / "01_custom_linear.py"
    shutil.copy(find_kata("01").solution_path, secret)
    secret.chmod(0)
    out = tmp_path / "grades"
    assert grade(str(tmp_path / "class"), "--out", str(out), "--format=exercism").exit_code == 0
    first = json.loads((out / "ada" / "results.json").read_text())["katas"][0]
    assert first["verdict"] == "error" and "could not be read (Permission denied)" in first["summary"]


def test_a_file_that_cannot_be_read_any_more_is_an_error_not_a_crash(tmp_path: Path) -> None:
    """A file swapped for a link or a pipe between the search and the copy is refused as it is opened."""
    from kata_runner.classroom import UnreadableSubmission, read_submitted

    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "link").symlink_to("/dev/zero")
    with pytest.raises(UnreadableSubmission, match="not a regular file"):
        read_submitted(tmp_path / "pipe")
    with pytest.raises(UnreadableSubmission, match="symbolic link"):
        read_submitted(tmp_path / "link")


# ------------------------------------------------------------------------------ during the run


@pytest.mark.slow
def test_a_killed_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    classroom = tmp_path / "class"
    for name in ("ada", "bob", "cy"):
        (classroom / name).mkdir(parents=True)
        shutil.copy(find_kata("01").solution_path, classroom / name / "01_custom_linear.py")
    slow = classroom / "cy" / "01_custom_linear.py"
    slow.write_text(slow.read_text() + "\nimport time\ntime.sleep(60)\n")
    out = tmp_path / "grades"
    journal = out / ".grade-cache.json"
    run = subprocess.Popen([sys.executable, "-m", "kata_runner", "grade", str(classroom), "--out", str(out),
                            "-j", "1", "--device", "cpu", "--time-limit", "60"],
                           env={**os.environ, "KATA_NO_BOOTSTRAP": "1"}, cwd=Path(__file__).parent.parent,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and run.poll() is None:
            done = journal.read_text() if journal.exists() else ""
            if '"bob/01_custom_linear"' in done:
                break
            time.sleep(0.05)
        assert '"ada/01_custom_linear"' in done and '"bob/01_custom_linear"' in done, "ada and bob were graded"
        assert '"cy/01_custom_linear"' not in done
    finally:
        run.kill()  # while cy is being graded
        run.wait()
    assert not (out / "gradebook.csv").exists()

    shutil.copy(find_kata("01").solution_path, slow)
    again = grade(str(classroom), "--out", str(out))
    assert "(2 unchanged, from the cache)" in again.output, again.output
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [row["01_custom_linear"] for row in rows] == ["1.0", "1.0", "1.0"]


def test_two_checks_at_once_lose_no_cache_entry(tmp_path: Path) -> None:
    """Four processes each store fifteen results (one per folder) into the one cache file at the same time."""
    import multiprocessing

    from kata_runner.cache import ResultCache

    def store(kata_id: str) -> None:
        from kata_runner.results import KataResult, Verdict

        kata = find_kata(kata_id)
        for number in range(15):
            result = KataResult(kata.id, kata.name, "", Verdict.PASS)
            ResultCache(tmp_path).put_many(tmp_path / f"folder-{number}", ("cpu",), {kata: result})

    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=store, args=(kata.id,)) for kata in all_katas()[:4]]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(30)
    assert all(writer.exitcode == 0 for writer in writers)
    stored = json.loads(ResultCache(tmp_path).path.read_text())
    assert len(stored) == 4 * 15
