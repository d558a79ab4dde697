"""Result cache: a kata is re-graded only when its implementation, its checks or the harness change.

Keys are content hashes, so answering from the cache needs no torch import at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from kata_runner import __version__
from kata_runner.registry import PACKAGE_DIR, PROJECT_ROOT, Kata, state_dir
from kata_runner.results import KataResult
from kata_runner.storage import read_json, write_json


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


@cache
def harness_fingerprint() -> str:
    """Changes whenever the harness itself changes (its code, registry or root conftest)."""
    h = hashlib.sha256(__version__.encode())
    files = sorted(PACKAGE_DIR.glob("*.py")) + [PACKAGE_DIR / "katas.toml", PROJECT_ROOT / "conftest.py"]
    for path in files:
        h.update(path.name.encode())
        h.update(_digest(path).encode())
    return h.hexdigest()


def slot(kata: Kata, kata_dir: Path, devices: Iterable[str]) -> str:
    """Where a kata's latest result for one folder and device set is kept: one entry each, so the
    cache stays small however often the learner saves."""
    return "|".join([kata.name, str(kata_dir.resolve()), ",".join(sorted(devices)) or "all"])


def content_key(kata: Kata, kata_dir: Path) -> str:
    """Changes when the implementation, the kata's checks or the harness change."""
    parts = [_digest(kata.impl_path(kata_dir)), _digest(kata.check_path), harness_fingerprint()]
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
