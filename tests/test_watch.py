"""`kata watch` as a learner meets it: in a pseudo-terminal (single keys, a redrawn screen, Ctrl-C), and piped
(plain lines, a stale check cancelled by the next save). Each test starts a real watch: a few seconds each."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import shutil
import signal
import sys
import termios
import threading
import time
from io import StringIO
from pathlib import Path

import pytest

from kata_runner.registry import PROJECT_ROOT, find_kata
from kata_runner.testing import stage

HANGS = Path(__file__).parent / "hostile" / "infinite_loop.py"
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
MISTAKE = Path(__file__).parent / "variants" / "01_custom_linear" / "mistake_weight_transposed.py"


class Terminal:
    """`python -m kata_runner watch` on the slave side of a pseudo-terminal (its controlling terminal, so that
    Ctrl-C is a real SIGINT); the test types into and reads from the master side."""

    def __init__(self, kata_dir: Path, *args: str) -> None:
        env = {**os.environ, "KATA_NO_BOOTSTRAP": "1", "TERM": "xterm", "COLUMNS": "250", "LINES": "60"}
        env.pop("NO_COLOR", None)
        argv = [sys.executable, "-m", "kata_runner", "watch", "--kata-dir", str(kata_dir), "--device", "cpu", *args]
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child
            os.chdir(PROJECT_ROOT)
            os.execve(sys.executable, argv, env)
        self.screen = ""
        self.status: int | None = None

    def read(self, seconds: float = 0.1) -> str:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0 and select.select([self.fd], [], [], left)[0]:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            self.screen += chunk.decode("utf-8", "replace")
        return self.screen

    @property
    def text(self) -> str:
        """The screen without its escape codes (colours, clearing)."""
        return ESCAPES.sub("", self.screen)

    def expect(self, pattern: str, seconds: float = 30.0) -> None:
        end = time.monotonic() + seconds
        while not re.search(pattern, self.text):
            assert time.monotonic() < end, f"never saw {pattern!r}; the screen so far:\n{self.screen[-3000:]}"
            self.read(0.2)

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def mark(self) -> None:
        """Forget what was seen so far: the next expect() looks at new output only."""
        self.read(0.05)
        self.screen = ""

    def wait(self, seconds: float = 15.0) -> int:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.read(0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
                return os.waitstatus_to_exitcode(status)
        raise AssertionError(f"watch did not exit; the screen so far:\n{self.screen[-3000:]}")

    def close(self) -> None:
        if self.status is None:
            with_suppressed(lambda: os.killpg(self.pid, signal.SIGKILL))
            with_suppressed(lambda: os.waitpid(self.pid, 0))
        with_suppressed(lambda: os.close(self.fd))


def with_suppressed(action) -> None:
    with contextlib.suppress(OSError):
        action()


def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            table[int(entry.name)] = (int(fields[1]), fields[0])
    return table


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (grading children, their fork servers and subjects)."""
    table = process_table()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, (parent, state) in table.items() if parent in frontier and state != "Z"}
        found |= frontier
    return found


def still_running(pids: set[int]) -> set[int]:
    table = process_table()
    return {pid for pid in pids if pid in table and table[pid][1] != "Z"}


@pytest.fixture
def terminal(stub_dir: Path):
    started: list[Terminal] = []

    def start(*args: str) -> Terminal:
        started.append(Terminal(stub_dir, *args))
        return started[-1]

    yield start
    for term in started:
        term.close()


@pytest.mark.slow
def test_keys_on_a_terminal_hint_list_reset_and_quit(terminal, stub_dir: Path) -> None:
    term = terminal()
    term.expect(r"Kata 01 not started: 0/19 specs pass")
    term.expect(r"h hint \| n next \| l list \| r reset \| c check \| q quit")
    term.expect(r"\[-+\] 0/12 katas passed")
    attributes = termios.tcgetattr(term.fd)
    assert not attributes[3] & (termios.ICANON | termios.ECHO), "cbreak mode: keys arrive one at a time, unechoed"
    assert "\x1b[2J" in term.screen, "the screen is cleared and redrawn"

    term.mark()
    term.type("h")
    term.expect(r"Hint 1/\d: " + re.escape(find_kata("01").hints[0][:30]))

    term.mark()
    term.type("n")
    term.expect(r"Kata 01 does not pass yet: n moves on once it does")

    term.mark()
    (stub_dir / "01_custom_linear.py").write_text("# my work\n")
    term.expect(r"Kata 01 failing")  # no CustomLinear in the file now
    term.mark()
    term.type("r")
    term.expect(r"Reset .*01_custom_linear\.py to the original stub\? .*\[y/N\]")
    term.type("x")
    term.expect(r"Nothing was reset\.")
    assert (stub_dir / "01_custom_linear.py").read_text() == "# my work\n"

    term.mark()
    term.type("r")
    term.expect(r"\[y/N\]")
    term.type("y")
    term.expect(r"Saved your version to .*restored the original stub")
    term.expect(r"Kata 01 not started")
    assert (stub_dir / "01_custom_linear.py").read_text() == find_kata("01").stub_path.read_text()

    term.mark()
    term.type("l")
    term.expect(r"02_learned_norm")

    term.mark()
    term.type("c")
    term.expect(r"Checking .*01_custom_linear\.py\.\.\.")
    term.expect(r"Kata 01 not started: 0/19 specs pass")

    term.type("q")
    assert term.wait() == 0
    assert "Stopped watching." in term.text
    restored = termios.tcgetattr(term.fd)
    assert restored[3] & termios.ICANON and restored[3] & termios.ECHO, "the terminal is restored on exit"


@pytest.mark.slow
def test_a_passing_kata_waits_for_n_then_moves_on(terminal, stub_dir: Path) -> None:
    term = terminal()
    term.expect(r"Kata 01 not started")
    term.mark()
    shutil.copy(find_kata("01").solution_path, stub_dir / "01_custom_linear.py")
    term.expect(r"Checking .*01_custom_linear\.py\.\.\.")
    term.expect(r"Kata 01 passed! Press n for the next kata\.")
    term.expect(r"\[#+-+\] 1/12 katas passed")
    term.mark()
    term.type("n")
    term.expect(r"Kata 02: A learned normalisation")
    term.type("q")
    assert term.wait() == 0


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c", "q"])
def test_quitting_during_a_hanging_check_leaves_no_process_behind(terminal, stub_dir: Path, how: str) -> None:
    stage(HANGS, stub_dir, find_kata("01"))
    term = terminal()
    term.expect(r"Checking")
    time.sleep(1.0)  # the grading child is deep in the endless loop by now
    children = descendants(term.pid)
    assert children, "a grading child runs"
    started = time.monotonic()
    term.type("\x03" if how == "ctrl-c" else "q")
    assert term.wait() == 0
    assert time.monotonic() - started < 5, "no waiting for the spec's 10 s time limit"
    assert "Stopped watching." in term.text
    assert still_running(children) == set(), "the grading child, its fork server and subjects are gone"
    assert termios.tcgetattr(term.fd)[3] & termios.ICANON


@pytest.mark.slow
def test_piped_watch_prints_plain_lines_and_a_save_cancels_a_hanging_check(stub_dir: Path) -> None:
    from kata_runner.cli import make_course
    from kata_runner.render import make_console
    from kata_runner.watch import watch

    output = StringIO()
    stop = threading.Event()
    course = make_course(kata_dir=stub_dir, devices=("cpu",))
    worker = threading.Thread(target=watch, args=(course, make_console(file=output), stop))
    worker.start()
    try:
        wait_for(output, "watching")
        stage(HANGS, stub_dir, find_kata("01"))
        wait_for(output, "checking", after=output.getvalue().index("watching"))
        time.sleep(1.0)  # the check is hanging now
        mark = len(output.getvalue())
        saved = time.monotonic()
        stage(MISTAKE, stub_dir)
        wait_for(output, "Kata 01 failing", after=mark)
        assert time.monotonic() - saved < 5, "the hanging check was cancelled, not waited for (10 s limit)"
        wait_for(output, "watching", after=mark)
    finally:
        stop.set()
        worker.join(timeout=15)
    text = output.getvalue()
    assert not worker.is_alive() and "Stopped watching." in text
    assert "timed out" not in text, "the stale check's result is never shown"
    assert re.search(r"^Kata 01 failing: \d+/19 specs pass$", text, re.MULTILINE)
    assert "\x1b" not in text and not re.search(r" +$", text, re.MULTILINE), "plain lines, no trailing spaces"
    assert descendants(os.getpid()) == set()


def wait_for(output: StringIO, text: str, after: int = 0, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while text not in output.getvalue()[after:]:
        assert time.monotonic() < deadline, f"never saw {text!r}; output so far:\n{output.getvalue()}"
        time.sleep(0.02)





def test_cancelling_kills_the_process_group_of_each_child_forked_since(tmp_path: Path) -> None:
    from kata_runner.checker import ForkedChildren

    children = ForkedChildren()
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child: a group of its own, with a grandchild in it
            os.setpgid(0, 0)
            if os.fork() == 0:
                time.sleep(60)
            time.sleep(60)
            os._exit(0)
        time.sleep(0.2)
        grandchildren = descendants(pid)
        assert grandchildren, "the child started one"
        children.kill()
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        time.sleep(0.1)
        assert still_running(grandchildren) == set(), "its whole process group"
    finally:
        children.close()


def test_checks_graded_in_process_run_in_the_calling_thread() -> None:
    from kata_runner.checker import Checker

    checker = Checker(inline=True)
    seen: list[object] = []
    checker.start(threading.current_thread, lambda value, error: seen.append(value))
    assert seen == [threading.current_thread()] and not checker.busy
    checker.close()
