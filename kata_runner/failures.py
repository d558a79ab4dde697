"""Turns an exception raised by a spec into a message a learner can act on."""

from __future__ import annotations

import io
import linecache
import tokenize
import traceback
from pathlib import Path

from kata_runner.asserts import SpecFailure
from kata_runner.project import display_path
from kata_runner.subject import LearnerError, SubjectStop, looks_out_of_memory
from kata_runner.tamper import TamperingDetected


class KataLoadError(Exception):
    """The implementation file could not be imported; the message says what and where."""


class KataMissing(KataLoadError):
    """The implementation file does not exist (yet)."""


def _relative(path: str | Path) -> str:
    """As the learner's terminal should show it: relative to the current folder inside the project."""
    try:
        return display_path(path)
    except OSError:
        return str(path)


def _frame_line(filename: str, lineno: int, func: str) -> str:
    code = linecache.getline(filename, lineno).strip()
    where = f"{_relative(filename)}:{lineno} in {func}"
    return f"{where}\n    {code}" if code else where


def frame_in(tb: traceback.StackSummary, files: list[Path]) -> traceback.FrameSummary | None:
    """The innermost frame that lies in one of `files`."""
    wanted = {str(f.resolve()) for f in files}
    for frame in reversed(tb):
        try:
            resolved = str(Path(frame.filename).resolve())
        except OSError:
            continue
        if resolved in wanted:
            return frame
    return None


def location_in(tb: traceback.StackSummary, files: list[Path]) -> str | None:
    """The innermost frame in one of `files`, formatted as `file:line in func` plus its code."""
    frame = frame_in(tb, files)
    return _frame_line(frame.filename, frame.lineno or 0, frame.name) if frame else None


def is_memory_error(exc: BaseException | None) -> bool:
    """MemoryError, or torch's allocator failing (what an address-space cap turns a runaway allocation into)."""
    while exc is not None:
        if isinstance(exc, MemoryError) or looks_out_of_memory(type(exc).__name__, str(exc)):
            return True
        exc = exc.__cause__
    return False


def explain(exc: BaseException, impl_path: Path, check_path: Path) -> tuple[str, str]:
    """Return (kind, message): kind is 'assertion', 'not_implemented', 'missing', 'load', 'tamper', 'memory'
    or 'exception'."""
    from kata_runner.draw import ShrinkBudgetSpent

    if isinstance(exc, ShrinkBudgetSpent):
        exc = exc.failure
    if isinstance(exc, KataMissing):
        return "missing", str(exc)
    if isinstance(exc, KataLoadError):
        return "load", str(exc)
    if isinstance(exc, TamperingDetected):
        return "tamper", str(exc)
    if isinstance(exc, SubjectStop):
        return exc.kind, str(exc)
    if isinstance(exc, LearnerError):
        return "exception", str(exc) + (f"\n  at {exc.where}" if exc.where else "")
    tb = traceback.extract_tb(exc.__traceback__)
    in_impl = location_in(tb, [impl_path])
    if isinstance(exc, NotImplementedError):
        detail = str(exc) or "this part still raises NotImplementedError"
        where = f"\n  at {in_impl}" if in_impl else ""
        return "not_implemented", f"Not implemented yet: {detail}{where}"
    if is_memory_error(exc):
        return "memory", f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
    if isinstance(exc, SpecFailure):
        cause = exc.__cause__
        if isinstance(cause, LearnerError):
            origin = cause.where or None
        else:
            origin = location_in(traceback.extract_tb(cause.__traceback__), [impl_path]) if cause else None
        return "assertion", str(exc) + (f"\n  at {origin}" if origin else "")
    if isinstance(exc, AssertionError):
        text = str(exc)
        # Keep the spec's own sentence; drop pytest's rewritten `assert ...` introspection below it.
        head, sep, _ = text.partition("\nassert ")
        message = head.strip() if sep and head.strip() else text.strip()
        where = f"\n  at {location_in(tb, [check_path])}" if not message else ""
        return "assertion", (message or "assertion failed") + where
    first_line = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:500]
    origin = in_impl or location_in(tb, [check_path])
    return "exception", (f"{first_line}\n  at {origin}" if origin else first_line)


def describe_import_error(exc: BaseException, impl_path: Path) -> str:
    """A file:line message for an implementation that fails to import."""
    rel = _relative(impl_path)
    if isinstance(exc, SyntaxError):
        line = (exc.text or "").rstrip("\n")
        caret = ""
        if line and exc.offset:
            stripped = line.lstrip()
            caret = "\n    " + " " * max(exc.offset - 1 - (len(line) - len(stripped)), 0) + "^"
            line = stripped
        return f"{rel}:{exc.lineno}: {type(exc).__name__}: {exc.msg}" + (f"\n    {line}{caret}" if line else "")
    if isinstance(exc, SystemExit):
        return f"{rel} called sys.exit({exc.code!r}) while being imported; an implementation must not end the process."
    if isinstance(exc, KeyboardInterrupt):
        frame = frame_in(traceback.extract_tb(exc.__traceback__), [impl_path])
        where = f"{rel}:{frame.lineno}" if frame else rel
        return f"{where}: your code raised KeyboardInterrupt while being imported; remove that raise (or the input())."
    frame = frame_in(traceback.extract_tb(exc.__traceback__), [impl_path])
    head = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
    if frame is None:
        return f"{rel}: importing it raised {head}"
    code = linecache.getline(frame.filename, frame.lineno or 0).strip()
    return f"{rel}:{frame.lineno}: {head}" + (f"\n    {code}" if code else "")


def describe_undecodable_source(path: Path) -> str | None:
    """None when Python can decode the file; otherwise which byte, where, and how to fix it. (Python 3.11 still
    imports a file with a stray Latin-1 byte in a comment, but the learner's other tools and newer Pythons refuse
    it, and the file is not what the learner thinks it is.)"""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        data.decode(encoding)
    except SyntaxError as exc:  # a coding declaration Python does not know
        return f"{_relative(path)}: {exc.msg if hasattr(exc, 'msg') else exc}"
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start : exc.start + 1].hex()
        return (
            f"{_relative(path)}:{line}: the file is not valid {encoding.upper()}: byte 0x{byte} at line {line}, "
            f"column {column} (byte {exc.start} of the file) cannot be decoded ({exc.reason}). Python reads source "
            f"files as UTF-8: save the file as UTF-8 in your editor, or retype the character at that place."
        )
    return None
