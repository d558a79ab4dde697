"""A warm pytest session that grading children are forked from.

The parent runs pytest once, up to and including collection of the checks it needs, and stops at
`pytest_runtestloop` without running a single spec. From there it forks one child per
(implementation folder, kata) pair: the child points the session at its folder, keeps only its
kata's items and runs them. A child therefore pays neither torch's import, nor pytest's start-up,
nor collection; what it does to the session dies with it.
"""

from __future__ import annotations

import gc
import os
import signal
import struct
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kata_runner.registry import PACKAGE_DIR, PROJECT_ROOT, Kata

# The engine's own pytest settings: a course needs no pyproject.toml or pytest.ini of its own.
PYTEST_SETTINGS = PACKAGE_DIR / "pytest_settings.ini"

T = TypeVar("T")


@dataclass
class Zygote:
    session: pytest.Session
    katas: tuple[str, ...]
    devices: tuple[str, ...]
    spec_timeout: float
    collect_errors: dict[str, str] = field(default_factory=dict)  # check file name -> message
    record: bool = False  # record the inputs of a kata's specs the first time it is judged (see draw.py)
    recorded: set[str] = field(default_factory=set)  # names of the katas whose inputs are recorded

    def covers(self, kata: Kata, devices: tuple[str, ...], spec_timeout: float) -> bool:
        return kata.name in self.katas and devices == self.devices and spec_timeout == self.spec_timeout

    def prepare(self, katas: Iterable[Kata]) -> None:
        """Before judges of these katas are forked: record the inputs their specs draw, once per kata."""
        draw = sys.modules.get("kata_runner.draw")  # imported by the checks that draw with Hypothesis
        new = {k.check_path.name for k in katas if k.name not in self.recorded}
        if not self.record or draw is None or not new:
            return
        draw.record_examples([item for item in self.session.items if item.path.name in new])
        self.recorded.update(k.name for k in katas)
        gc.freeze()  # the recorded inputs too: judges never copy their pages for a garbage collection

    def run(self, kata: Kata, kata_dir: Path, report: Path, judges: int = 1) -> int:
        """Run one kata's specs against `kata_dir`, streaming events to `report` (in a child, normally).
        With `judges` > 1 (only ever in a forked child), that many processes, forked from this one before
        any spec runs and each with its own subject, take the specs one at a time, in file order."""
        from kata_runner import plugin

        session, config = self.session, self.session.config
        config.option.kata_dir = str(kata_dir)
        plugin._loaded.clear()
        writer = plugin.ReportWriter(report, kata_dir)
        config.pluginmanager.register(writer, "kata-report-writer")
        try:
            error = self.collect_errors.get(kata.check_path.name)
            if error is not None:
                writer.emit(event="collect_error", nodeid=kata.check_path.name, message=error)
                writer.emit(event="done", exitstatus=int(pytest.ExitCode.INTERNAL_ERROR))
                return int(pytest.ExitCode.INTERNAL_ERROR)
            items = [item for item in session.items if item.path.name == kata.check_path.name]
            writer.emit(event="collected", nodeids=[item.nodeid for item in items])
            if items:
                plugin.progress(items[0], fresh=True, shared=judges > 1)
            if judges < 2 or len(items) < 2:
                return self._done(writer, _run_items(session, items))
            queue = _spec_queue(len(items))
            helpers = [_fork_judge(partial(_run_queued, session, items, queue)) for _ in range(judges - 1)]
            failed = _run_queued(session, items, queue)
            for pid in helpers:
                failed |= _helper_failed(pid)
            return self._done(writer, failed)
        finally:
            config.pluginmanager.unregister(writer)
            writer.close()
            config.option.kata_dir = None

    @staticmethod
    def _done(writer: Any, failed: bool) -> int:
        status = int(pytest.ExitCode.TESTS_FAILED if failed else pytest.ExitCode.OK)
        writer.emit(event="done", exitstatus=status)
        return status


def _spec_queue(count: int) -> int:
    """A pipe holding every spec's number, in file order: each judge reads the next one (a read of two bytes
    from a pipe is atomic), so a judge that finishes early takes more."""
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, b"".join(struct.pack("!H", number) for number in range(count)))
    finally:
        os.close(write_fd)
    return read_fd


def _run_queued(session: pytest.Session, items: list[pytest.Item], queue: int) -> bool:
    """Run specs taken from `queue` until it is empty; True if any failed. Each is run with another spec of
    the module as the next item, so the module's fixtures (its subject) stay up between them."""
    from kata_runner import plugin

    plugin.progress(items[0]).keep_from_children()
    session.testsfailed = 0
    session.shouldstop = session.shouldfail = False
    while len(data := os.read(queue, 2)) == 2:
        item = items[struct.unpack("!H", data)[0]]
        other = items[1] if item is items[0] else items[0]
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=other)
    return bool(session.testsfailed)


def _run_items(session: pytest.Session, items: list[pytest.Item]) -> bool:
    """Run `items` through pytest's protocol, as pytest's own run loop would; True if any failed."""
    session.testsfailed = 0
    session.shouldstop = session.shouldfail = False
    for index, item in enumerate(items):
        following = items[index + 1] if index + 1 < len(items) else None
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
    return bool(session.testsfailed)


def _fork_judge(body: Callable[[], bool]) -> int:
    """A second judge, forked before any spec has run (so before CUDA is initialised): it writes its results
    into the same report (appends of whole lines), and dies with this process."""
    from kata_runner.isolation import PR_SET_PDEATHSIG, _prctl

    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 70
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == parent:
            code = int(body())
    except BaseException:  # noqa: BLE001 - reported through the exit code, like a crashed judge
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _helper_failed(pid: int) -> bool:
    """Wait for a helper judge. One that did not end normally ends this judge the same way, so the grader
    sees what it would have seen had one process judged every spec."""
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        raise SystemExit(70)  # the signal is blocked here
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(code)
    return code == 1


class _StopAtRunLoop:
    """Collects the checks, then hands the live session to `body` instead of running any spec."""

    def __init__(self, body: Callable[[Zygote], Any], zygote_args: dict[str, Any], lasting: bool = False) -> None:
        self.body = body
        self.zygote_args = zygote_args
        self.lasting = lasting
        self.collect_errors: dict[str, str] = {}
        self.result: Any = None
        self.error: BaseException | None = None
        self.entered = False

    def pytest_configure(self, config: pytest.Config) -> None:
        # The grader writes its own messages; pytest's long tracebacks cost ~40 ms per failing spec.
        config.option.tbstyle = "native"

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors[Path(report.nodeid.split("::")[0]).name] = str(report.longrepr)[-3000:]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        self.entered = True
        from kata_runner import plugin

        plugin.precompute(session.items)
        draw = sys.modules.get("kata_runner.draw")
        if draw is not None:
            draw.forget_examples()  # recorded by an earlier zygote of this process
        if self.lasting:
            from kata_runner import hugepages

            hugepages.collapse()  # cheaper forks and exits for every child from here on
        # Park everything the parent has in the permanent generation: children's garbage collections
        # then never touch (and so never copy) the parent's pages. (No gc.collect() first: 90 ms.)
        gc.freeze()
        capture = session.config.pluginmanager.getplugin("capturemanager")
        zygote = Zygote(session, collect_errors=self.collect_errors, **self.zygote_args)
        with capture.global_and_fixture_disabled():
            try:
                self.result = self.body(zygote)
            except BaseException as exc:  # noqa: BLE001 - re-raised once pytest has unwound
                self.error = exc
        return True


_active: Zygote | None = None


def active() -> Zygote | None:
    """The zygote whose body is running in this process, if any."""
    return _active


def pytest_args(check_files: Sequence[Path], devices: Sequence[str], spec_timeout: float) -> list[str]:
    args = [str(path) for path in check_files]
    args += [
        f"--rootdir={PROJECT_ROOT}",
        "-c", str(PYTEST_SETTINGS),
        # Without it, -c would make the settings' folder the conftest boundary and skip a course's conftest.py.
        f"--confcutdir={PROJECT_ROOT}",
        # By name, as the entry point and this repo's conftest.py name it, so that it is registered once.
        "-p", "kata_runner.plugin",
        "-p", "pytest_timeout",
        # Hypothesis's plugin gives every parametrized spec ([cpu], [cuda]) its own seed; without it the
        # grader would draw other inputs than a plain `pytest checks/` does.
        "-p", "_hypothesis_pytestplugin",
        "-p", "no:cacheprovider",
        "-p", "no:terminal",
        "-p", "no:warnings",
        "-o", "addopts=",
        # Per-process capture: forked siblings must not share capture files.
        "--capture=sys",
        "-p", "no:logging",
        # Both end the session with gc.collect() passes over torch's objects (0.1-0.4 s), for reports
        # the grader does not use.
        "-p", "no:unraisableexception",
        "-p", "no:threadexception",
        f"--spec-timeout={spec_timeout}",
    ]
    args += [f"--device={device}" for device in devices]
    return args


def with_zygote(katas: Sequence[Kata], devices: tuple[str, ...], spec_timeout: float,
                body: Callable[[Zygote], T], record: bool = False, lasting: bool = False) -> T:
    """Collect the checks of `katas` in this process, then call `body(zygote)` and return its result.
    `record`: the zygote will judge these checks many times, in forked judges: record the inputs their
    specs draw, the first time each kata is judged, for the judges to replay (see draw.py). `lasting`: it
    will fork many children (watch, a class run): back its memory with huge pages first (see hugepages.py)."""
    names = tuple(dict.fromkeys(k.name for k in katas))
    plugin = _StopAtRunLoop(body, {"katas": names, "devices": devices, "spec_timeout": spec_timeout,
                                   "record": record}, lasting)
    files = list(dict.fromkeys(k.check_path for k in katas))

    def run_body(zygote: Zygote) -> T:
        global _active
        _active = zygote
        try:
            return body(zygote)
        finally:
            _active = None

    plugin.body = run_body
    with _no_plugin_autoload():
        code = pytest.main(pytest_args(files, devices, spec_timeout), plugins=[plugin])
    if plugin.error is not None:
        raise plugin.error
    if not plugin.entered:
        raise RuntimeError(f"pytest stopped before the checks could run (exit code {int(code)}).")
    return plugin.result  # type: ignore[no-any-return]


@contextmanager
def _no_plugin_autoload() -> Iterator[None]:
    """Only the plugins we name: faster start-up, and no third-party plugin in the graders' way."""
    before = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = before
