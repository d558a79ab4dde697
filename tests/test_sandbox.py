"""The subject's sandbox (kata_runner/sandbox.py), seen from learner code: each test grades a file that
looks around from inside and reports what it saw through the one channel it has, its import error."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from kata_runner import sandbox
from kata_runner.cli import cli
from kata_runner.registry import PROJECT_ROOT, SOLUTIONS_DIR

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or sandbox.status() != "on",
                                reason=f"the sandbox is not available here: {sandbox.status()}")

LOOK_AROUND = '''
import json, os, signal, socket
seen = {"uid": os.getuid(), "pid": os.getpid(), "parent_pid": os.getppid(), "judge_pid": JUDGE,
        "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
seen["solutions"] = sorted(os.listdir(SOLUTIONS)) if os.path.isdir(SOLUTIONS) else None
seen["tmp"] = sorted(os.listdir("/tmp"))
try:
    os.kill(JUDGE, 0)
    seen["judge_signal"] = "delivered"
except OSError as exc:
    seen["judge_signal"] = type(exc).__name__
for name, path in (("project", PROJECT + "/conftest.py"), ("own_file", __file__), ("tmp", "/tmp/scratch")):
    try:
        with open(path, "a") as f:
            f.write("# written by the subject\\n")
        seen["write_" + name] = "ok"
    except OSError as exc:
        seen["write_" + name] = type(exc).__name__
try:
    socket.create_connection(("127.0.0.1", 9), timeout=1)
    seen["network"] = "connected"
except OSError as exc:
    seen["network"] = type(exc).__name__
raise RuntimeError("SEEN" + json.dumps(seen) + "SEEN")
'''


def look_around(folder: Path) -> dict:
    code = (LOOK_AROUND.replace("JUDGE", str(os.getpid())).replace("SOLUTIONS", repr(str(SOLUTIONS_DIR)))
            .replace("PROJECT", repr(str(PROJECT_ROOT))))
    impl = folder / "01_custom_linear.py"
    impl.write_text(code)
    before = impl.read_text()
    result = CliRunner().invoke(cli, ["check", "01", "--kata-dir", str(folder), "--json", "--device", "cpu"])
    doc = json.loads(result.stdout)
    assert impl.read_text() == before, "the learner's own file was changed by their code"
    message = doc["message"]
    assert "SEEN" in message, message
    return json.loads(message.split("SEEN")[1])


def test_learner_code_runs_as_pid_1_of_its_own_namespace_and_cannot_reach_the_judge(tmp_path: Path) -> None:
    seen = look_around(tmp_path)
    assert seen["pid"] == 1
    assert seen["processes"] == [1], "other processes are visible from the sandbox"
    assert seen["judge_signal"] == "ProcessLookupError"


def test_learner_code_runs_without_privileges(tmp_path: Path) -> None:
    seen = look_around(tmp_path)
    assert seen["uid"] == (sandbox.NOBODY if os.geteuid() == 0 else os.getuid())


def test_solutions_and_the_judges_files_are_out_of_sight(tmp_path: Path) -> None:
    seen = look_around(tmp_path)
    assert seen["solutions"] == []
    assert not any(name.startswith("kata-") for name in seen["tmp"]), seen["tmp"]  # the judge's report folders


def test_the_project_is_read_only_and_the_learners_folder_is_a_private_copy(tmp_path: Path) -> None:
    seen = look_around(tmp_path)
    assert seen["write_project"] in ("OSError", "PermissionError")  # EROFS, or EACCES for nobody
    assert seen["write_own_file"] == "ok"  # the private copy; look_around checks the real file is unchanged
    assert seen["write_tmp"] == "ok"
    assert "written by the subject" not in (PROJECT_ROOT / "conftest.py").read_text()


def test_there_is_no_network(tmp_path: Path) -> None:
    assert look_around(tmp_path)["network"] != "connected"


DAEMON = '''
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(60)
    os._exit(0)
time.sleep(0.3)
raise RuntimeError("left a daemon behind")
'''


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_setsid_daemon_dies_with_the_subject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = f"KATA_TEST_MARKER={uuid.uuid4()}"
    monkeypatch.setenv("KATA_TEST_MARKER", marker.partition("=")[2])
    (tmp_path / "01_custom_linear.py").write_text(DAEMON)
    result = CliRunner().invoke(cli, ["check", "01", "--kata-dir", str(tmp_path), "--json", "--device", "cpu"])
    assert "left a daemon behind" in json.loads(result.stdout)["message"]
    assert _processes_with(marker) == []


def test_sandbox_off_is_said_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KATA_SANDBOX", "off")
    monkeypatch.setattr(sandbox, "_status", [])
    assert sandbox.status() == "off: KATA_SANDBOX=off"



@pytest.fixture
def class_outside_tmp() -> Iterator[Path]:
    """A class folder outside /tmp (which the sandbox covers anyway), so that only hiding can keep it out."""
    folder = Path(tempfile.mkdtemp(prefix=".sandbox-test-class-", dir=PROJECT_ROOT))
    folder.chmod(0o755)  # as class folders usually are: readable by anyone
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_in_a_class_run_no_student_can_read_another_students_files(class_outside_tmp: Path, tmp_path: Path) -> None:
    root = class_outside_tmp
    (root / "alice").mkdir(parents=True)
    (root / "mallory").mkdir()
    alice = root / "alice" / "01_custom_linear.py"
    alice.write_text("ANSWER = 42\n")
    (root / "mallory" / "01_custom_linear.py").write_text(
        f"import os\nraise RuntimeError('SEEN' + str(os.path.exists({str(alice)!r})) + 'SEEN')\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["grade", str(root), "--out", str(out), "--format", "exercism", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    seen = json.loads((out / "mallory" / "results.json").read_text())["message"]
    assert "SEENFalseSEEN" in seen, seen
