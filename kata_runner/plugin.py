"""The pytest plugin behind every check: options, the `device` and `kata` fixtures, seeding,
per-spec timeouts, tamper detection and the machine-readable report the grader reads.

All of the project's pytest hooks live in this module. `conftest.py` at the project root registers
it, so a plain `pytest checks/` from any IDE uses it too.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

# Before torch is imported anywhere: lets torch.cuda.is_available() ask NVML instead of initialising
# CUDA, so that processes forked from this one can still use the GPU.
os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")

import torch  # noqa: E402

from kata_runner import defaults, tamper  # noqa: E402, F401  (tamper snapshots torch before any learner code runs)
from kata_runner.failures import (  # noqa: E402
    KataLoadError,
    KataMissing,
    describe_import_error,
    describe_undecodable_source,
    explain,
)
from kata_runner.invocation import command  # noqa: E402
from kata_runner.project import display_path, set_learner_cwd  # noqa: E402
from kata_runner.registry import KATAS_DIR, Kata, kata_for_check_file  # noqa: E402
from kata_runner.subject import InlineSubject, Subject  # noqa: E402

DEFAULT_SPEC_TIMEOUT = defaults.SPEC_TIMEOUT
NO_CUDA_REASON = "CUDA is not available on this machine (torch.cuda.is_available() is False)"

HELP = {
    "kata_dir": "folder the implementations are loaded from (default: katas/, or $KATA_DIR).",
    "device": "run the specs on this device only: cpu or cuda (repeatable; default: every device).",
    "spec_timeout": f"seconds one spec may run before it fails as a timeout (default {DEFAULT_SPEC_TIMEOUT:g}).",
    "kata_report": "write one JSON line per spec result to this file (used by the kata grader).",
    "in_process": "run learner code inside the pytest process, for a debugger (no integrity claim; "
    "default when a debugger is attached or $KATA_IN_PROCESS is set).",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kata", "torch-katas")
    group.addoption("--kata-dir", default=None, help=HELP["kata_dir"])
    group.addoption("--device", action="append", choices=["cpu", "cuda"], default=None, help=HELP["device"])
    group.addoption("--spec-timeout", type=float, default=DEFAULT_SPEC_TIMEOUT, help=HELP["spec_timeout"])
    group.addoption("--kata-report", default=None, help=HELP["kata_report"])
    group.addoption("--in-process", action="store_true", default=False, help=HELP["in_process"])


@cache
def available_devices() -> tuple[str, ...]:
    """cpu always; cuda when torch can see a GPU. Computed once per process."""
    return ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)


def kata_dir(config: pytest.Config) -> Path:
    chosen = config.getoption("kata_dir") or os.environ.get("KATA_DIR")
    return Path(chosen).resolve() if chosen else KATAS_DIR


def pytest_configure(config: pytest.Config) -> None:
    set_learner_cwd(config.invocation_params.dir)
    config.addinivalue_line("markers", "timeout: per-spec time limit (pytest-timeout)")
    report = config.getoption("kata_report")
    if report:
        config.pluginmanager.register(ReportWriter(Path(report), kata_dir(config)), "kata-report-writer")


def pytest_report_header(config: pytest.Config) -> str:
    return f"kata dir: {kata_dir(config)}; devices: {', '.join(available_devices())}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Only a course's checks: with the engine installed, this plugin loads into every pytest run, and
    # another project's tests may have a `device` fixture of their own.
    if "device" not in metafunc.fixturenames or kata_for_check_file(metafunc.definition.path) is None:
        return
    wanted = metafunc.config.getoption("device") or ["cpu", "cuda"]
    params = []
    for name in ("cpu", "cuda"):
        if name not in wanted:
            continue
        if name in available_devices():
            params.append(pytest.param(name, id=name))
        else:
            params.append(pytest.param(name, id=name, marks=pytest.mark.skip(reason=NO_CUDA_REASON)))
    metafunc.parametrize("device", params, indirect=True)


@pytest.fixture
def device(request: pytest.FixtureRequest) -> torch.device:
    """The device a spec runs on: torch.device('cpu') or torch.device('cuda')."""
    return torch.device(request.param)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seconds = config.getoption("spec_timeout")
    for item in items:
        if kata_for_check_file(item.path) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(seconds))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failing check in a plain `pytest checks/...` run reads the way `kata check` explains it: the spec's
    sentence, the concept message and the learner's line, without the harness's frames or tensor dumps.
    An explicit --tb (long, short, native, ...) gets pytest's own report."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.failed or call.excinfo is None or item.config.option.tbstyle != "auto":
        return
    entry = kata_for_check_file(item.path)
    if entry is None:
        return
    _, message = explain(call.excinfo.value, entry.impl_path(kata_dir(item.config)), item.path)
    body = "\n".join("    " + line for line in message.splitlines())
    report.longrepr = f"{_docline(item) or _sentence(item)}\n{body}"


_subjects: list[Subject | InlineSubject] = []


@pytest.fixture(autouse=True)
def _kata_fresh_state(request: pytest.FixtureRequest) -> Any:
    """Every spec starts from the same seed and torch defaults; its calls into the subject share the
    spec's time limit (and stop just before pytest-timeout would, to say which line was running)."""
    # Not torch.manual_seed: on a machine without CUDA it still queues lazy seeding calls for CUDA, XPU
    # and MTIA, each recording a stack trace (2 ms per spec).
    torch.default_generator.manual_seed(0)
    if "cuda" in available_devices():
        torch.cuda.manual_seed_all(0)
    random.seed(0)
    torch.set_default_dtype(torch.float32)
    draw: Any = sys.modules.get("kata_runner.draw")  # imported by the checks that draw with Hypothesis
    if draw is not None:
        draw.current = (progress(request.node), request.node.nodeid)
    marker = request.node.get_closest_marker("timeout")
    seconds = float(marker.args[0]) if marker and marker.args else request.config.getoption("spec_timeout")
    deadline = time.monotonic() + max(0.5, seconds - 0.75)
    for subject in _subjects:
        subject.deadline = deadline
    with torch.enable_grad():
        yield
    for subject in _subjects:
        subject.deadline = None
    if draw is not None:
        draw.current = None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Every spec ends decided, run or skipped: judges of later specs may be waiting to know (see draw.py)."""
    if "kata_runner.draw" in sys.modules and kata_for_check_file(item.path) is not None:
        from kata_runner import draw

        progress(item).mark(item.nodeid, draw.DONE)


_progress = pytest.StashKey[dict[Path, Any]]()


def progress(item: pytest.Item, fresh: bool = False, shared: bool = False) -> Any:
    """The `draw.Progress` of the item's check module in this session (`fresh`: a new one, for another
    run of the module; `shared`: one that judges forked from here can share)."""
    from kata_runner import draw

    boards = item.session.stash.setdefault(_progress, {})
    if fresh or item.path not in boards:
        boards[item.path] = draw.Progress([o.nodeid for o in item.session.items if o.path == item.path], shared)
    return boards[item.path]


def in_process(config: pytest.Config) -> bool:
    """Learner code runs in this process only when asked, or when a debugger is attached."""
    if config.getoption("in_process") or os.environ.get("KATA_IN_PROCESS"):
        return True
    return sys.gettrace() is not None or any(name in sys.modules for name in ("pydevd", "debugpy"))


_loaded: dict[Path, ModuleType | KataLoadError] = {}


def load_implementation(path: Path) -> ModuleType:
    """Import the implementation at `path` (once per process); raise KataLoadError with file:line."""
    path = path.resolve()
    if path not in _loaded:
        _loaded[path] = _import(path)
    result = _loaded[path]
    if isinstance(result, KataLoadError):
        raise result
    return result


def _import(path: Path) -> ModuleType | KataLoadError:
    if not path.exists():
        reset = command("reset", path.stem[:2])
        return KataMissing(f"{display_path(path)} does not exist: create it (or run `{reset}`) before checking it.")
    undecodable = describe_undecodable_source(path)
    if undecodable:
        return KataLoadError(undecodable)
    name = f"kata_impl_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return KataLoadError(f"{path} cannot be imported as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit, KeyboardInterrupt) as exc:  # the learner's exception, not the user's Ctrl-C
        sys.modules.pop(name, None)
        return KataLoadError(describe_import_error(exc, path))
    return module


@pytest.fixture(scope="module")
def kata(request: pytest.FixtureRequest) -> Iterator[Subject | InlineSubject]:
    """The learner's implementation of this check file's kata, behind a subject: `kata.run(probe, ...)`
    runs a @probe on it in a separate process (or in this one with --in-process) and returns plain
    observations. The judge never imports the learner's file."""
    entry = kata_for_check_file(request.path)
    if entry is None:
        pytest.fail(f"{request.path.name} is not a registered kata check (see course.toml).")
    path = entry.impl_path(kata_dir(request.config))
    subject: Subject | InlineSubject = InlineSubject(path) if in_process(request.config) else Subject(path)
    _subjects.append(subject)
    try:
        yield subject
    finally:
        _subjects.remove(subject)
        subject.close()


def _sentence(item: pytest.Item) -> str:
    base = getattr(item, "originalname", item.name)
    return base.removeprefix("test_").replace("_", " ")


def _device(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("device") if callspec else None


def _docline(item: pytest.Item) -> str:
    doc = inspect.getdoc(getattr(item, "function", None)) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _test_code(item: pytest.Item) -> str:
    function = getattr(item, "function", None)
    return _source(function) if function is not None else ""


def _original(function: Any) -> Any:
    """The spec as written, under Hypothesis's and kata_runner.draw's wrappers."""
    for _ in range(10):
        inner = getattr(getattr(function, "hypothesis", None), "inner_test", None) or getattr(
            function, "__wrapped__", None
        )
        if inner is None:
            break
        function = inner
    return function


@cache
def _source(function: Any) -> str:
    try:
        return inspect.getsource(_original(function))
    except (OSError, TypeError):
        return ""


def precompute(items: list[pytest.Item]) -> None:
    """Fill the per-function caches before forking, so no grading child pays for them."""
    for item in items:
        _test_code(item)
    draw = sys.modules.get("kata_runner.draw")  # imported by the checks that draw with Hypothesis
    if draw is not None:
        draw.precompute_digests(items)


MAX_OUTPUT = 500


class ReportWriter:
    """Streams one JSON line per event to a file, flushed at once, so a crash loses nothing."""

    def __init__(self, path: Path, impl_dir: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.impl_dir = impl_dir
        self.records: dict[str, dict[str, Any]] = {}
        self.planned: set[Path] = set()

    def emit(self, **event: Any) -> None:
        os.write(self.fd, (json.dumps(event) + "\n").encode())

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.emit(event="collect_error", nodeid=report.nodeid, message=str(report.longrepr)[-2000:])

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.emit(event="collected", nodeids=[item.nodeid for item in session.items])

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        """Before a check file's first spec: every spec it will run, so that a kata stopped half-way still
        reports its real spec count and the sentence of the spec that was running."""
        if item.path in self.planned:
            return
        self.planned.add(item.path)
        specs = [
            {"nodeid": other.nodeid, "name": _sentence(other), "doc": _docline(other), "device": _device(other),
             "skipped": other.get_closest_marker("skip") is not None}
            for other in item.session.items
            if other.path == item.path
        ]
        self.emit(event="planned", specs=specs)

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.emit(event="start", nodeid=nodeid, time=time.time())

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        record = self.records.setdefault(item.nodeid, self._new_record(item))
        record["duration"] += report.duration
        if report.skipped and record["status"] == "pass":
            record["status"] = "skip"
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            record["message"] = reason.removeprefix("Skipped: ")
        elif report.failed and record["status"] in ("pass", "skip"):
            record["status"] = "fail" if report.when == "call" else "error"
            exc = call.excinfo.value if call.excinfo else None
            if exc is not None:
                kata_entry: Kata | None = kata_for_check_file(item.path)
                impl = kata_entry.impl_path(self.impl_dir) if kata_entry else item.path
                record["kind"], record["message"] = explain(exc, impl, item.path)
                if record["kind"] in ("load", "missing"):
                    record["status"] = "error"
            else:
                record["message"] = str(report.longrepr)[-2000:]
        if report.when == "call" or (report.when == "setup" and not report.passed):
            output = (report.capstdout + report.capstderr).strip()
            record["output"] = output[:MAX_OUTPUT] + ("\n... output truncated" if len(output) > MAX_OUTPUT else "")

    def _new_record(self, item: pytest.Item) -> dict[str, Any]:
        return {
            "event": "result",
            "nodeid": item.nodeid,
            "name": _sentence(item),
            "doc": _docline(item),
            "device": _device(item),
            "status": "pass",
            "kind": None,
            "message": "",
            "output": "",
            "test_code": _test_code(item),
            "duration": 0.0,
        }

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        record = self.records.pop(nodeid, None)
        if record is not None:
            self.emit(**record)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.emit(event="done", exitstatus=int(exitstatus))
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
