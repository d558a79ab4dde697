"""Result caches: a kata is re-graded only when its implementation, its checks or the harness change.

Keys are content hashes, so answering from the cache needs no torch import at all. Every read-merge-write
holds a file lock, so two runs at once lose nothing of each other's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from kata_runner import __version__
from kata_runner.registry import COURSE_TOML, PACKAGE_DIR, PROJECT_ROOT, Kata, state_dir
from kata_runner.results import KataResult
from kata_runner.storage import atomic_write_text, read_json, write_json

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one run at a time
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock for `path` (on a companion `.NAME.lock` file, which an atomic rename of `path`
    itself leaves in place) until the block ends."""
    if fcntl is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


@cache
def harness_fingerprint() -> str:
    """Changes whenever the harness itself changes (its code, registry or root conftest)."""
    h = hashlib.sha256(__version__.encode())
    files = sorted(PACKAGE_DIR.glob("*.py")) + [COURSE_TOML, PROJECT_ROOT / "conftest.py"]
    for path in files:
        h.update(path.name.encode())
        h.update(file_digest(path).encode())
    return h.hexdigest()


def slot(kata: Kata, kata_dir: Path, devices: Iterable[str]) -> str:
    """Where a kata's latest result for one folder and device set is kept: one entry each, so the
    cache stays small however often the learner saves."""
    return "|".join([kata.name, str(kata_dir.resolve()), ",".join(sorted(devices)) or "all"])


def content_key(kata: Kata, kata_dir: Path) -> str:
    """Changes when the implementation, the kata's checks or the harness change."""
    parts = [file_digest(kata.impl_path(kata_dir)), file_digest(kata.check_path), harness_fingerprint()]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class ResultCache:
    MAX_ENTRIES = 200

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or state_dir()) / "results.json"
        self._data: dict[str, Any] | None = None

    def _entries(self) -> dict[str, Any]:
        if self._data is None:
            self._data = read_json(self.path)
        return self._data

    def get(self, kata: Kata, kata_dir: Path, devices: Iterable[str]) -> KataResult | None:
        entry = self._entries().get(slot(kata, kata_dir, devices))
        if not entry or entry.get("key") != content_key(kata, kata_dir):
            return None
        try:
            return KataResult.from_dict(entry["result"])
        except (KeyError, TypeError, ValueError):
            return None

    def put_many(self, kata_dir: Path, devices: Iterable[str], results: dict[Kata, KataResult]) -> None:
        if not results:
            return
        devices = tuple(devices)
        with file_lock(self.path):
            data = read_json(self.path)  # fresh: another process may have written since
            for kata, result in results.items():
                entry = result.to_dict()
                for spec in entry["specs"]:
                    spec["test_code"] = ""  # only `check --json` shows it, and that always grades afresh
                key = slot(kata, kata_dir, devices)
                data.pop(key, None)  # re-inserted last: the newest entries survive the trim below
                data[key] = {"key": content_key(kata, kata_dir), "result": entry}
            if len(data) > self.MAX_ENTRIES:
                data = dict(list(data.items())[-self.MAX_ENTRIES :])
            write_json(self.path, data)
        self._data = data


class GradeJournal:
    """The results of `kata grade`, one JSON line per (submission, kata) appended (under the lock, then
    fsync'd) as each arrives, so that a run killed at any point resumes where it stopped: a line cut short
    by the kill is ignored. The file is read once, before any submission's code runs, and rewritten from
    memory (the latest entry of each slot) at the end of a run, once every grading process is dead:
    whatever else appended to it in between is dropped. `path` None: a run that neither reads nor writes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        if path is not None:
            with file_lock(path), contextlib.suppress(FileNotFoundError):
                for line in path.read_bytes().splitlines():
                    self._take(line)

    def _take(self, line: bytes) -> None:
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            return  # cut short by a kill, or not ours
        if isinstance(record, dict) and isinstance(record.get("slot"), str) and isinstance(record.get("key"), str) \
                and isinstance(record.get("result"), dict):
            self.entries[record["slot"]] = {"key": record["key"], "result": record["result"]}

    def get(self, slot: str, key: str) -> KataResult | None:
        entry = self.entries.get(slot)
        if entry is None or entry["key"] != key:
            return None
        try:
            return KataResult.from_dict(entry["result"])
        except (LookupError, TypeError, ValueError):
            return None

    def put(self, slot: str, key: str, result: KataResult) -> None:
        self.entries[slot] = {"key": key, "result": result.to_dict()}
        if self.path is None:
            return
        line = (json.dumps({"slot": slot, **self.entries[slot]}) + "\n").encode()
        with file_lock(self.path):
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # after a line cut short by a kill
                while line:
                    line = line[os.write(fd, line):]
                os.fsync(fd)
            finally:
                os.close(fd)

    def compact(self) -> None:
        if self.path is None:
            return
        lines = [json.dumps({"slot": slot, **entry}) + "\n" for slot, entry in self.entries.items()]
        with file_lock(self.path):
            atomic_write_text(self.path, "".join(lines))
