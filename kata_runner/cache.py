"""Result cache: a kata is re-graded only when its implementation, its checks or the harness change.

Keys are content hashes, so answering from the cache needs no torch import at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

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


def result_key(kata: Kata, kata_dir: Path, devices: Iterable[str]) -> str:
    parts = [
        kata.name,
        str(kata_dir.resolve()),
        ",".join(sorted(devices)) or "all",
        _digest(kata.impl_path(kata_dir)),
        _digest(kata.check_path),
        harness_fingerprint(),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class ResultCache:
    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or state_dir()) / "results.json"

    def get(self, key: str) -> KataResult | None:
        entry = read_json(self.path).get(key)
        if not entry:
            return None
        try:
            return KataResult.from_dict(entry)
        except (KeyError, TypeError, ValueError):
            return None

    def put_many(self, items: dict[str, KataResult]) -> None:
        if not items:
            return
        data = read_json(self.path)
        data.update({key: result.to_dict() for key, result in items.items()})
        if len(data) > 2000:  # keep the file small: drop the oldest entries
            data = dict(list(data.items())[-1000:])
        write_json(self.path, data)
